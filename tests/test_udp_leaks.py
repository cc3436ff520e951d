"""No fd or memory leak in datagram endpoints (both loops).

100,000 datagrams sent and received through one endpoint pair, and 2,000
endpoints opened, used and closed: the process's fd count is back where it
started and RSS does not grow between equal rounds after a warm-up round
(allocator caches and one-off growth do not count), as in test_leaks.py.
"""
import asyncio
import gc
import os
import socket

import psutil
import pytest

RSS_SLACK = 8 * 1024 * 1024


def _fd_count():
    return psutil.Process().num_fds()


def _rss():
    gc.collect()
    return psutil.Process().memory_info().rss


class Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.transport.sendto(data, addr)


class Counter(asyncio.DatagramProtocol):
    """Counts echoes, checks each one, and refills a window of datagrams."""

    def __init__(self, loop, total, window=64):
        self.total = total
        self.window = window
        self.sent = self.got = 0
        self.bad = 0
        self.done = loop.create_future()

    def connection_made(self, transport):
        self.transport = transport

    def start(self):
        while self.sent < self.total and self.sent - self.got < self.window:
            self._send_one()

    def _send_one(self):
        self.transport.sendto(self.sent.to_bytes(8, "big") * 4)
        self.sent += 1

    def datagram_received(self, data, addr):
        if data != self.got.to_bytes(8, "big") * 4:
            self.bad += 1
        self.got += 1
        if self.got == self.total:
            if not self.done.done():
                self.done.set_result(None)
        elif self.sent < self.total:
            self._send_one()

    def error_received(self, exc):
        if not self.done.done():
            self.done.set_exception(exc)


async def _cycles(loop, n, family=socket.AF_INET):
    st, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    ct, cp = await loop.create_datagram_endpoint(
        lambda: Counter(loop, n), remote_addr=st.get_extra_info("sockname"))
    cp.start()
    await asyncio.wait_for(cp.done, 120)
    assert cp.bad == 0 and cp.got == n
    ct.close()
    st.close()
    await asyncio.sleep(0)
    await asyncio.sleep(0)


@pytest.mark.timeout(300)
def test_100k_sendto_recv_cycles_no_leak(loop):
    loop.run_until_complete(_cycles(loop, 20_000))      # warm-up
    fds = _fd_count()
    rss = _rss()
    loop.run_until_complete(_cycles(loop, 100_000))
    assert _fd_count() == fds
    assert _rss() - rss < RSS_SLACK


@pytest.mark.timeout(300)
def test_2000_endpoints_opened_and_closed(loop, tmp_path):
    async def round_(n):
        st, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
        addr = st.get_extra_info("sockname")
        for i in range(n):
            kind = i % 4
            if kind == 0:      # used, then closed
                ct, cp = await loop.create_datagram_endpoint(
                    lambda: Counter(loop, 3, window=3), remote_addr=addr)
                cp.start()
                await asyncio.wait_for(cp.done, 10)
                ct.close()
            elif kind == 1:    # aborted with nothing sent
                ct, cp = await loop.create_datagram_endpoint(
                    asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
                ct.abort()
            elif kind == 2:    # Unix datagram endpoint, closed
                path = str(tmp_path / ("u%d" % i))
                ct, cp = await loop.create_datagram_endpoint(
                    asyncio.DatagramProtocol, local_addr=path, family=socket.AF_UNIX)
                ct.close()
                os.unlink(path)
            else:              # closed before connection_made ran
                ct, cp = await loop.create_datagram_endpoint(
                    asyncio.DatagramProtocol, remote_addr=addr)
                ct.sendto(b"bye")
                ct.close()
        st.close()
        await asyncio.sleep(0.01)

    loop.run_until_complete(round_(200))   # warm-up
    gc.collect()
    fds = _fd_count()
    rss = _rss()
    loop.run_until_complete(round_(2000))
    gc.collect()
    assert _fd_count() == fds
    assert _rss() - rss < RSS_SLACK

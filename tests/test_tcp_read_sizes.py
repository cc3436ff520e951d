"""TCP reads of every size: small, medium and big reads deliver every byte, in order.

tideloop reads a stream socket four ways, chosen by the size of the reads before
(see stream.pxi): small reads into the loop's buffer and copy out, medium and
large reads straight into a new bytes object (64 or 124 KiB) that is shrunk to
what came, sized reads into a bytes object sized by FIONREAD. These tests cross those thresholds in both
directions, end a stream right after each kind of read, and run 100,000 round
trips of mixed sizes checking that memory and fds stay flat. Every test runs on
tideloop and on asyncio's own loop (the `loop` fixture).
"""
import asyncio
import gc
import os

import psutil
import pytest

from nethelpers import EchoProtocol

# Around the 4 KiB, ~64 KiB, ~124 KiB and 256 KiB boundaries, up and down again.
CHUNK_SIZES = [10, 5000, 70_000, 300, 3000, 4095, 4096, 4097, 65_471, 65_472, 65_473,
               65_536, 200_000, 1, 9000, 262_144, 300_000, 50, 20_000, 100_000, 2,
               70_000, 126_975, 126_976, 126_977, 100_000, 3000, 126_976, 90_000, 7]


class RoundTrips(asyncio.Protocol):
    """Client side: collects the echo; `want` bytes complete the `got` future."""

    def __init__(self, loop):
        self.loop = loop
        self.buf = bytearray()
        self.want = 0
        self.got = None
        self.done = loop.create_future()

    def connection_made(self, transport):
        self.transport = transport

    def expect(self, n):
        """Return a future completed once n more bytes have arrived."""
        self.want += n
        self.got = self.loop.create_future()
        if len(self.buf) >= self.want:
            self.got.set_result(None)
        return self.got

    def data_received(self, data):
        assert isinstance(data, bytes)
        self.buf += data
        if len(self.buf) >= self.want and self.got is not None and not self.got.done():
            self.got.set_result(None)

    def connection_lost(self, exc):
        if not self.done.done():
            self.done.set_result(exc)


async def _echo_pair(loop):
    srv = await loop.create_server(EchoProtocol, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    tr, proto = await loop.create_connection(lambda: RoundTrips(loop), "127.0.0.1", port)
    return srv, tr, proto


def test_echo_of_chunks_crossing_read_size_thresholds(loop):
    """Each chunk is echoed whole, whatever way the read before it was made."""

    async def main():
        srv, tr, proto = await _echo_pair(loop)
        sent = bytearray()
        for size in CHUNK_SIZES:
            chunk = os.urandom(size)
            sent += chunk
            waiter = proto.expect(size)
            tr.write(chunk)
            await asyncio.wait_for(waiter, 10)
            assert len(proto.buf) == len(sent)
        assert proto.buf == sent
        tr.close()
        assert await proto.done is None
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())


class Collector(asyncio.Protocol):
    """Server side: keeps what arrives and resolves `ended` at EOF with it."""

    def __init__(self, loop, ended):
        self.buf = bytearray()
        self.ended = ended
        self.order = []

    def data_received(self, data):
        assert isinstance(data, bytes)
        self.order.append("data")
        self.buf += data

    def eof_received(self):
        self.order.append("eof")
        self.ended.set_result(bytes(self.buf))


@pytest.mark.parametrize("size", [100, 6000, 40_000, 100_000, 500_000])
def test_eof_right_after_a_read(loop, size):
    """Data then EOF: the reader sees all of the data, then eof_received, once."""
    payload = os.urandom(size)

    async def main():
        ended = loop.create_future()
        collectors = []

        def factory():
            c = Collector(loop, ended)
            collectors.append(c)
            return c

        srv = await loop.create_server(factory, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        tr, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
        # Two writes: the first sets the read mode, the second ends with EOF.
        tr.write(payload)
        await asyncio.sleep(0.05)
        tr.write(payload)
        tr.write_eof()
        assert await asyncio.wait_for(ended, 10) == payload + payload
        assert collectors[0].order[-1] == "eof" and collectors[0].order.count("eof") == 1
        tr.close()
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())


def _rss():
    gc.collect()
    return psutil.Process().memory_info().rss


@pytest.mark.timeout(240)
def test_100k_round_trips_of_mixed_sizes_no_leak(loop, loop_name):
    """100,000 echo round trips of 100 B / 6 KiB / 20 KiB: memory and fds stay flat."""
    n = 100_000 if loop_name == "tideloop" else 20_000
    sizes = (100, 6000, 20_000)
    blocks = {size: os.urandom(size) for size in sizes}

    async def rounds(count):
        srv, tr, proto = await _echo_pair(loop)
        total = 0
        for i in range(count):
            block = blocks[sizes[i % 3]]
            waiter = proto.expect(len(block))
            tr.write(block)
            await waiter
            total += len(block)
            if len(proto.buf) > 1 << 20:  # keep the client's buffer small
                assert proto.buf[-len(block):] == block
                del proto.buf[:]
                proto.want = 0
        assert len(proto.buf) == proto.want
        tr.close()
        await proto.done
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(rounds(n // 10))
    before_fds = set(os.listdir("/proc/self/fd"))
    before = _rss()
    loop.run_until_complete(rounds(n))
    assert _rss() - before < 8 * 1024 * 1024
    assert set(os.listdir("/proc/self/fd")) <= before_fds

"""UDP datagram endpoints: echo, empty datagrams, connected endpoints, closed transport."""
import asyncio
import socket

import pytest


class Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.transport.sendto(data, addr)


class Client(asyncio.DatagramProtocol):
    def __init__(self, loop):
        self.q = asyncio.Queue()
        self.errors = []

    def datagram_received(self, data, addr):
        self.q.put_nowait((data, addr))

    def error_received(self, exc):
        self.errors.append(exc)


def test_udp_echo(loop):
    async def main():
        st, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
        addr = st.get_extra_info("sockname")
        ct, cp = await loop.create_datagram_endpoint(lambda: Client(loop), remote_addr=addr)
        for msg in (b"one", b"x" * 1000):
            ct.sendto(msg)
            data, frm = await asyncio.wait_for(cp.q.get(), 5)
            assert data == msg and frm == addr
        ct.close()
        st.close()
        await asyncio.sleep(0)
        assert ct.is_closing()

    loop.run_until_complete(main())


def test_udp_unconnected_sendto_and_errors(loop):
    async def main():
        st, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
        addr = st.get_extra_info("sockname")
        ct, cp = await loop.create_datagram_endpoint(lambda: Client(loop),
                                                     family=socket.AF_INET,
                                                     local_addr=("127.0.0.1", 0))
        ct.sendto(b"abc", addr)
        assert (await asyncio.wait_for(cp.q.get(), 5))[0] == b"abc"
        with pytest.raises(TypeError):
            ct.sendto("text", addr)
        st.close()
        ct.close()

    loop.run_until_complete(main())


def test_udp_empty_datagram(loop):
    import sys

    async def main():
        st, sp = await loop.create_datagram_endpoint(lambda: Client(loop), local_addr=("127.0.0.1", 0))
        addr = st.get_extra_info("sockname")
        ct, cp = await loop.create_datagram_endpoint(lambda: Client(loop), remote_addr=addr)
        ct.sendto(b"")
        ct.sendto(b"after")
        first = (await asyncio.wait_for(sp.q.get(), 5))[0]
        # 3.13 sends empty datagrams; earlier versions drop them silently.
        assert first == (b"" if sys.version_info >= (3, 13) else b"after")
        assert ct.get_write_buffer_size() == 0
        ct.close()
        st.close()

    loop.run_until_complete(main())


def test_unix_datagram(loop, tmp_path):
    path = str(tmp_path / "d.sock")
    cpath = str(tmp_path / "c.sock")

    async def main():
        st, _ = await loop.create_datagram_endpoint(Echo, local_addr=path, family=socket.AF_UNIX)
        ct, cp = await loop.create_datagram_endpoint(lambda: Client(loop), local_addr=cpath,
                                                     remote_addr=path, family=socket.AF_UNIX)
        ct.sendto(b"unix")
        data, frm = await asyncio.wait_for(cp.q.get(), 5)
        assert data == b"unix" and frm == path
        ct.close()
        st.close()

    loop.run_until_complete(main())

"""Unix stream sockets: echo, peer credentials of the path, unlink on close (3.13)."""
import asyncio
import os
import sys

from nethelpers import Collect, EchoProtocol


def test_unix_echo_and_unlink(loop, tmp_path):
    path = str(tmp_path / "s.sock")

    async def main():
        srv = await loop.create_unix_server(EchoProtocol, path)
        assert os.path.exists(path)
        tr, proto = await loop.create_unix_connection(lambda: Collect(loop, 100_000), path)
        assert tr.get_extra_info("peername") == path
        payload = os.urandom(100_000)
        tr.write(payload)
        assert await asyncio.wait_for(proto.got, 5) == payload
        tr.close()
        await proto.done
        srv.close()
        await srv.wait_closed()
        # 3.13: create_unix_server's socket file is removed on close.
        assert os.path.exists(path) == (sys.version_info < (3, 13))

    loop.run_until_complete(main())


def test_unix_streams(loop, tmp_path):
    path = str(tmp_path / "t.sock")

    async def handle(reader, writer):
        data = await reader.readexactly(5)
        writer.write(data[::-1])
        await writer.drain()
        writer.close()

    async def main():
        srv = await asyncio.start_unix_server(handle, path)
        reader, writer = await asyncio.open_unix_connection(path)
        writer.write(b"abcde")
        assert await reader.read() == b"edcba"
        writer.close()
        await writer.wait_closed()
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())

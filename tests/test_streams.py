"""asyncio streams (open_connection / start_server) on top of the transports."""
import asyncio
import os


def test_streams_round_trips(loop):
    async def handle(reader, writer):
        while True:
            line = await reader.readline()
            if not line:
                break
            n = int(line)
            data = await reader.readexactly(n)
            writer.write(data)
            await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def main():
        srv = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for size in (1, 1000, 70_000, 1_000_000):
            data = os.urandom(size)
            writer.write(b"%d\n" % size + data)
            await writer.drain()
            assert await reader.readexactly(size) == data
        writer.write_eof()
        assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())


def test_streams_connection_refused(loop):
    async def main():
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        try:
            await asyncio.open_connection("127.0.0.1", port)
        except ConnectionRefusedError:
            return "refused"

    assert loop.run_until_complete(main()) == "refused"

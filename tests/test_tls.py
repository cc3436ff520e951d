"""TLS over our transports: ssl= on both ends, start_tls, certificate errors."""
import asyncio
import os
import ssl

import pytest

from nethelpers import Collect, EchoProtocol, make_cert

pytest.importorskip("cryptography")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_cert(str(tmp_path_factory.mktemp("certs")))


def _contexts(certs):
    certfile, keyfile = certs
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(certfile, keyfile)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(certfile)
    return server, client


def test_tls_echo(loop, certs):
    sctx, cctx = _contexts(certs)
    payload = os.urandom(200_000)

    async def main():
        srv = await loop.create_server(EchoProtocol, "127.0.0.1", 0, ssl=sctx)
        port = srv.sockets[0].getsockname()[1]
        tr, proto = await loop.create_connection(
            lambda: Collect(loop, len(payload)), "127.0.0.1", port,
            ssl=cctx, server_hostname="localhost")
        assert tr.get_extra_info("sslcontext") is cctx
        assert tr.get_extra_info("peercert")["subject"]
        tr.write(payload)
        assert await asyncio.wait_for(proto.got, 10) == payload
        tr.close()
        assert await asyncio.wait_for(proto.done, 10) is None
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())


def test_tls_streams_and_start_tls(loop, certs):
    sctx, cctx = _contexts(certs)

    async def handle(reader, writer):
        assert await reader.readline() == b"STARTTLS\n"
        writer.write(b"OK\n")
        await writer.drain()
        await writer.start_tls(sctx)
        line = await reader.readline()
        writer.write(line.upper())
        await writer.drain()
        writer.close()

    async def main():
        srv = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"STARTTLS\n")
        assert await reader.readline() == b"OK\n"
        await writer.start_tls(cctx, server_hostname="localhost")
        assert writer.get_extra_info("ssl_object") is not None
        writer.write(b"secret\n")
        assert await reader.readline() == b"SECRET\n"
        writer.close()
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())


def test_tls_certificate_error(loop, certs):
    sctx, _ = _contexts(certs)
    strict = ssl.create_default_context()   # does not trust our self-signed cert

    async def main():
        srv = await loop.create_server(EchoProtocol, "127.0.0.1", 0, ssl=sctx)
        port = srv.sockets[0].getsockname()[1]
        errors = []
        loop.set_exception_handler(lambda lp, ctx: errors.append(ctx))
        with pytest.raises(ssl.SSLCertVerificationError):
            await loop.create_connection(lambda: Collect(loop), "127.0.0.1", port,
                                         ssl=strict, server_hostname="localhost")
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())

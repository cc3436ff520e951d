"""Server objects: close, wait_closed, serve_forever, async with, close_clients/abort_clients."""
import asyncio
import gc
import socket
import sys
import warnings

import pytest

from nethelpers import Collect, EchoProtocol


def test_server_surface_and_close(loop):
    async def main():
        srv = await loop.create_server(EchoProtocol, "127.0.0.1", 0, start_serving=False)
        assert not srv.is_serving()
        assert srv.get_loop() is loop
        await srv.start_serving()
        assert srv.is_serving()
        (sock,) = srv.sockets
        port = sock.getsockname()[1]
        tr, proto = await loop.create_connection(lambda: Collect(loop, 2), "127.0.0.1", port)
        tr.write(b"hi")
        assert await asyncio.wait_for(proto.got, 5) == b"hi"
        srv.close()
        assert not srv.is_serving()
        assert srv.sockets == ()
        # A closed server accepts nothing more.
        with pytest.raises(ConnectionRefusedError):
            await loop.create_connection(lambda: Collect(loop), "127.0.0.1", port)
        tr.close()
        await proto.done
        await asyncio.wait_for(srv.wait_closed(), 5)

    loop.run_until_complete(main())


def test_server_async_with_and_serve_forever(loop):
    async def main():
        srv = await loop.create_server(EchoProtocol, "127.0.0.1", 0)
        async with srv:
            task = asyncio.ensure_future(srv.serve_forever())
            await asyncio.sleep(0.01)
            assert srv.is_serving()
            with pytest.raises(RuntimeError, match="is already being awaited on serve_forever"):
                await srv.serve_forever()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert not srv.is_serving()   # serve_forever's cancellation closed it
        assert srv.sockets == ()

    loop.run_until_complete(main())


def test_server_several_hosts_and_sock(loop):
    async def main():
        srv = await loop.create_server(EchoProtocol, ["127.0.0.1", "127.0.0.1"], 0,
                                       reuse_address=True, backlog=10)
        assert len(srv.sockets) >= 1
        srv.close()
        await srv.wait_closed()
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        srv = await loop.create_server(EchoProtocol, sock=s)
        port = srv.sockets[0].getsockname()[1]
        tr, proto = await loop.create_connection(lambda: Collect(loop, 1), "127.0.0.1", port)
        tr.write(b"z")
        assert await asyncio.wait_for(proto.got, 5) == b"z"
        tr.close()
        await proto.done
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())


@pytest.mark.skipif(sys.version_info < (3, 13), reason="close_clients/abort_clients are new in 3.13")
@pytest.mark.parametrize("how", ["close_clients", "abort_clients"])
def test_close_and_abort_clients(loop, how):
    async def main():
        srv = await loop.create_server(EchoProtocol, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        clients = []
        for _ in range(3):
            tr, proto = await loop.create_connection(lambda: Collect(loop, 1), "127.0.0.1", port)
            tr.write(b"x")
            await asyncio.wait_for(proto.got, 5)
            clients.append(proto)
        srv.close()
        getattr(srv, how)()
        await asyncio.wait_for(srv.wait_closed(), 5)
        for proto in clients:
            exc = await asyncio.wait_for(proto.done, 5)
            # close_clients: orderly EOF; abort_clients: RST or EOF.
            assert exc is None or isinstance(exc, ConnectionError)

    loop.run_until_complete(main())


def test_wait_closed_waits_for_connections(loop):
    async def main():
        srv = await loop.create_server(EchoProtocol, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        tr, proto = await loop.create_connection(lambda: Collect(loop, 1), "127.0.0.1", port)
        tr.write(b"x")
        await proto.got
        srv.close()
        waiter = asyncio.ensure_future(srv.wait_closed())
        await asyncio.sleep(0.05)
        if sys.version_info >= (3, 12):
            assert not waiter.done()    # the connection is still open
        tr.close()
        await asyncio.wait_for(waiter, 5)

    loop.run_until_complete(main())


def test_connect_accepted_socket(loop):
    async def main():
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen()
        csock = socket.create_connection(lsock.getsockname())
        conn, _ = lsock.accept()
        lsock.close()
        tr, proto = await loop.connect_accepted_socket(EchoProtocol, conn)
        csock.sendall(b"ping")
        csock.settimeout(5)
        got = await loop.run_in_executor(None, csock.recv, 10)
        assert got == b"ping"
        csock.close()
        for _ in range(100):
            if "CL" in proto.calls:
                break
            await asyncio.sleep(0.01)
        assert proto.calls[-1] == "CL"

    loop.run_until_complete(main())


def test_accept_out_of_fds_pauses_and_recovers(loop):
    """EMFILE at accept: reported to the exception handler, accepting resumes later."""
    import os
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    errors = []
    loop.set_exception_handler(lambda lp, ctx: errors.append(ctx))

    async def main():
        srv = await loop.create_server(EchoProtocol, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        client = socket.socket()
        client.setblocking(False)
        client.connect_ex(("127.0.0.1", port))   # completes in the kernel's backlog
        filler = []
        try:
            while True:
                filler.append(os.open(os.devnull, os.O_RDONLY))
        except OSError:
            pass
        try:
            await asyncio.sleep(0.2)
        finally:
            for fd in filler:
                os.close(fd)
        assert errors and errors[0]["message"] == "socket.accept() out of system resource"
        assert isinstance(errors[0]["exception"], OSError)
        assert srv.is_serving()
        # asyncio retries after constants.ACCEPT_RETRY_DELAY (1 s).
        client.setblocking(True)
        client.settimeout(5)
        client.sendall(b"back")
        got = await loop.run_in_executor(None, client.recv, 4)
        assert got == b"back"
        client.close()
        srv.close()
        await srv.wait_closed()

    n_open = len(os.listdir("/proc/self/fd"))
    resource.setrlimit(resource.RLIMIT_NOFILE, (n_open + 64, hard))
    try:
        loop.run_until_complete(asyncio.wait_for(main(), 10))
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_server_closed_before_an_accepted_transport_is_made(loop, loop_name, kind, tmp_path, monkeypatch):
    # The connection is accepted, then the server closes before the task
    # that makes its transport runs: Server._attach() fails (an assertion on
    # every loop) and the half-made transport is dropped. It must not try
    # to detach from the server when collected.
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)

    async def main():
        if kind == "unix":
            path = str(tmp_path / "s")
            srv = await loop.create_unix_server(asyncio.Protocol, path)
            tr, _ = await loop.create_unix_connection(asyncio.Protocol, path)
        else:
            srv = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
            port = srv.sockets[0].getsockname()[1]
            tr, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
        tr.close()
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())
    loop.run_until_complete(asyncio.sleep(0.05))
    loop.close()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    errors = [u for u in unraisable if not issubclass(u.exc_type, ResourceWarning)]
    if loop_name == "asyncio" and sys.version_info >= (3, 13):
        # asyncio 3.13's own transport detaches in __del__ from the server it
        # never attached to and trips over its spent waiters (TypeError);
        # tideloop does not (docs/COMPATIBILITY.md).
        errors = [u for u in errors if not (issubclass(u.exc_type, TypeError)
                                            and "__del__" in repr(u.object))]
    assert errors == []

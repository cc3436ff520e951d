"""Transport failure paths: peer reset, protocol errors, closed transports, fd-reuse churn."""
import asyncio
import os
import random
import socket
import struct
import sys

import pytest

from nethelpers import Collect, EchoProtocol


def test_peer_reset_mid_write(loop):
    async def main():
        accepted = loop.create_future()

        class Server(asyncio.Protocol):
            def connection_made(self, transport):
                accepted.set_result(transport)
                transport.pause_reading()

        srv = await loop.create_server(Server, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        errors = []
        loop.set_exception_handler(lambda lp, ctx: errors.append(ctx))
        lost = []

        class Writer(Collect):
            def connection_lost(self, exc):
                lost.append(exc)
                super().connection_lost(exc)

        tr, proto = await loop.create_connection(lambda: Writer(loop), "127.0.0.1", port)
        server_tr = await accepted
        for _ in range(200):
            tr.write(b"x" * 65536)          # far more than the socket buffers hold
        assert tr.get_write_buffer_size() > 0
        # Reset from the peer: SO_LINGER 0 then close sends RST.
        ssock = server_tr.get_extra_info("socket")
        ssock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        server_tr.abort()
        exc = await asyncio.wait_for(proto.done, 5)
        await asyncio.sleep(0.05)
        assert isinstance(exc, ConnectionError)
        assert len(lost) == 1
        assert errors == []                  # an OSError is not "unexpected"
        assert tr.is_closing()
        tr.write(b"more")                    # ignored after connection loss
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())


def test_data_received_raising_goes_to_exception_handler(loop):
    async def main():
        srv = await loop.create_server(EchoProtocol, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        errors = []
        loop.set_exception_handler(lambda lp, ctx: errors.append(ctx))

        class Bad(Collect):
            def data_received(self, data):
                raise ZeroDivisionError("boom")

        tr, proto = await loop.create_connection(lambda: Bad(loop), "127.0.0.1", port)
        tr.write(b"x")
        exc = await asyncio.wait_for(proto.done, 5)
        assert isinstance(exc, ZeroDivisionError)
        assert len(errors) == 1
        ctx = errors[0]
        assert ctx["message"] == "Fatal error: protocol.data_received() call failed."
        assert ctx["exception"] is exc
        assert ctx["transport"] is tr and ctx["protocol"] is proto
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())


def test_methods_on_closed_transport(loop):
    async def main():
        srv = await loop.create_server(EchoProtocol, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        tr, proto = await loop.create_connection(lambda: Collect(loop), "127.0.0.1", port)
        tr.close()
        await proto.done
        assert tr.is_closing()
        assert not tr.is_reading()
        tr.close()               # idempotent
        tr.abort()
        tr.pause_reading()
        tr.resume_reading()
        tr.write_eof()           # no-op once closing
        tr.write(b"x")           # silently dropped (conn lost)
        with pytest.raises(TypeError, match="data argument must be a bytes-like object, not 'str'"):
            tr.write("text")
        assert tr.get_write_buffer_size() == 0
        assert tr.get_extra_info("peername") == ("127.0.0.1", port)
        assert "closed" in repr(tr)
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())


def test_write_after_loop_closed_connection_lost_once(loop_factory):
    lp = loop_factory()
    try:
        async def main():
            srv = await lp.create_server(EchoProtocol, "127.0.0.1", 0)
            port = srv.sockets[0].getsockname()[1]
            tr, proto = await lp.create_connection(lambda: Collect(lp), "127.0.0.1", port)
            srv.close()
            return tr, proto
        tr, proto = lp.run_until_complete(main())
        tr.abort()
        lp.run_until_complete(asyncio.sleep(0.01))
        assert proto.calls.count("CL") == 1
    finally:
        lp.close()
    coro = asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="Event loop is closed"):
        lp.run_until_complete(coro)
    coro.close()


def test_fd_reuse_churn(loop):
    """Short connections, some cancelled mid-flight: every reply matches its request."""
    rng = random.Random(1234)
    n = 20_000

    async def handle(reader, writer):
        try:
            line = await reader.readline()
            await asyncio.sleep(rng.random() * 0.002)
            writer.write(line)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def one(port, i):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            msg = b"%d-%s\n" % (i, os.urandom(8).hex().encode())
            writer.write(msg)
            reply = await reader.readline()
            assert reply == msg, (reply, msg)
            return True
        finally:
            writer.close()

    async def main():
        srv = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1000)
        port = srv.sockets[0].getsockname()[1]
        done = 0
        for start in range(0, n, 200):
            tasks = [asyncio.ensure_future(one(port, i)) for i in range(start, start + 200)]
            await asyncio.sleep(0)
            for t in tasks:
                if rng.random() < 0.1:
                    loop.call_later(rng.random() * 0.003, t.cancel)
            for t in tasks:
                try:
                    if await t:
                        done += 1
                except asyncio.CancelledError:
                    pass
        srv.close()
        await srv.wait_closed()
        assert done > n // 2

    loop.run_until_complete(asyncio.wait_for(main(), 120))


def test_many_concurrent_connections(loop):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 2 * 1000 + 200
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            pytest.skip("fd limit too low")
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    async def main():
        srv = await loop.create_server(EchoProtocol, "127.0.0.1", 0, backlog=2000)
        port = srv.sockets[0].getsockname()[1]
        conns = []
        for i in range(1000):
            conns.append(await loop.create_connection(lambda: Collect(loop, 6), "127.0.0.1", port))
        for i, (tr, _) in enumerate(conns):
            tr.write(b"%06d" % i)
        for i, (tr, proto) in enumerate(conns):
            assert await asyncio.wait_for(proto.got, 10) == b"%06d" % i
            tr.close()
        srv.close()
        await srv.wait_closed()

    try:
        loop.run_until_complete(main())
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


_CLIENT = r"""
import resource, socket, sys
n, port = int(sys.argv[1]), int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 100), hard))
conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
for i, s in enumerate(conns):
    s.sendall(b"%06d" % i)
for i, s in enumerate(conns):
    s.settimeout(30)
    got = b""
    while len(got) < 6:
        chunk = s.recv(6 - len(got))
        assert chunk, i
        got += chunk
    assert got == b"%06d" % i, (i, got)
print("ok", n)
"""


def test_ten_thousand_concurrent_connections(loop):
    """10,000 connections open at once on one loop (the client is another process)."""
    import resource
    import subprocess
    import sys

    n = 10_000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < n + 200:
        pytest.skip(f"hard fd limit {hard} is below {n + 200}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (n + 200, hard))
    peak = []

    async def main():
        protos = []

        def factory():
            p = EchoProtocol()
            protos.append(p)
            return p
        srv = await loop.create_server(factory, "127.0.0.1", 0, backlog=4096)
        port = srv.sockets[0].getsockname()[1]
        proc = subprocess.Popen([sys.executable, "-c", _CLIENT, str(n), str(port)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        while proc.poll() is None:
            peak.append(sum(1 for p in protos if "CL" not in p.calls))
            await asyncio.sleep(0.05)
        out, err = proc.communicate()
        assert proc.returncode == 0, err.decode()[-2000:]
        assert out.split() == [b"ok", str(n).encode()]
        srv.close()
        for _ in range(200):
            if all("CL" in p.calls for p in protos):
                break
            await asyncio.sleep(0.05)
        assert len(protos) == n
        assert all(p.calls.count("CL") == 1 for p in protos)

    try:
        loop.run_until_complete(asyncio.wait_for(main(), 120))
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert max(peak) == n   # all of them were open at the same time


def test_transport_methods_after_loop_closed(loop_factory):
    import warnings

    lp = loop_factory()

    async def main():
        srv = await lp.create_server(EchoProtocol, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        tr, proto = await lp.create_connection(lambda: Collect(lp), "127.0.0.1", port)
        srv.close()
        return tr, proto

    tr, proto = lp.run_until_complete(main())
    lp.close()
    assert not tr.is_closing()
    assert tr.get_extra_info("peername") is not None
    tr.pause_reading()
    with pytest.raises(RuntimeError, match="Event loop is closed"):
        tr.resume_reading()
    assert tr.is_reading()
    tr.write(b"x")            # sent at once: no loop needed
    with pytest.raises(RuntimeError, match="Event loop is closed"):
        tr.close()
    assert tr.is_closing()
    tr.abort()                # connection_lost is already "scheduled"
    tr.close()
    tr._sock.close()   # the socket object itself (asyncio's extra info is a wrapper)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        del tr, proto
        import gc
        gc.collect()


def test_socket_closed_behind_transport_never_reaches_reused_fd(loop):
    """Closing the transport's socket directly, then reusing its fd number:
    the old transport's writes fail (EBADF), they never reach the new socket."""
    import errno

    async def main():
        srv = await loop.create_server(EchoProtocol, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        tr, proto = await loop.create_connection(lambda: Collect(loop), "127.0.0.1", port)
        sock = tr.get_extra_info("socket")
        if not hasattr(sock, "close"):      # asyncio's TransportSocket wrapper
            sock = tr._sock
        fd = sock.fileno()
        sock.close()
        a, b = socket.socketpair()          # very likely gets fd back
        a.setblocking(False)
        b.setblocking(False)
        try:
            tr.write(b"must not arrive")
            exc = await asyncio.wait_for(proto.done, 5)
            assert isinstance(exc, OSError) and exc.errno == errno.EBADF
            await asyncio.sleep(0.05)
            for s in (a, b):
                with pytest.raises(BlockingIOError):
                    s.recv(100)
        finally:
            a.close()
            b.close()
        srv.close()
        await srv.wait_closed()
        del fd

    loop.run_until_complete(main())


# asyncio's own loop fails both of the next tests: its selector is keyed by fd
# number, so the old transport's close() removes the reader the number's new
# owner added, and resume_reading() registers whatever file holds the number
# now. tideloop hands out the real socket (get_extra_info('socket')), so a
# socket closed behind its transport is a case it must survive.
ASYNCIO_FD_NUMBER_KEYED = "asyncio's selector is keyed by fd number: the stale transport edits the new owner's registration"


def _take_fd_number(fd, sock_to_move):
    """Make *fd* refer to *sock_to_move*'s connection; return a socket object owning it."""
    if sock_to_move.fileno() == fd:        # it got the free number itself
        return sock_to_move
    os.dup2(sock_to_move.fileno(), fd)
    sock_to_move.close()
    return socket.socket(fileno=fd)


def test_stale_transport_leaves_the_fd_numbers_new_owner_alone(loop, loop_name):
    if loop_name == "asyncio":
        pytest.skip(ASYNCIO_FD_NUMBER_KEYED)
    import errno

    async def main():
        srv = await loop.create_server(EchoProtocol, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        errors = []
        loop.set_exception_handler(lambda lp, ctx: errors.append(ctx))
        old_tr, old_proto = await loop.create_connection(lambda: Collect(loop), "127.0.0.1", port)
        old_tr.pause_reading()
        old_sock = old_tr.get_extra_info("socket")
        fd = old_sock.fileno()
        old_sock.close()                       # behind the transport's back
        a, b = socket.socketpair()
        new_sock = _take_fd_number(fd, a)      # the number now names another connection
        old_tr.resume_reading()                # must not watch the new connection ...
        exc = await asyncio.wait_for(old_proto.done, 5)
        assert isinstance(exc, OSError) and exc.errno == errno.EBADF
        new_tr, new_proto = await loop.create_connection(lambda: Collect(loop, want=5), sock=new_sock)
        assert new_tr.get_extra_info("socket").fileno() == fd
        old_tr.close()                         # ... nor touch its registration
        b.sendall(b"hello")
        assert await asyncio.wait_for(new_proto.got, 5) == b"hello"
        new_tr.write(b"back")
        b.settimeout(5)
        assert b.recv(10) == b"back"
        new_tr.close()
        await asyncio.wait_for(new_proto.done, 5)
        b.close()
        srv.close()
        await srv.wait_closed()
        assert errors == []

    loop.run_until_complete(main())


def test_resume_reading_on_a_socket_closed_behind_the_transport(loop, loop_name, tmp_path):
    if loop_name == "asyncio":
        pytest.skip(ASYNCIO_FD_NUMBER_KEYED)
    import errno

    async def main():
        srv = await loop.create_server(EchoProtocol, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        errors = []
        loop.set_exception_handler(lambda lp, ctx: errors.append(ctx))
        tr, proto = await loop.create_connection(lambda: Collect(loop), "127.0.0.1", port)
        tr.pause_reading()
        sock = tr.get_extra_info("socket")
        fd = sock.fileno()
        sock.close()
        # The number now names a regular file (epoll refuses those: EPERM).
        path = tmp_path / "f"
        path.write_bytes(b"file")
        ffd = os.open(path, os.O_RDONLY)
        if ffd != fd:                          # unless it got the number itself
            os.dup2(ffd, fd)
            os.close(ffd)
        try:
            tr.resume_reading()                # no exception: the protocol hears of it
            exc = await asyncio.wait_for(proto.done, 5)
            assert isinstance(exc, OSError) and exc.errno == errno.EBADF
            assert os.read(fd, 10) == b"file"  # the file was never touched
        finally:
            os.close(fd)
        srv.close()
        await srv.wait_closed()
        assert errors == []

    loop.run_until_complete(main())


def test_datagram_transport_closed_behind_its_back_leaves_the_new_owner_alone(loop, loop_name):
    if loop_name == "asyncio":
        pytest.skip(ASYNCIO_FD_NUMBER_KEYED)
    if sys.version_info >= (3, 12):
        pytest.skip("3.12+ refuses a transport on an fd number a live transport holds")

    async def main():
        class Recv(asyncio.DatagramProtocol):
            def __init__(self):
                self.got = loop.create_future()
                self.lost = loop.create_future()

            def datagram_received(self, data, addr):
                if not self.got.done():
                    self.got.set_result(data)

            def connection_lost(self, exc):
                self.lost.set_result(exc)

        errors = []
        loop.set_exception_handler(lambda lp, ctx: errors.append(ctx))
        old_tr, old_proto = await loop.create_datagram_endpoint(Recv, local_addr=("127.0.0.1", 0))
        old_sock = old_tr.get_extra_info("socket")
        fd = old_sock.fileno()
        old_sock.close()
        a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        a.bind(("127.0.0.1", 0))
        new_sock = _take_fd_number(fd, a)
        new_tr, new_proto = await loop.create_datagram_endpoint(Recv, sock=new_sock)
        old_tr.close()
        assert await asyncio.wait_for(old_proto.lost, 5) is None
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
            c.sendto(b"ping", new_sock.getsockname())
        assert await asyncio.wait_for(new_proto.got, 5) == b"ping"
        new_tr.close()
        await asyncio.wait_for(new_proto.lost, 5)
        assert errors == []

    loop.run_until_complete(main())

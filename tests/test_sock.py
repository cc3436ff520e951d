"""Every loop.sock_* method over real loopback TCP, UDP and Unix sockets."""
import asyncio
import hashlib
import os
import socket
import ssl
import struct
import threading
import time

import pytest

GUARD = 20  # seconds: no single socket operation here may take longer


def _run(loop, coro):
    """Run coro on loop with a guard timeout so a broken loop fails, not hangs."""
    return loop.run_until_complete(asyncio.wait_for(coro, GUARD))


def _tcp_pair(family=socket.AF_INET, host="127.0.0.1", rcvbuf=None):
    """A connected non-blocking (client, server) TCP pair over loopback."""
    lsock = socket.socket(family, socket.SOCK_STREAM)
    try:
        lsock.bind((host, 0))
        lsock.listen(1)
        client = socket.socket(family, socket.SOCK_STREAM)
        if rcvbuf is not None:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        client.connect(lsock.getsockname())
        server, _ = lsock.accept()
    finally:
        lsock.close()
    client.setblocking(False)
    server.setblocking(False)
    return client, server


@pytest.fixture
def tcp_pair():
    """A connected non-blocking TCP pair on 127.0.0.1, closed afterwards."""
    client, server = _tcp_pair()
    yield client, server
    client.close()
    server.close()


@pytest.fixture
def udp_pair():
    """Two non-blocking UDP sockets bound on 127.0.0.1."""
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.bind(("127.0.0.1", 0))
    b.bind(("127.0.0.1", 0))
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def _recv_all_in_thread(sock, nbytes, delay=0.0, chunk=16384):
    """Read nbytes from a (blocking) socket in a thread; returns (thread, result list)."""
    out = []

    def reader():
        time.sleep(delay)  # let the sender's kernel buffer fill first
        h = hashlib.sha256()
        got = 0
        while got < nbytes:
            data = sock.recv(chunk)
            if not data:
                break
            h.update(data)
            got += len(data)
        out.append((got, h.hexdigest()))

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    return t, out


# --- sock_recv / sock_recv_into -----------------------------------------------------

def test_sock_recv_ready_data(loop, tcp_pair):
    """sock_recv returns data already waiting, at most n bytes."""
    client, server = tcp_pair
    server.sendall(b"hello world")
    time.sleep(0.01)
    assert _run(loop, loop.sock_recv(client, 5)) == b"hello"
    assert _run(loop, loop.sock_recv(client, 100)) == b" world"


def test_sock_recv_waits_for_data(loop, tcp_pair):
    """A pending sock_recv completes when data arrives later."""
    client, server = tcp_pair
    loop.call_later(0.05, server.send, b"later")
    assert _run(loop, loop.sock_recv(client, 100)) == b"later"


def test_sock_recv_eof(loop, tcp_pair):
    """sock_recv returns b'' at EOF, whether EOF is already there or arrives later."""
    client, server = tcp_pair
    loop.call_later(0.02, server.shutdown, socket.SHUT_WR)
    assert _run(loop, loop.sock_recv(client, 100)) == b""
    assert _run(loop, loop.sock_recv(client, 100)) == b""


def test_sock_recv_into(loop, tcp_pair):
    """sock_recv_into fills the buffer and returns the byte count."""
    client, server = tcp_pair
    buf = bytearray(10)
    loop.call_later(0.02, server.send, b"abc")
    assert _run(loop, loop.sock_recv_into(client, buf)) == 3
    assert buf[:3] == b"abc"
    server.send(b"0123456789XYZ")
    time.sleep(0.01)
    view = memoryview(buf)[2:6]
    assert _run(loop, loop.sock_recv_into(client, view)) == 4
    assert bytes(buf) == b"ab0123\x00\x00\x00\x00"


def test_sock_recv_connection_reset(loop, tcp_pair):
    """A reset by the peer surfaces as ConnectionResetError, pending or not."""
    client, server = tcp_pair
    server.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    async def main():
        fut = loop.create_task(loop.sock_recv(client, 100))
        await asyncio.sleep(0.02)
        server.close()  # RST while sock_recv is pending
        with pytest.raises(ConnectionResetError):
            await fut

    _run(loop, main())


# --- sock_sendall ---------------------------------------------------------------------

def test_sock_sendall_large_payload_to_slow_reader(loop):
    """4 MB to a reader that starts late and reads slowly: all bytes, in order; loop stays live."""
    client, server = _tcp_pair(rcvbuf=65536)
    payload = os.urandom(4 * 1024 * 1024)
    ticks = {"n": 0}
    try:
        server.setblocking(True)
        t, out = _recv_all_in_thread(server, len(payload), delay=0.2)

        def tick():
            ticks["n"] += 1
            loop.call_later(0.01, tick)

        loop.call_soon(tick)
        sender = client
        assert _run(loop, loop.sock_sendall(sender, payload)) is None
        t.join(GUARD)
        assert out == [(len(payload), hashlib.sha256(payload).hexdigest())]
        assert ticks["n"] >= 5  # the loop kept running while the send was pending
    finally:
        client.close()
        server.close()


def test_sock_sendall_accepts_buffers(loop, tcp_pair):
    """bytearray and memoryview payloads work; an empty payload returns at once."""
    client, server = tcp_pair
    _run(loop, loop.sock_sendall(client, bytearray(b"ab")))
    _run(loop, loop.sock_sendall(client, memoryview(b"xcdx")[1:3]))
    _run(loop, loop.sock_sendall(client, b""))
    time.sleep(0.01)
    assert server.recv(100) == b"abcd"


def test_sock_sendall_to_reset_peer(loop, tcp_pair):
    """Sending to a peer that reset the connection raises a ConnectionError."""
    client, server = tcp_pair
    server.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    server.close()
    time.sleep(0.01)

    async def main():
        for _ in range(100):
            await loop.sock_sendall(client, b"x" * 65536)

    with pytest.raises((BrokenPipeError, ConnectionResetError)):
        _run(loop, main())


def test_full_duplex_send_and_recv_on_one_socket(loop, tcp_pair):
    """A pending sock_sendall and a pending sock_recv on the same fd both complete."""
    a, b = tcp_pair
    size = 2 * 1024 * 1024
    pa, pb = os.urandom(size), os.urandom(size)

    async def recv_exactly(sock, n):
        chunks, got = [], 0
        while got < n:
            data = await loop.sock_recv(sock, 65536)
            assert data, "unexpected EOF"
            chunks.append(data)
            got += len(data)
        return b"".join(chunks)

    async def main():
        return await asyncio.gather(
            loop.sock_sendall(a, pa), loop.sock_sendall(b, pb),
            recv_exactly(a, size), recv_exactly(b, size),
        )

    _, _, got_a, got_b = _run(loop, main())
    assert got_a == pb
    assert got_b == pa


# --- sock_connect / sock_accept -------------------------------------------------------

def _listener(family=socket.AF_INET, host="127.0.0.1"):
    """A non-blocking listening socket."""
    lsock = socket.socket(family, socket.SOCK_STREAM)
    lsock.bind((host, 0))
    lsock.listen(5)
    lsock.setblocking(False)
    return lsock


@pytest.mark.parametrize("family,host", [
    (socket.AF_INET, "127.0.0.1"),
    pytest.param(socket.AF_INET6, "::1", marks=pytest.mark.skipif(
        not socket.has_ipv6, reason="no IPv6")),
])
def test_sock_connect_and_accept(loop, family, host):
    """sock_connect + sock_accept: a connected pair; the accepted socket is non-blocking."""
    lsock = _listener(family, host)
    client = socket.socket(family, socket.SOCK_STREAM)
    client.setblocking(False)
    conn = None
    try:
        async def main():
            accept = loop.create_task(loop.sock_accept(lsock))
            await asyncio.sleep(0.01)  # the accept is pending before the connect
            assert await loop.sock_connect(client, lsock.getsockname()) is None
            return await accept

        conn, addr = _run(loop, main())
        assert conn.getblocking() is False
        assert addr[:2] == client.getsockname()[:2]
        _run(loop, loop.sock_sendall(client, b"ping"))
        assert _run(loop, loop.sock_recv(conn, 10)) == b"ping"
    finally:
        for s in (lsock, client, conn):
            if s is not None:
                s.close()


def test_sock_connect_resolves_host_name(loop):
    """sock_connect resolves 'localhost' for an AF_INET socket."""
    lsock = _listener()
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.setblocking(False)
    try:
        port = lsock.getsockname()[1]
        _run(loop, loop.sock_connect(client, ("localhost", port)))
        conn, _ = _run(loop, loop.sock_accept(lsock))
        conn.close()
        assert client.getpeername() == ("127.0.0.1", port)
    finally:
        lsock.close()
        client.close()


def test_sock_connect_refused(loop):
    """Connecting to a closed port raises ConnectionRefusedError."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    addr = probe.getsockname()
    probe.close()  # nothing listens here now
    client = socket.socket()
    client.setblocking(False)
    try:
        with pytest.raises(ConnectionRefusedError):
            _run(loop, loop.sock_connect(client, addr))
    finally:
        client.close()


def test_sock_accept_cancel_then_accept_again(loop):
    """A cancelled pending sock_accept leaves the listener usable."""
    lsock = _listener()
    client = socket.socket()
    client.setblocking(False)
    try:
        async def main():
            pending = loop.create_task(loop.sock_accept(lsock))
            await asyncio.sleep(0.01)
            pending.cancel()
            with pytest.raises(asyncio.CancelledError):
                await pending
            accept = loop.create_task(loop.sock_accept(lsock))
            await loop.sock_connect(client, lsock.getsockname())
            conn, _ = await accept
            conn.close()

        _run(loop, main())
    finally:
        lsock.close()
        client.close()


# --- UDP: sock_sendto / sock_recvfrom / sock_recvfrom_into -----------------------------

def test_sock_sendto_and_recvfrom(loop, udp_pair):
    """sock_sendto returns the bytes sent; sock_recvfrom returns (data, addr)."""
    a, b = udp_pair
    assert _run(loop, loop.sock_sendto(a, b"datagram", b.getsockname())) == 8
    data, addr = _run(loop, loop.sock_recvfrom(b, 100))
    assert data == b"datagram"
    assert addr == a.getsockname()


def test_sock_recvfrom_waits(loop, udp_pair):
    """A pending sock_recvfrom completes when a datagram arrives."""
    a, b = udp_pair
    loop.call_later(0.03, a.sendto, b"late", b.getsockname())
    assert _run(loop, loop.sock_recvfrom(b, 100)) == (b"late", a.getsockname())


def test_sock_recvfrom_truncates_to_bufsize(loop, udp_pair):
    """A datagram longer than bufsize is truncated, as recvfrom does."""
    a, b = udp_pair
    a.sendto(b"0123456789", b.getsockname())
    time.sleep(0.01)
    data, _ = _run(loop, loop.sock_recvfrom(b, 4))
    assert data == b"0123"


def test_sock_recvfrom_into(loop, udp_pair):
    """sock_recvfrom_into fills the buffer (or nbytes of it) and returns (n, addr)."""
    a, b = udp_pair
    buf = bytearray(16)
    loop.call_later(0.02, a.sendto, b"into-buffer", b.getsockname())
    n, addr = _run(loop, loop.sock_recvfrom_into(b, buf))
    assert (n, addr) == (11, a.getsockname())
    assert buf[:11] == b"into-buffer"
    a.sendto(b"ABCDEFGH", b.getsockname())
    time.sleep(0.01)
    n, _ = _run(loop, loop.sock_recvfrom_into(b, buf, 3))
    assert n == 3
    assert buf[:11] == b"ABCo-buffer"


def test_sock_sendto_many_datagrams(loop, udp_pair):
    """Many sock_sendto calls each deliver one datagram, in order over loopback."""
    a, b = udp_pair

    async def main():
        for i in range(200):
            await loop.sock_sendto(a, b"%d" % i, b.getsockname())
        got = []
        for _ in range(200):
            data, _ = await loop.sock_recvfrom(b, 100)
            got.append(int(data))
        return got

    assert _run(loop, main()) == list(range(200))


# --- Unix sockets ----------------------------------------------------------------------

def test_unix_stream_sockets(loop, tmp_path):
    """sock_connect/accept/sendall/recv over an AF_UNIX stream socket."""
    path = str(tmp_path / "s.sock")
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(path)
    lsock.listen(1)
    lsock.setblocking(False)
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.setblocking(False)
    try:
        async def main():
            accept = loop.create_task(loop.sock_accept(lsock))
            await loop.sock_connect(client, path)
            conn, _ = await accept
            try:
                assert conn.getblocking() is False

                async def receive():
                    got = b""
                    while len(got) < 300_000:
                        got += await loop.sock_recv(conn, 65536)
                    return got

                # more than the socket buffers hold: send and receive at once
                _, got = await asyncio.gather(
                    loop.sock_sendall(client, b"x" * 300_000), receive())
                return got
            finally:
                conn.close()

        assert _run(loop, main()) == b"x" * 300_000
    finally:
        lsock.close()
        client.close()


def test_unix_datagram_sockets(loop, tmp_path):
    """sock_sendto/recvfrom over AF_UNIX datagram sockets report the sender's path."""
    pa, pb = str(tmp_path / "a.sock"), str(tmp_path / "b.sock")
    a = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    a.bind(pa)
    b.bind(pb)
    a.setblocking(False)
    b.setblocking(False)
    try:
        assert _run(loop, loop.sock_sendto(a, b"unix-dgram", pb)) == 10
        assert _run(loop, loop.sock_recvfrom(b, 100)) == (b"unix-dgram", pa)
    finally:
        a.close()
        b.close()


# --- sock_sendfile ---------------------------------------------------------------------

@pytest.fixture
def data_file(tmp_path):
    """A 1 MiB file of random bytes, opened for binary reading."""
    content = os.urandom(1024 * 1024)
    path = tmp_path / "data.bin"
    path.write_bytes(content)
    with open(path, "rb") as f:
        yield f, content


@pytest.mark.parametrize("fallback", [True, False])
def test_sock_sendfile_whole_file(loop, tcp_pair, data_file, fallback):
    """sock_sendfile sends the whole file, returns its size and leaves the position at the end."""
    client, server = tcp_pair
    f, content = data_file
    server.setblocking(True)
    t, out = _recv_all_in_thread(server, len(content))
    sent = _run(loop, loop.sock_sendfile(client, f, fallback=fallback))
    t.join(GUARD)
    assert sent == len(content)
    assert out == [(len(content), hashlib.sha256(content).hexdigest())]
    assert f.tell() == len(content)


def test_sock_sendfile_offset_and_count(loop, tcp_pair, data_file):
    """offset/count select a slice; the file position ends at offset + count."""
    client, server = tcp_pair
    f, content = data_file
    server.setblocking(True)
    t, out = _recv_all_in_thread(server, 5000)
    sent = _run(loop, loop.sock_sendfile(client, f, 1000, 5000))
    t.join(GUARD)
    assert sent == 5000
    assert out == [(5000, hashlib.sha256(content[1000:6000]).hexdigest())]
    assert f.tell() == 6000


def test_sock_sendfile_empty_file(loop, tcp_pair, tmp_path):
    """An empty file sends nothing and returns 0."""
    client, _ = tcp_pair
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    with open(path, "rb") as f:
        assert _run(loop, loop.sock_sendfile(client, f)) == 0


# --- argument checks -------------------------------------------------------------------

NONBLOCK = "^the socket must be non-blocking$"


def _sock_calls(sock, tmp_file):
    """One coroutine per sock_* method, all on the same socket."""
    return {
        "sock_recv": lambda lp: lp.sock_recv(sock, 1),
        "sock_recv_into": lambda lp: lp.sock_recv_into(sock, bytearray(1)),
        "sock_recvfrom": lambda lp: lp.sock_recvfrom(sock, 1),
        "sock_recvfrom_into": lambda lp: lp.sock_recvfrom_into(sock, bytearray(1)),
        "sock_sendall": lambda lp: lp.sock_sendall(sock, b"x"),
        "sock_sendto": lambda lp: lp.sock_sendto(sock, b"x", ("127.0.0.1", 9)),
        "sock_connect": lambda lp: lp.sock_connect(sock, ("127.0.0.1", 9)),
        "sock_accept": lambda lp: lp.sock_accept(sock),
        "sock_sendfile": lambda lp: lp.sock_sendfile(sock, tmp_file),
    }


METHODS = ["sock_recv", "sock_recv_into", "sock_recvfrom", "sock_recvfrom_into", "sock_sendall",
           "sock_sendto", "sock_connect", "sock_accept", "sock_sendfile"]


@pytest.mark.parametrize("method", METHODS)
def test_blocking_socket_rejected_in_debug_mode(loop, method, data_file):
    """In debug mode every sock_* method refuses a blocking socket with ValueError."""
    loop.set_debug(True)
    sock = socket.socket()
    try:
        assert sock.gettimeout() is None  # blocking
        with pytest.raises(ValueError, match=NONBLOCK):
            _run(loop, _sock_calls(sock, data_file[0])[method](loop))
    finally:
        sock.close()


@pytest.mark.parametrize("method", ["sock_recv", "sock_sendall", "sock_connect", "sock_accept"])
def test_ssl_socket_rejected(loop, method, data_file):
    """An ssl.SSLSocket is refused: TypeError 'Socket cannot be of type SSLSocket'."""
    ctx = ssl.create_default_context()
    raw = socket.socket()
    raw.setblocking(False)
    sock = ctx.wrap_socket(raw, server_hostname="example.test", do_handshake_on_connect=False)
    try:
        with pytest.raises(TypeError, match="^Socket cannot be of type SSLSocket$"):
            _run(loop, _sock_calls(sock, data_file[0])[method](loop))
    finally:
        sock.close()
        raw.close()


# --- cancellation and fd reuse -----------------------------------------------------------

def test_cancelled_sock_recv_leaves_fd_reusable(loop, tcp_pair):
    """After cancelling a pending sock_recv the same socket reads normally again."""
    client, server = tcp_pair

    async def main():
        pending = loop.create_task(loop.sock_recv(client, 100))
        await asyncio.sleep(0.01)
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
        server.send(b"after-cancel")
        return await loop.sock_recv(client, 100)

    assert _run(loop, main()) == b"after-cancel"

    # and add_reader on the same fd works afterwards
    got = []

    def on_read():
        got.append(client.recv(100))
        loop.remove_reader(client)
        loop.stop()

    loop.add_reader(client, on_read)
    server.send(b"reader")
    guard = loop.call_later(GUARD, loop.stop)
    loop.run_forever()
    guard.cancel()
    assert got == [b"reader"]


def test_cancelled_sock_recv_then_fd_number_reused(loop):
    """Cancel a pending recv, close the socket, reuse its fd number: data goes to the new one."""
    lsock = _listener()
    old_client, old_server = _tcp_pair()
    old_fd = old_client.fileno()

    async def cancel_pending():
        pending = loop.create_task(loop.sock_recv(old_client, 100))
        await asyncio.sleep(0.01)
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending

    _run(loop, cancel_pending())
    old_client.close()
    # give the new socket exactly the fd number the cancelled recv was waiting on
    fresh = socket.socket()
    if fresh.fileno() != old_fd:
        os.dup2(fresh.fileno(), old_fd)
        new_client = socket.socket(fileno=old_fd)
        fresh.close()
    else:
        new_client = fresh
    old_server.close()
    new_server = None
    try:
        assert new_client.fileno() == old_fd
        new_client.setblocking(False)

        async def connect():
            accept = loop.create_task(loop.sock_accept(lsock))
            await loop.sock_connect(new_client, lsock.getsockname())
            return (await accept)[0]

        new_server = _run(loop, connect())
        loop.call_later(0.01, new_server.send, b"new-connection")
        assert _run(loop, loop.sock_recv(new_client, 100)) == b"new-connection"
        loop.call_later(0.01, new_client.send, b"other-way")
        assert _run(loop, loop.sock_recv(new_server, 100)) == b"other-way"
    finally:
        lsock.close()
        new_client.close()
        if new_server is not None:
            new_server.close()


def test_cancelled_sock_sendall_leaves_socket_usable(loop):
    """Cancelling a pending sock_sendall leaves the loop able to use the fd again."""
    client, server = _tcp_pair(rcvbuf=4096)
    try:
        async def main():
            pending = loop.create_task(loop.sock_sendall(client, b"x" * (16 * 1024 * 1024)))
            await asyncio.sleep(0.05)
            assert not pending.done()  # the buffers are full: it is waiting
            pending.cancel()
            with pytest.raises(asyncio.CancelledError):
                await pending
            # drain what was sent, then the same socket can read
            server.setblocking(True)
            server.settimeout(0.2)
            try:
                while server.recv(1 << 20):
                    pass
            except (socket.timeout, BlockingIOError):
                pass
            server.setblocking(False)
            server.send(b"still-works")
            return await loop.sock_recv(client, 100)

        assert _run(loop, main()) == b"still-works"
    finally:
        client.close()
        server.close()


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6")
def test_udp_over_ipv6(loop):
    """sock_sendto/sock_recvfrom/sock_recvfrom_into with IPv6 4-tuple addresses."""
    a = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        a.bind(("::1", 0))
        b.bind(("::1", 0))
        a.setblocking(False)
        b.setblocking(False)
        assert _run(loop, loop.sock_sendto(a, b"v6", b.getsockname())) == 2
        data, addr = _run(loop, loop.sock_recvfrom(b, 100))
        assert data == b"v6"
        assert addr == a.getsockname()
        buf = bytearray(8)
        loop.call_later(0.01, a.sendto, b"into", b.getsockname())
        n, addr = _run(loop, loop.sock_recvfrom_into(b, buf))
        assert (n, bytes(buf[:n]), addr) == (4, b"into", a.getsockname())
    finally:
        a.close()
        b.close()


def test_sock_sendto_empty_datagram(loop, udp_pair):
    """An empty datagram is sent (0 bytes) and received as b''."""
    a, b = udp_pair
    assert _run(loop, loop.sock_sendto(a, b"", b.getsockname())) == 0
    assert _run(loop, loop.sock_recvfrom(b, 100)) == (b"", a.getsockname())


def test_sock_accept_several_pending_connections(loop):
    """Connections queued in the backlog are each returned by one sock_accept."""
    lsock = _listener()
    clients = [socket.create_connection(lsock.getsockname()) for _ in range(5)]
    accepted = []
    try:
        async def main():
            for _ in range(5):
                conn, addr = await loop.sock_accept(lsock)
                accepted.append(conn)
            return sorted(c.getpeername() for c in accepted)

        assert _run(loop, main()) == sorted(c.getsockname() for c in clients)
    finally:
        for s in [lsock, *clients, *accepted]:
            s.close()


def test_sock_connect_cancelled(loop):
    """Cancelling a pending sock_connect leaves the loop and other sockets working."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(0)
    # fill the backlog so that further connects stay pending
    fillers = []
    for _ in range(8):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(lsock.getsockname())
        except BlockingIOError:
            pass
        fillers.append(s)
    client = socket.socket()
    client.setblocking(False)
    try:
        async def main():
            t = loop.create_task(loop.sock_connect(client, lsock.getsockname()))
            await asyncio.sleep(0.05)
            t.cancel()
            try:
                await t
            except asyncio.CancelledError:
                pass
            return "survived"

        assert _run(loop, main()) == "survived"
        a, b = _tcp_pair()
        try:
            loop.call_later(0.01, b.send, b"ok")
            assert _run(loop, loop.sock_recv(a, 10)) == b"ok"
        finally:
            a.close()
            b.close()
    finally:
        for s in [lsock, client, *fillers]:
            s.close()


class _CountingSocket(socket.socket):
    """A socket subclass overriding recv(): the loop must call it."""

    calls = 0

    def recv(self, n, *args):
        type(self).calls += 1
        return super().recv(n, *args)


def test_sock_recv_honours_a_recv_override(loop):
    """sock_recv goes through a subclass's own recv(), ready or after waiting."""
    a, b = socket.socketpair()
    sub = _CountingSocket(fileno=a.detach())
    sub.setblocking(False)
    try:
        async def main():
            b.sendall(b"ready")
            first = await loop.sock_recv(sub, 100)
            loop.call_later(0.02, b.sendall, b"later")
            second = await loop.sock_recv(sub, 100)
            return first, second

        assert _run(loop, main()) == (b"ready", b"later")
        assert _CountingSocket.calls >= 2
    finally:
        sub.close()
        b.close()


@pytest.mark.parametrize("n", [1, 1000, 64 * 1024, 256 * 1024, 300 * 1024])
def test_sock_recv_sizes(loop, tcp_pair, n):
    """sock_recv(n) returns at most n bytes, exactly the bytes sent, in order."""
    a, b = tcp_pair
    payload = os.urandom(400 * 1024)

    def send():
        b.setblocking(True)   # the fixture's sockets are non-blocking
        b.sendall(payload)

    async def main():
        t = threading.Thread(target=send)
        t.start()
        got = bytearray()
        while len(got) < len(payload):
            chunk = await loop.sock_recv(a, n)
            assert 0 < len(chunk) <= n and type(chunk) is bytes
            got += chunk
        t.join()
        return bytes(got)

    assert _run(loop, main()) == payload

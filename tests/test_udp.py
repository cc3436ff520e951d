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


# ---------------------------------------------------------------------------
# Behaviour of the datagram transport, asyncio's _SelectorDatagramTransport
# per Python version (3.11-3.13), on both loops.

import contextvars
import errno
import os
import sys

PY312 = sys.version_info >= (3, 12)
PY313 = sys.version_info >= (3, 13)
# Header bytes counted per queued datagram (3.13+).
HEADER = 8 if PY313 else 0


class Rec(asyncio.DatagramProtocol):
    """Records every callback, in order, with the datagrams and errors."""

    def __init__(self, loop):
        self.events = []
        self.q = asyncio.Queue()
        self.errors = []
        self.lost = loop.create_future()
        self.transport = None

    def connection_made(self, transport):
        self.events.append("made")
        self.transport = transport

    def datagram_received(self, data, addr):
        self.events.append("dgram")
        self.q.put_nowait((data, addr))

    def error_received(self, exc):
        self.events.append("error")
        self.errors.append(exc)
        self.q.put_nowait((None, exc))

    def pause_writing(self):
        self.events.append("pause")

    def resume_writing(self):
        self.events.append("resume")

    def connection_lost(self, exc):
        self.events.append("lost")
        if not self.lost.done():
            self.lost.set_result(exc)


async def _pair(loop, family=socket.AF_INET, host="127.0.0.1"):
    """An echo server endpoint and a client connected to it."""
    st, sp = await loop.create_datagram_endpoint(Echo, local_addr=(host, 0), family=family)
    addr = st.get_extra_info("sockname")
    ct, cp = await loop.create_datagram_endpoint(lambda: Rec(loop), remote_addr=addr,
                                                 family=family)
    return st, ct, cp, addr


def _exc_handler_calls(loop):
    calls = []
    loop.set_exception_handler(lambda lp, ctx: calls.append(ctx))
    return calls


def test_transport_classes_and_extra_info(loop):
    async def main():
        st, ct, cp, addr = await _pair(loop)
        for t in (st, ct):
            assert isinstance(t, asyncio.BaseTransport)
            if PY312:   # 3.11's asyncio transport is not a DatagramTransport
                assert isinstance(t, asyncio.DatagramTransport)
        sock = ct.get_extra_info("socket")
        assert sock.fileno() == ct._sock_fd
        assert sock.family == socket.AF_INET and sock.type == socket.SOCK_DGRAM
        assert ct.get_extra_info("peername") == addr
        assert ct.get_extra_info("sockname") == sock.getsockname()
        assert st.get_extra_info("peername") is None
        assert st.get_extra_info("nope", 42) == 42
        assert "fd=" in repr(ct) and "closed" not in repr(ct)
        assert ct.get_write_buffer_limits() == (16 * 1024, 64 * 1024)
        ct.set_write_buffer_limits(high=1000)
        assert ct.get_write_buffer_limits() == (250, 1000)
        with pytest.raises(ValueError, match=r"high \(1\) must be >= low \(2\) must be >= 0"):
            ct.set_write_buffer_limits(high=1, low=2)
        assert ct.get_protocol() is cp
        other = Rec(loop)
        ct.set_protocol(other)
        assert ct.get_protocol() is other
        ct.set_protocol(cp)
        ct.close()
        st.close()
        assert await cp.lost is None
        assert "closed" in repr(ct)
        assert ct.get_extra_info("peername") == addr   # extra info outlives the socket

    loop.run_until_complete(main())


def test_real_socket_in_extra_info_on_tideloop(loop, loop_name):
    async def main():
        st, ct, cp, addr = await _pair(loop)
        sock = ct.get_extra_info("socket")
        if loop_name == "tideloop":
            assert type(sock) is socket.socket   # the real one (asyncio: TransportSocket)
        ct.close()
        st.close()
        await cp.lost

    loop.run_until_complete(main())


def test_ten_thousand_datagrams_echoed_and_checked(loop):
    """10,000 numbered datagrams of varying size; every echo is checked.

    At most 32 are in flight, so no loopback queue overflows (UDP may drop)."""
    N, WINDOW = 10_000, 32

    async def main():
        st, ct, cp, addr = await _pair(loop)

        def payload(i):
            return i.to_bytes(4, "big") * (1 + i % 300)

        sent = got = 0
        while got < N:
            while sent < N and sent - got < WINDOW:
                ct.sendto(payload(sent))
                sent += 1
            data, frm = await asyncio.wait_for(cp.q.get(), 5)
            assert data == payload(got), got
            assert frm == addr
            got += 1
        assert cp.errors == []
        assert ct.get_write_buffer_size() == 0
        ct.close()
        st.close()
        await cp.lost

    loop.run_until_complete(main())


def test_unconnected_replies_and_address_forms(loop):
    """Unconnected sendto() to the last sender, to an equal tuple, to a name."""
    async def main():
        st, sp = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
        host, port = st.get_extra_info("sockname")
        ct, cp = await loop.create_datagram_endpoint(lambda: Rec(loop),
                                                     local_addr=("127.0.0.1", 0))
        for i, dest in enumerate([(host, port), (host, port), ("localhost", port),
                                  (host, port)]):
            ct.sendto(b"m%d" % i, dest)
            data, frm = await asyncio.wait_for(cp.q.get(), 5)
            assert (data, frm) == (b"m%d" % i, (host, port))
        # bytes-like data of each kind
        for data in (bytearray(b"ba"), memoryview(b"xmvx")[1:3]):
            ct.sendto(data, (host, port))
            assert (await asyncio.wait_for(cp.q.get(), 5))[0] == bytes(data)
        ct.close()
        st.close()
        await cp.lost

    loop.run_until_complete(main())


def test_ipv6_echo(loop):
    if not socket.has_ipv6:
        pytest.skip("no IPv6")

    async def main():
        try:
            st, sp = await loop.create_datagram_endpoint(Echo, local_addr=("::1", 0))
        except OSError:
            pytest.skip("::1 unavailable")
        addr = st.get_extra_info("sockname")
        ct, cp = await loop.create_datagram_endpoint(lambda: Rec(loop), local_addr=("::1", 0))
        ct.sendto(b"six", addr[:2])
        data, frm = await asyncio.wait_for(cp.q.get(), 5)
        assert data == b"six" and frm == addr and len(frm) == 4
        ct.close()
        st.close()
        await cp.lost

    loop.run_until_complete(main())


def test_connected_address_checks(loop):
    async def main():
        st, ct, cp, addr = await _pair(loop)
        with pytest.raises(ValueError) as ei:
            ct.sendto(b"x", ("1.2.3.4", 5))
        assert str(ei.value) == f"Invalid address: must be None or {addr}"
        with pytest.raises(ValueError, match="Invalid address: must be None or"):
            ct.sendto(b"x", list(addr))
        ct.sendto(b"ok1", addr)     # the remote address itself is fine
        ct.sendto(b"ok2", None)
        assert (await asyncio.wait_for(cp.q.get(), 5))[0] == b"ok1"
        assert (await asyncio.wait_for(cp.q.get(), 5))[0] == b"ok2"
        for bad in ("text", 5, None, [b"x"]):
            with pytest.raises(TypeError) as ei:
                ct.sendto(bad)
            assert str(ei.value) == ("data argument must be a bytes-like object, "
                                     f"not {type(bad).__name__!r}")
        ct.close()
        st.close()
        await cp.lost

    loop.run_until_complete(main())


@pytest.mark.parametrize("bad,exc_type", [
    (None, TypeError), ("x", TypeError), (("127.0.0.1",), TypeError),
    (("127.0.0.1", "a"), TypeError), (("127.0.0.1", 70000), OverflowError),
    (("127.0.0.1", 5000.0), TypeError),
])
def test_unconnected_bad_address_is_fatal(loop, bad, exc_type):
    """socket.sendto()'s TypeError/OverflowError: exception handler, then
    connection_lost(exc) - asyncio's 'Fatal write error on datagram transport'."""
    async def main():
        calls = _exc_handler_calls(loop)
        t, p = await loop.create_datagram_endpoint(lambda: Rec(loop),
                                                   local_addr=("127.0.0.1", 0))
        # A datagram first, so the last-sender address cache holds an equal tuple.
        t.sendto(b"self", t.get_extra_info("sockname"))
        await asyncio.wait_for(p.q.get(), 5)
        t.sendto(b"x", bad)
        assert t.is_closing()
        lost = await p.lost
        assert type(lost) is exc_type
        assert len(calls) == 1
        assert calls[0]["message"] == "Fatal write error on datagram transport"
        assert calls[0]["exception"] is lost
        assert calls[0]["transport"] is t and calls[0]["protocol"] is p
        assert p.events.count("lost") == 1

    loop.run_until_complete(main())


def test_oserror_from_sendto_goes_to_error_received(loop):
    async def main():
        calls = _exc_handler_calls(loop)
        t, p = await loop.create_datagram_endpoint(lambda: Rec(loop),
                                                   local_addr=("127.0.0.1", 0))
        dest = t.get_extra_info("sockname")
        t.sendto(b"x" * 70_000, dest)                 # EMSGSIZE
        t.sendto(b"y", ("name.invalid", 9))           # gaierror
        assert [type(e) for e in p.errors] == [OSError, socket.gaierror]
        assert p.errors[0].errno == errno.EMSGSIZE
        assert not t.is_closing() and calls == []
        t.sendto(b"still", dest)                      # the transport still works
        assert (await asyncio.wait_for(p.q.get(), 5))[0] is None
        assert (await asyncio.wait_for(p.q.get(), 5))[0] is None
        assert (await asyncio.wait_for(p.q.get(), 5))[0] == b"still"
        t.close()
        await p.lost

    loop.run_until_complete(main())


def test_icmp_refusal_reaches_error_received(loop):
    """Connected UDP to a port nobody listens on: ConnectionRefusedError."""
    async def main():
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()
        probe.close()
        t, p = await loop.create_datagram_endpoint(lambda: Rec(loop), remote_addr=dead)
        got = None
        for _ in range(50):
            t.sendto(b"anyone?")
            try:
                got = await asyncio.wait_for(p.q.get(), 0.2)
                break
            except asyncio.TimeoutError:
                continue
        assert got is not None and got[0] is None
        assert isinstance(got[1], ConnectionRefusedError)
        assert got[1].errno == errno.ECONNREFUSED
        assert not t.is_closing()
        t.close()
        assert await p.lost is None

    loop.run_until_complete(main())


_pairs = iter(range(10**9))


def _unix_dgram_pair(sndbuf=None):
    """(a, b): a connected to b (an abstract address, so a's peername is set:
    an unnamed socketpair peer would make asyncio sendto(data, None))."""
    a = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    b.bind(b"\0tideloop-udp-%d-%d" % (os.getpid(), next(_pairs)))
    a.connect(b.getsockname())
    if sndbuf is not None:
        a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    b.setblocking(False)
    return a, b


def _drain(sock):
    out = []
    while True:
        try:
            out.append(sock.recv(70000))
        except BlockingIOError:
            return out


def test_flow_control_with_full_socket_buffer(loop):
    """A peer that does not read and a small SO_SNDBUF: sendto() queues,
    pause_writing() once past the high-water mark, the buffer size counts
    datagrams (and headers on 3.13), and draining the peer flushes the queue in
    order, calls resume_writing() once and brings the size back to 0."""
    SIZE, N = 1000, 200

    async def main():
        a, b = _unix_dgram_pair(sndbuf=4096)
        t, p = await loop.create_datagram_endpoint(lambda: Rec(loop), sock=a)
        t.set_write_buffer_limits(high=20 * SIZE, low=5 * SIZE)
        for i in range(N):
            t.sendto(i.to_bytes(4, "big") * (SIZE // 4))
        queued = t.get_write_buffer_size()
        assert queued > 20 * SIZE
        assert queued % (SIZE + HEADER) == 0
        assert p.events.count("pause") == 1 and "resume" not in p.events
        assert t._protocol_paused
        received = []
        for _ in range(2000):
            received += _drain(b)
            if len(received) == N:
                break
            await asyncio.sleep(0.001)
        assert [int.from_bytes(d[:4], "big") for d in received] == list(range(N))
        assert all(len(d) == SIZE for d in received)
        assert p.events.count("resume") == 1
        size = t.get_write_buffer_size()
        if PY313 and not hasattr(type(t), "_header_size") and type(t).__module__.startswith("asyncio"):
            # asyncio 3.13.0-3.13.5 never subtracts the 8-byte headers (gh-135444)
            assert size == HEADER * (queued // (SIZE + HEADER))
        else:
            assert size == 0
        t.close()
        await p.lost
        b.close()

    loop.run_until_complete(main())


def test_queue_accounting_close_and_abort(loop):
    """close() with datagrams queued waits for the flush; abort() drops them
    (asyncio keeps the old buffer size); connection_lost() once either way."""
    async def main():
        for how in ("close", "abort"):
            a, b = _unix_dgram_pair(sndbuf=4096)
            t, p = await loop.create_datagram_endpoint(lambda: Rec(loop), sock=a)
            n = 0
            while not t.get_write_buffer_size():
                t.sendto(b"q" * 500)
                n += 1
            t.sendto(b"")       # queued too on 3.13; dropped before
            t.sendto(b"r" * 300)
            size = t.get_write_buffer_size()
            assert size == 500 + HEADER + (HEADER if PY313 else 0) + 300 + HEADER
            getattr(t, how)()
            assert t.is_closing() and not t.is_reading()
            getattr(t, how)()          # idempotent
            if how == "close":
                await asyncio.sleep(0.01)
                assert not p.lost.done()      # waits for the queue
                got = []
                while not p.lost.done():
                    got += _drain(b)
                    await asyncio.sleep(0.001)
                got += _drain(b)
                assert got[-2:] == ([b"", b"r" * 300] if PY313 else [b"q" * 500, b"r" * 300])
                assert len(got) == n + 1 + PY313
            else:
                assert await p.lost is None
                assert t.get_write_buffer_size() == size   # asyncio does not reset it
            assert await p.lost is None
            await asyncio.sleep(0.01)
            assert p.events.count("lost") == 1
            assert t.get_extra_info("socket").fileno() == -1
            b.close()

    loop.run_until_complete(main())


def test_methods_on_closed_transport(loop):
    async def main():
        calls = _exc_handler_calls(loop)
        st, ct, cp, addr = await _pair(loop)
        t, p = await loop.create_datagram_endpoint(lambda: Rec(loop),
                                                   local_addr=("127.0.0.1", 0))
        t.close()
        ct.close()
        # Between close() and connection_lost(): asyncio still sends on an
        # unconnected endpoint; a connected one drops silently.
        t.sendto(b"late", addr)
        ct.sendto(b"late")
        assert await p.lost is None and await cp.lost is None
        ct.sendto(b"later")             # counted, dropped
        assert ct._conn_lost == 3
        with pytest.raises(AttributeError):
            t.sendto(b"x", addr)      # asyncio: its _loop is None by now
        assert ct.is_closing() and not ct.is_reading()
        ct.pause_reading()
        ct.resume_reading()
        ct.close()
        ct.abort()
        assert cp.events.count("lost") == 1 and p.events.count("lost") == 1
        assert ct.get_write_buffer_size() == 0
        assert calls == []
        st.close()

    loop.run_until_complete(main())


def test_closed_loop_errors(loop_factory):
    lp = loop_factory()
    try:
        async def main():
            st, ct, cp, addr = await _pair(lp)
            return st, ct, cp, addr
        st, ct, cp, addr = lp.run_until_complete(main())
    finally:
        lp.close()
    try:
        ct.sendto(b"sent anyway")     # nothing queued: the socket takes it
        ct.pause_reading()
        with pytest.raises(RuntimeError, match="Event loop is closed"):
            ct.resume_reading()
        with pytest.raises(RuntimeError, match="Event loop is closed"):
            st.close()
        assert st.is_closing()
        with pytest.raises(RuntimeError, match="Event loop is closed"):
            ct.abort()
    finally:
        st.get_extra_info("socket").fileno() != -1 and st._sock.close()
        ct._sock.close()


def test_closed_loop_sendto_that_would_block(loop_factory):
    lp = loop_factory()
    a, b = _unix_dgram_pair(sndbuf=4096)
    try:
        t, p = lp.run_until_complete(lp.create_datagram_endpoint(lambda: Rec(lp), sock=a))
    finally:
        lp.close()
    try:
        with pytest.raises(RuntimeError, match="Event loop is closed"):
            for _ in range(10_000):
                t.sendto(b"z" * 500)
        assert t.get_write_buffer_size() == 0    # nothing was queued
    finally:
        a.close()
        b.close()


def test_protocol_errors_go_to_exception_handler(loop):
    """datagram_received/error_received raising: the exception handler is
    called, the transport stays open and the loop keeps running."""
    class Bad(Rec):
        def datagram_received(self, data, addr):
            super().datagram_received(data, addr)
            if data == b"boom":
                raise ZeroDivisionError("dr")

        def error_received(self, exc):
            super().error_received(exc)
            raise KeyError("er")

    async def main():
        calls = _exc_handler_calls(loop)
        t, p = await loop.create_datagram_endpoint(lambda: Bad(loop),
                                                   local_addr=("127.0.0.1", 0))
        me = t.get_extra_info("sockname")
        t.sendto(b"boom", me)
        assert (await asyncio.wait_for(p.q.get(), 5))[0] == b"boom"
        await asyncio.sleep(0.01)
        assert len(calls) == 1 and type(calls[0]["exception"]) is ZeroDivisionError
        assert "Exception in callback" in calls[0]["message"]
        t.sendto(b"fine", me)
        assert (await asyncio.wait_for(p.q.get(), 5))[0] == b"fine"
        # error_received raising from sendto() propagates to the caller
        with pytest.raises(KeyError):
            t.sendto(b"x" * 70_000, me)
        assert not t.is_closing()
        t.close()
        await p.lost

    loop.run_until_complete(main())


def test_pause_and_resume_reading(loop):
    async def main():
        st, ct, cp, addr = await _pair(loop)
        assert ct.is_reading()
        ct.pause_reading()
        ct.pause_reading()
        assert not ct.is_reading()
        ct.sendto(b"held")
        await asyncio.sleep(0.05)
        assert cp.q.empty()
        ct.resume_reading()
        assert ct.is_reading()
        assert (await asyncio.wait_for(cp.q.get(), 5))[0] == b"held"
        ct.close()
        st.close()
        await cp.lost

    loop.run_until_complete(main())


def test_callbacks_run_in_creation_context(loop, loop_name):
    """connection_made and datagram_received run in the context copied when the
    endpoint was made (both loops); connection_lost too on tideloop (asyncio
    runs it in the context of whoever called close())."""
    var = contextvars.ContextVar("var", default="unset")

    class P(Rec):
        def __init__(self, lp):
            super().__init__(lp)
            self.seen = []

        def connection_made(self, transport):
            self.seen.append(("made", var.get()))
            super().connection_made(transport)

        def datagram_received(self, data, addr):
            self.seen.append(("dgram", var.get()))
            super().datagram_received(data, addr)

        def connection_lost(self, exc):
            self.seen.append(("lost", var.get()))
            super().connection_lost(exc)

    async def main():
        st, sp = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
        var.set("creation")
        t, p = await loop.create_datagram_endpoint(
            lambda: P(loop), remote_addr=st.get_extra_info("sockname"))
        var.set("later")
        for i in range(3):
            t.sendto(b"x")
            await asyncio.wait_for(p.q.get(), 5)
        t.close()
        await p.lost
        st.close()
        lost_ctx = "creation" if loop_name == "tideloop" else "later"
        assert p.seen == [("made", "creation")] + [("dgram", "creation")] * 3 + [
            ("lost", lost_ctx)]

    loop.run_until_complete(main())


def test_unix_datagram_addresses(loop, tmp_path):
    """Unix datagram endpoints: named, abstract and unbound senders."""
    path = str(tmp_path / "srv.sock")

    async def main():
        st, sp = await loop.create_datagram_endpoint(lambda: Rec(loop), local_addr=path,
                                                     family=socket.AF_UNIX)
        assert st.get_extra_info("sockname") == path
        abstract = b"\0tideloop-test-%d" % os.getpid()
        senders = []
        for bind in (str(tmp_path / "cli.sock"), abstract, None):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            if bind is not None:
                s.bind(bind)
            s.setblocking(False)
            senders.append(s)
            s.sendto(b"hi", path)
            data, frm = await asyncio.wait_for(sp.q.get(), 5)
            assert data == b"hi"
            assert frm == (bind if bind is not None else None)
            if bind is not None:
                st.sendto(b"back", frm)   # reply to the last sender
                await asyncio.sleep(0.01)
                assert s.recv(10) == b"back"
        st.close()
        await sp.lost
        for s in senders:
            s.close()

    loop.run_until_complete(main())


def test_callbacks_ready_before_the_poll_run_before_datagram_received(loop):
    """asyncio queues I/O after the callbacks already ready when it polls."""
    async def main():
        t, p = await loop.create_datagram_endpoint(lambda: Rec(loop),
                                                   local_addr=("127.0.0.1", 0))
        order = []
        orig = p.datagram_received
        p.datagram_received = lambda d, a: (order.append("dgram"), orig(d, a))
        t.sendto(b"x", t.get_extra_info("sockname"))   # pending in the socket now
        loop.call_soon(order.append, "soon")
        await asyncio.wait_for(p.q.get(), 5)
        assert order == ["soon", "dgram"]
        t.close()
        await p.lost

    loop.run_until_complete(main())


def test_callbacks_scheduled_per_datagram_interleave_as_in_asyncio(loop):
    """Several datagrams waiting: each one's call_soon() callbacks run before
    the next datagram is delivered, as asyncio reads one per iteration."""
    async def main():
        t, p = await loop.create_datagram_endpoint(lambda: Rec(loop),
                                                   local_addr=("127.0.0.1", 0))
        me = t.get_extra_info("sockname")
        order = []
        done = loop.create_future()

        def received(data, addr):
            order.append(("d", data))
            loop.call_soon(order.append, ("s", data))
            if data == b"2":
                loop.call_soon(done.set_result, None)

        p.datagram_received = received
        for i in range(3):
            t.sendto(b"%d" % i, me)
        await asyncio.wait_for(done, 5)
        assert order == [("d", b"0"), ("s", b"0"), ("d", b"1"), ("s", b"1"),
                         ("d", b"2"), ("s", b"2")]
        t.close()
        await p.lost

    loop.run_until_complete(main())


def test_pause_reading_from_datagram_received_holds_the_rest(loop):
    async def main():
        t, p = await loop.create_datagram_endpoint(lambda: Rec(loop),
                                                   local_addr=("127.0.0.1", 0))
        me = t.get_extra_info("sockname")
        got = []

        def received(data, addr):
            got.append(data)
            t.pause_reading()

        p.datagram_received = received
        for _ in range(3):         # several rounds, so tideloop's batching is on
            for i in range(40):
                t.sendto(b"%d" % i, me)
            while len(got) < 40:
                n = len(got)
                await asyncio.sleep(0.01)
                assert len(got) == n + 1 if n else len(got) == 1
                assert not t.is_reading()
                t.resume_reading()
            await asyncio.sleep(0.01)
            assert got == [b"%d" % i for i in range(40)]
            got.clear()
        t.close()
        await p.lost

    loop.run_until_complete(main())


def test_flow_control_callbacks_raising_go_to_exception_handler(loop):
    class P(Rec):
        def pause_writing(self):
            super().pause_writing()
            raise ValueError("pw")

        def resume_writing(self):
            super().resume_writing()
            raise ValueError("rw")

    async def main():
        calls = _exc_handler_calls(loop)
        a, b = _unix_dgram_pair(sndbuf=4096)
        t, p = await loop.create_datagram_endpoint(lambda: P(loop), sock=a)
        t.set_write_buffer_limits(high=2000)
        while "pause" not in p.events:
            t.sendto(b"p" * 500)
        assert [c["message"] for c in calls] == ["protocol.pause_writing() failed"]
        while "resume" not in p.events:
            _drain(b)
            await asyncio.sleep(0.001)
        assert [c["message"] for c in calls] == ["protocol.pause_writing() failed",
                                                 "protocol.resume_writing() failed"]
        assert all(c["transport"] is t and c["protocol"] is p for c in calls)
        assert not t.is_closing()
        t.close()
        await p.lost
        b.close()

    loop.run_until_complete(main())


def test_socket_closed_behind_the_transports_back(loop):
    """sendto() then fails with EBADF into error_received (asyncio: the socket
    object's own error); close() still ends with one connection_lost."""
    async def main():
        calls = _exc_handler_calls(loop)
        st, ct, cp, addr = await _pair(loop)
        t, p = await loop.create_datagram_endpoint(lambda: Rec(loop),
                                                   local_addr=("127.0.0.1", 0))
        for tr in (t, ct):
            tr._sock.close()
        t.sendto(b"x", addr)
        ct.sendto(b"x")
        for proto in (p, cp):
            assert [e.errno for e in proto.errors] == [errno.EBADF]
        t.close()
        ct.close()
        assert await p.lost is None and await cp.lost is None
        assert calls == []
        st.close()

    loop.run_until_complete(main())


def test_loop_stop_from_datagram_received_delivers_no_more(loop):
    """asyncio reads one datagram per iteration: after loop.stop() in
    datagram_received, run_forever() returns before the next one."""
    t, p = loop.run_until_complete(loop.create_datagram_endpoint(
        lambda: Rec(loop), local_addr=("127.0.0.1", 0)))
    me = t.get_extra_info("sockname")
    got = []

    def received(data, addr):
        got.append(data)
        loop.stop()

    p.datagram_received = received
    for rnd in range(3):      # several rounds, so tideloop's batching is on
        for i in range(10):
            t.sendto(b"%d" % i, me)
        for i in range(10):
            loop.run_forever()
            assert got == [b"%d" % i]
            got.clear()
    t.close()
    loop.run_until_complete(p.lost)


class Scenario(Rec):
    """Self-addressed bursts; `action(i)` runs inside datagram_received."""

    def __init__(self, loop):
        super().__init__(loop)
        self.got = []
        self.action = None
        self.while_paused = 0

    def datagram_received(self, data, addr):
        if not self.transport.is_reading():
            self.while_paused += 1
        self.got.append(data)
        if self.action is not None:
            self.action(int(data))


async def _warm_batching(loop, t, p):
    # Bursts of datagrams waiting in the socket, delivered with nothing
    # scheduled: tideloop switches to batched reads (recvmmsg for UDP).
    me = t.get_extra_info("sockname")
    for _ in range(8):
        for i in range(50):
            t.sendto(b"%d" % i, me)
        for _ in range(200):
            if len(p.got) == 50:
                break
            await asyncio.sleep(0.001)
        assert p.got == [b"%d" % i for i in range(50)]
        p.got.clear()


@pytest.mark.parametrize("family,host", [(socket.AF_INET, "127.0.0.1"),
                                         (socket.AF_INET6, "::1")])
@pytest.mark.parametrize("what", ["pause", "call_soon", "raise", "close", "stop"])
def test_mid_batch_events(loop, what, family, host):
    """With batched reads engaged, what the protocol does in datagram_received
    takes effect before the next datagram, as in asyncio (one per iteration)."""
    N = 30

    async def main():
        calls = _exc_handler_calls(loop)
        try:
            t, p = await loop.create_datagram_endpoint(lambda: Scenario(loop),
                                                       local_addr=(host, 0))
        except OSError:
            pytest.skip(f"{host} unavailable")
        me = t.get_extra_info("sockname")
        await _warm_batching(loop, t, p)
        order = []

        if what == "pause":
            def act(i):
                if i % 7 == 3:
                    t.pause_reading()
                    loop.call_later(0.01, t.resume_reading)
        elif what == "call_soon":
            def act(i):
                order.append(("d", i))
                loop.call_soon(order.append, ("s", i))
        elif what == "raise":
            def act(i):
                if i % 5 == 2:
                    raise ZeroDivisionError(i)
        elif what == "close":
            def act(i):
                if i == 3:
                    t.close()
        else:
            def act(i):
                loop.stop()
        if what == "stop":
            return t, p, act
        p.action = act
        for i in range(N):
            t.sendto(b"%d" % i, me)
        if what == "close":
            await p.lost
            assert p.got == [b"0", b"1", b"2", b"3"]
            return None
        for _ in range(500):
            if len(p.got) == N:
                break
            await asyncio.sleep(0.002)
        assert p.got == [b"%d" % i for i in range(N)]
        assert p.while_paused == 0
        if what == "call_soon":
            await asyncio.sleep(0)
            assert order == [x for i in range(N) for x in (("d", i), ("s", i))]
        if what == "raise":
            assert [c["exception"].args[0] for c in calls] == [i for i in range(N) if i % 5 == 2]
        t.close()
        await p.lost
        return None

    res = loop.run_until_complete(main())
    if what == "stop":
        t, p, act = res
        p.action = act
        me = t.get_extra_info("sockname")
        for i in range(N):
            t.sendto(b"%d" % i, me)
        for i in range(N):
            loop.run_forever()
            assert p.got == [b"%d" % i], i
            p.got.clear()
        t.close()
        loop.run_until_complete(p.lost)


def test_method_replaced_on_one_transport(loop):
    """A method set on one datagram transport shadows the class's, as asyncio's __dict__ allows."""
    async def main():
        st, ct, cp, addr = await _pair(loop)
        seen = []
        real_sendto = ct.sendto
        ct.sendto = lambda data, addr=None: (seen.append(data), real_sendto(data, addr))
        ct.label = "client"
        ct.sendto(b"ping")
        got, _ = await asyncio.wait_for(cp.q.get(), 10)
        assert got == b"ping" and seen == [b"ping"] and ct.label == "client"
        assert not hasattr(st, "label")
        del ct.sendto
        assert ct.sendto.__func__ is type(ct).sendto
        ct.sendto(b"pong")
        got, _ = await asyncio.wait_for(cp.q.get(), 10)
        assert got == b"pong" and seen == [b"ping"]
        for tr in (st, ct):
            tr.close()

    loop.run_until_complete(main())

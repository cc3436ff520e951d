"""TCP stream transports: echo, BufferedProtocol, extra info, flow control, half-close.

Every test runs on tideloop and on asyncio's own loop (the `loop` fixture).
"""
import asyncio
import os
import socket

import pytest

from nethelpers import BufferedCollect, Collect, EchoProtocol


async def _echo_server(loop, protocols=None):
    def factory():
        p = EchoProtocol()
        if protocols is not None:
            protocols.append(p)
        return p
    srv = await loop.create_server(factory, "127.0.0.1", 0)
    return srv, srv.sockets[0].getsockname()[1]


@pytest.mark.parametrize("size", [1, 1024, 100_000, 3_000_000])
def test_protocol_echo_round_trip(loop, size):
    payload = os.urandom(size)

    async def main():
        protos = []
        srv, port = await _echo_server(loop, protos)
        tr, proto = await loop.create_connection(lambda: Collect(loop, size), "127.0.0.1", port)
        tr.write(payload)
        assert await asyncio.wait_for(proto.got, 10) == payload
        tr.close()
        assert await proto.done is None
        srv.close()
        await srv.wait_closed()
        for _ in range(100):
            if "CL" in protos[0].calls:
                break
            await asyncio.sleep(0.01)
        assert protos[0].calls[0] == "CM" and protos[0].calls[-1] == "CL"
        assert protos[0].calls.count("CL") == 1
        assert proto.calls == ["CM", "CL"]

    loop.run_until_complete(main())


def test_buffered_protocol_echo(loop):
    payload = os.urandom(300_000)

    async def main():
        srv, port = await _echo_server(loop)
        tr, proto = await loop.create_connection(
            lambda: BufferedCollect(loop, len(payload)), "127.0.0.1", port)
        tr.writelines([payload[:1000], payload[1000:]])
        assert await asyncio.wait_for(proto.got, 10) == payload
        assert proto.sizehints == {-1}
        tr.close()
        assert await proto.done is None
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())


def test_extra_info_and_nodelay(loop):
    async def main():
        srv, port = await _echo_server(loop)
        tr, proto = await loop.create_connection(lambda: Collect(loop), "127.0.0.1", port)
        assert isinstance(tr, asyncio.Transport)
        assert isinstance(tr, asyncio.ReadTransport) and isinstance(tr, asyncio.WriteTransport)
        sock = tr.get_extra_info("socket")
        assert sock.fileno() >= 0
        assert sock.getsockname() == tr.get_extra_info("sockname")
        assert tr.get_extra_info("peername") == ("127.0.0.1", port)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert tr.get_extra_info("nonexistent", 42) == 42
        assert tr.get_protocol() is proto
        assert tr.can_write_eof() is True
        assert tr.is_reading() and not tr.is_closing()
        # shutdown() works on what get_extra_info returns (uvloop's does not).
        sock.shutdown(socket.SHUT_WR)
        await asyncio.sleep(0.05)
        tr.close()
        assert not tr.is_reading() and tr.is_closing()
        await proto.done
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())


@pytest.mark.parametrize("family,host", [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")])
def test_nodelay_on_sockets_made_with_proto_0(loop, loop_name, family, host):
    # socket(AF_INET, SOCK_STREAM) has proto 0, as has every connection
    # accepted from it. asyncio's _set_nodelay wants proto IPPROTO_TCP and
    # leaves Nagle on for them; tideloop, like uvloop and rloop, turns it off
    # on every TCP stream (docs/COMPATIBILITY.md).
    if family == socket.AF_INET6 and not socket.has_ipv6:
        pytest.skip("no IPv6")
    want = 1 if loop_name == "tideloop" else 0

    async def main():
        accepted = loop.create_future()

        class Keep(asyncio.Protocol):
            def connection_made(self, tr):
                accepted.set_result(tr)

        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.bind((host, 0))
        except OSError:
            listener.close()
            pytest.skip(f"cannot bind {host}")
        listener.listen()
        assert listener.proto == 0
        srv = await loop.create_server(Keep, sock=listener)
        client = socket.socket(family, socket.SOCK_STREAM)
        client.setblocking(False)
        await loop.sock_connect(client, listener.getsockname()[:2])
        tr, _ = await loop.create_connection(asyncio.Protocol, sock=client)
        server_tr = await asyncio.wait_for(accepted, 10)
        server_sock = server_tr.get_extra_info("socket")
        assert server_sock.proto == 0
        assert bool(server_sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)) == bool(want)
        assert bool(client.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)) == bool(want)
        tr.close()
        server_tr.close()
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())


def test_nodelay_leaves_unix_sockets_alone(loop, tmp_path):
    async def main():
        path = str(tmp_path / "s")
        accepted = loop.create_future()

        class Keep(asyncio.Protocol):
            def connection_made(self, tr):
                accepted.set_result(tr)

        srv = await loop.create_unix_server(Keep, path)
        tr, _ = await loop.create_unix_connection(asyncio.Protocol, path)
        server_tr = await asyncio.wait_for(accepted, 10)
        for sock in (tr.get_extra_info("socket"), server_tr.get_extra_info("socket")):
            assert sock.family == socket.AF_UNIX
            with pytest.raises(OSError):
                sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        tr.close()
        server_tr.close()
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())


def test_write_buffer_limits(loop):
    async def main():
        srv, port = await _echo_server(loop)
        tr, proto = await loop.create_connection(lambda: Collect(loop), "127.0.0.1", port)
        assert tr.get_write_buffer_limits() == (16384, 65536)
        tr.set_write_buffer_limits(high=100)
        assert tr.get_write_buffer_limits() == (25, 100)
        tr.set_write_buffer_limits(low=10)
        assert tr.get_write_buffer_limits() == (10, 40)
        with pytest.raises(ValueError, match=r"high \(1\) must be >= low \(2\) must be >= 0"):
            tr.set_write_buffer_limits(high=1, low=2)
        assert tr.get_write_buffer_size() == 0
        tr.close()
        await proto.done
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())


class SlowReaderServer(asyncio.Protocol):
    """Reads nothing until told: the client's buffer must fill up."""

    def connection_made(self, transport):
        self.transport = transport
        self.received = 0
        transport.pause_reading()

    def data_received(self, data):
        self.received += len(data)


class Pusher(asyncio.Protocol):
    """Writes chunks until paused; records buffer sizes at pause/resume."""

    def __init__(self, loop):
        self.paused = loop.create_future()
        self.resumed = loop.create_future()
        self.events = []

    def connection_made(self, transport):
        self.transport = transport

    def pause_writing(self):
        self.events.append(("pause", self.transport.get_write_buffer_size()))
        if not self.paused.done():
            self.paused.set_result(None)

    def resume_writing(self):
        self.events.append(("resume", self.transport.get_write_buffer_size()))
        if not self.resumed.done():
            self.resumed.set_result(None)


def test_flow_control_with_slow_reader(loop):
    async def main():
        servers = []

        def factory():
            p = SlowReaderServer()
            servers.append(p)
            return p
        srv = await loop.create_server(factory, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        tr, proto = await loop.create_connection(lambda: Pusher(loop), "127.0.0.1", port)
        tr.set_write_buffer_limits(high=64 * 1024, low=16 * 1024)
        chunk = b"x" * 16384
        written = 0
        while not proto.paused.done():
            tr.write(chunk)
            written += len(chunk)
            await asyncio.sleep(0)
            assert written < 200 * 1024 * 1024
        # pause_writing fired once, when strictly over the high mark.
        assert proto.events[0][0] == "pause" and proto.events[0][1] > 64 * 1024
        size_at_pause = tr.get_write_buffer_size()
        await asyncio.sleep(0.05)
        assert tr.get_write_buffer_size() == size_at_pause   # nobody wrote, nothing drained
        servers[0].transport.resume_reading()
        await asyncio.wait_for(proto.resumed, 10)
        assert [e[0] for e in proto.events] == ["pause", "resume"]
        assert proto.events[1][1] <= 16 * 1024
        while servers[0].received < written:
            await asyncio.sleep(0.01)
        assert servers[0].received == written
        tr.close()
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())


def test_pause_reading_in_connection_made(loop):
    async def main():
        srv, port = await _echo_server(loop)

        class Paused(Collect):
            def connection_made(self, transport):
                super().connection_made(transport)
                transport.pause_reading()

        tr, proto = await loop.create_connection(lambda: Paused(loop, 3), "127.0.0.1", port)
        assert not tr.is_reading()
        tr.write(b"abc")
        await asyncio.sleep(0.1)
        assert proto.buf == b""          # paused: nothing delivered
        tr.resume_reading()
        assert await asyncio.wait_for(proto.got, 5) == b"abc"
        tr.pause_reading()
        tr.pause_reading()               # idempotent
        tr.resume_reading()
        tr.resume_reading()
        tr.close()
        await proto.done
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())


def test_write_eof_half_close(loop):
    async def main():
        got = loop.create_future()

        class Upper(asyncio.Protocol):
            def connection_made(self, transport):
                self.t = transport
                self.buf = b""

            def data_received(self, data):
                self.buf += data

            def eof_received(self):
                self.t.write(self.buf.upper())
                self.t.close()
                return True

        srv = await loop.create_server(Upper, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        tr, proto = await loop.create_connection(lambda: Collect(loop), "127.0.0.1", port)
        tr.write(b"hello ")
        tr.write(b"world")
        tr.write_eof()
        tr.write_eof()   # idempotent
        with pytest.raises(RuntimeError, match=r"Cannot call write\(\) after write_eof\(\)"):
            tr.write(b"x")
        exc = await asyncio.wait_for(proto.done, 5)
        assert exc is None
        assert proto.buf == b"HELLO WORLD"
        assert proto.calls == ["CM", "ER", "CL"]
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())


def test_set_protocol_switches_delivery(loop):
    async def main():
        srv, port = await _echo_server(loop)
        tr, first = await loop.create_connection(lambda: Collect(loop, 1), "127.0.0.1", port)
        tr.write(b"a")
        await first.got
        second = Collect(loop, 1)
        tr.set_protocol(second)
        assert tr.get_protocol() is second
        tr.write(b"b")
        assert await asyncio.wait_for(second.got, 5) == b"b"
        assert first.buf == b"a"
        tr.close()
        assert await second.done is None
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())


def test_add_reader_on_transport_fd_refused(loop):
    async def main():
        srv, port = await _echo_server(loop)
        tr, proto = await loop.create_connection(lambda: Collect(loop), "127.0.0.1", port)
        fd = tr.get_extra_info("socket").fileno()
        with pytest.raises(RuntimeError, match="is used by transport"):
            loop.add_reader(fd, lambda: None)
        with pytest.raises(RuntimeError, match="is used by transport"):
            loop.remove_writer(fd)
        tr.close()
        await proto.done
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())


def test_sendfile_over_transport(loop, tmp_path):
    data = os.urandom(500_000)
    path = tmp_path / "f.bin"
    path.write_bytes(data)

    async def main():
        srv, port = await _echo_server(loop)
        tr, proto = await loop.create_connection(
            lambda: Collect(loop, len(data) - 1000), "127.0.0.1", port)
        with open(path, "rb") as f:
            sent = await loop.sendfile(tr, f, offset=1000)
            assert sent == len(data) - 1000
            assert f.tell() == len(data)
        assert await asyncio.wait_for(proto.got, 10) == data[1000:]
        tr.write(b"!")   # the transport still works afterwards
        tr.close()
        await proto.done
        assert proto.buf.endswith(b"!") or len(proto.buf) == len(data) - 1000
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())


def test_context_of_protocol_callbacks(loop, loop_name):
    import contextvars
    var = contextvars.ContextVar("var", default="unset")

    async def main():
        srv, port = await _echo_server(loop)
        seen = []

        class P(Collect):
            def connection_made(self, transport):
                seen.append(("CM", var.get()))
                super().connection_made(transport)

            def data_received(self, data):
                seen.append(("DR", var.get()))
                super().data_received(data)

            def connection_lost(self, exc):
                seen.append(("CL", var.get()))
                super().connection_lost(exc)

        var.set("creator")
        tr, proto = await loop.create_connection(lambda: P(loop, 1), "127.0.0.1", port)
        var.set("changed later")
        tr.write(b"x")
        await proto.got
        tr.close()
        await proto.done
        assert seen[:2] == [("CM", "creator"), ("DR", "creator")]
        # asyncio runs connection_lost in a copy of close()'s caller's
        # context; tideloop keeps every protocol callback in the transport's
        # (docs/COMPATIBILITY.md, "Stream transports").
        assert seen[2] == ("CL", "creator" if loop_name == "tideloop" else "changed later")
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())


def test_pause_reading_mid_stream(loop):
    async def main():
        srv, port = await _echo_server(loop)
        tr, proto = await loop.create_connection(lambda: Collect(loop, 2), "127.0.0.1", port)
        tr.write(b"a")
        while proto.buf != b"a":
            await asyncio.sleep(0.01)
        tr.pause_reading()
        assert not tr.is_reading()
        tr.write(b"b")
        await asyncio.sleep(0.1)          # the echo arrives while paused
        assert proto.buf == b"a"
        tr.resume_reading()
        tr.pause_reading()                # quick pause/resume pairs
        tr.resume_reading()
        assert await asyncio.wait_for(proto.got, 5) == b"ab"
        tr.close()
        await proto.done
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())


def test_method_replaced_on_one_transport(loop):
    """A method set on one transport instance shadows the class's, as asyncio's __dict__ allows."""
    async def main():
        srv, port = await _echo_server(loop)
        tr1, p1 = await loop.create_connection(lambda: Collect(loop, 3), "127.0.0.1", port)
        tr2, p2 = await loop.create_connection(lambda: Collect(loop, 3), "127.0.0.1", port)
        seen = []
        real_write = tr1.write
        tr1.write = lambda data: (seen.append(data), real_write(data))
        tr1.label = "first"
        tr1.write(b"abc")
        tr2.write(b"xyz")
        assert await asyncio.wait_for(p1.got, 10) == b"abc"
        assert await asyncio.wait_for(p2.got, 10) == b"xyz"
        assert seen == [b"abc"] and tr1.label == "first"
        assert not hasattr(tr2, "label")
        del tr1.write
        assert tr1.write.__func__ is type(tr1).write
        for tr in (tr1, tr2):
            tr.close()
        srv.close()
        await srv.wait_closed()

    loop.run_until_complete(main())

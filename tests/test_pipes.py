"""connect_read_pipe / connect_write_pipe on pipes, FIFOs, ptys, sockets and character devices."""
import asyncio
import errno
import hashlib
import os
import socket

import pytest


def run(loop, coro, timeout=20):
    """Run *coro* on *loop*, failing instead of hanging."""
    return loop.run_until_complete(asyncio.wait_for(coro, timeout))


class ReadProto(asyncio.Protocol):
    """Records what a read pipe transport delivers."""

    def __init__(self, loop, eof_result=None):
        self.data = bytearray()
        self.events = []
        self.eof_result = eof_result
        self.done = loop.create_future()
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        self.events.append("made")

    def data_received(self, data):
        self.data += data

    def eof_received(self):
        self.events.append("eof")
        return self.eof_result

    def connection_lost(self, exc):
        self.events.append(("lost", type(exc).__name__ if exc else None))
        self.done.set_result(exc)


class WriteProto(asyncio.BaseProtocol):
    """Records flow control and connection_lost of a write pipe transport."""

    def __init__(self, loop):
        self.events = []
        self.done = loop.create_future()
        self.resumed = None
        self.loop = loop

    def connection_made(self, transport):
        self.events.append("made")

    def pause_writing(self):
        self.events.append("pause")

    def resume_writing(self):
        self.events.append("resume")
        if self.resumed is not None and not self.resumed.done():
            self.resumed.set_result(None)

    def connection_lost(self, exc):
        self.events.append(("lost", type(exc).__name__ if exc else None))
        self.done.set_result(exc)


@pytest.fixture
def pipe_fds():
    """An os.pipe(); ends still open afterwards are closed."""
    r, w = os.pipe()
    fds = [r, w]
    yield fds
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def test_read_pipe_data_eof_lost(loop, pipe_fds):
    """Data, then eof_received and connection_lost(None) when the writer closes."""
    r, w = pipe_fds

    async def main():
        transport, proto = await loop.connect_read_pipe(lambda: ReadProto(loop), os.fdopen(r, "rb", 0))
        assert transport.is_reading()
        assert transport.get_extra_info("pipe").fileno() == r
        os.write(w, b"hello ")
        os.write(w, b"pipe")
        os.close(w)
        await proto.done
        assert transport.is_closing()
        return bytes(proto.data), proto.events

    data, events = run(loop, main())
    assert data == b"hello pipe"
    assert events == ["made", "eof", ("lost", None)]


def test_read_pipe_stream_reader(loop, pipe_fds):
    """A StreamReader fed by connect_read_pipe reads lines and EOF."""
    r, w = pipe_fds

    async def main():
        reader = asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(r, "rb", 0))
        os.write(w, b"a\nb\n")
        os.close(w)
        lines = [await reader.readline(), await reader.readline(), await reader.readline()]
        transport.close()
        return lines

    assert run(loop, main()) == [b"a\n", b"b\n", b""]


def test_read_pipe_pause_resume(loop, pipe_fds):
    """pause_reading stops delivery until resume_reading."""
    r, w = pipe_fds

    async def main():
        transport, proto = await loop.connect_read_pipe(lambda: ReadProto(loop), os.fdopen(r, "rb", 0))
        transport.pause_reading()
        assert not transport.is_reading()
        os.write(w, b"held")
        await asyncio.sleep(0.05)
        held = bytes(proto.data)
        transport.resume_reading()
        assert transport.is_reading()
        await asyncio.sleep(0.05)
        transport.close()
        await proto.done
        return held, bytes(proto.data)

    assert run(loop, main()) == (b"", b"held")


def test_write_pipe_roundtrip_and_hash(loop, pipe_fds):
    """2 MB written through connect_write_pipe reads back intact via connect_read_pipe."""
    r, w = pipe_fds
    data = os.urandom(2 * 1024 * 1024)

    async def main():
        wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(w, "wb", 0))
        rt, rp = await loop.connect_read_pipe(lambda: ReadProto(loop), os.fdopen(r, "rb", 0))
        assert wt.can_write_eof()
        wt.write(data[:1000])
        wt.writelines([data[1000:5000], memoryview(data)[5000:]])
        wt.write_eof()
        await rp.done
        await wp.done
        return bytes(rp.data), wp.events

    got, wevents = run(loop, main())
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    assert wevents[0] == "made" and wevents[-1] == ("lost", None)


def test_write_pipe_flow_control(loop, pipe_fds):
    """pause_writing above the high-water mark, resume_writing once drained to low."""
    r, w = pipe_fds

    async def main():
        wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(w, "wb", 0))
        wt.set_write_buffer_limits(high=64 * 1024, low=16 * 1024)
        assert wt.get_write_buffer_limits() == (16 * 1024, 64 * 1024)
        wt.write(b"x" * (1024 * 1024))  # far more than the pipe holds
        assert wp.events == ["made", "pause"]
        assert wt.get_write_buffer_size() > 64 * 1024
        wp.resumed = loop.create_future()
        # Drain from the other end until the writer resumes.
        rt, rp = await loop.connect_read_pipe(lambda: ReadProto(loop), os.fdopen(r, "rb", 0))
        await wp.resumed
        assert wt.get_write_buffer_size() <= 16 * 1024
        wt.close()
        await wp.done
        await rp.done
        return len(rp.data), wp.events

    n, events = run(loop, main())
    assert n == 1024 * 1024
    assert events == ["made", "pause", "resume", ("lost", None)]


def test_write_pipe_reader_closed(loop, pipe_fds):
    """The read end closing ends the write transport (connection_lost)."""
    r, w = pipe_fds

    async def main():
        wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(w, "wb", 0))
        os.close(r)
        exc = await wp.done
        return exc, wt.is_closing()

    exc, closing = run(loop, main())
    assert exc is None and closing


def test_write_pipe_broken_pipe_with_pending_data(loop, pipe_fds):
    """Data pending when the reader goes away: connection_lost(BrokenPipeError)."""
    r, w = pipe_fds

    async def main():
        wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(w, "wb", 0))
        wt.write(b"y" * (512 * 1024))
        os.close(r)
        return await wp.done

    assert isinstance(run(loop, main()), BrokenPipeError)


def test_write_pipe_abort(loop, pipe_fds):
    """abort() drops the buffer and reports connection_lost(None)."""
    r, w = pipe_fds

    async def main():
        wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(w, "wb", 0))
        wt.write(b"z" * (512 * 1024))
        wt.abort()
        assert wt.is_closing()
        return await wp.done, wt.get_write_buffer_size()

    assert run(loop, main()) == (None, 0)


def test_fifo_read_and_write(loop, tmp_path):
    """A named FIFO works as both read and write pipe."""
    path = tmp_path / "fifo"
    os.mkfifo(path)
    rfd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    wfd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)

    async def main():
        rt, rp = await loop.connect_read_pipe(lambda: ReadProto(loop), os.fdopen(rfd, "rb", 0))
        wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(wfd, "wb", 0))
        wt.write(b"through the fifo")
        wt.close()
        await rp.done
        await wp.done
        return bytes(rp.data), rp.events

    data, events = run(loop, main())
    assert data == b"through the fifo"
    assert events == ["made", "eof", ("lost", None)]


def test_pty_master(loop):
    """A pty master is a readable character device; hang-up gives EIO as asyncio reports it."""
    master, slave = os.openpty()
    try:
        async def main():
            rt, rp = await loop.connect_read_pipe(lambda: ReadProto(loop), os.fdopen(master, "rb", 0))
            os.write(slave, b"tty data\n")
            for _ in range(100):
                if rp.data:
                    break
                await asyncio.sleep(0.01)
            os.close(slave)
            exc = await rp.done
            return bytes(rp.data), exc

        data, exc = run(loop, main())
    finally:
        try:
            os.close(slave)
        except OSError:
            pass
    assert data.replace(b"\r\n", b"\n") == b"tty data\n"
    # The pty master reports the hang-up as EIO; asyncio treats it as an
    # error of the pipe (connection_lost(OSError)), logged only in debug mode.
    assert isinstance(exc, OSError) and exc.errno == errno.EIO


def test_pty_slave_write(loop):
    """connect_write_pipe on a pty slave; the master sees the bytes."""
    master, slave = os.openpty()
    try:
        os.set_blocking(master, False)

        async def main():
            wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(slave, "wb", 0))
            wt.write(b"to the terminal")
            got = b""
            for _ in range(200):
                try:
                    got += os.read(master, 1024)
                except BlockingIOError:
                    pass
                if len(got) >= 15:
                    break
                await asyncio.sleep(0.01)
            wt.close()
            await wp.done
            return got

        assert run(loop, main()) == b"to the terminal"
    finally:
        os.close(master)


def test_character_device_dev_null(loop):
    """/dev/null (a character device) is accepted by connect_write_pipe."""
    async def main():
        wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), open("/dev/null", "wb", 0))
        wt.write(b"discarded" * 1000)
        wt.close()
        return await wp.done

    assert run(loop, main()) is None


def test_socket_as_read_pipe(loop):
    """A socket is accepted as a read pipe."""
    a, b = socket.socketpair()
    try:
        async def main():
            rt, rp = await loop.connect_read_pipe(lambda: ReadProto(loop), a)
            b.sendall(b"sock")
            b.close()
            await rp.done
            return bytes(rp.data)

        assert run(loop, main()) == b"sock"
    finally:
        a.close()
        b.close()


def test_regular_file_rejected(loop, tmp_path):
    """Regular files get asyncio's ValueError."""
    path = tmp_path / "f"
    path.write_bytes(b"x")

    async def main():
        with open(path, "rb") as f, pytest.raises(ValueError, match="Pipe transport is for pipes/sockets only"):
            await loop.connect_read_pipe(lambda: ReadProto(loop), f)
        with open(path, "wb") as f, pytest.raises(ValueError, match="Pipe transport is"):
            await loop.connect_write_pipe(lambda: WriteProto(loop), f)

    run(loop, main())


def test_no_fd_leak(loop):
    """Opening and closing 200 pipe transports leaves no fd behind."""
    async def one():
        r, w = os.pipe()
        rt, rp = await loop.connect_read_pipe(lambda: ReadProto(loop), os.fdopen(r, "rb", 0))
        wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(w, "wb", 0))
        wt.write(b"x")
        wt.close()
        await rp.done
        await wp.done

    run(loop, one())
    before = set(os.listdir("/proc/self/fd"))

    async def main():
        for _ in range(200):
            await one()

    run(loop, main())
    assert set(os.listdir("/proc/self/fd")) <= before


def test_pipe_closed_once_unrelated_fds_untouched(loop):
    """Closing a pipe transport closes its pipe once and never an fd reused since (uvloop #763)."""
    import gc
    import io

    events = []

    class Probe(io.FileIO):
        def close(self):
            if not self.closed:
                try:
                    os.fstat(self.fileno())
                    events.append("open at close")
                except OSError:
                    events.append("already closed at close")
            super().close()

    r, w = os.pipe()
    pipe = Probe(r, "rb")

    async def main():
        rt, rp = await loop.connect_read_pipe(lambda: ReadProto(loop), pipe)
        os.write(w, b"x")
        os.close(w)
        await rp.done
        # fds allocated now reuse the pipe's number if it was freed
        fresh = os.pipe()
        await asyncio.sleep(0.05)
        return fresh

    fresh = run(loop, main())
    del pipe
    gc.collect()
    loop.run_until_complete(asyncio.sleep(0.01))
    try:
        for fd in fresh:
            os.fstat(fd)  # still open: nobody closed a reused number
    finally:
        for fd in fresh:
            os.close(fd)
    assert events == ["open at close"]


# ----------------------------------------------------------------------
# asyncio's unix_events pipe transport contract, in detail (issue 4: the
# compiled transports must match _UnixReadPipeTransport /
# _UnixWritePipeTransport on every Python).

import contextvars
import gc
import logging
import re
import warnings
import weakref


class Recorder:
    """Collects what reaches the loop's exception handler."""

    def __init__(self, loop):
        self.contexts = []
        loop.set_exception_handler(lambda lp, ctx: self.contexts.append(ctx))


def test_refusal_messages_and_pipe_left_open(loop, tmp_path):
    """Regular files are refused with asyncio's exact messages; the file is neither closed nor warned about."""
    path = tmp_path / "f"
    path.write_bytes(b"x")

    async def main():
        with open(path, "rb") as f:
            with pytest.raises(ValueError) as ei:
                await loop.connect_read_pipe(lambda: ReadProto(loop), f)
            assert str(ei.value) == "Pipe transport is for pipes/sockets only."
            assert not f.closed
        with open(path, "wb") as f:
            with pytest.raises(ValueError) as ei:
                await loop.connect_write_pipe(lambda: WriteProto(loop), f)
            assert str(ei.value) == "Pipe transport is only for pipes, sockets and character devices"
            assert not f.closed

    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        run(loop, main())
        gc.collect()


def test_fds_made_non_blocking(loop, pipe_fds):
    """Both transports put their fd in non-blocking mode."""
    r, w = pipe_fds
    assert os.get_blocking(r) and os.get_blocking(w)

    async def main():
        rt, rp = await loop.connect_read_pipe(lambda: ReadProto(loop), os.fdopen(r, "rb", 0))
        wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(w, "wb", 0))
        blocking = os.get_blocking(r), os.get_blocking(w)
        wt.close()
        await rp.done
        await wp.done
        return blocking

    assert run(loop, main()) == (False, False)


def test_eof_received_return_value_ignored(loop, pipe_fds):
    """eof_received() returning True does not keep a read pipe open (asyncio ignores it)."""
    r, w = pipe_fds

    async def main():
        rt, rp = await loop.connect_read_pipe(lambda: ReadProto(loop, eof_result=True),
                                              os.fdopen(r, "rb", 0))
        os.close(w)
        await rp.done
        return rp.events, rt.is_closing(), rt.get_extra_info("pipe").closed

    assert run(loop, main()) == (["made", "eof", ("lost", None)], True, True)


def test_read_pipe_close_stops_delivery(loop, pipe_fds):
    """close() with data waiting: connection_lost(None), no data_received after, pipe closed."""
    r, w = pipe_fds

    async def main():
        rt, rp = await loop.connect_read_pipe(lambda: ReadProto(loop), os.fdopen(r, "rb", 0))
        rt.close()
        os.write(w, b"never delivered")
        assert rt.is_closing() and not rt.is_reading()
        rt.close()  # idempotent
        await rp.done
        await asyncio.sleep(0.02)
        return bytes(rp.data), rp.events, rt.get_extra_info("pipe").closed

    assert run(loop, main()) == (b"", ["made", ("lost", None)], True)


def test_pause_resume_edge_cases(loop, pipe_fds):
    """pause/resume are no-ops when repeated or after closing; data held while paused arrives in order."""
    r, w = pipe_fds

    async def main():
        rt, rp = await loop.connect_read_pipe(lambda: ReadProto(loop), os.fdopen(r, "rb", 0))
        rt.resume_reading()  # not paused: nothing
        assert rt.is_reading()
        rt.pause_reading()
        rt.pause_reading()
        assert not rt.is_reading()
        for i in range(10):
            os.write(w, b"%d," % i)
            await asyncio.sleep(0)
        assert bytes(rp.data) == b""
        rt.resume_reading()
        rt.resume_reading()
        for _ in range(5):
            await asyncio.sleep(0.01)
        got = bytes(rp.data)
        # quick pause/resume cycles lose and duplicate nothing
        for i in range(50):
            rt.pause_reading()
            os.write(w, b"%d;" % i)
            await asyncio.sleep(0)
            rt.resume_reading()
            await asyncio.sleep(0)
        os.close(w)
        await rp.done
        rt.pause_reading()
        rt.resume_reading()
        return got, bytes(rp.data), rt.is_reading()

    got, data, reading = run(loop, main())
    assert got == b"".join(b"%d," % i for i in range(10))
    assert data == got + b"".join(b"%d;" % i for i in range(50))
    assert reading is False


def test_pause_before_connection_made(loop, pipe_fds):
    """pause_reading() before reading has started: nothing is read until resume_reading()."""
    r, w = pipe_fds

    class P(ReadProto):
        def connection_made(self, transport):
            super().connection_made(transport)
            transport.pause_reading()

    async def main():
        os.write(w, b"early")
        rt, rp = await loop.connect_read_pipe(lambda: P(loop), os.fdopen(r, "rb", 0))
        await asyncio.sleep(0.05)
        before = bytes(rp.data)
        rt.resume_reading()
        await asyncio.sleep(0.05)
        rt.close()
        await rp.done
        return before, bytes(rp.data)

    assert run(loop, main()) == (b"", b"early")


def test_resume_reading_on_closed_loop_raises(loop_factory, pipe_fds):
    """resume_reading() once the loop is closed raises asyncio's RuntimeError."""
    r, w = pipe_fds
    lp = loop_factory()
    pipe = os.fdopen(r, "rb", 0)
    pipe_fds.remove(r)
    try:
        rt, rp = run(lp, lp.connect_read_pipe(lambda: ReadProto(lp), pipe))
        rt.pause_reading()
        lp.close()
        with pytest.raises(RuntimeError, match="Event loop is closed"):
            rt.resume_reading()
        assert "open" in repr(rt)
    finally:
        lp.close()
        pipe.close()
        rt._pipe = None  # as CPython's test_unclosed_pipe_transport: no ResourceWarning


def test_data_received_error_reported_and_reading_goes_on(loop, pipe_fds):
    """An exception from data_received() goes to the exception handler; the pipe keeps reading."""
    r, w = pipe_fds
    rec = Recorder(loop)

    class P(ReadProto):
        def data_received(self, data):
            super().data_received(data)
            if data == b"boom":
                raise ZeroDivisionError("in data_received")

    async def main():
        rt, rp = await loop.connect_read_pipe(lambda: P(loop), os.fdopen(r, "rb", 0))
        os.write(w, b"boom")
        for _ in range(100):
            if rec.contexts:
                break
            await asyncio.sleep(0.01)
        os.write(w, b"after")
        os.close(w)
        await rp.done
        return bytes(rp.data), rp.events

    data, events = run(loop, main())
    assert data == b"boomafter"
    assert events == ["made", "eof", ("lost", None)]
    assert len(rec.contexts) == 1
    ctx = rec.contexts[0]
    assert ctx["message"].startswith("Exception in callback ")
    assert "_read_ready" in ctx["message"]
    assert isinstance(ctx["exception"], ZeroDivisionError)


def test_protocol_errors_in_eof_and_lost_reported(loop, pipe_fds):
    """eof_received()/connection_lost() raising: reported; the pipe is closed all the same."""
    r, w = pipe_fds
    rec = Recorder(loop)
    lost = loop.create_future()

    class P(asyncio.Protocol):
        def eof_received(self):
            raise KeyError("eof")

        def connection_lost(self, exc):
            lost.set_result(exc)
            raise LookupError("lost")

    async def main():
        rt, rp = await loop.connect_read_pipe(P, os.fdopen(r, "rb", 0))
        os.close(w)
        await lost
        await asyncio.sleep(0.01)
        return rt.get_extra_info("pipe").closed

    assert run(loop, main()) is True
    assert [type(c["exception"]) for c in rec.contexts] == [KeyError, LookupError]
    assert all(c["message"].startswith("Exception in callback") for c in rec.contexts)


def test_pty_eio_not_reported(loop, caplog):
    """EIO from a pty master whose slave closed: connection_lost(OSError), only a debug log, no handler call."""
    rec = Recorder(loop)
    loop.set_debug(True)
    master, slave = os.openpty()

    async def main():
        rt, rp = await loop.connect_read_pipe(lambda: ReadProto(loop), os.fdopen(master, "rb", 0))
        os.write(slave, b"x\n")
        for _ in range(100):
            if rp.data:
                break
            await asyncio.sleep(0.01)
        os.close(slave)
        return await rp.done

    with caplog.at_level(logging.DEBUG, logger="asyncio"):
        exc = run(loop, main())
    assert isinstance(exc, OSError) and exc.errno == errno.EIO
    assert rec.contexts == []
    assert any("Fatal read error on pipe transport" in r.getMessage() for r in caplog.records)


def test_write_pipe_socket_peer_sends_or_closes(loop):
    """On a socket write pipe any readability means 'closed by peer' (asyncio's reader trick)."""
    async def one(action):
        a, b = socket.socketpair()
        try:
            wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), a)
            await asyncio.sleep(0)
            action(b)
            exc = await wp.done
            return exc, wt.is_closing(), a.fileno()
        finally:
            b.close()

    assert run(loop, one(lambda b: b.close())) == (None, True, -1)
    assert run(loop, one(lambda b: b.send(b"?"))) == (None, True, -1)


def test_write_eof_flushes_then_closes(loop, pipe_fds):
    """write_eof() with data queued: all of it arrives, then connection_lost(None); later writes are dropped."""
    r, w = pipe_fds
    data = os.urandom(600 * 1024)

    async def main():
        wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(w, "wb", 0))
        wt.write(data)
        assert wt.get_write_buffer_size() > 0
        wt.write_eof()
        assert wt.is_closing()
        wt.write(b"dropped")   # counted, not written
        wt.write_eof()         # no-op
        rt, rp = await loop.connect_read_pipe(lambda: ReadProto(loop), os.fdopen(r, "rb", 0))
        await wp.done
        await rp.done
        return bytes(rp.data), wp.events, wt._conn_lost

    got, events, conn_lost = run(loop, main())
    assert got == data
    # resume_writing() comes when the queue drains, even while closing
    assert events == ["made", "pause", "resume", ("lost", None)]
    assert conn_lost == 1


def test_close_with_empty_buffer(loop, pipe_fds):
    """close() with nothing queued: connection_lost(None) on the next iteration, pipe closed."""
    r, w = pipe_fds

    async def main():
        wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(w, "wb", 0))
        wt.close()
        assert wt.is_closing()
        assert wp.events == ["made"]
        exc = await wp.done
        return exc, wt.get_extra_info("pipe").closed, os.read(r, 10)

    assert run(loop, main()) == (None, True, b"")


def test_writes_after_loss_warn_past_threshold(loop, pipe_fds, caplog):
    """Writes after the pipe broke are dropped; past LOG_THRESHOLD_FOR_CONNLOST_WRITES each logs asyncio's warning."""
    from asyncio import constants

    r, w = pipe_fds

    async def main():
        wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(w, "wb", 0))
        os.close(r)
        pipe_fds.remove(r)
        await wp.done
        for _ in range(constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES + 2):
            wt.write(b"x")
        return wt._conn_lost

    with caplog.at_level(logging.WARNING, logger="asyncio"):
        n = run(loop, main())
    msgs = [r.getMessage() for r in caplog.records
            if r.getMessage() == "pipe closed by peer or os.write(pipe, data) raised exception."]
    # The transport closed without an error (nothing was pending), so the
    # count starts at 0: every write adds one, and those that find it at the
    # threshold or above log.
    assert n == asyncio.constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES + 2
    assert len(msgs) == 2


def test_write_error_oserror_not_reported(loop, caplog):
    """An OSError from write() (EIO: pty master gone) ends the transport with it; no handler call."""
    rec = Recorder(loop)
    master, slave = os.openpty()

    async def main():
        wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(slave, "wb", 0))
        os.close(master)
        wt.write(b"to nobody")
        exc = await wp.done
        return exc, wt.is_closing(), wt._conn_lost

    exc, closing, conn_lost = run(loop, main())
    assert isinstance(exc, OSError) and exc.errno == errno.EIO
    assert closing and conn_lost == 1
    assert rec.contexts == []


def test_write_non_contiguous_buffer_is_fatal_error(loop, pipe_fds):
    """A non-contiguous memoryview fails in write(): reported as 'Fatal write error on pipe transport'."""
    r, w = pipe_fds
    rec = Recorder(loop)

    async def main():
        wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(w, "wb", 0))
        wt.write(memoryview(b"abcdefgh")[::2])
        exc = await wp.done
        return exc

    exc = run(loop, main())
    assert isinstance(exc, BufferError)
    assert [c["message"] for c in rec.contexts] == ["Fatal write error on pipe transport"]
    assert rec.contexts[0]["exception"] is exc


def test_write_type_checked(loop, pipe_fds):
    """write() of a non bytes-like object fails asyncio's assertion; empty writes do nothing."""
    r, w = pipe_fds

    async def main():
        wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(w, "wb", 0))
        with pytest.raises(AssertionError):
            wt.write("text")
        wt.write(b"")
        wt.write(bytearray())
        wt.write(memoryview(b""))
        wt.close()
        await wp.done

    run(loop, main())
    assert os.read(r, 10) == b""


def test_queued_mutable_buffers_are_snapshots(loop, pipe_fds):
    """A bytearray written while data is queued is copied: mutating it later changes nothing sent."""
    r, w = pipe_fds

    async def main():
        wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(w, "wb", 0))
        big = b"a" * (1024 * 1024)
        wt.write(big)
        assert wt.get_write_buffer_size() > 0
        ba = bytearray(b"0123456789")
        wt.write(ba)
        mv_src = bytearray(b"ABCDEFGHIJ")
        wt.write(memoryview(mv_src)[2:5])
        ba[:] = b"xxxxxxxxxx"
        mv_src[:] = b"yyyyyyyyyy"
        wt.writelines([b"-", bytearray(b"+"), memoryview(b"*")])
        size = wt.get_write_buffer_size()
        wt.close()
        rt, rp = await loop.connect_read_pipe(lambda: ReadProto(loop), os.fdopen(r, "rb", 0))
        await wp.done
        await rp.done
        return bytes(rp.data), size, len(big)

    got, size, n = run(loop, main())
    assert got == b"a" * n + b"0123456789CDE-+*"
    assert 0 < size <= n + 16


def test_partial_write_of_bytearray_then_mutation(loop, pipe_fds):
    """The unsent tail of a bytearray is copied at write() time."""
    r, w = pipe_fds

    async def main():
        wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(w, "wb", 0))
        ba = bytearray(os.urandom(1024 * 1024))
        expect = bytes(ba)
        wt.write(ba)
        assert wt.get_write_buffer_size() > 0
        ba[:] = bytes(len(ba))
        wt.close()
        rt, rp = await loop.connect_read_pipe(lambda: ReadProto(loop), os.fdopen(r, "rb", 0))
        await wp.done
        await rp.done
        return bytes(rp.data) == expect

    assert run(loop, main())


def test_flow_control_limits_api(loop, pipe_fds):
    """Defaults (16 KiB, 64 KiB), validation message, and lowering the high mark pauses at once."""
    r, w = pipe_fds

    async def main():
        wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(w, "wb", 0))
        assert wt.get_write_buffer_limits() == (16384, 65536)
        with pytest.raises(ValueError, match=re.escape("high (1) must be >= low (2) must be >= 0")):
            wt.set_write_buffer_limits(high=1, low=2)
        wt.set_write_buffer_limits(low=1000)
        assert wt.get_write_buffer_limits() == (1000, 4000)
        wt.set_write_buffer_limits(high=10 ** 9)
        wt.write(b"q" * (512 * 1024))
        queued = wt.get_write_buffer_size()
        assert queued > 0 and wp.events == ["made"]
        wt.set_write_buffer_limits(high=1024)
        assert wp.events == ["made", "pause"]
        wt.abort()
        await wp.done
        return queued

    assert run(loop, main()) > 0


def test_pause_writing_error_reported(loop, pipe_fds):
    """pause_writing()/resume_writing() raising: asyncio's 'protocol.pause_writing() failed' reports."""
    r, w = pipe_fds
    rec = Recorder(loop)
    resumed = loop.create_future()

    class P(WriteProto):
        def pause_writing(self):
            raise ValueError("pause")

        def resume_writing(self):
            resumed.set_result(None)
            raise ValueError("resume")

    async def main():
        wt, wp = await loop.connect_write_pipe(lambda: P(loop), os.fdopen(w, "wb", 0))
        wt.write(b"p" * (1024 * 1024))
        rt, rp = await loop.connect_read_pipe(lambda: ReadProto(loop), os.fdopen(r, "rb", 0))
        await resumed
        wt.close()
        await wp.done
        await rp.done
        return len(rp.data)

    assert run(loop, main()) == 1024 * 1024
    assert [c["message"] for c in rec.contexts] == [
        "protocol.pause_writing() failed", "protocol.resume_writing() failed"]


def test_repr_states(loop, pipe_fds):
    """repr: fd, polling/idle, bufsize, closing, closed, and 'open' once the loop is closed."""
    r, w = pipe_fds

    def strip(t):
        return re.sub(r"^<\S+ ", "<T ", repr(t))

    async def main():
        rt, rp = await loop.connect_read_pipe(lambda: ReadProto(loop), os.fdopen(r, "rb", 0))
        wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(w, "wb", 0))
        states = [strip(rt), strip(wt)]
        rt.pause_reading()
        wt.write(b"r" * (1024 * 1024))
        states += [strip(rt), re.sub(r"bufsize=\d+", "bufsize=N", strip(wt))]
        rt.resume_reading()
        wt.abort()
        states.append(strip(wt))
        await wp.done
        states.append(strip(wt))
        rt.close()
        states.append(strip(rt))
        await rp.done
        states.append(strip(rt))
        return states

    assert run(loop, main()) == [
        f"<T fd={r} polling>", f"<T fd={w} idle bufsize=0>",
        f"<T fd={r} idle>", f"<T fd={w} polling bufsize=N>",
        f"<T closing fd={w} idle bufsize=0>",
        f"<T closed fd={w} closed>",
        f"<T closing fd={r} idle>",
        f"<T closed fd={r} closed>",
    ]


def test_unclosed_transports_warn_and_close(loop_factory):
    """A transport dropped without close() warns 'unclosed transport' (ResourceWarning) and closes its pipe."""
    lp = loop_factory()
    r, w = os.pipe()
    rpipe, wpipe = os.fdopen(r, "rb", 0), os.fdopen(w, "wb", 0)
    try:
        rt, _ = run(lp, lp.connect_read_pipe(lambda: ReadProto(lp), rpipe))
        wt, _ = run(lp, lp.connect_write_pipe(lambda: WriteProto(lp), wpipe))
        assert "open" not in repr(rt)
    finally:
        lp.close()
    assert "open" in repr(rt) and "open" in repr(wt)
    with pytest.warns(ResourceWarning, match="unclosed transport") as rec:
        del rt, wt
        gc.collect()
    assert len(rec) == 2
    assert rpipe.closed and wpipe.closed


def test_callbacks_run_in_creation_context(loop, pipe_fds):
    """Callbacks driven by the pipe (connection_made, data, EOF, connection_lost on EOF) see
    the context the transport was made in, not the one of whoever writes to the other end."""
    var = contextvars.ContextVar("var", default="unset")
    r, w = pipe_fds
    seen = []

    class P(asyncio.Protocol):
        def __init__(self):
            self.done = loop.create_future()

        def connection_made(self, t):
            seen.append(("made", var.get()))

        def data_received(self, data):
            seen.append(("data", var.get()))

        def eof_received(self):
            seen.append(("eof", var.get()))

        def connection_lost(self, exc):
            seen.append(("lost", var.get()))
            self.done.set_result(None)

    class WP(asyncio.BaseProtocol):
        def __init__(self):
            self.done = loop.create_future()

        def connection_made(self, t):
            seen.append(("wmade", var.get()))

        def connection_lost(self, exc):
            seen.append(("wlost", var.get()))
            self.done.set_result(None)

    async def make():
        var.set("creator")
        rt, rp = await loop.connect_read_pipe(P, os.fdopen(r, "rb", 0))
        wt, wp = await loop.connect_write_pipe(WP, os.fdopen(w, "wb", 0))
        return rt, rp, wt, wp

    async def main():
        rt, rp, wt, wp = await asyncio.create_task(make())
        var.set("other")
        wt.write(b"ctx")
        wt.close()
        await rp.done
        await wp.done

    run(loop, main())
    # (connection_lost after close() runs where asyncio's call_soon puts it:
    # not checked, tideloop uses the creation context there too.)
    seen = [s for s in seen if s[0] != "wlost"]
    assert sorted(seen) == sorted([("made", "creator"), ("wmade", "creator"), ("data", "creator"),
                                   ("eof", "creator"), ("lost", "creator")])


def test_set_and_get_protocol(loop, pipe_fds):
    """set_protocol() switches where data goes; get_protocol() returns it."""
    r, w = pipe_fds

    async def main():
        rt, rp = await loop.connect_read_pipe(lambda: ReadProto(loop), os.fdopen(r, "rb", 0))
        assert rt.get_protocol() is rp
        other = ReadProto(loop)
        rt.set_protocol(other)
        assert rt.get_protocol() is other
        os.write(w, b"to other")
        os.close(w)
        await other.done
        return bytes(rp.data), bytes(other.data)

    assert run(loop, main()) == (b"", b"to other")


def test_cancelled_connect_closes_transport(loop, pipe_fds):
    """connect_read_pipe cancelled while waiting for connection_made: the pipe gets closed."""
    r, w = pipe_fds
    pipe = os.fdopen(r, "rb", 0)
    pipe_fds.remove(r)

    async def main():
        task = asyncio.ensure_future(loop.connect_read_pipe(lambda: ReadProto(loop), pipe))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(10):
            await asyncio.sleep(0)
        return pipe.closed

    assert run(loop, main()) is True


def test_transports_are_asyncio_transports(loop, pipe_fds):
    """isinstance checks hold: ReadTransport / WriteTransport, and no reference is kept after close."""
    r, w = pipe_fds

    async def main():
        rt, rp = await loop.connect_read_pipe(lambda: ReadProto(loop), os.fdopen(r, "rb", 0))
        wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(w, "wb", 0))
        assert isinstance(rt, asyncio.ReadTransport)
        assert isinstance(wt, asyncio.WriteTransport)
        wt.close()
        await rp.done
        await wp.done
        return weakref.ref(rt), weakref.ref(wt)

    refs = run(loop, main())
    loop.run_until_complete(asyncio.sleep(0))
    gc.collect()
    assert [ref() for ref in refs] == [None, None]


# ----------------------------------------------------------------------
# leaks


def _rss():
    import psutil

    gc.collect()
    return psutil.Process().memory_info().rss


@pytest.mark.timeout(180)
def test_100k_writes_and_reads_no_leak(loop, loop_name):
    """100,000 small writes through a write pipe into a read pipe: every byte arrives, memory stays flat."""
    n = 100_000 if loop_name == "tideloop" else 30_000

    async def rounds(count):
        r, w = os.pipe()
        rt, rp = await loop.connect_read_pipe(lambda: ReadProto(loop), os.fdopen(r, "rb", 0))
        wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(w, "wb", 0))
        total = 0
        for i in range(count):
            chunk = b"%08d" % i
            wt.write(chunk if i % 3 else bytearray(chunk))
            total += len(chunk)
            if i % 500 == 0:
                await asyncio.sleep(0)
        wt.close()
        await wp.done
        await rp.done
        assert len(rp.data) == total
        assert bytes(rp.data[:16]) == b"0000000000000001"

    run(loop, rounds(n), timeout=150)
    before_fds = set(os.listdir("/proc/self/fd"))
    before = _rss()
    run(loop, rounds(n), timeout=150)
    run(loop, rounds(n), timeout=150)
    assert _rss() - before < 8 * 1024 * 1024
    assert set(os.listdir("/proc/self/fd")) <= before_fds


@pytest.mark.timeout(180)
def test_100k_read_write_lockstep_no_leak(loop, loop_name):
    """100,000 write()s each answered by one data_received() (writer and reader in lockstep): no leak."""
    n = 100_000 if loop_name == "tideloop" else 20_000

    class Lockstep(ReadProto):
        def __init__(self, loop):
            super().__init__(loop)
            self.reads = 0
            self.waiter = None

        def data_received(self, data):
            super().data_received(data)
            self.reads += 1
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_result(None)

    async def rounds(count):
        r, w = os.pipe()
        rt, rp = await loop.connect_read_pipe(lambda: Lockstep(loop), os.fdopen(r, "rb", 0))
        wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(w, "wb", 0))
        for i in range(count):
            rp.waiter = loop.create_future()
            wt.write(b"%06d" % (i % 1000000))
            await rp.waiter
        wt.close()
        await wp.done
        await rp.done
        assert rp.reads == count and len(rp.data) == 6 * count

    run(loop, rounds(n // 10), timeout=150)
    before_fds = set(os.listdir("/proc/self/fd"))
    before = _rss()
    run(loop, rounds(n), timeout=150)
    assert _rss() - before < 8 * 1024 * 1024
    assert set(os.listdir("/proc/self/fd")) <= before_fds


@pytest.mark.timeout(180)
def test_2000_pipes_opened_and_closed_no_leak(loop):
    """2,000 pipe pairs through both transports, closed every way: no fd left, memory flat."""
    async def one(i):
        r, w = os.pipe()
        rt, rp = await loop.connect_read_pipe(lambda: ReadProto(loop), os.fdopen(r, "rb", 0))
        wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(w, "wb", 0))
        how = i % 4
        if how == 0:      # writer closes after data
            wt.write(b"x" * 100)
            wt.close()
        elif how == 1:    # writer aborts with data queued, reader closes
            wt.write(b"y" * (256 * 1024))
            wt.abort()
            rt.close()
        elif how == 2:    # reader goes first: writer sees the peer gone
            rt.close()
            await rp.done
            wt.write(b"z" * (256 * 1024))
        else:             # both closed at once, paused reader
            rt.pause_reading()
            wt.write(b"w")
            rt.close()
            wt.close()
        await rp.done
        await wp.done

    async def many(count):
        for i in range(count):
            await one(i)

    run(loop, many(200), timeout=60)
    before_fds = set(os.listdir("/proc/self/fd"))
    before = _rss()
    run(loop, many(2000), timeout=150)
    assert set(os.listdir("/proc/self/fd")) <= before_fds
    assert _rss() - before < 8 * 1024 * 1024


def test_max_size_bounds_each_read(loop, pipe_fds):
    """Each read takes at most transport.max_size bytes (256 KiB by default; settable, as asyncio's)."""
    r, w = pipe_fds
    sizes = []

    class P(ReadProto):
        def data_received(self, data):
            sizes.append(len(data))
            super().data_received(data)

    async def main():
        rt, rp = await loop.connect_read_pipe(lambda: P(loop), os.fdopen(r, "rb", 0))
        assert rt.max_size == 256 * 1024
        rt.max_size = 1000
        os.write(w, b"m" * 5000)
        os.close(w)
        pipe_fds.remove(w)
        await rp.done
        return len(rp.data)

    assert run(loop, main()) == 5000
    assert sizes == [1000] * 5


def test_read_and_write_transports_on_one_pty_master_fd(loop):
    """One pty master fd used by a read AND a write transport (as shellous does): both work (uvloop: FileExistsError)."""
    import tty

    master, slave = os.openpty()
    tty.setraw(slave)
    os.set_blocking(slave, False)

    async def main():
        rt, rp = await loop.connect_read_pipe(lambda: ReadProto(loop), os.fdopen(master, "rb", 0, closefd=False))
        wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(master, "wb", 0, closefd=False))
        # far more than the pty buffers, so the write transport has to wait
        # for writability while the read transport keeps reading
        out = os.urandom(512 * 1024)
        wt.write(out)
        echoed = b""
        for i in range(2000):
            try:
                chunk = os.read(slave, 65536)
                echoed += chunk
                os.write(slave, chunk[:16])   # some traffic the other way
            except BlockingIOError:
                await asyncio.sleep(0.001)
            if len(echoed) >= len(out) and len(rp.data) >= min(len(out), 16 * 100):
                break
            await asyncio.sleep(0)
        for _ in range(100):
            if wt.get_write_buffer_size() == 0:
                break
            await asyncio.sleep(0.01)
        wt.close()
        await wp.done
        rt.close()
        await rp.done
        return echoed == out, len(rp.data) > 0, rp.events

    try:
        same, got_data, events = run(loop, main())
    finally:
        os.close(slave)
        os.close(master)
    assert same and got_data
    assert events == ["made", ("lost", None)]


def test_two_write_transports_on_one_pipe_fd(loop, pipe_fds):
    """connect_write_pipe twice on one pipe fd (sys.stdout twice, uvloop #262): both write, in turn."""
    r, w = pipe_fds
    os.set_blocking(r, False)
    # 2 MiB writes: more than a pipe holds even once tideloop has grown it (1 MiB).

    async def drain_into(got, t, n):
        while len(got) < n or t.get_write_buffer_size():
            try:
                got += os.read(r, 65536)
            except BlockingIOError:
                await asyncio.sleep(0.001)
            await asyncio.sleep(0)

    async def main():
        a, ap = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(w, "wb", 0, closefd=False))
        b, bp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(w, "wb", 0, closefd=False))
        await asyncio.sleep(0)
        got = bytearray()
        a.write(b"A" * (2048 * 1024))
        assert a.get_write_buffer_size() > 0
        await drain_into(got, a, 2048 * 1024)
        b.write(b"B" * (2048 * 1024))
        assert b.get_write_buffer_size() > 0
        await drain_into(got, b, 4096 * 1024)
        a.write(b"a")
        b.write(b"b")
        await drain_into(got, b, 4096 * 1024 + 2)
        a.close()
        b.close()
        await ap.done
        await bp.done
        return bytes(got)

    got = run(loop, main())
    assert got == b"A" * (2048 * 1024) + b"B" * (2048 * 1024) + b"ab"


def test_fd_reused_after_close_behind_the_back(loop):
    """A paused read pipe whose fd is closed behind its back and reused by a new pipe: the new transport works."""
    async def main():
        r1, w1 = os.pipe()
        t1, p1 = await loop.connect_read_pipe(lambda: ReadProto(loop),
                                              os.fdopen(r1, "rb", 0, closefd=False))
        t1.pause_reading()
        os.close(r1)          # behind the transport's back
        os.close(w1)
        r2, w2 = os.pipe()    # takes the lowest free numbers: r1's among them
        t2, p2 = await loop.connect_read_pipe(lambda: ReadProto(loop), os.fdopen(r2, "rb", 0))
        os.write(w2, b"for the new one")
        os.close(w2)
        await p2.done
        t1._pipe = None       # its fd is gone: nothing to close (no ResourceWarning)
        return bytes(p2.data), bytes(p1.data), r1 in (r2, w2)

    new, old, reused = run(loop, main())
    assert reused
    assert new == b"for the new one"
    assert old == b""


def test_debug_logs(loop, pipe_fds, caplog):
    """Debug mode: asyncio's 'pauses reading', 'resumes reading' and 'was closed by peer' lines, with the transport's repr."""
    r, w = pipe_fds
    loop.set_debug(True)

    async def main():
        rt, rp = await loop.connect_read_pipe(lambda: ReadProto(loop), os.fdopen(r, "rb", 0))
        rt.pause_reading()
        rt.resume_reading()
        wr, ww = os.pipe()
        wt, wp = await loop.connect_write_pipe(lambda: WriteProto(loop), os.fdopen(ww, "wb", 0))
        await asyncio.sleep(0)
        os.close(wr)
        await wp.done
        os.close(w)
        pipe_fds.remove(w)
        await rp.done
        return repr(rt), repr(wt)

    with caplog.at_level(logging.DEBUG, logger="asyncio"):
        run(loop, main())
    msgs = [r.getMessage() for r in caplog.records]
    for suffix in ("pauses reading", "resumes reading", "was closed by peer"):
        assert any(m.endswith(suffix) and "fd=" in m for m in msgs), (suffix, msgs)
    assert sum(m.endswith("was closed by peer") for m in msgs) == 2
    assert any(m.startswith("Read pipe %d connected" % r) for m in msgs)


def test_keyboard_interrupt_from_data_received_propagates(loop, pipe_fds):
    """KeyboardInterrupt raised in data_received() leaves run_until_complete(); the transport goes on afterwards."""
    r, w = pipe_fds

    class P(ReadProto):
        def data_received(self, data):
            super().data_received(data)
            if data == b"interrupt":
                raise KeyboardInterrupt

    async def connect():
        return await loop.connect_read_pipe(lambda: P(loop), os.fdopen(r, "rb", 0))

    rt, rp = run(loop, connect())
    os.write(w, b"interrupt")
    with pytest.raises(KeyboardInterrupt):
        loop.run_until_complete(asyncio.sleep(1))
    os.write(w, b"+more")
    os.close(w)
    pipe_fds.remove(w)
    loop.run_until_complete(asyncio.wait_for(rp.done, 5))
    assert bytes(rp.data) == b"interrupt+more"
    assert rp.events == ["made", "eof", ("lost", None)]

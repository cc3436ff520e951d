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

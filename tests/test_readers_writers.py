"""add_reader / add_writer / remove_reader / remove_writer on real sockets."""
import errno
import os
import socket

import pytest


@pytest.fixture
def pair():
    """A non-blocking socketpair, closed afterwards."""
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def _run_until_stopped(loop, timeout=5.0):
    """Run until a callback stops the loop; fail instead of hanging."""
    hit = []
    guard = loop.call_later(timeout, lambda: (hit.append(1), loop.stop()))
    loop.run_forever()
    guard.cancel()
    assert not hit, "the test's timeout guard stopped the loop"


def test_reader_fires_when_readable(loop, pair):
    """The reader runs with its args once data is there; add_reader returns None."""
    a, b = pair
    got = []

    def on_read(tag):
        got.append((tag, a.recv(100)))
        loop.stop()

    assert loop.add_reader(a, on_read, "tag") is None
    loop.call_later(0.01, b.send, b"data")
    _run_until_stopped(loop)
    assert got == [("tag", b"data")]
    assert loop.remove_reader(a) is True


def test_remove_reader_return_values(loop, pair):
    """remove_reader is True when a reader was registered, False otherwise."""
    a, _ = pair
    assert loop.remove_reader(a) is False
    loop.add_reader(a, lambda: None)
    assert loop.remove_reader(a) is True
    assert loop.remove_reader(a) is False
    # by fd number as well as by socket object
    loop.add_reader(a.fileno(), lambda: None)
    assert loop.remove_reader(a) is True
    assert loop.remove_reader(a.fileno()) is False


def test_remove_writer_return_values(loop, pair):
    """remove_writer is True when a writer was registered, False otherwise."""
    a, _ = pair
    assert loop.remove_writer(a) is False
    assert loop.add_writer(a, lambda: None) is None
    assert loop.remove_writer(a) is True
    assert loop.remove_writer(a) is False


def test_reader_and_writer_are_independent(loop, pair):
    """A reader and a writer on one fd: removing one leaves the other."""
    a, _ = pair
    loop.add_reader(a, lambda: None)
    loop.add_writer(a, lambda: None)
    assert loop.remove_writer(a) is True
    assert loop.remove_writer(a) is False
    assert loop.remove_reader(a) is True


def test_writer_fires_on_writable_socket(loop, pair):
    """A writer on a writable socket fires right away."""
    a, b = pair
    got = []

    def on_write():
        got.append(a.send(b"via-writer"))
        loop.remove_writer(a)
        loop.stop()

    loop.add_writer(a, on_write)
    _run_until_stopped(loop)
    assert got == [10]
    assert b.recv(100) == b"via-writer"


def test_readiness_is_level_triggered(loop, pair):
    """Unread data keeps firing the reader; a writable fd keeps firing the writer."""
    a, b = pair
    counts = {"r": 0, "w": 0}

    def on_read():
        counts["r"] += 1  # never reads: the fd stays readable

    def on_write():
        counts["w"] += 1

    b.send(b"x")
    loop.add_reader(a, on_read)
    loop.add_writer(a, on_write)
    loop.call_later(0.05, loop.stop)
    loop.run_forever()
    loop.remove_reader(a)
    loop.remove_writer(a)
    assert counts["r"] >= 3
    assert counts["w"] >= 3


def test_reader_and_writer_on_same_fd_both_fire(loop, pair):
    """Read and write interest on one fd: both callbacks run."""
    a, b = pair
    seen = set()

    def done(kind):
        seen.add(kind)
        if kind == "r":
            a.recv(100)
            loop.remove_reader(a)
        else:
            loop.remove_writer(a)
        if seen == {"r", "w"}:
            loop.stop()

    loop.add_reader(a, done, "r")
    loop.add_writer(a, done, "w")
    b.send(b"x")
    _run_until_stopped(loop)
    assert seen == {"r", "w"}


def test_replacing_a_reader(loop, pair):
    """add_reader on an fd with a reader replaces it: only the new one runs."""
    a, b = pair
    got = []

    def old():
        got.append("old")

    def new():
        got.append("new")
        a.recv(100)
        loop.stop()

    loop.add_reader(a, old)
    loop.add_reader(a, new)
    b.send(b"x")
    _run_until_stopped(loop)
    assert got == ["new"]
    assert loop.remove_reader(a) is True
    assert loop.remove_reader(a) is False


def test_replacing_a_writer(loop, pair):
    """add_writer on an fd with a writer replaces it."""
    a, _ = pair
    got = []
    loop.add_writer(a, got.append, "old")
    loop.add_writer(a, lambda: (got.append("new"), loop.remove_writer(a), loop.stop()))
    _run_until_stopped(loop)
    assert got == ["new"]


def test_remove_reader_inside_its_callback(loop, pair):
    """A reader that removes itself is not called again."""
    a, b = pair
    calls = []

    def on_read():
        calls.append(1)
        loop.remove_reader(a)

    b.send(b"x")  # never read: would fire forever if still registered
    loop.add_reader(a, on_read)
    loop.call_later(0.03, loop.stop)
    loop.run_forever()
    assert calls == [1]


def test_removed_reader_does_not_fire_in_same_iteration(loop, pair):
    """A reader removed by an earlier callback of the same iteration never runs."""
    a, b = pair
    calls = []
    b.send(b"x")

    def remover():
        loop.remove_reader(a)

    loop.add_reader(a, calls.append, "reader")
    # the first iteration polls (the reader is ready and queued behind `remover`),
    # then runs `remover`, which cancels the queued reader call
    loop.call_soon(remover)
    loop.call_later(0.02, loop.stop)
    loop.run_forever()
    assert calls == []
    assert loop.remove_reader(a) is False


def test_pipe_reader(loop):
    """add_reader works on a pipe's fd number too."""
    r, w = os.pipe()
    os.set_blocking(r, False)
    got = []

    def on_read():
        got.append(os.read(r, 100))
        loop.stop()

    try:
        loop.add_reader(r, on_read)
        loop.call_later(0.01, os.write, w, b"pipe")
        _run_until_stopped(loop)
        assert loop.remove_reader(r) is True
    finally:
        os.close(r)
        os.close(w)
    assert got == [b"pipe"]


def test_remove_reader_after_socket_closed(loop, pair):
    """A socket closed while registered can still be removed by the socket object."""
    a, b = pair
    loop.add_reader(a, lambda: None)
    a.close()
    assert loop.remove_reader(a) is True
    loop.add_writer(b, lambda: None)
    b.close()
    assert loop.remove_writer(b) is True
    loop.call_soon(loop.stop)
    loop.run_forever()


def test_add_reader_closed_socket_object(loop, pair):
    """add_reader on a closed socket object: ValueError 'Invalid file descriptor: -1'."""
    a, _ = pair
    a.close()
    with pytest.raises(ValueError, match=r"^Invalid file descriptor: -1$"):
        loop.add_reader(a, lambda: None)
    with pytest.raises(ValueError, match=r"^Invalid file descriptor: -1$"):
        loop.add_writer(a, lambda: None)


def test_add_reader_closed_fd_number(loop):
    """add_reader on a closed fd number: OSError EBADF; the loop keeps working."""
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    with pytest.raises(OSError) as info:
        loop.add_reader(r, lambda: None)
    assert info.value.errno == errno.EBADF
    with pytest.raises(OSError) as info:
        loop.add_writer(w, lambda: None)
    assert info.value.errno == errno.EBADF
    assert loop.remove_reader(r) is False
    loop.call_soon(loop.stop)
    loop.run_forever()


def test_add_reader_regular_file(loop, tmp_path):
    """A regular file cannot be polled: PermissionError (EPERM), as epoll says."""
    path = tmp_path / "plain.txt"
    path.write_bytes(b"x")
    with open(path, "rb") as f:
        with pytest.raises(PermissionError):
            loop.add_reader(f.fileno(), lambda: None)
        assert loop.remove_reader(f.fileno()) is False


def test_add_reader_invalid_objects(loop):
    """Negative fds and objects without fileno() are ValueErrors."""
    with pytest.raises(ValueError, match=r"^Invalid file descriptor: -1$"):
        loop.add_reader(-1, lambda: None)
    with pytest.raises(ValueError, match=r"^Invalid file object: 'abc'$"):
        loop.add_reader("abc", lambda: None)
    with pytest.raises(ValueError, match=r"^Invalid file object: None$"):
        loop.add_writer(None, lambda: None)


def test_reader_on_closed_loop(loop_factory, pair):
    """add_reader on a closed loop raises; remove_reader returns False."""
    a, _ = pair
    lp = loop_factory()
    lp.close()
    with pytest.raises(RuntimeError, match="^Event loop is closed$"):
        lp.add_reader(a, lambda: None)
    with pytest.raises(RuntimeError, match="^Event loop is closed$"):
        lp.add_writer(a, lambda: None)
    assert lp.remove_reader(a) is False
    assert lp.remove_writer(a) is False


def test_many_readers(loop):
    """Hundreds of registered fds: each reader fires once for its own fd."""
    pairs = [socket.socketpair() for _ in range(200)]
    fired = []
    try:
        for i, (a, b) in enumerate(pairs):
            a.setblocking(False)

            def on_read(i=i, a=a):
                fired.append(i)
                a.recv(10)
                loop.remove_reader(a)
                if len(fired) == len(pairs):
                    loop.stop()

            loop.add_reader(a, on_read)
        for a, b in reversed(pairs):
            b.send(b"x")
        _run_until_stopped(loop)
    finally:
        for a, b in pairs:
            loop.remove_reader(a)
            a.close()
            b.close()
    assert sorted(fired) == list(range(200))


def _high_fd_copy(sock, target):
    """Duplicate sock onto fd number `target` (or the highest allowed below it)."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    fd = min(target, soft - 1)
    if fd <= 1024:
        pytest.skip(f"RLIMIT_NOFILE {soft} allows no high fd")
    os.dup2(sock.fileno(), fd)
    return socket.socket(fileno=fd)


@pytest.mark.parametrize("target", [1500, 5000, 19_000])
def test_reader_and_writer_on_high_fd(loop, pair, target):
    """Readers and writers work on fd numbers far above the usual range."""
    a, b = pair
    high = _high_fd_copy(a, target)
    got = []

    def on_read():
        got.append(high.recv(100))
        loop.remove_reader(high)
        loop.stop()

    try:
        high.setblocking(False)
        loop.add_reader(high, on_read)
        loop.call_later(0.01, b.send, b"high")
        _run_until_stopped(loop)
        assert got == [b"high"]
        wrote = []
        loop.add_writer(high.fileno(), lambda: (wrote.append(1), loop.remove_writer(high), loop.stop()))
        _run_until_stopped(loop)
        assert wrote == [1]
        assert loop.remove_reader(high) is False
    finally:
        high.close()

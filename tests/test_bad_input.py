"""Wrong types, bad values and closed fds get asyncio's errors; the loop keeps working."""
import asyncio
import errno
import os
import socket

import pytest


def _still_works(loop):
    """The loop runs a callback and a coroutine after the bad call."""
    assert loop.run_until_complete(asyncio.sleep(0, result="alive")) == "alive"


async def _coro_fn():
    """A coroutine function used as a wrong argument."""


@pytest.mark.parametrize("delay", ["1", [1], object()])
def test_call_later_non_number_delay(loop, delay):
    """call_later with a non-number delay raises TypeError."""
    with pytest.raises(TypeError):
        loop.call_later(delay, lambda: None)
    _still_works(loop)


def test_call_later_none_delay(loop):
    """call_later(None, ...) raises TypeError('delay must not be None')."""
    with pytest.raises(TypeError, match="^delay must not be None$"):
        loop.call_later(None, lambda: None)


def test_call_at_none_when(loop):
    """call_at(None, ...) raises TypeError('when cannot be None')."""
    with pytest.raises(TypeError, match="^when cannot be None$"):
        loop.call_at(None, lambda: None)
    _still_works(loop)


def test_run_until_complete_non_awaitable(loop):
    """run_until_complete(42) raises asyncio's TypeError."""
    with pytest.raises(TypeError, match="^An asyncio.Future, a coroutine or an awaitable is required$"):
        loop.run_until_complete(42)
    with pytest.raises(TypeError, match="^An asyncio.Future, a coroutine or an awaitable is required$"):
        loop.run_until_complete(_coro_fn)  # the function, not a coroutine
    _still_works(loop)


@pytest.mark.parametrize("arg", [42, _coro_fn, None], ids=["int", "coroutine-function", "None"])
def test_create_task_non_coroutine(loop, arg):
    """create_task(non-coroutine) raises TypeError 'a coroutine was expected, got ...'."""
    with pytest.raises(TypeError, match="^a coroutine was expected, got "):
        loop.create_task(arg)
    _still_works(loop)


def test_non_callable_in_call_soon_reaches_handler(loop):
    """Outside debug mode a non-callable is accepted and fails when run, via the handler."""
    contexts = []
    loop.set_exception_handler(lambda lp, ctx: contexts.append(ctx))
    h = loop.call_soon(42)
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert len(contexts) == 1
    assert isinstance(contexts[0]["exception"], TypeError)
    assert contexts[0]["handle"] is h
    _still_works(loop)


def test_coroutine_in_call_soon_without_debug(loop):
    """Outside debug mode a coroutine passed to call_soon fails when run, via the handler."""
    contexts = []
    loop.set_exception_handler(lambda lp, ctx: contexts.append(ctx))
    coro = _coro_fn()
    try:
        loop.call_soon(coro)
        loop.call_soon(loop.stop)
        loop.run_forever()
    finally:
        coro.close()
    assert len(contexts) == 1
    assert isinstance(contexts[0]["exception"], TypeError)
    assert contexts[0]["message"].startswith("Exception in callback ")


def test_coroutine_in_call_soon_with_debug(loop):
    """In debug mode a coroutine passed to call_soon is refused at once."""
    loop.set_debug(True)
    coro = _coro_fn()
    try:
        with pytest.raises(TypeError, match=r"^coroutines cannot be used with call_soon\(\)$"):
            loop.call_soon(coro)
    finally:
        coro.close()
    _still_works(loop)


def test_set_task_factory_non_callable(loop):
    """set_task_factory(42) raises TypeError('task factory must be a callable or None')."""
    with pytest.raises(TypeError, match="^task factory must be a callable or None$"):
        loop.set_task_factory(42)
    assert loop.get_task_factory() is None


def test_run_in_executor_non_callable(loop):
    """A non-callable given to run_in_executor fails in the returned future."""

    async def main():
        return await loop.run_in_executor(None, 42)

    with pytest.raises(TypeError):
        loop.run_until_complete(main())
    _still_works(loop)


@pytest.fixture
def pair():
    """A non-blocking socketpair."""
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def test_add_reader_bad_fds(loop):
    """Closed, negative and non-fd arguments to add_reader get asyncio's errors."""
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    with pytest.raises(OSError):
        loop.add_reader(r, lambda: None)
    with pytest.raises(ValueError):
        loop.add_reader(-5, lambda: None)
    with pytest.raises(ValueError):
        loop.add_reader(object(), lambda: None)
    _still_works(loop)


def test_sock_recv_negative_size(loop, pair):
    """sock_recv with a negative size raises ValueError, as socket.recv does."""
    a, b = pair
    b.send(b"x")
    with pytest.raises(ValueError):
        loop.run_until_complete(loop.sock_recv(a, -1))
    _still_works(loop)


def test_sock_recv_into_immutable_buffer(loop, pair):
    """sock_recv_into(bytes) raises TypeError."""
    a, b = pair
    b.send(b"x")
    with pytest.raises(TypeError):
        loop.run_until_complete(loop.sock_recv_into(a, b"immutable"))
    _still_works(loop)


def test_sock_sendall_str(loop, pair):
    """sock_sendall with a str raises TypeError."""
    a, _ = pair
    with pytest.raises(TypeError):
        loop.run_until_complete(loop.sock_sendall(a, "text"))
    _still_works(loop)


def test_sock_recv_closed_socket(loop, pair):
    """sock_recv on a closed socket raises OSError, as socket.recv does."""
    a, _ = pair
    a.close()
    with pytest.raises(OSError):
        loop.run_until_complete(loop.sock_recv(a, 10))
    _still_works(loop)


@pytest.fixture
def binfile(tmp_path):
    """A small file opened in binary mode."""
    path = tmp_path / "f.bin"
    path.write_bytes(b"0123456789")
    with open(path, "rb") as f:
        yield f


@pytest.mark.parametrize(
    "kwargs,exc,msg",
    [
        ({"count": 0}, ValueError, r"^count must be a positive integer \(got 0\)$"),
        ({"count": "1"}, TypeError, r"^count must be a positive integer \(got '1'\)$"),
        ({"offset": -1}, ValueError, r"^offset must be a non-negative integer \(got -1\)$"),
        ({"offset": 1.5}, TypeError, r"^offset must be a non-negative integer \(got 1.5\)$"),
    ],
)
def test_sock_sendfile_bad_params(loop, pair, binfile, kwargs, exc, msg):
    """sock_sendfile checks count and offset like asyncio."""
    a, _ = pair
    with pytest.raises(exc, match=msg):
        loop.run_until_complete(loop.sock_sendfile(a, binfile, **kwargs))
    _still_works(loop)


def test_sock_sendfile_text_file(loop, pair, tmp_path):
    """A file opened in text mode is a ValueError."""
    a, _ = pair
    path = tmp_path / "t.txt"
    path.write_text("text")
    with open(path, "r") as f:
        with pytest.raises(ValueError, match="^file should be opened in binary mode$"):
            loop.run_until_complete(loop.sock_sendfile(a, f))


def test_sock_sendfile_datagram_socket(loop, binfile):
    """sock_sendfile on a UDP socket is a ValueError."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    try:
        with pytest.raises(ValueError, match="^only SOCK_STREAM type sockets are supported$"):
            loop.run_until_complete(loop.sock_sendfile(s, binfile))
    finally:
        s.close()


@pytest.mark.parametrize("fd,exc", [(2**31 - 1, OSError), (2**40, OverflowError), (70_000, OSError)],
                         ids=["INT_MAX", "2**40", "70000"])
def test_add_reader_out_of_range_fd(loop, fd, exc):
    """Huge fd numbers: EBADF for those fitting a C int, OverflowError beyond; never truncated."""
    with pytest.raises(exc) as info:
        loop.add_reader(fd, lambda: None)
    if exc is OSError:
        assert info.value.errno == errno.EBADF
    with pytest.raises(exc):
        loop.add_writer(fd, lambda: None)
    assert loop.remove_reader(fd) is False
    assert loop.remove_writer(fd) is False
    _still_works(loop)

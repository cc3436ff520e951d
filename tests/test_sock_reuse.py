"""sock_recv/sock_sendall around fd reuse, add_reader on the same fd, and cancellation.

tideloop keeps a socket registered after a sock_* wait ends (lazy
unregistration); these tests pin the cases where that could go wrong.
Every test runs on tideloop and on asyncio's loop.
"""
import asyncio
import socket

import pytest


def _pair():
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    return a, b


def test_closed_socket_fd_reused_by_new_socket(loop):
    async def main():
        for i in range(200):
            a, b = _pair()
            b.send(b"x%d" % i)
            assert await asyncio.wait_for(loop.sock_recv(a, 100), 5) == b"x%d" % i
            fd = a.fileno()
            task = asyncio.ensure_future(loop.sock_recv(a, 100))   # leaves a waiter
            await asyncio.sleep(0)
            task.cancel()
            a.close()
            b.close()
            # The next pair usually gets the same fd numbers.
            c, d = _pair()
            got = asyncio.ensure_future(loop.sock_recv(c, 100))
            await asyncio.sleep(0)
            d.send(b"new%d" % i)
            assert await asyncio.wait_for(got, 5) == b"new%d" % i
            # add_reader on a reused fd number works too.
            ev = asyncio.Event()
            d.send(b"r")
            loop.add_reader(c.fileno(), ev.set)
            await asyncio.wait_for(ev.wait(), 5)
            assert loop.remove_reader(c.fileno())
            c.close()
            d.close()
            del fd

    loop.run_until_complete(main())


def test_add_reader_after_sock_recv_on_same_socket(loop):
    async def main():
        a, b = _pair()
        b.send(b"1")
        assert await loop.sock_recv(a, 10) == b"1"
        hit = asyncio.Event()
        loop.add_reader(a, hit.set)
        b.send(b"2")
        await asyncio.wait_for(hit.wait(), 5)
        assert loop.remove_reader(a)
        assert a.recv(10) == b"2"
        # ...and back to sock_recv.
        b.send(b"3")
        assert await asyncio.wait_for(loop.sock_recv(a, 10), 5) == b"3"
        task = asyncio.ensure_future(loop.sock_recv(a, 10))
        await asyncio.sleep(0.01)
        b.send(b"4")
        assert await asyncio.wait_for(task, 5) == b"4"
        a.close()
        b.close()

    loop.run_until_complete(main())


def test_cancelled_sock_recv_then_data_readable(loop):
    async def main():
        a, b = _pair()
        task = asyncio.ensure_future(loop.sock_recv(a, 10))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        b.send(b"later")
        await asyncio.sleep(0.05)   # readiness arrives with nobody waiting
        assert await asyncio.wait_for(loop.sock_recv(a, 10), 5) == b"later"
        a.close()
        b.close()

    loop.run_until_complete(main())


def test_sock_sendall_large_with_concurrent_recv(loop):
    async def main():
        a, b = _pair()
        payload = bytes(range(256)) * 20000   # 5 MB: many partial sends
        got = bytearray()

        async def reader():
            while len(got) < len(payload):
                chunk = await loop.sock_recv(b, 65536)
                assert chunk
                got.extend(chunk)

        r = asyncio.ensure_future(reader())
        await asyncio.wait_for(loop.sock_sendall(a, payload), 20)
        await asyncio.wait_for(r, 20)
        assert got == payload
        a.close()
        b.close()

    loop.run_until_complete(main())


def test_sock_recv_into_and_errors(loop):
    async def main():
        a, b = _pair()
        buf = bytearray(10)
        t = asyncio.ensure_future(loop.sock_recv_into(a, buf))
        await asyncio.sleep(0.01)
        b.send(b"abc")
        assert await asyncio.wait_for(t, 5) == 3
        assert buf[:3] == b"abc"
        b.close()
        assert await loop.sock_recv(a, 10) == b""   # EOF
        a.close()
        with pytest.raises(OSError):
            await loop.sock_recv(a, 10)
        blocking = socket.socket()
        try:
            loop.set_debug(True)
            with pytest.raises(ValueError, match="the socket must be non-blocking"):
                await loop.sock_recv(blocking, 10)
        finally:
            loop.set_debug(False)
            blocking.close()

    loop.run_until_complete(main())

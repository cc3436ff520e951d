"""Fork from inside a running loop: the child gets a clean state, the parent keeps working."""
import asyncio
import multiprocessing
import os
import signal
import socket
import sys
import traceback
import warnings

import pytest

# Forking a process that has threads (pytest's, executors') warns on 3.12+;
# the tests fork on purpose and only run loop code in the child.
pytestmark = pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")


def run(loop, coro, timeout=30):
    """Run *coro* on *loop*, failing instead of hanging."""
    return loop.run_until_complete(asyncio.wait_for(coro, timeout))


def in_child(fn):
    """Fork; the child runs fn() and reports 'ok' or its traceback through a pipe.

    Returns (pid, read fd) in the parent.
    """
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        code = 1
        try:
            os.close(r)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = fn()
            os.write(w, repr(result).encode())
            code = 0
        except BaseException:
            os.write(w, traceback.format_exc().encode())
        finally:
            os._exit(code)
    os.close(w)
    return pid, r


async def child_result(loop, pid, r):
    """Await the child's exit off-loop; its (exit code, report)."""
    _, status = await loop.run_in_executor(None, os.waitpid, pid, 0)
    with os.fdopen(r, "rb") as f:
        report = f.read().decode()
    return os.waitstatus_to_exitcode(status), report


def exercise_new_loop(loop_factory):
    """What a forked child does with a fresh loop: timers, readers, threads, a subprocess."""
    assert asyncio._get_running_loop() is None
    lp = loop_factory()
    try:
        async def main():
            a, b = socket.socketpair()
            with a, b:
                got = lp.create_future()
                lp.add_reader(a, lambda: got.set_result(a.recv(10)))
                lp.call_later(0.01, b.send, b"ping")
                data = await asyncio.wait_for(got, 5)
                lp.remove_reader(a)
            t = await lp.run_in_executor(None, lambda: "thread")
            p = await asyncio.create_subprocess_exec("echo", "sub", stdout=asyncio.subprocess.PIPE)
            out, _ = await p.communicate()
            return data, t, out, p.returncode

        return lp.run_until_complete(main())
    finally:
        lp.close()


def test_fork_child_runs_new_loop_parent_keeps_working(loop, loop_factory):
    """A child forked from a running loop runs a new loop; the parent's loop is unaffected."""
    async def main():
        a, b = socket.socketpair()
        with a, b:
            pid, r = in_child(lambda: exercise_new_loop(loop_factory))
            # The parent goes on using its poller while the child runs.
            got = loop.create_future()
            loop.add_reader(a, lambda: got.set_result(a.recv(10)))
            loop.call_later(0.02, b.send, b"parent")
            data = await asyncio.wait_for(got, 5)
            loop.remove_reader(a)
            rc, report = await child_result(loop, pid, r)
            await asyncio.sleep(0.01)
            return data, rc, report

    data, rc, report = run(loop, main())
    assert data == b"parent"
    assert rc == 0, report
    assert report == repr((b"ping", "thread", b"sub\n", 0))


def test_fork_child_run_helper(loop, loop_name):
    """tideloop.run / asyncio.run in a child forked from inside a running loop."""
    if loop_name == "tideloop":
        import tideloop

        runner = tideloop.run
    else:
        runner = asyncio.run

    async def child_main():
        await asyncio.sleep(0.01)
        return type(asyncio.get_running_loop()).__module__

    async def main():
        pid, r = in_child(lambda: runner(child_main()))
        return await child_result(loop, pid, r)

    rc, report = run(loop, main())
    assert rc == 0, report
    assert report.strip("'").split(".")[0] == ("tideloop" if loop_name == "tideloop" else "asyncio")


def test_child_signal_does_not_reach_parent_handler(loop, loop_name):
    """A signal the child receives does not run the parent's handler (via the shared wakeup fd)."""
    if loop_name == "asyncio" and sys.version_info < (3, 12):
        pytest.skip("asyncio < 3.12 shares the wakeup fd with forked children (gh-66285)")
    hits = []
    loop.add_signal_handler(signal.SIGUSR1, hits.append, "parent")

    def child():
        os.kill(os.getpid(), signal.SIGUSR1)
        return "sent"

    async def main():
        pid, r = in_child(child)
        result = await child_result(loop, pid, r)
        await asyncio.sleep(0.1)
        return result

    try:
        rc, report = run(loop, main())
    finally:
        loop.remove_signal_handler(signal.SIGUSR1)
    assert rc == 0, report
    assert hits == []


def test_child_wakeup_fd_released(loop, loop_name):
    """In a child forked from a running loop, the parent's wakeup fd is no longer set."""
    if loop_name == "asyncio" and sys.version_info < (3, 12):
        pytest.skip("asyncio < 3.12 keeps the parent's wakeup fd in forked children (gh-66285)")
    loop.add_signal_handler(signal.SIGUSR1, lambda: None)

    async def main():
        pid, r = in_child(lambda: signal.set_wakeup_fd(-1))
        return await child_result(loop, pid, r)

    try:
        rc, report = run(loop, main())
    finally:
        loop.remove_signal_handler(signal.SIGUSR1)
    assert (rc, report) == (0, "-1")


def test_fork_from_executor_thread(loop):
    """Forking from a worker thread while the loop runs in the main thread: clean child too."""
    async def main():
        pid, r = await loop.run_in_executor(None, in_child, lambda: signal.set_wakeup_fd(-1))
        return await child_result(loop, pid, r)

    assert run(loop, main()) == (0, "-1")


def test_fork_from_loop_in_thread(loop_factory):
    """A loop running in a non-main thread forks; the child runs a new loop."""
    import threading

    out = []

    def worker():
        lp = loop_factory()
        try:
            async def main():
                pid, r = in_child(lambda: exercise_new_loop(loop_factory))
                return await child_result(lp, pid, r)

            out.append(run(lp, main()))
        finally:
            lp.close()

    t = threading.Thread(target=worker)
    t.start()
    t.join(60)
    rc, report = out[0]
    assert rc == 0, report


def square(x):
    """A picklable task for the process pool."""
    return x * x


def loop_in_process(queue, factory):
    """multiprocessing target: run a small program on a new loop, report its result."""
    lp = factory()
    try:
        async def main():
            await asyncio.sleep(0.01)
            p = await asyncio.create_subprocess_exec("echo", "mp", stdout=asyncio.subprocess.PIPE)
            return (await p.communicate())[0]

        queue.put(lp.run_until_complete(main()))
    finally:
        lp.close()


def test_multiprocessing_fork_process(loop, loop_factory):
    """multiprocessing's fork start method from inside a running loop; the child runs a new loop."""
    ctx = multiprocessing.get_context("fork")

    async def main():
        q = ctx.Queue()
        proc = ctx.Process(target=loop_in_process, args=(q, loop_factory))
        proc.start()
        result = await loop.run_in_executor(None, q.get, True, 20)
        await loop.run_in_executor(None, proc.join, 20)
        return result, proc.exitcode

    assert run(loop, main()) == (b"mp\n", 0)


def test_multiprocessing_fork_pool(loop):
    """A fork-based multiprocessing.Pool used from a coroutine."""
    ctx = multiprocessing.get_context("fork")

    async def main():
        with ctx.Pool(2) as pool:
            return await loop.run_in_executor(None, pool.map, square, range(20))

    assert run(loop, main()) == [x * x for x in range(20)]


def test_child_unregistering_inherited_fds_leaves_parent_watching(loop, loop_name):
    """A child that removes readers from the loop it inherited does not take
    them from the parent: the child has its own poller (CONTRACT.md, Fork).

    asyncio's child shares the parent's epoll instance, so its remove_reader()
    deregisters the fd in the parent too: the hazard this guards against.
    """
    if loop_name == "asyncio":
        pytest.skip("asyncio's forked child shares the parent's epoll instance (the hazard)")
    a, b = socket.socketpair()

    def child():
        # In the child: the inherited (running) loop, used as a careless
        # child would: drop the reader, watch and drop another fd.
        loop.remove_reader(a)
        loop.add_reader(b, lambda: None)
        loop.remove_reader(b)
        return "done"

    async def main():
        got = loop.create_future()
        loop.add_reader(a, lambda: got.done() or got.set_result(a.recv(10)))
        pid, r = in_child(child)
        rc, report = await child_result(loop, pid, r)
        b.send(b"after")
        return rc, report, await asyncio.wait_for(got, 5)

    with a, b:
        rc, report, data = run(loop, main())
        loop.remove_reader(a)
    assert (rc, report) == (0, "'done'"), report
    assert data == b"after"


def test_child_carries_on_with_inherited_loop(loop_factory):
    """Set up a server, fork, and serve from the child with the same loop
    (the daemonize pattern): the child's loop watches what the parent's did."""
    lp = loop_factory()

    class Echo(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport

        def data_received(self, data):
            self.transport.write(data.upper())

    try:
        server = lp.run_until_complete(lp.create_server(Echo, "127.0.0.1", 0))
        port = server.sockets[0].getsockname()[1]

        def child():
            async def serve_a_while():
                await asyncio.sleep(3)

            lp.run_until_complete(serve_a_while())
            return "served"

        pid, r = in_child(child)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(b"hello")
            reply = c.recv(10)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(r)
        assert reply == b"HELLO"
    finally:
        server.close()
        lp.close()

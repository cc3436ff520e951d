"""Subprocesses: asyncio.create_subprocess_* and loop.subprocess_* on real processes."""
import asyncio
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

PY = sys.executable
PIPE = asyncio.subprocess.PIPE


def run(loop, coro, timeout=30):
    """Run *coro* on *loop*, failing instead of hanging."""
    return loop.run_until_complete(asyncio.wait_for(coro, timeout))


def open_fds():
    """The fds open in this process right now."""
    return set(os.listdir("/proc/self/fd"))


def assert_no_children():
    """No child of ours is left unreaped (no zombie, nothing running)."""
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_stdout_pipe_and_returncode(loop):
    """A child's stdout arrives through a pipe; wait() gives its exit code."""
    async def main():
        p = await asyncio.create_subprocess_exec(PY, "-c", "print('hello'); raise SystemExit(3)",
                                                 stdout=PIPE)
        out, err = await p.communicate()
        return out, err, p.returncode

    assert run(loop, main()) == (b"hello\n", None, 3)


def test_shell(loop):
    """create_subprocess_shell runs the command with /bin/sh."""
    async def main():
        p = await asyncio.create_subprocess_shell("echo $((6*7)); exit 5", stdout=PIPE)
        out, _ = await p.communicate()
        return out, p.returncode

    assert run(loop, main()) == (b"42\n", 5)


def test_5mb_through_cat(loop):
    """5 MB through `cat` (stdin and stdout pipes) arrives intact."""
    data = os.urandom(5 * 1024 * 1024)

    async def main():
        p = await asyncio.create_subprocess_exec("cat", stdin=PIPE, stdout=PIPE)
        out, _ = await p.communicate(data)
        return out, p.returncode

    out, rc = run(loop, main())
    assert rc == 0
    assert hashlib.sha256(out).hexdigest() == hashlib.sha256(data).hexdigest()


def test_stream_write_drain_read(loop):
    """stdin.write/drain and stdout.readline interleave with a line-echoing child."""
    code = "import sys\nfor line in sys.stdin:\n    sys.stdout.write(line.upper()); sys.stdout.flush()"

    async def main():
        p = await asyncio.create_subprocess_exec(PY, "-c", code, stdin=PIPE, stdout=PIPE)
        got = []
        for word in (b"one", b"two", b"three"):
            p.stdin.write(word + b"\n")
            await p.stdin.drain()
            got.append(await p.stdout.readline())
        p.stdin.close()
        assert await p.stdout.read() == b""
        return got, await p.wait()

    assert run(loop, main()) == ([b"ONE\n", b"TWO\n", b"THREE\n"], 0)


@pytest.mark.parametrize("how, sig", [("kill", signal.SIGKILL), ("terminate", signal.SIGTERM),
                                      ("send_signal", signal.SIGUSR1)])
def test_killed_by_signal_negative_returncode(loop, how, sig):
    """A child killed by a signal has returncode -signum."""
    async def main():
        p = await asyncio.create_subprocess_exec("sleep", "30")
        await asyncio.sleep(0.05)
        if how == "send_signal":
            p.send_signal(sig)
        else:
            getattr(p, how)()
        return await p.wait()

    assert run(loop, main()) == -sig


def test_communicate_timeout_then_kill(loop):
    """communicate() under wait_for times out; the child can then be killed and reaped."""
    async def main():
        p = await asyncio.create_subprocess_exec("sleep", "30", stdout=PIPE)
        t0 = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(p.communicate(), 0.2)
        elapsed = time.monotonic() - t0
        assert p.returncode is None
        p.kill()
        out, _ = await p.communicate()
        return elapsed, out, p.returncode

    elapsed, out, rc = run(loop, main())
    assert 0.15 < elapsed < 5
    assert (out, rc) == (b"", -signal.SIGKILL)


def test_communicate_within_timeout(loop):
    """communicate() that finishes before its timeout returns the output."""
    async def main():
        p = await asyncio.create_subprocess_exec(PY, "-c", "import sys; sys.stdout.write(sys.stdin.read()[::-1])",
                                                 stdin=PIPE, stdout=PIPE)
        return await asyncio.wait_for(p.communicate(b"abc"), 20)

    assert run(loop, main()) == (b"cba", None)


def test_devnull_and_stderr_to_stdout(loop):
    """DEVNULL gives an empty stdin; stderr=STDOUT merges into the stdout pipe."""
    code = "import sys; print(repr(sys.stdin.read())); sys.stdout.flush(); print('err', file=sys.stderr)"

    async def main():
        p = await asyncio.create_subprocess_exec(PY, "-c", code, stdin=subprocess.DEVNULL,
                                                 stdout=PIPE, stderr=subprocess.STDOUT)
        out, err = await p.communicate()
        return out, err, p.returncode

    assert run(loop, main()) == (b"''\nerr\n", None, 0)


def test_stderr_pipe_separate(loop):
    """stdout and stderr as separate pipes; stdout=DEVNULL discards."""
    async def main():
        p = await asyncio.create_subprocess_exec(
            PY, "-c", "import sys; print('o'); print('e', file=sys.stderr)",
            stdout=subprocess.DEVNULL, stderr=PIPE)
        return await p.communicate()

    assert run(loop, main()) == (None, b"e\n")


def test_pass_fds(loop):
    """pass_fds hands an extra fd to the child."""
    r, w = os.pipe()
    try:
        async def main():
            p = await asyncio.create_subprocess_exec(
                PY, "-c", f"import os; os.write({w}, b'via fd')", pass_fds=(w,))
            return await p.wait()

        assert run(loop, main()) == 0
        os.close(w)
        w = None
        assert os.read(r, 100) == b"via fd"
    finally:
        os.close(r)
        if w is not None:
            os.close(w)


def test_fds_not_passed_are_closed(loop):
    """Without pass_fds, the child does not see the parent's other fds (close_fds)."""
    r, w = os.pipe()
    os.set_inheritable(w, True)
    try:
        async def main():
            p = await asyncio.create_subprocess_exec(
                PY, "-c", f"import os\ntry:\n    os.fstat({w}); print('open')\nexcept OSError:\n    print('closed')",
                stdout=PIPE)
            return (await p.communicate())[0]

        assert run(loop, main()) == b"closed\n"
    finally:
        os.close(r)
        os.close(w)


def test_cwd_and_env(loop, tmp_path):
    """cwd and env reach the child."""
    async def main():
        p = await asyncio.create_subprocess_exec(
            PY, "-c", "import os; print(os.getcwd()); print(os.environ['TIDE_X'])",
            stdout=PIPE, cwd=tmp_path, env={"TIDE_X": "tide-value", "PATH": os.environ["PATH"]})
        return (await p.communicate())[0]

    cwd, value = run(loop, main()).decode().splitlines()
    assert os.path.samefile(cwd, tmp_path)
    assert value == "tide-value"


def test_start_new_session(loop):
    """start_new_session makes the child a session leader."""
    async def main():
        p = await asyncio.create_subprocess_exec(
            PY, "-c", "import os; print(os.getsid(0) == os.getpid())",
            stdout=PIPE, start_new_session=True)
        return (await p.communicate())[0]

    assert run(loop, main()) == b"True\n"


def test_preexec_fn(loop):
    """preexec_fn runs in the child before exec."""
    async def main():
        p = await asyncio.create_subprocess_exec(
            PY, "-c", "import os; print(oct(os.umask(0)))", stdout=PIPE,
            preexec_fn=lambda: os.umask(0o027))
        return (await p.communicate())[0]

    assert run(loop, main()) == b"0o27\n"


def test_other_tasks_run_while_waiting(loop):
    """Waiting for a child does not block other tasks."""
    async def ticker(ticks):
        while True:
            ticks.append(1)
            await asyncio.sleep(0.01)

    async def main():
        ticks = []
        t = asyncio.ensure_future(ticker(ticks))
        p = await asyncio.create_subprocess_exec("sleep", "0.3")
        await p.wait()
        t.cancel()
        return len(ticks)

    assert run(loop, main()) >= 10


def test_missing_program_raises(loop):
    """Spawning a missing program raises FileNotFoundError and leaves no child."""
    async def main():
        with pytest.raises(FileNotFoundError):
            await asyncio.create_subprocess_exec("/nonexistent/tideloop-prog")

    run(loop, main())
    assert_no_children()


def test_text_mode_rejected(loop):
    """asyncio's ValueErrors: text mode, shell cmd neither str nor bytes, shell=True to exec, bufsize."""
    async def main():
        proto = asyncio.SubprocessProtocol
        with pytest.raises(ValueError, match="universal_newlines must be False"):
            await loop.subprocess_shell(proto, "true", universal_newlines=True)
        with pytest.raises(ValueError, match="cmd must be a string"):
            await loop.subprocess_shell(proto, 123)
        with pytest.raises(ValueError, match="shell must be False"):
            await loop.subprocess_exec(proto, "true", shell=True)
        with pytest.raises(ValueError, match="bufsize must be 0"):
            await loop.subprocess_exec(proto, "true", bufsize=1)

    run(loop, main())


class RecordingProtocol(asyncio.SubprocessProtocol):
    """Records SubprocessProtocol callbacks in order."""

    def __init__(self, loop):
        self.events = []
        self.data = {1: b"", 2: b""}
        self.exited = loop.create_future()
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        self.events.append("connection_made")

    def pipe_data_received(self, fd, data):
        self.data[fd] += data

    def pipe_connection_lost(self, fd, exc):
        self.events.append(("pipe_connection_lost", fd, exc))

    def process_exited(self):
        self.events.append("process_exited")

    def connection_lost(self, exc):
        self.events.append(("connection_lost", exc))
        self.exited.set_result(None)


def test_transport_surface(loop):
    """get_pid, get_pipe_transport, get_returncode and the protocol's callbacks."""
    async def main():
        transport, proto = await loop.subprocess_exec(
            lambda: RecordingProtocol(loop), PY, "-c",
            "import sys; d = sys.stdin.read(); print(d); print('E', file=sys.stderr); raise SystemExit(7)",
            stdin=PIPE, stdout=PIPE, stderr=PIPE)
        assert isinstance(transport, asyncio.SubprocessTransport)
        assert transport.get_pid() > 0
        assert transport.get_returncode() is None
        stdin = transport.get_pipe_transport(0)
        assert isinstance(stdin, asyncio.WriteTransport)
        assert isinstance(transport.get_pipe_transport(1), asyncio.ReadTransport)
        assert isinstance(transport.get_pipe_transport(2), asyncio.ReadTransport)
        assert transport.get_pipe_transport(3) is None
        assert transport.get_extra_info("subprocess").pid == transport.get_pid()
        stdin.write(b"ping")
        stdin.close()
        await proto.exited
        assert transport.get_returncode() == 7
        transport.close()
        return proto

    proto = run(loop, main())
    assert proto.data == {1: b"ping\n", 2: b"E\n"}
    assert proto.events[0] == "connection_made"
    assert proto.events[-1] == ("connection_lost", None)
    assert sorted(e for e in proto.events if isinstance(e, tuple) and e[0] == "pipe_connection_lost") == [
        ("pipe_connection_lost", 0, None), ("pipe_connection_lost", 1, None),
        ("pipe_connection_lost", 2, None)]
    assert "process_exited" in proto.events


def test_transport_close_kills_running_child(loop):
    """SubprocessTransport.close() kills a child that is still running."""
    async def main():
        transport, proto = await loop.subprocess_exec(
            lambda: RecordingProtocol(loop), "sleep", "30",
            stdin=None, stdout=None, stderr=None)
        await asyncio.sleep(0.05)
        transport.close()
        assert transport.is_closing()
        await proto.exited
        return transport.get_returncode()

    assert run(loop, main()) == -signal.SIGKILL
    assert_no_children()


def test_transport_signals_after_exit(loop):
    """Once the child exited and the transport finished, send_signal/terminate/kill raise ProcessLookupError."""
    async def main():
        transport, proto = await loop.subprocess_exec(
            lambda: RecordingProtocol(loop), "true", stdin=None, stdout=None, stderr=None)
        await proto.exited
        outcomes = []
        for call in (lambda: transport.send_signal(signal.SIGTERM), transport.terminate, transport.kill):
            try:
                call()
                outcomes.append(None)
            except Exception as exc:  # recorded and compared with asyncio's
                outcomes.append(type(exc).__name__)
        transport.close()
        for call in (transport.kill, transport.terminate):
            try:
                call()
                outcomes.append(None)
            except Exception as exc:
                outcomes.append(type(exc).__name__)
        return transport.get_returncode(), outcomes

    rc, outcomes = run(loop, main())
    assert rc == 0
    assert outcomes == ["ProcessLookupError"] * 5


def test_many_short_processes_no_zombies_no_fd_leak(loop):
    """1,000 `true` processes spawned 50 at a time leave no zombie and no open fd."""
    async def one():
        p = await asyncio.create_subprocess_exec("true", stdout=PIPE)
        out, _ = await p.communicate()
        return p.returncode

    async def main():
        codes = []
        for _ in range(20):
            codes += await asyncio.gather(*(one() for _ in range(50)))
        return codes

    run(loop, one())  # the loop's own fds (wakeup socket) exist from its first run on
    before = open_fds()
    codes = run(loop, main(), timeout=110)
    assert codes == [0] * 1000
    assert_no_children()
    assert open_fds() <= before


# The abandoned transport warns "unclosed transport" when collected: intended here.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_child_reaped_after_loop_closed(loop_factory, loop_name):
    """A child still running when the loop closes is reaped when it exits (tideloop)."""
    import gc

    if loop_name == "asyncio" and sys.version_info >= (3, 12):
        pytest.skip("asyncio's pidfd watcher leaves this child a zombie once its loop is closed")
    lp = loop_factory()
    try:
        async def main():
            return await asyncio.create_subprocess_exec("sleep", "0.2")

        proc = run(lp, main())
        pid = proc.pid
    finally:
        lp.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)  # still there (running or zombie)?
        except ProcessLookupError:
            break
        time.sleep(0.02)
    else:
        pytest.fail(f"child {pid} was never reaped")
    assert_no_children()
    time.sleep(0.1)  # asyncio's watcher thread lets go of the transport
    del proc
    gc.collect()


def test_status_collected_by_popen_poll(loop, loop_name):
    """A status reaped by Popen.poll() (send_signal on 3.11/3.12) is the one reported."""
    async def main():
        # The child outlives the spawn (so no watcher saw it exit yet), then
        # exits while the loop is blocked.
        p = await asyncio.create_subprocess_exec("sleep", "0.1")
        time.sleep(0.6)
        p.send_signal(signal.SIGTERM)  # 3.11/3.12: Popen.poll() reaps it here
        return await p.wait()

    rc = run(loop, main())
    if loop_name == "asyncio" and sys.version_info[:2] == (3, 12):
        assert rc == 255  # asyncio's pidfd watcher finds the status gone
    else:
        assert rc == 0


def test_slow_preexec_fn_does_not_block_loop(loop, loop_name):
    """A preexec_fn that takes 0.5 s does not stall other tasks (tideloop spawns in a thread)."""
    if loop_name == "asyncio":
        pytest.skip("asyncio's loop blocks in Popen until preexec_fn and exec are done")

    async def ticker(ticks):
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    async def main():
        ticks = []
        t = asyncio.ensure_future(ticker(ticks))
        await asyncio.sleep(0.02)
        p = await asyncio.create_subprocess_exec(
            PY, "-c", "print('ran')", stdout=PIPE, preexec_fn=lambda: time.sleep(0.5))
        out, _ = await p.communicate()
        t.cancel()
        gaps = [b - a for a, b in zip(ticks, ticks[1:])]
        return out, p.returncode, max(gaps)

    out, rc, worst_gap = run(loop, main())
    assert (out, rc) == (b"ran\n", 0)
    assert worst_gap < 0.3


def test_cancelled_while_spawning_leaves_no_child(loop):
    """Cancelling create_subprocess_exec during a slow preexec_fn leaves no process behind."""
    async def main():
        task = asyncio.ensure_future(asyncio.create_subprocess_exec(
            "sleep", "30", preexec_fn=lambda: time.sleep(0.3)))
        await asyncio.sleep(0.1)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return "cancelled"
        # asyncio's loop spawns synchronously: the task finished first.
        proc = task.result()
        proc.kill()
        await proc.wait()
        return "spawned"

    run(loop, main())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if os.waitpid(-1, os.WNOHANG) == (0, 0):
                time.sleep(0.05)  # a child still running
                continue
        except ChildProcessError:
            break
    assert_no_children()


def test_existing_fds_and_files_as_stdio(loop, tmp_path):
    """stdin from an open file, stdout to an inherited pipe fd (an int), stderr to a file."""
    src = tmp_path / "in.txt"
    src.write_bytes(b"from a file\n")
    errf = tmp_path / "err.txt"
    r, w = os.pipe()
    try:
        async def main():
            with open(src, "rb") as fin, open(errf, "wb") as ferr:
                p = await asyncio.create_subprocess_exec(
                    PY, "-c", "import sys; sys.stdout.write(sys.stdin.read().upper()); sys.stderr.write('E')",
                    stdin=fin, stdout=w, stderr=ferr)
                return await p.wait()

        assert run(loop, main()) == 0
        os.close(w)
        w = None
        with os.fdopen(r, "rb") as f:
            r = None
            assert f.read() == b"FROM A FILE\n"
        assert errf.read_bytes() == b"E"
    finally:
        for fd in (r, w):
            if fd is not None:
                os.close(fd)


def test_subprocess_from_loop_in_thread(loop_factory):
    """A loop running in a non-main thread spawns and waits for children."""
    import threading

    out = []

    def worker():
        lp = loop_factory()
        try:
            async def main():
                p = await asyncio.create_subprocess_exec("sh", "-c", "echo thread; exit 4", stdout=PIPE)
                stdout, _ = await p.communicate()
                return stdout, p.returncode

            out.append(run(lp, main()))
        finally:
            lp.close()

    t = threading.Thread(target=worker)
    t.start()
    t.join(60)
    assert out == [(b"thread\n", 4)]
    assert_no_children()


@pytest.mark.parametrize("errno_name", ["ENOSYS", "EPERM"])
def test_waitpid_thread_fallback(loop, loop_name, monkeypatch, errno_name):
    """Without pidfd_open (old kernel, seccomp) children are watched by a waitpid thread."""
    if loop_name == "asyncio":
        pytest.skip("tideloop's own watcher")
    import errno as errno_mod

    def no_pidfd(pid, flags=0):
        raise OSError(getattr(errno_mod, errno_name), "pidfd_open refused")

    monkeypatch.setattr(os, "pidfd_open", no_pidfd)

    async def one(code):
        p = await asyncio.create_subprocess_exec("sh", "-c", f"echo {code}; exit {code}", stdout=PIPE)
        out, _ = await p.communicate()
        return out, p.returncode

    async def main():
        results = await asyncio.gather(*(one(i) for i in range(20)))
        killed = await asyncio.create_subprocess_exec("sleep", "30")
        killed.kill()
        return results, await killed.wait()

    results, killed_rc = run(loop, main())
    assert results == [(f"{i}\n".encode(), i) for i in range(20)]
    assert killed_rc == -signal.SIGKILL
    assert_no_children()


def test_no_at_fork_hooks_on_spawn(loop_name):
    """Spawning runs no os.register_at_fork hook (checked in a fresh interpreter)."""
    try:
        import tideloop
    except ImportError:
        pytest.skip("tideloop's compiled core is not built")
    src_dir = os.path.dirname(os.path.dirname(os.path.abspath(tideloop.__file__)))
    factory = "tideloop.new_event_loop" if loop_name == "tideloop" else "asyncio.SelectorEventLoop"
    program = f"""
import asyncio, os, sys
import tideloop
calls = []
os.register_at_fork(before=lambda: calls.append("before"),
                    after_in_parent=lambda: calls.append("parent"))

async def main():
    for _ in range(5):
        p = await asyncio.create_subprocess_exec("true")
        await p.wait()
    p = await asyncio.create_subprocess_shell("exit 0", stdout=asyncio.subprocess.PIPE)
    await p.communicate()

loop = {factory}()
loop.run_until_complete(main())
loop.close()
print(len(calls))
"""
    env = dict(os.environ, PYTHONPATH=src_dir)
    out = subprocess.run([PY, "-c", program], capture_output=True, text=True, env=env, timeout=60)
    assert (out.returncode, out.stdout.strip()) == (0, "0"), out.stderr


@pytest.mark.parametrize("sig", [signal.SIGSEGV, signal.SIGABRT, signal.SIGTERM])
def test_child_dies_of_own_signal(loop, sig):
    """A child that dies of a signal it raised itself has returncode -signum."""
    async def main():
        p = await asyncio.create_subprocess_exec(
            PY, "-c", f"import os, resource; resource.setrlimit(resource.RLIMIT_CORE, (0, 0)); os.kill(os.getpid(), {int(sig)})")
        return await p.wait()

    assert run(loop, main()) == -sig


# ---------------------------------------------------------------------------
# Regression tests for bugs other compiled loops had (uvloop issue numbers).

def test_loop_leaves_stdio_inheritable(loop):
    """Creating and running a loop does not mark fds 0-2 close-on-exec (uvloop #40)."""
    import fcntl

    def cloexec():
        return [bool(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC) for fd in (0, 1, 2)]

    before = cloexec()

    async def main():
        p = await asyncio.create_subprocess_exec("true")
        await p.wait()

    run(loop, main())
    assert cloexec() == before


def test_child_can_open_dev_stdin_and_stdout(loop):
    """The child's pipes are real pipes: /dev/stdin and /proc/self/fd/1 open (uvloop #505, #532)."""
    async def main():
        p = await asyncio.create_subprocess_exec(
            PY, "-c",
            "import os, stat\n"
            "data = open('/dev/stdin', 'rb').read()\n"
            "with open('/proc/self/fd/1', 'wb') as f: f.write(data.upper())\n"
            "print(stat.S_ISFIFO(os.fstat(0).st_mode), stat.S_ISFIFO(os.fstat(1).st_mode))",
            stdin=PIPE, stdout=PIPE)
        return await p.communicate(b"via dev stdin\n")

    out, _ = run(loop, main())
    assert out == b"VIA DEV STDIN\nTrue True\n"


def test_write_to_child_that_does_not_read(loop):
    """Filling the pipe to a child that never reads: drain() blocks, kill() ends it cleanly (uvloop #317)."""
    async def main():
        p = await asyncio.create_subprocess_exec("sleep", "30", stdin=PIPE)
        written = 0

        async def fill():
            nonlocal written
            while True:
                p.stdin.write(b"x" * 32768)
                written += 32768
                await p.stdin.drain()

        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(fill(), 0.5)
        p.kill()
        return written, await p.wait()

    written, rc = run(loop, main())
    assert written >= 65536
    assert rc == -signal.SIGKILL


def test_preexec_fn_with_concurrent_file_io(loop):
    """Spawning with preexec_fn while a thread opens files closes no fd twice (uvloop #414/#466)."""
    import tempfile
    import threading

    stop = threading.Event()
    problems = []

    def write_files(path):
        while not stop.is_set():
            with open(path, "w") as f:
                f.write("hello")
            with open(path) as f:
                if f.read() != "hello":
                    problems.append("bad read")

    async def main():
        for _ in range(60):
            p = await asyncio.create_subprocess_exec("true", preexec_fn=lambda: None)
            await p.communicate()
            if p.returncode != 0:
                problems.append(p.returncode)

    with tempfile.TemporaryDirectory() as d:
        t = threading.Thread(target=write_files, args=(os.path.join(d, "f"),))
        t.start()
        try:
            run(loop, main(), timeout=60)
        finally:
            stop.set()
            t.join()
    assert problems == []
    assert_no_children()


def test_spawn_with_stdio_fds_closed(loop_name):
    """A program whose fd 0 is closed still wires the child's pipes right (libuv #1162)."""
    try:
        import tideloop
    except ImportError:
        pytest.skip("tideloop's compiled core is not built")
    src_dir = os.path.dirname(os.path.dirname(os.path.abspath(tideloop.__file__)))
    factory = "tideloop.new_event_loop" if loop_name == "tideloop" else "asyncio.SelectorEventLoop"
    program = f"""
import asyncio, os, sys
import tideloop
os.close(0)

async def main():
    p = await asyncio.create_subprocess_exec("cat", stdin=asyncio.subprocess.PIPE,
                                             stdout=asyncio.subprocess.PIPE)
    out, _ = await p.communicate(b"through cat")
    return out, p.returncode

loop = {factory}()
print(loop.run_until_complete(main()))
loop.close()
"""
    out = subprocess.run([PY, "-c", program], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=src_dir), timeout=60)
    assert (out.returncode, out.stdout.strip()) == (0, "(b'through cat', 0)"), out.stderr


def test_large_stdout_and_stderr_together(loop):
    """2 MB on stdout and 2 MB on stderr, interleaved: communicate() drains both without deadlock."""
    code = ("import sys\n"
            "for i in range(64):\n"
            "    sys.stdout.buffer.write(bytes([i]) * 32768); sys.stdout.flush()\n"
            "    sys.stderr.buffer.write(bytes([255 - i]) * 32768); sys.stderr.flush()\n")

    async def main():
        p = await asyncio.create_subprocess_exec(PY, "-c", code, stdout=PIPE, stderr=PIPE)
        out, err = await p.communicate()
        return out, err, p.returncode

    out, err, rc = run(loop, main())
    assert rc == 0
    assert out == b"".join(bytes([i]) * 32768 for i in range(64))
    assert err == b"".join(bytes([255 - i]) * 32768 for i in range(64))


def test_many_concurrent_cats(loop):
    """20 `cat` processes at once, 256 KiB each, every byte back to the right process."""
    async def one(i):
        data = bytes([i]) * (256 * 1024)
        p = await asyncio.create_subprocess_exec("cat", stdin=PIPE, stdout=PIPE)
        out, _ = await p.communicate(data)
        return out == data and p.returncode == 0

    async def main():
        return await asyncio.gather(*(one(i) for i in range(20)))

    assert run(loop, main()) == [True] * 20


def test_debug_mode_logs_subprocess(loop, caplog):
    """In debug mode spawning logs asyncio's 'execute program' lines and everything still works."""
    import logging

    loop.set_debug(True)

    async def main():
        p = await asyncio.create_subprocess_exec("sh", "-c", "echo dbg; exit 2", stdout=PIPE)
        out, _ = await p.communicate()
        return out, p.returncode

    with caplog.at_level(logging.DEBUG, logger="asyncio"):
        assert run(loop, main()) == (b"dbg\n", 2)
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("execute program 'sh'") for m in messages), messages


def test_stdio_pipes_are_fifos_and_bulk_ones_grow(loop, loop_name):
    """The child's PIPE stdio are real pipes (FIFOs, not sockets as uvloop's are).
    On tideloop a pipe found full grows to 1 MiB (fewer context switches per MB);
    one that never fills keeps the kernel's 64 KiB."""
    code = ("import fcntl, os, stat, sys\n"
            "kinds = [stat.S_ISFIFO(os.fstat(fd).st_mode) for fd in (0, 1, 2)]\n"
            "sys.stdout.buffer.write(b'x' * (4 << 20)); sys.stdout.flush()\n"
            "sys.stderr.write(repr((kinds, fcntl.fcntl(1, 1032), fcntl.fcntl(0, 1032))))\n")

    async def main():
        p = await asyncio.create_subprocess_exec(PY, "-c", code, stdin=PIPE, stdout=PIPE,
                                                 stderr=PIPE)
        out, err = await p.communicate(b"")
        assert p.returncode == 0, err
        assert out == b"x" * (4 << 20)
        return eval(err.decode())

    kinds, stdout_size, stdin_size = run(loop, main())
    assert kinds == [True] * 3
    assert stdin_size == 65536   # never full: not grown
    if loop_name == "tideloop" and os.geteuid() == 0:
        assert stdout_size == 1 << 20   # root is never refused by the quota
    elif loop_name == "asyncio":
        assert stdout_size == 65536


def test_grown_pipe_budget_is_given_back(loop, loop_name):
    """Pipes grown on demand give their capacity back when closed: 24 bulk
    children one after another (more than the 16 MiB budget holds at once)
    all get grown stdout pipes."""
    if loop_name != "tideloop" or os.geteuid() != 0:
        pytest.skip("tideloop's pipe growth, checked where the kernel never refuses it (root)")
    code = ("import fcntl, sys\n"
            "sys.stdout.buffer.write(b'x' * (2 << 20)); sys.stdout.flush()\n"
            "sys.stderr.write(str(fcntl.fcntl(1, 1032)))\n")

    async def main():
        sizes = []
        for _ in range(24):
            p = await asyncio.create_subprocess_exec(PY, "-c", code, stdout=PIPE, stderr=PIPE)
            out, err = await p.communicate()
            assert len(out) == 2 << 20
            sizes.append(int(err))
        return sizes

    assert run(loop, main(), timeout=60) == [1 << 20] * 24


def test_concurrent_spawns_one_on_the_loop_the_rest_in_the_pool(loop, loop_name, monkeypatch):
    """gather() of spawns: tideloop starts the first on the loop, the others in its spawn pool."""
    threads = []
    real_popen = subprocess.Popen

    class Recorder(real_popen):  # a replaced subprocess.Popen is what both loops call
        def __init__(self, *args, **kwargs):
            threads.append(threading.current_thread())
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", Recorder)

    async def one(i):
        p = await asyncio.create_subprocess_exec(PY, "-c", f"print({i})", stdout=PIPE)
        out, _ = await p.communicate()
        return p.returncode, out

    async def main():
        return await asyncio.gather(*(one(i) for i in range(8)))

    results = run(loop, main())
    assert results == [(0, f"{i}\n".encode()) for i in range(8)]
    main_thread = threading.current_thread()
    if loop_name == "tideloop":
        assert threads[0] is main_thread
        assert all(t is not main_thread and t.name.startswith("tideloop-spawn-") for t in threads[1:])
    else:  # asyncio spawns each one in the loop
        assert all(t is main_thread for t in threads)
    assert len(threads) == 8
    assert_no_children()


def test_concurrent_spawn_errors_reach_each_caller(loop):
    """In a gather() of spawns, a missing program fails its own call only."""
    async def one(program):
        try:
            p = await asyncio.create_subprocess_exec(program, "-c", "pass")
        except FileNotFoundError as e:
            return ("missing", e.filename)
        return ("ran", await p.wait())

    async def main():
        return await asyncio.gather(*(one(PY if i % 2 else "tl-no-such-program") for i in range(10)))

    results = run(loop, main())
    assert results == [("ran", 0) if i % 2 else ("missing", "tl-no-such-program") for i in range(10)]
    assert_no_children()


def test_concurrent_spawns_cancelled_leave_no_child(loop):
    """Cancelling a gather() of spawns, at once or a little later, leaves no process behind."""
    async def main(delay):
        tasks = [asyncio.ensure_future(asyncio.create_subprocess_exec("sleep", "30"))
                 for _ in range(10)]
        if delay:
            await asyncio.sleep(delay)
        for t in tasks:
            t.cancel()
        for t in tasks:
            try:
                proc = await t
            except asyncio.CancelledError:
                continue
            proc.kill()  # spawned before the cancel arrived
            await proc.wait()

    for delay in (0, 0.001, 0.01):
        run(loop, main(delay))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if os.waitpid(-1, os.WNOHANG) == (0, 0):
                time.sleep(0.05)  # a killed child not yet reaped by its watcher
                continue
        except ChildProcessError:
            break
    assert_no_children()


# Threads from earlier spawns (tideloop's pool, asyncio's watchers) may be
# alive: 3.12+ warns on any fork then.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_spawn_burst_in_forked_child(loop_factory):
    """A child forked after the spawn pool was used can spawn bursts of its own."""
    async def burst():
        procs = await asyncio.gather(*(asyncio.create_subprocess_exec("true") for _ in range(6)))
        return [await p.wait() for p in procs]

    lp = loop_factory()
    try:
        assert lp.run_until_complete(burst()) == [0] * 6
    finally:
        lp.close()
    pid = os.fork()
    if pid == 0:  # the child: a new loop, and the burst again
        code = 1
        try:
            child_loop = loop_factory()
            ok = child_loop.run_until_complete(asyncio.wait_for(burst(), 20)) == [0] * 6
            child_loop.close()
            code = 0 if ok else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0

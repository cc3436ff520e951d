"""Signals: add_signal_handler/remove_signal_handler, the wakeup fd, and Ctrl-C in real programs."""
import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

try:
    import tideloop
except ImportError:  # the compiled core is not built: the asyncio.run cases still run
    tideloop = None

PY = sys.executable
# The child programs import the same tideloop as this process.
SRC = (os.path.dirname(os.path.dirname(os.path.abspath(tideloop.__file__))) if tideloop is not None
       else os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))


def run_forever_guarded(loop, timeout=5.0):
    """run_forever until a callback stops the loop; fail instead of hanging."""
    hit = []
    guard = loop.call_later(timeout, lambda: (hit.append(1), loop.stop()))
    loop.run_forever()
    guard.cancel()
    assert not hit, "the test's timeout guard stopped the loop"


@pytest.fixture(autouse=True)
def restore_signals():
    """Leave SIGUSR1/SIGUSR2/SIGINT dispositions and the wakeup fd as found."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGINT)}
    old_fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(old_fd)
    yield
    for s, h in saved.items():
        signal.signal(s, h)
    signal.set_wakeup_fd(old_fd)


def test_handler_runs_with_args(loop):
    """os.kill(getpid(), SIGUSR1) runs the handler in the loop with its args."""
    got = []

    def handler(*args):
        got.append((args, threading.current_thread() is threading.main_thread()))
        loop.stop()

    assert loop.add_signal_handler(signal.SIGUSR1, handler, "a", 1) is None
    loop.call_soon(os.kill, os.getpid(), signal.SIGUSR1)
    run_forever_guarded(loop)
    assert got == [(("a", 1), True)]


def test_handler_wakes_blocked_loop(loop):
    """A signal sent while the loop sleeps in the poller runs the handler at once."""
    got = []
    loop.add_signal_handler(signal.SIGUSR1, lambda: (got.append(time.monotonic()), loop.stop()))
    sent = []

    def send():
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGUSR1)

    t = threading.Timer(0.1, send)
    t.start()
    run_forever_guarded(loop)  # nothing else to do: blocked in the poller
    t.join()
    assert len(got) == 1
    assert got[0] - sent[0] < 0.5


def test_several_signals_each_handler(loop):
    """SIGUSR1 and SIGUSR2 reach their own handlers; a repeated signal runs again."""
    got = []
    loop.add_signal_handler(signal.SIGUSR1, got.append, 1)
    loop.add_signal_handler(signal.SIGUSR2, got.append, 2)

    async def main():
        for n, sig in enumerate((signal.SIGUSR1, signal.SIGUSR2, signal.SIGUSR1), 1):
            os.kill(os.getpid(), sig)
            for _ in range(200):  # one signal at a time: they do not queue
                if len(got) == n:
                    break
                await asyncio.sleep(0.005)

    loop.run_until_complete(main())
    assert got == [1, 2, 1]


def test_replace_handler(loop):
    """A second add_signal_handler for the same signal replaces the first."""
    got = []
    loop.add_signal_handler(signal.SIGUSR1, got.append, "old")
    loop.add_signal_handler(signal.SIGUSR1, lambda: (got.append("new"), loop.stop()))
    loop.call_soon(os.kill, os.getpid(), signal.SIGUSR1)
    run_forever_guarded(loop)
    assert got == ["new"]


def test_remove_signal_handler(loop):
    """remove_signal_handler: True then False; the default disposition comes back."""
    loop.add_signal_handler(signal.SIGUSR1, lambda: None)
    assert signal.getsignal(signal.SIGUSR1) not in (signal.SIG_DFL, signal.SIG_IGN)
    assert loop.remove_signal_handler(signal.SIGUSR1) is True
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL
    assert loop.remove_signal_handler(signal.SIGUSR1) is False


def test_remove_sigint_restores_default_int_handler(loop):
    """Removing a SIGINT handler restores Python's default_int_handler."""
    loop.add_signal_handler(signal.SIGINT, lambda: None)
    assert loop.remove_signal_handler(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_close_removes_handlers(loop_factory):
    """Closing the loop removes its signal handlers and releases the wakeup fd."""
    lp = loop_factory()
    lp.add_signal_handler(signal.SIGUSR1, lambda: None)
    lp.close()
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL
    assert signal.set_wakeup_fd(-1) == -1


@pytest.mark.parametrize("sig, exc, match", [
    (signal.NSIG + 5, ValueError, "invalid signal number"),
    (0, ValueError, "invalid signal number"),
    (-1, ValueError, "invalid signal number"),
    ("SIGUSR1", TypeError, "sig must be an int"),
    (signal.SIGKILL, RuntimeError, "sig 9 cannot be caught"),
    (signal.SIGSTOP, RuntimeError, "cannot be caught"),
])
def test_bad_signals(loop, sig, exc, match):
    """asyncio's errors for invalid, non-int and uncatchable signals."""
    with pytest.raises(exc, match=match):
        loop.add_signal_handler(sig, lambda: None)
    if exc is not RuntimeError:
        with pytest.raises(exc, match=match):
            loop.remove_signal_handler(sig)
    # A failed add leaves no claim behind.
    assert signal.set_wakeup_fd(-1) == -1


def test_coroutine_callback_rejected(loop):
    """Coroutines and coroutine functions are refused with TypeError."""
    async def coro():
        pass

    with pytest.raises(TypeError, match="coroutines cannot be used with add_signal_handler"):
        loop.add_signal_handler(signal.SIGUSR1, coro)


def test_closed_loop_rejects(loop_factory):
    """add_signal_handler on a closed loop raises RuntimeError."""
    lp = loop_factory()
    lp.close()
    with pytest.raises(RuntimeError):
        lp.add_signal_handler(signal.SIGUSR1, lambda: None)


def test_non_main_thread_raises_runtime_error(loop):
    """add_signal_handler from another thread raises RuntimeError."""
    errors = []

    def worker():
        try:
            loop.add_signal_handler(signal.SIGUSR1, lambda: None)
        except BaseException as exc:  # recorded for the main thread
            errors.append(exc)

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError)
    assert "main thread" in str(errors[0])
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL


def test_loop_in_thread_runs_without_signals(loop_factory):
    """A loop running in another thread works; it does not touch the wakeup fd."""
    result = []

    def worker():
        lp = loop_factory()
        try:
            result.append(lp.run_until_complete(asyncio.sleep(0.01, "ok")))
        finally:
            lp.close()

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert result == ["ok"]
    assert signal.set_wakeup_fd(-1) == -1


def test_wakeup_fd_restored_after_run(loop):
    """A wakeup fd set by the program before the run is back in place after it."""
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    try:
        signal.set_wakeup_fd(b.fileno())
        loop.run_until_complete(asyncio.sleep(0.01))
        assert signal.set_wakeup_fd(-1) == b.fileno()
    finally:
        a.close()
        b.close()


def test_wakeup_fd_kept_while_handlers_exist(loop):
    """With a handler installed, the wakeup fd stays claimed after the run, as in asyncio."""
    loop.add_signal_handler(signal.SIGUSR1, lambda: None)
    loop.run_until_complete(asyncio.sleep(0))
    fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(fd)
    assert fd != -1
    loop.remove_signal_handler(signal.SIGUSR1)
    assert signal.set_wakeup_fd(-1) == -1


# ---------------------------------------------------------------------------
# Ctrl-C in a real program: a child Python running main() under each runner.

RUNNERS = {
    "asyncio.run": "asyncio.run(main())",
    "tideloop.run": "tideloop.run(main())",
    "Runner(tideloop)": textwrap.dedent("""\
        with asyncio.Runner(loop_factory=tideloop.new_event_loop) as r:
            r.run(main())"""),
}

PROGRAM = """\
import asyncio, sys, time
{imports}

async def main():
    print("loop", type(asyncio.get_running_loop()).__module__.split(".")[0], flush=True)
    try:
        {body}
    except asyncio.CancelledError:
        print("cancelled", flush=True)
        {after_cancel}
        raise
    print("not reached", flush=True)

{runner}
"""


def spawn(runner, body, after_cancel="pass"):
    """Start a child Python running main() under *runner*; return it once it is in the loop."""
    if runner != "asyncio.run" and tideloop is None:
        pytest.skip("tideloop's compiled core is not built")
    imports = "" if runner == "asyncio.run" else "import tideloop"
    src = PROGRAM.format(imports=imports, body=body, after_cancel=after_cancel, runner=RUNNERS[runner])
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.Popen([PY, "-c", src], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    first = p.stdout.readline()
    assert first.startswith(b"loop "), (first, p.stderr.read())
    return p, first.split()[1].decode()


def finish(p, timeout=10):
    """Wait for the child; its (returncode, stdout, stderr, seconds)."""
    t0 = time.monotonic()
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out.decode(), err.decode(), time.monotonic() - t0


@pytest.mark.parametrize("runner", list(RUNNERS))
@pytest.mark.parametrize("body", ["await asyncio.sleep(30)", "await asyncio.Event().wait()"])
def test_sigint_cancels_main(runner, body):
    """SIGINT cancels main; the program dies of SIGINT with KeyboardInterrupt, as under asyncio.run."""
    p, kind = spawn(runner, body)
    assert kind == ("asyncio" if runner == "asyncio.run" else "tideloop")
    time.sleep(0.1)
    p.send_signal(signal.SIGINT)
    rc, out, err, secs = finish(p)
    assert out == "cancelled\n"
    assert "KeyboardInterrupt" in err
    assert rc == -signal.SIGINT  # what a shell shows as 130
    assert secs < 3


@pytest.mark.parametrize("runner", list(RUNNERS))
def test_second_sigint_interrupts(runner):
    """A main that keeps going after the first Ctrl-C is interrupted by the second."""
    p, _ = spawn(runner, "await asyncio.sleep(30)", after_cancel="await asyncio.sleep(30)")
    time.sleep(0.1)
    p.send_signal(signal.SIGINT)
    assert p.stdout.readline() == b"cancelled\n"
    time.sleep(0.1)
    p.send_signal(signal.SIGINT)
    rc, out, err, secs = finish(p)
    assert out == ""
    assert "KeyboardInterrupt" in err
    assert rc == -signal.SIGINT
    assert secs < 3


@pytest.mark.parametrize("runner", list(RUNNERS))
def test_sigint_handled_by_main(runner):
    """A main that swallows the cancellation returns normally: exit code 0, no traceback."""
    p, _ = spawn(runner, "await asyncio.sleep(30)", after_cancel="return 'swallowed'")
    time.sleep(0.1)
    p.send_signal(signal.SIGINT)
    rc, out, err, _ = finish(p)
    assert (rc, out, err) == (0, "cancelled\n", "")


MANUAL_PROGRAM = """\
import asyncio, sys
{imports}

async def main():
    print("loop", type(asyncio.get_running_loop()).__module__.split(".")[0], flush=True)
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        print("main cancelled", flush=True)
        raise

loop = {factory}()
task = loop.create_task(main())
try:
    loop.run_until_complete(task)
except KeyboardInterrupt:
    print("KeyboardInterrupt", "running" if loop.is_running() else "stopped",
          "task pending" if not task.done() else "task done", flush=True)
    task.cancel()
    try:
        loop.run_until_complete(task)
    except asyncio.CancelledError:
        print("task cancelled", flush=True)
    print("loop still works:", loop.run_until_complete(asyncio.sleep(0.01, "yes")), flush=True)
finally:
    loop.close()
"""


@pytest.mark.parametrize("kind", ["asyncio", "tideloop"])
def test_sigint_without_runner_raises_keyboardinterrupt(kind):
    """Without a Runner, SIGINT raises KeyboardInterrupt out of run_until_complete; the loop stays usable."""
    if kind == "tideloop" and tideloop is None:
        pytest.skip("tideloop's compiled core is not built")
    src = MANUAL_PROGRAM.format(
        imports="import tideloop" if kind == "tideloop" else "",
        factory="tideloop.new_event_loop" if kind == "tideloop" else "asyncio.SelectorEventLoop")
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.Popen([PY, "-c", src], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert p.stdout.readline().startswith(b"loop " + kind.encode())
    time.sleep(0.1)
    p.send_signal(signal.SIGINT)
    rc, out, err, secs = finish(p)
    assert (rc, err) == (0, "")
    assert out == ("KeyboardInterrupt stopped task pending\nmain cancelled\ntask cancelled\n"
                   "loop still works: yes\n")
    assert secs < 3


def test_sigchld_handler_and_subprocesses(loop):
    """A SIGCHLD handler may be added (uvloop refuses it) and subprocess exit codes stay right."""
    hits = []
    loop.add_signal_handler(signal.SIGCHLD, hits.append, "chld")

    async def main():
        codes = []
        for code in (0, 3, 5):
            p = await asyncio.create_subprocess_exec(PY, "-c", f"raise SystemExit({code})")
            codes.append(await p.wait())
        for _ in range(100):
            if hits:
                break
            await asyncio.sleep(0.01)
        return codes

    try:
        assert loop.run_until_complete(asyncio.wait_for(main(), 30)) == [0, 3, 5]
    finally:
        loop.remove_signal_handler(signal.SIGCHLD)
    assert hits and set(hits) == {"chld"}


FORK_IN_THREAD = """\
import asyncio, multiprocessing, signal, sys, threading
{imports}
multiprocessing.set_start_method('fork')

def child():
    loop = {factory}()
    loop.add_signal_handler(signal.SIGINT, lambda *a: None)
    print(loop.run_until_complete(asyncio.sleep(0.01, "child ok")), flush=True)
    loop.close()

def main():
    loop = {factory}()
    loop.add_signal_handler(signal.SIGINT, lambda *a: None)
    p = multiprocessing.Process(target=child)
    t = threading.Thread(target=p.start)
    t.start()
    t.join()
    p.join()
    loop.close()
    sys.exit(p.exitcode)

main()
"""


@pytest.mark.parametrize("kind", ["asyncio", "tideloop"])
def test_signal_handler_in_child_forked_from_thread(kind):
    """A process forked from a worker thread can add signal handlers to its own new loop."""
    if kind == "tideloop" and tideloop is None:
        pytest.skip("tideloop's compiled core is not built")
    src = FORK_IN_THREAD.format(
        imports="import tideloop" if kind == "tideloop" else "",
        factory="tideloop.new_event_loop" if kind == "tideloop" else "asyncio.SelectorEventLoop")
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([PY, "-W", "ignore", "-c", src], capture_output=True, text=True,
                         env=env, timeout=60)
    assert (out.returncode, out.stdout) == (0, "child ok\n"), out.stderr


def test_signal_before_run_is_delivered_on_next_run(loop):
    """A signal that arrives while the loop is not running runs its handler at the next run."""
    got = []
    loop.add_signal_handler(signal.SIGUSR1, got.append, "late")
    os.kill(os.getpid(), signal.SIGUSR1)
    assert got == []
    loop.run_until_complete(asyncio.sleep(0.01))
    assert got == ["late"]


def test_handler_exception_goes_to_exception_handler(loop):
    """An exception in a signal handler reaches the loop's exception handler; the loop goes on."""
    contexts = []
    loop.set_exception_handler(lambda lp, ctx: contexts.append(ctx))

    def boom():
        raise ZeroDivisionError("in handler")

    loop.add_signal_handler(signal.SIGUSR1, boom)

    async def main():
        os.kill(os.getpid(), signal.SIGUSR1)
        for _ in range(100):
            if contexts:
                break
            await asyncio.sleep(0.01)
        return "still running"

    assert loop.run_until_complete(main()) == "still running"
    assert len(contexts) == 1
    assert isinstance(contexts[0]["exception"], ZeroDivisionError)
    assert contexts[0]["message"].startswith("Exception in callback")

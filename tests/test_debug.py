"""Debug mode: switches, environment, slow-callback warnings, debug-only checks."""
import asyncio
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time

import pytest

NON_THREAD_SAFE = (
    "^Non-thread-safe operation invoked on an event loop other than the current one$"
)

# Prints get_debug() of a fresh loop of the kind named in argv[1].
_PRINT_DEBUG = """
import asyncio, sys
if sys.argv[1] == "tideloop":
    import tideloop
    lp = tideloop.new_event_loop()
else:
    lp = asyncio.SelectorEventLoop()
print(lp.get_debug())
lp.close()
"""


def _debug_in_subprocess(loop_name, env_extra=None, args=()):
    """get_debug() of a new loop in a fresh interpreter with the given env/flags."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONASYNCIODEBUG", "PYTHONDEVMODE")}
    env.update(env_extra or {})
    out = subprocess.run(
        [sys.executable, *args, "-c", _PRINT_DEBUG, loop_name],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_set_get_debug(loop):
    """set_debug/get_debug round-trip; slow_callback_duration defaults to 0.1."""
    loop.set_debug(True)
    assert loop.get_debug() is True
    loop.set_debug(False)
    assert loop.get_debug() is False
    assert loop.slow_callback_duration == 0.1


@pytest.mark.parametrize(
    "env_extra,args,expected",
    [
        ({}, (), "False"),
        ({"PYTHONASYNCIODEBUG": "1"}, (), "True"),
        ({"PYTHONASYNCIODEBUG": ""}, (), "False"),
        ({}, ("-X", "dev"), "True"),
        ({"PYTHONDEVMODE": "1"}, (), "True"),
        ({"PYTHONASYNCIODEBUG": "1"}, ("-E",), "False"),  # -E ignores the environment
    ],
    ids=["plain", "PYTHONASYNCIODEBUG=1", "PYTHONASYNCIODEBUG=empty", "-X dev", "PYTHONDEVMODE=1", "-E"],
)
def test_debug_from_environment(loop_name, env_extra, args, expected):
    """New loops start in debug mode exactly when asyncio's would."""
    assert _debug_in_subprocess(loop_name, env_extra, args) == expected


def test_debug_env_read_when_loop_is_created(loop_factory, monkeypatch):
    """PYTHONASYNCIODEBUG is read when a loop is made, not at import time."""
    if sys.flags.dev_mode or sys.flags.ignore_environment:
        pytest.skip("needs a plain interpreter")
    monkeypatch.setenv("PYTHONASYNCIODEBUG", "1")
    lp = loop_factory()
    try:
        assert lp.get_debug() is True
    finally:
        lp.close()
    monkeypatch.delenv("PYTHONASYNCIODEBUG")
    lp = loop_factory()
    try:
        assert lp.get_debug() is False
    finally:
        lp.close()


def _slow_warnings(caplog):
    """'Executing ... took ... seconds' warnings from the 'asyncio' logger."""
    return [
        r for r in caplog.records
        if r.name == "asyncio" and r.levelno == logging.WARNING
        and r.getMessage().startswith("Executing ")
    ]


def slow_callback():
    """Blocks the loop for 50 ms."""
    time.sleep(0.05)


def test_slow_callback_warning(loop, caplog):
    """In debug mode a callback slower than slow_callback_duration is logged."""
    caplog.set_level(logging.WARNING, logger="asyncio")
    loop.set_debug(True)
    loop.slow_callback_duration = 0.01
    loop.call_soon(slow_callback)
    loop.call_soon(lambda: None)  # fast: not reported
    loop.call_soon(loop.stop)
    loop.run_forever()
    records = _slow_warnings(caplog)
    assert len(records) == 1
    m = re.fullmatch(r"Executing (.+) took (\d+\.\d{3}) seconds", records[0].getMessage())
    assert m, records[0].getMessage()
    assert "slow_callback" in m.group(1)
    assert float(m.group(2)) >= 0.049


def test_slow_timer_callback_warning(loop, caplog):
    """Slow timer callbacks are reported too."""
    caplog.set_level(logging.WARNING, logger="asyncio")
    loop.set_debug(True)
    loop.slow_callback_duration = 0.01
    loop.call_later(0.001, slow_callback)
    loop.call_later(0.01, loop.stop)
    loop.run_forever()
    assert len(_slow_warnings(caplog)) == 1


def test_no_slow_warning_without_debug(loop, caplog):
    """Outside debug mode slow callbacks are not reported."""
    caplog.set_level(logging.WARNING, logger="asyncio")
    loop.slow_callback_duration = 0.01
    loop.call_soon(slow_callback)
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert _slow_warnings(caplog) == []


async def _a_coroutine_function():
    """Used to check that coroutines are refused as callbacks."""


@pytest.mark.parametrize(
    "method,name",
    [
        (lambda lp, cb: lp.call_soon(cb), "call_soon"),
        (lambda lp, cb: lp.call_later(0.1, cb), "call_at"),
        (lambda lp, cb: lp.call_at(lp.time() + 0.1, cb), "call_at"),
        (lambda lp, cb: lp.call_soon_threadsafe(cb), "call_soon_threadsafe"),
    ],
    ids=["call_soon", "call_later", "call_at", "call_soon_threadsafe"],
)
def test_debug_rejects_coroutines(loop, method, name):
    """In debug mode a coroutine (or coroutine function) as callback is a TypeError."""
    loop.set_debug(True)
    coro = _a_coroutine_function()
    try:
        with pytest.raises(TypeError, match=rf"^coroutines cannot be used with {name}\(\)$"):
            method(loop, coro)
    finally:
        coro.close()
    with pytest.raises(TypeError, match=rf"^coroutines cannot be used with {name}\(\)$"):
        method(loop, _a_coroutine_function)


def test_debug_rejects_non_callable(loop):
    """In debug mode a non-callable callback is a TypeError naming the method."""
    loop.set_debug(True)
    with pytest.raises(TypeError, match=r"^a callable object was expected by call_soon\(\), got 42$"):
        loop.call_soon(42)


def test_debug_call_soon_from_other_thread_raises(loop):
    """In debug mode call_soon/call_later from a foreign thread while running is refused."""
    loop.set_debug(True)
    errors = []

    def foreign():
        for schedule in (lambda: loop.call_soon(print), lambda: loop.call_later(1, print)):
            try:
                schedule()
            except RuntimeError as exc:
                errors.append(str(exc))

    def in_loop():
        t = threading.Thread(target=foreign)
        t.start()
        t.join()
        loop.stop()

    loop.call_soon(in_loop)
    loop.run_forever()
    assert len(errors) == 2
    for e in errors:
        assert re.match(NON_THREAD_SAFE, e), e


def test_debug_threadsafe_from_other_thread_is_fine(loop):
    """call_soon_threadsafe from a foreign thread is allowed in debug mode."""
    loop.set_debug(True)
    ran = []

    def in_loop():
        t = threading.Thread(target=lambda: loop.call_soon_threadsafe(ran.append, 1))
        t.start()
        t.join()
        loop.call_soon(loop.stop)

    loop.call_soon(in_loop)
    loop.run_forever()
    assert ran == [1]


def test_debug_call_soon_from_other_thread_when_not_running(loop):
    """The thread check applies only while the loop runs: before that, no error."""
    loop.set_debug(True)
    errors = []

    def foreign():
        try:
            loop.call_soon(lambda: None)
        except RuntimeError as exc:
            errors.append(exc)

    t = threading.Thread(target=foreign)
    t.start()
    t.join()
    assert errors == []


def test_debug_exception_context_has_source_traceback(loop, caplog):
    """In debug mode a failing callback's context carries where it was scheduled."""
    loop.set_debug(True)
    contexts = []
    loop.set_exception_handler(lambda lp, ctx: contexts.append(ctx))

    def boom():
        raise ValueError("x")

    loop.call_soon(boom)  # scheduled from this test function
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert len(contexts) == 1
    tb = contexts[0]["source_traceback"]
    frames = [(f.filename, f.name) for f in tb]
    assert (__file__, "test_debug_exception_context_has_source_traceback") in frames

    # and the default handler prints it
    caplog.set_level(logging.ERROR, logger="asyncio")
    loop.default_exception_handler(contexts[0])
    msg = [r for r in caplog.records if r.name == "asyncio"][-1].getMessage()
    assert "Object created at (most recent call last):" in msg
    assert "test_debug_exception_context_has_source_traceback" in msg


def test_debug_enables_coroutine_origin_tracking(loop):
    """While a debug loop runs, coroutine origin tracking is on; it is restored after."""
    before = sys.get_coroutine_origin_tracking_depth()
    loop.set_debug(True)

    async def main():
        return sys.get_coroutine_origin_tracking_depth()

    inside = loop.run_until_complete(main())
    assert inside > 0
    assert sys.get_coroutine_origin_tracking_depth() == before


def test_slow_callback_warning_names_the_handle(loop, caplog):
    """The warning shows the handle exactly as repr() does (asyncio's format)."""
    caplog.set_level(logging.WARNING, logger="asyncio")
    loop.set_debug(True)
    loop.slow_callback_duration = 0.01
    h = loop.call_soon(slow_callback)
    loop.call_soon(loop.stop)
    loop.run_forever()
    records = _slow_warnings(caplog)
    assert len(records) == 1
    m = re.fullmatch(r"Executing (.+) took (\d+\.\d{3}) seconds", records[0].getMessage(), re.S)
    assert m.group(1) == repr(h)


def test_slow_reader_callback_warning(loop, caplog):
    """Slow I/O callbacks (add_reader) are reported too."""
    caplog.set_level(logging.WARNING, logger="asyncio")
    loop.set_debug(True)
    loop.slow_callback_duration = 0.01
    rsock, wsock = socket.socketpair()
    rsock.setblocking(False)

    def on_read():
        rsock.recv(10)
        loop.remove_reader(rsock)
        time.sleep(0.05)
        loop.stop()

    try:
        loop.add_reader(rsock, on_read)
        wsock.send(b"x")
        loop.call_later(5, loop.stop)
        loop.run_forever()
    finally:
        loop.remove_reader(rsock)
        rsock.close()
        wsock.close()
    records = _slow_warnings(caplog)
    assert len(records) == 1
    assert "on_read" in records[0].getMessage()

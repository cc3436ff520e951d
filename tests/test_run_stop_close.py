"""run_forever / run_until_complete / stop / close: semantics and exact messages."""
import asyncio
import gc
import os
import signal
import threading
import time
import warnings
import weakref

import pytest

CLOSED = "^Event loop is closed$"
RUNNING = "^This event loop is already running$"


async def do_some_work(x):
    """The seed tutorial's coroutine: sleep x seconds (scaled down), return x."""
    await asyncio.sleep(x / 100)
    return x


def test_run_until_complete_returns_result(loop):
    """run_until_complete(coro) wraps it in a task and returns its result."""
    assert loop.run_until_complete(do_some_work(1)) == 1


def test_run_until_complete_raises_coroutine_exception(loop):
    """The coroutine's exception propagates out of run_until_complete."""

    async def fails():
        await asyncio.sleep(0)
        raise ValueError("inner")

    with pytest.raises(ValueError, match="^inner$"):
        loop.run_until_complete(fails())
    assert not loop.is_running()


def test_run_until_complete_accepts_future_and_awaitable(loop):
    """Futures, tasks and objects with __await__ are all accepted."""
    fut = loop.create_future()
    loop.call_soon(fut.set_result, "fut")
    assert loop.run_until_complete(fut) == "fut"

    task = loop.create_task(do_some_work(2))
    assert loop.run_until_complete(task) == 2

    class Awaitable:
        def __await__(self):
            return do_some_work(3).__await__()

    assert loop.run_until_complete(Awaitable()) == 3


def test_run_until_complete_done_future_returns_at_once(loop):
    """An already-done future returns its result immediately."""
    fut = loop.create_future()
    fut.set_result(7)
    assert loop.run_until_complete(fut) == 7


def test_run_until_complete_cancelled(loop):
    """A cancelled task makes run_until_complete raise CancelledError."""

    async def main():
        asyncio.current_task().cancel()
        await asyncio.sleep(1)

    with pytest.raises(asyncio.CancelledError):
        loop.run_until_complete(main())


def test_run_until_complete_future_of_other_loop(loop_factory, loop):
    """A future bound to another loop is a ValueError."""
    other = loop_factory()
    try:
        fut = other.create_future()
        with pytest.raises(ValueError, match="different loop"):
            loop.run_until_complete(fut)
    finally:
        other.close()


def test_stopped_before_future_completed(loop):
    """stop() before the future is done: 'Event loop stopped before Future completed.'"""
    fut = loop.create_future()
    loop.call_soon(loop.stop)
    with pytest.raises(RuntimeError, match=r"^Event loop stopped before Future completed\.$"):
        loop.run_until_complete(fut)
    assert not fut.done()
    loop.call_soon(fut.set_result, 1)
    assert loop.run_until_complete(fut) == 1


def test_stop_before_run_forever_runs_one_iteration(loop):
    """stop() before run_forever: exactly one iteration runs, then it returns."""
    ran = []

    def first():
        ran.append("first")
        loop.call_soon(ran.append, "next-iteration")

    loop.call_soon(first)
    loop.stop()
    loop.run_forever()
    assert ran == ["first"]
    # the callback queued for the next iteration is still there for the next run
    loop.stop()
    loop.run_forever()
    assert ran == ["first", "next-iteration"]


def test_stop_lets_the_current_iteration_finish(loop):
    """stop() from a callback: callbacks already in this iteration still run."""
    ran = []
    loop.call_soon(loop.stop)
    loop.call_soon(ran.append, "same-iteration")
    loop.run_forever()
    assert ran == ["same-iteration"]


def test_stop_is_idempotent_and_loop_reruns(loop):
    """stop() twice is harmless; the loop can run again after stopping."""
    for i in range(3):
        loop.call_soon(loop.stop)
        loop.call_soon(loop.stop)
        loop.run_forever()
        assert not loop.is_running()
    assert loop.run_until_complete(do_some_work(4)) == 4
    assert loop.run_until_complete(do_some_work(5)) == 5


def test_stop_from_coroutine(loop):
    """stop() from a coroutine ends run_forever (the tutorial's pattern)."""

    async def main():
        await asyncio.sleep(0.01)
        loop.stop()

    loop.create_task(main())
    loop.run_forever()
    assert not loop.is_running()


def test_stop_from_done_callback_of_gather(loop):
    """The tutorial: gather + add_done_callback(stop) + run_forever."""
    fut = asyncio.gather(do_some_work(1), do_some_work(3))
    fut.add_done_callback(lambda f: loop.stop())
    loop.run_forever()
    assert fut.result() == [1, 3]


def test_is_running(loop):
    """is_running() is True only while the loop runs."""
    seen = []
    assert loop.is_running() is False
    loop.call_soon(lambda: seen.append(loop.is_running()))
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert seen == [True]
    assert loop.is_running() is False


def test_get_running_loop_inside_and_outside(loop):
    """get_running_loop() is the loop inside callbacks and coroutines, an error outside."""
    seen = []

    async def coro():
        seen.append(asyncio.get_running_loop())

    loop.call_soon(lambda: seen.append(asyncio.get_running_loop()))
    loop.run_until_complete(coro())
    assert seen == [loop, loop]
    with pytest.raises(RuntimeError, match="^no running event loop$"):
        asyncio.get_running_loop()


def test_run_forever_while_running(loop):
    """run_forever inside a callback: 'This event loop is already running'."""
    errors = []

    def cb():
        try:
            loop.run_forever()
        except RuntimeError as exc:
            errors.append(str(exc))
        loop.stop()

    loop.call_soon(cb)
    loop.run_forever()
    assert errors == ["This event loop is already running"]


def test_run_until_complete_while_running(loop):
    """run_until_complete inside a coroutine: 'This event loop is already running'."""

    async def main():
        inner = do_some_work(0)
        try:
            with pytest.raises(RuntimeError, match=RUNNING):
                loop.run_until_complete(inner)
        finally:
            inner.close()
        return "ok"

    assert loop.run_until_complete(main()) == "ok"


def test_run_while_another_loop_runs(loop_factory, loop):
    """Running a second loop inside the first is refused with asyncio's message."""
    other = loop_factory()
    errors = []

    def cb():
        try:
            other.run_forever()
        except RuntimeError as exc:
            errors.append(str(exc))
        loop.stop()

    try:
        loop.call_soon(cb)
        loop.run_forever()
    finally:
        other.close()
    assert errors == ["Cannot run the event loop while another loop is running"]


def test_close_running_loop(loop):
    """close() from inside: 'Cannot close a running event loop'; the loop stays usable."""
    errors = []

    def cb():
        try:
            loop.close()
        except RuntimeError as exc:
            errors.append(str(exc))
        loop.stop()

    loop.call_soon(cb)
    loop.run_forever()
    assert errors == ["Cannot close a running event loop"]
    assert not loop.is_closed()
    assert loop.run_until_complete(do_some_work(0)) == 0


def test_close_is_idempotent(loop_factory):
    """close() twice is fine; is_closed() reports it."""
    lp = loop_factory()
    assert lp.is_closed() is False
    lp.close()
    assert lp.is_closed() is True
    lp.close()
    assert lp.is_closed() is True


def test_closed_loop_refuses_to_run(loop_factory):
    """A closed loop raises 'Event loop is closed' from every scheduling entry point."""
    lp = loop_factory()
    lp.close()
    with pytest.raises(RuntimeError, match=CLOSED):
        lp.run_forever()
    coro = do_some_work(1)
    try:
        with pytest.raises(RuntimeError, match=CLOSED):
            lp.run_until_complete(coro)
    finally:
        coro.close()
    coro = do_some_work(1)
    try:
        with pytest.raises(RuntimeError, match=CLOSED):
            lp.create_task(coro)
    finally:
        coro.close()
    for schedule in (
        lambda: lp.call_soon(print),
        lambda: lp.call_later(1, print),
        lambda: lp.call_at(1, print),
        lambda: lp.call_soon_threadsafe(print),
    ):
        with pytest.raises(RuntimeError, match=CLOSED):
            schedule()


def test_seed_tutorial_close_loop(loop_factory):
    """The seed's 'Close Loop' section: run, close, run again -> RuntimeError."""
    loop = loop_factory()
    asyncio.set_event_loop(loop)
    try:
        assert loop.run_until_complete(do_some_work(1)) == 1
        loop.close()
        coro = do_some_work(1)
        with pytest.raises(RuntimeError, match=CLOSED):
            loop.run_until_complete(coro)  # 此处异常 (the exception is here)
        coro.close()
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def test_close_drops_pending_callbacks(loop_factory):
    """close() clears queued callbacks and timers: what they held is freed."""

    class Payload:
        pass

    lp = loop_factory()
    obj = Payload()
    ref = weakref.ref(obj)
    lp.call_soon(print, obj)
    lp.call_later(10, print, obj)
    del obj
    lp.close()
    gc.collect()
    assert ref() is None


def test_unclosed_loop_warns_resource_warning(loop_factory):
    """Dropping an unclosed loop emits ResourceWarning 'unclosed event loop'."""
    lp = loop_factory()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del lp
        gc.collect()
    msgs = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert any(m.startswith("unclosed event loop") for m in msgs), msgs


def test_closed_loop_does_not_warn(loop_factory):
    """A closed loop dropped later emits no ResourceWarning."""
    lp = loop_factory()
    lp.close()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del lp
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_run_forever_restores_running_loop_after_exception(loop):
    """An exception out of run_until_complete leaves no running loop behind."""

    async def fails():
        raise KeyError("k")

    with pytest.raises(KeyError):
        loop.run_until_complete(fails())
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()
    assert loop.run_until_complete(do_some_work(0)) == 0


def _signal_main_thread_later(sig, delay):
    """Send sig to this process from a helper thread after delay; return the thread."""
    sent = {}

    def send():
        time.sleep(delay)
        sent["at"] = time.monotonic()
        os.kill(os.getpid(), sig)

    t = threading.Thread(target=send)
    t.start()
    return t, sent


def test_sigint_interrupts_a_blocked_loop(loop):
    """Ctrl-C (default SIGINT handler) while the loop waits raises KeyboardInterrupt promptly."""
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is not Python's default handler here")
    guard = loop.call_later(10, loop.stop)
    t, sent = _signal_main_thread_later(signal.SIGINT, 0.1)
    try:
        with pytest.raises(KeyboardInterrupt):
            loop.run_forever()
        raised_at = time.monotonic()
    finally:
        t.join()
        guard.cancel()
    assert raised_at - sent["at"] < 1.0
    assert not loop.is_running()
    assert loop.run_until_complete(do_some_work(0)) == 0


def test_python_signal_handler_runs_while_loop_waits(loop):
    """A signal.signal() handler runs promptly while the loop is blocked in its poll."""
    ran = {}

    def handler(signum, frame):
        ran["at"] = time.monotonic()

    old = signal.signal(signal.SIGUSR1, handler)
    try:
        loop.call_later(0.6, loop.stop)
        t, sent = _signal_main_thread_later(signal.SIGUSR1, 0.1)
        loop.run_forever()
        t.join()
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert "at" in ran
    assert ran["at"] - sent["at"] < 0.3

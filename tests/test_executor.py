"""run_in_executor, set_default_executor, shutdown_default_executor."""
import asyncio
import concurrent.futures
import sys
import threading
import time
import warnings

import pytest

SHUTDOWN = "^Executor shutdown has been called$"


def test_run_in_executor_result_in_other_thread(loop):
    """run_in_executor(None, fn, *args) runs fn in a worker thread and returns its result."""
    main_thread = threading.get_ident()

    def work(a, b):
        return a + b, threading.get_ident(), threading.current_thread().name

    async def main():
        fut = loop.run_in_executor(None, work, 2, 3)
        assert asyncio.isfuture(fut)
        return await fut

    total, tid, name = loop.run_until_complete(main())
    assert total == 5
    assert tid != main_thread
    assert name.startswith("asyncio")  # asyncio names its default pool's threads so


def test_run_in_executor_exception(loop):
    """The function's exception is raised by the awaited future."""

    def fails():
        raise ZeroDivisionError("in thread")

    async def main():
        return await loop.run_in_executor(None, fails)

    with pytest.raises(ZeroDivisionError, match="^in thread$"):
        loop.run_until_complete(main())


def test_run_in_executor_many_concurrent(loop):
    """Many executor calls in flight at once all complete with their own results."""

    def square(x):
        time.sleep(0.001)
        return x * x

    async def main():
        return await asyncio.gather(*(loop.run_in_executor(None, square, i) for i in range(200)))

    assert loop.run_until_complete(main()) == [i * i for i in range(200)]


def test_run_in_explicit_executor(loop):
    """An explicit executor is used as given."""
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="mine") as ex:
        name = loop.run_until_complete(
            loop.run_in_executor(ex, lambda: threading.current_thread().name))
    assert name.startswith("mine")


def test_set_default_executor(loop):
    """set_default_executor replaces the pool used for executor=None."""
    ex = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="custom-default")
    try:
        loop.set_default_executor(ex)
        name = loop.run_until_complete(
            loop.run_in_executor(None, lambda: threading.current_thread().name))
        assert name.startswith("custom-default")
    finally:
        ex.shutdown(wait=True)


def test_set_default_executor_rejects_non_thread_pool(loop):
    """Only a ThreadPoolExecutor is accepted as the default executor."""
    with pytest.raises(TypeError, match="^executor must be ThreadPoolExecutor instance$"):
        loop.set_default_executor(object())


def test_shutdown_default_executor(loop):
    """After shutdown_default_executor, run_in_executor(None, ...) is refused."""
    assert loop.run_until_complete(loop.run_in_executor(None, lambda: 1)) == 1
    loop.run_until_complete(loop.shutdown_default_executor())
    with pytest.raises(RuntimeError, match=SHUTDOWN):
        loop.run_in_executor(None, lambda: 2)
    # an explicit executor still works
    with concurrent.futures.ThreadPoolExecutor(1) as ex:
        assert loop.run_until_complete(loop.run_in_executor(ex, lambda: 3)) == 3


def test_shutdown_default_executor_without_executor(loop):
    """Shutting down before any executor exists is fine, and still refuses later use."""
    loop.run_until_complete(loop.shutdown_default_executor())
    with pytest.raises(RuntimeError, match=SHUTDOWN):
        loop.run_in_executor(None, lambda: 2)


def test_shutdown_default_executor_waits_for_running_work(loop):
    """shutdown_default_executor waits for submitted work to finish."""
    finished = []

    def slow():
        time.sleep(0.1)
        finished.append(True)

    async def main():
        loop.run_in_executor(None, slow)
        await asyncio.sleep(0.01)
        await loop.shutdown_default_executor()
        return list(finished)

    assert loop.run_until_complete(main()) == [True]


@pytest.mark.skipif(sys.version_info < (3, 12), reason="timeout= is new in 3.12")
def test_shutdown_default_executor_timeout_argument(loop):
    """timeout= is accepted by keyword and positionally (asyncio.Runner passes it so)."""
    loop.run_until_complete(loop.run_in_executor(None, lambda: 1))
    loop.run_until_complete(loop.shutdown_default_executor(timeout=5))
    assert loop.run_until_complete(loop.shutdown_default_executor(5)) is None


@pytest.mark.skipif(
    sys.version_info < (3, 13),
    reason="3.12.1's timeout only bounds the final join after the shutdown finished",
)
def test_shutdown_default_executor_timeout_expires(loop):
    """Work outliving the timeout: RuntimeWarning, and shutdown returns without waiting."""
    release = threading.Event()

    async def main():
        loop.run_in_executor(None, release.wait, 10)
        await asyncio.sleep(0.01)
        start = time.monotonic()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            await loop.shutdown_default_executor(0.1)
        return time.monotonic() - start, [str(w.message) for w in caught
                                          if issubclass(w.category, RuntimeWarning)]

    try:
        elapsed, msgs = loop.run_until_complete(main())
    finally:
        release.set()
    assert elapsed < 2
    assert msgs == ["The executor did not finishing joining its threads within 0.1 seconds."]


def test_run_in_executor_on_closed_loop(loop_factory):
    """run_in_executor on a closed loop raises 'Event loop is closed'."""
    lp = loop_factory()
    lp.close()
    with pytest.raises(RuntimeError, match="^Event loop is closed$"):
        lp.run_in_executor(None, lambda: 1)


def test_debug_run_in_executor_rejects_coroutine_function(loop):
    """In debug mode a coroutine function is refused by run_in_executor."""

    async def coro_fn():
        pass

    loop.set_debug(True)
    with pytest.raises(TypeError, match=r"^coroutines cannot be used with run_in_executor\(\)$"):
        loop.run_in_executor(None, coro_fn)


def test_cancel_awaiting_executor_future(loop):
    """Cancelling the awaiting task leaves the loop healthy; the work still ends."""
    release = threading.Event()
    done = threading.Event()

    def blocking():
        release.wait(5)
        done.set()

    async def waiter():
        await loop.run_in_executor(None, blocking)

    async def main():
        task = loop.create_task(waiter())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()
        return await loop.run_in_executor(None, lambda: "after")

    assert loop.run_until_complete(main()) == "after"
    assert done.wait(5)


def test_close_shuts_down_default_executor(loop_factory):
    """close() shuts the default executor down: its pool refuses new work."""
    lp = loop_factory()
    ex = concurrent.futures.ThreadPoolExecutor(1)
    lp.set_default_executor(ex)
    lp.run_until_complete(lp.run_in_executor(None, lambda: 1))
    lp.close()
    with pytest.raises(RuntimeError):
        ex.submit(lambda: 1)

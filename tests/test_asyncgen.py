"""Async generator finalisation: shutdown_asyncgens, GC finaliser hook, hook restore."""
import asyncio
import gc
import sys
import warnings

import pytest


def _make_agen(log, name, fail_on_close=False, await_in_finally=False):
    """An async generator that records its first step and its finally block."""

    async def agen():
        try:
            log.append((name, "started"))
            for i in range(100):
                yield i
        finally:
            if await_in_finally:
                await asyncio.sleep(0)
            log.append((name, "finally", asyncio.get_running_loop()))
            if fail_on_close:
                raise ValueError(f"{name} close failed")

    return agen()


def test_shutdown_asyncgens_finalises_left_generators(loop):
    """Generators left mid-iteration have their finally run by shutdown_asyncgens."""
    log = []
    kept = []

    async def main():
        for name in ("a", "b"):
            g = _make_agen(log, name, await_in_finally=(name == "b"))
            kept.append(g)
            assert await g.__anext__() == 0

    loop.run_until_complete(main())
    assert [e for e in log if e[1] == "finally"] == []
    loop.run_until_complete(loop.shutdown_asyncgens())
    finals = sorted((e[0], e[2]) for e in log if e[1] == "finally")
    assert finals == [("a", loop), ("b", loop)]


def test_shutdown_asyncgens_with_nothing_to_do(loop):
    """shutdown_asyncgens with no live generator simply returns."""
    assert loop.run_until_complete(loop.shutdown_asyncgens()) is None


def test_shutdown_asyncgens_reports_close_errors(loop):
    """An error raised while closing reaches the exception handler with 'asyncgen'."""
    log = []
    kept = []
    contexts = []
    loop.set_exception_handler(lambda lp, ctx: contexts.append(ctx))

    async def main():
        g = _make_agen(log, "bad", fail_on_close=True)
        kept.append(g)
        await g.__anext__()

    loop.run_until_complete(main())
    loop.run_until_complete(loop.shutdown_asyncgens())
    assert len(contexts) == 1
    ctx = contexts[0]
    assert ctx["message"].startswith("an error occurred during closing of asynchronous generator ")
    assert ctx["asyncgen"] is kept[0]
    assert isinstance(ctx["exception"], ValueError)


def test_garbage_collected_generator_is_finalised_on_the_loop(loop):
    """A generator dropped mid-iteration while the loop runs is closed by the loop."""
    log = []

    async def main():
        g = _make_agen(log, "dropped", await_in_finally=True)
        await g.__anext__()
        del g
        gc.collect()
        for _ in range(10):
            await asyncio.sleep(0)
            if any(e[1] == "finally" for e in log):
                break

    loop.run_until_complete(main())
    finals = [e for e in log if e[1] == "finally"]
    assert finals == [("dropped", "finally", loop)]


def test_asyncgen_hooks_installed_while_running_and_restored(loop):
    """The loop installs its hooks while running and restores the previous ones."""

    def my_firstiter(agen):
        pass

    def my_finalizer(agen):
        pass

    old = sys.get_asyncgen_hooks()
    sys.set_asyncgen_hooks(firstiter=my_firstiter, finalizer=my_finalizer)
    try:
        async def main():
            return sys.get_asyncgen_hooks()

        inside = loop.run_until_complete(main())
        assert inside.firstiter is not None and inside.firstiter is not my_firstiter
        assert inside.finalizer is not None and inside.finalizer is not my_finalizer
        after = sys.get_asyncgen_hooks()
        assert after.firstiter is my_firstiter and after.finalizer is my_finalizer

        # restored also when the run ends with an exception
        async def fails():
            raise KeyError("x")

        with pytest.raises(KeyError):
            loop.run_until_complete(fails())
        after = sys.get_asyncgen_hooks()
        assert after.firstiter is my_firstiter and after.finalizer is my_finalizer
    finally:
        sys.set_asyncgen_hooks(*old)


def test_generator_started_after_shutdown_warns(loop):
    """A generator first iterated after shutdown_asyncgens gets a ResourceWarning."""
    log = []
    loop.run_until_complete(loop.shutdown_asyncgens())

    async def main():
        g = _make_agen(log, "late")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            await g.__anext__()
        await g.aclose()
        return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]

    msgs = loop.run_until_complete(main())
    assert len(msgs) == 1
    assert msgs[0].endswith("was scheduled after loop.shutdown_asyncgens() call")


def test_fully_consumed_generators_need_no_shutdown(loop):
    """A generator run to exhaustion runs its finally during iteration, once."""
    log = []

    async def main():
        g = _make_agen(log, "full")
        return [x async for x in g]

    assert loop.run_until_complete(main()) == list(range(100))
    loop.run_until_complete(loop.shutdown_asyncgens())
    assert [e[:2] for e in log] == [("full", "started"), ("full", "finally")]

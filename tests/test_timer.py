"""tideloop.Timer and tideloop.every, on tideloop and on asyncio's own loop.

The timer is pure Python over the public loop API, so every test here must
pass on both loops; a difference is a bug in the loop's call_at/time.
"""
import asyncio
import datetime
import fractions
import importlib.util
import math
import pathlib

import pytest

try:
    from tideloop import Timer, every
except ImportError:
    # The compiled core is not built yet: the timer module has no dependency
    # on it, so test the very same file loaded on its own.
    _path = pathlib.Path(__file__).resolve().parents[1] / "src" / "tideloop" / "timer.py"
    _spec = importlib.util.spec_from_file_location("tideloop_timer_standalone", _path)
    _mod = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_mod)
    Timer, every = _mod.Timer, _mod.every

# Generous upper bounds: two shared cores, other test suites running.
SLACK = 0.25


# -- construction -------------------------------------------------------------


def test_timer_needs_a_loop():
    with pytest.raises(RuntimeError, match=r"running event loop.*Timer\(loop=loop\)"):
        Timer()


def test_timer_binds_to_running_or_given_loop(loop):
    assert Timer(loop=loop).loop is loop

    async def main():
        return Timer().loop

    assert loop.run_until_complete(main()) is loop


def test_timer_rejects_non_loop():
    with pytest.raises(TypeError, match="event loop"):
        Timer(loop="loop")


def test_unset_timer(loop):
    t = Timer(loop=loop)
    assert t.expiry() is None
    assert not t.expired()
    with pytest.raises(RuntimeError, match="no expiry"):
        loop.run_until_complete(t.wait())


# -- expiry -------------------------------------------------------------------


def test_expires_after_sets_loop_time_and_waits(loop):
    t = Timer(loop=loop)

    async def main():
        before = loop.time()
        assert t.expires_after(0.05) == 0
        after = loop.time()
        assert before + 0.05 <= t.expiry() <= after + 0.05
        await t.wait()
        return loop.time()

    woke = loop.run_until_complete(main())
    assert woke >= t.expiry()  # never early
    assert woke < t.expiry() + SLACK
    assert t.expired()


def test_expires_at_absolute(loop):
    t = Timer(loop=loop)

    async def main():
        when = loop.time() + 0.03
        t.expires_at(when)
        assert t.expiry() == when
        await t.wait()
        return when, loop.time()

    when, woke = loop.run_until_complete(main())
    assert when <= woke < when + SLACK


def test_timedelta_and_other_reals_accepted(loop):
    t = Timer(loop=loop)
    t.expires_after(datetime.timedelta(milliseconds=20))
    assert t.expiry() == pytest.approx(loop.time() + 0.02, abs=0.01)
    t.expires_after(fractions.Fraction(1, 50))
    assert t.expiry() == pytest.approx(loop.time() + 0.02, abs=0.01)
    loop.run_until_complete(t.wait())
    assert t.expired()


def test_already_expired_returns_without_suspending(loop):
    t = Timer(loop=loop)
    order = []

    async def main():
        t.expires_after(0)
        loop.call_soon(order.append, "callback")
        await t.wait()
        order.append("first wait returned")
        t.expires_at(loop.time() - 1.0)  # a loop time in the past
        await t.wait()
        order.append("second wait returned")

    loop.run_until_complete(main())
    # Neither wait yielded to the loop, so the call_soon callback ran last.
    assert order == ["first wait returned", "second wait returned", "callback"]


def test_never_fires_early_sub_millisecond(loop):
    async def main():
        t = Timer()
        for i in range(50):
            t.expires_after(0.0001 * (i % 7))
            await t.wait()
            assert loop.time() >= t.expiry()

    loop.run_until_complete(main())


def test_infinite_expiry_waits_until_cancelled(loop):
    t = Timer(loop=loop)

    async def main():
        t.expires_after(math.inf)
        waiter = asyncio.ensure_future(t.wait())
        await asyncio.sleep(0.02)
        assert not waiter.done()
        assert t.cancel() == 1
        with pytest.raises(asyncio.CancelledError):
            await waiter

    loop.run_until_complete(main())


# -- several waiters, ordering --------------------------------------------------


def test_waiters_resume_in_fifo_order_together(loop):
    t = Timer(loop=loop)
    woke = []

    async def waiter(i):
        await t.wait()
        woke.append((i, loop.time()))

    async def main():
        t.expires_after(0.03)
        tasks = [asyncio.ensure_future(waiter(i)) for i in range(6)]
        await asyncio.sleep(0)
        assert t.waiting() == 6
        await asyncio.gather(*tasks)

    loop.run_until_complete(main())
    assert [i for i, _ in woke] == list(range(6))
    assert all(when >= t.expiry() for _, when in woke)
    assert t.waiting() == 0


def test_several_timers_wake_in_expiry_order(loop):
    woke = []

    async def arm_and_wait(name, delay):
        t = Timer()
        t.expires_after(delay)
        await t.wait()
        woke.append(name)

    loop.run_until_complete(
        asyncio.gather(arm_and_wait("c", 0.06), arm_and_wait("a", 0.02), arm_and_wait("b", 0.04))
    )
    assert woke == ["a", "b", "c"]


# -- cancel -------------------------------------------------------------------


def test_cancel_cancels_every_waiter_with_message(loop):
    t = Timer(loop=loop)

    async def main():
        t.expires_after(10)
        expiry = t.expiry()
        waiters = [asyncio.ensure_future(t.wait()) for _ in range(3)]
        await asyncio.sleep(0)
        assert t.cancel() == 3
        assert t.cancel() == 0  # nothing left to cancel
        for w in waiters:
            with pytest.raises(asyncio.CancelledError, match="^Timer cancelled$"):
                await w
        assert t.expiry() == expiry  # cancel keeps the expiry, as in Asio
        assert t.waiting() == 0

    loop.run_until_complete(main())


def test_cancel_propagates_into_waiting_coroutine(loop):
    t = Timer(loop=loop)
    seen = []

    async def worker():
        try:
            await t.wait()
        except asyncio.CancelledError as exc:
            seen.append(str(exc))
            return "handled"

    async def main():
        t.expires_after(10)
        task = asyncio.ensure_future(worker())
        await asyncio.sleep(0.01)
        t.cancel()
        return await task

    assert loop.run_until_complete(main()) == "handled"
    assert seen == ["Timer cancelled"]


def test_wait_after_cancel_waits_for_same_expiry(loop):
    t = Timer(loop=loop)

    async def main():
        t.expires_after(0.04)
        w = asyncio.ensure_future(t.wait())
        await asyncio.sleep(0)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await w
        await t.wait()  # the expiry survived the cancel
        return loop.time()

    assert loop.run_until_complete(main()) >= t.expiry()


def test_cancel_one(loop):
    t = Timer(loop=loop)

    async def main():
        t.expires_after(0.05)
        first = asyncio.ensure_future(t.wait())
        second = asyncio.ensure_future(t.wait())
        await asyncio.sleep(0)
        assert t.cancel_one() == 1
        with pytest.raises(asyncio.CancelledError, match="Timer cancelled"):
            await first
        await second  # still waits for the expiry
        assert t.cancel_one() == 0

    loop.run_until_complete(main())


def test_waiter_task_cancelled_leaves_others_and_drops_handle(loop):
    t = Timer(loop=loop)

    async def main():
        t.expires_after(10)
        a = asyncio.ensure_future(t.wait())
        b = asyncio.ensure_future(t.wait())
        await asyncio.sleep(0)
        a.cancel()
        await asyncio.sleep(0)
        assert a.cancelled() and not b.done()
        assert t.waiting() == 1
        b.cancel()
        await asyncio.sleep(0)
        assert t.waiting() == 0
        # The last waiter leaving cancels the loop timer: an idle Timer costs nothing.
        assert t._handle is None
        # and the timer still works
        t.expires_after(0.01)
        await t.wait()

    loop.run_until_complete(main())


# -- re-arm and reuse -------------------------------------------------------------


def test_rearm_cancels_pending_waiters(loop):
    t = Timer(loop=loop)

    async def main():
        t.expires_after(10)
        old = [asyncio.ensure_future(t.wait()) for _ in range(2)]
        await asyncio.sleep(0)
        assert t.expires_after(0.02) == 2  # like Asio: returns the number cancelled
        for w in old:
            with pytest.raises(asyncio.CancelledError, match="re-armed"):
                await w
        await t.wait()  # waits for the new expiry
        return loop.time()

    woke = loop.run_until_complete(main())
    assert t.expiry() <= woke < t.expiry() + SLACK


def test_rearm_with_expires_at_returns_count(loop):
    t = Timer(loop=loop)

    async def main():
        t.expires_after(10)
        w = asyncio.ensure_future(t.wait())
        await asyncio.sleep(0)
        assert t.expires_at(loop.time() + 0.01) == 1
        with pytest.raises(asyncio.CancelledError):
            await w
        assert t.expires_at(loop.time()) == 0  # no waiters: nothing cancelled

    loop.run_until_complete(main())


def test_reusable_after_expiry(loop):
    async def main():
        t = Timer()
        wakes = []
        for _ in range(10):
            t.expires_after(0.005)
            await t.wait()
            assert t.expired()
            wakes.append(loop.time() - t.expiry())
        return wakes

    wakes = loop.run_until_complete(main())
    assert len(wakes) == 10 and all(0 <= late < SLACK for late in wakes)


def test_wait_from_another_loop_is_refused(loop, loop_factory):
    t = Timer(loop=loop)
    t.expires_after(1)
    other = loop_factory()
    try:
        with pytest.raises(RuntimeError, match="other than the timer's"):
            other.run_until_complete(t.wait())
    finally:
        other.close()


# -- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize("bad", [-1, -0.001, float("nan"), -math.inf])
def test_bad_values(loop, bad):
    t = Timer(loop=loop)
    with pytest.raises(ValueError):
        t.expires_after(bad)
    with pytest.raises(ValueError):
        t.expires_at(bad)
    with pytest.raises(ValueError):
        every(bad)
    assert t.expiry() is None  # a rejected arming leaves the timer untouched


@pytest.mark.parametrize("bad", ["1", None, True, object(), [1], b"1"])
def test_bad_types(loop, bad):
    t = Timer(loop=loop)
    with pytest.raises(TypeError):
        t.expires_after(bad)
    with pytest.raises(TypeError):
        t.expires_at(bad)
    with pytest.raises(TypeError):
        every(bad)


def test_every_bad_arguments():
    for bad in (0, 0.0, math.inf):
        with pytest.raises(ValueError, match="interval"):
            every(bad)
    with pytest.raises(ValueError):
        every(1, count=-1)
    with pytest.raises(TypeError):
        every(1, count=1.5)
    with pytest.raises(TypeError):
        every(1, start="now")
    with pytest.raises(ValueError):
        every(1, start=float("nan"))


# -- every: the drift-free periodic form ------------------------------------------------


def _collect(loop, ticker, body=None):
    """Iterate *ticker*; return [(tick, loop time the body ended)]."""

    async def main():
        out = []
        async for tick in ticker:
            assert loop.time() >= tick.scheduled  # never early
            if body is not None:
                await body(tick)
            out.append((tick, loop.time()))
        return out

    return loop.run_until_complete(main())


def test_every_on_time_ticks_are_consecutive(loop):
    ticker = every(0.01, count=20)
    t0 = loop.time()
    ticks = _collect(loop, ticker)
    assert len(ticks) == 20
    assert ticker.start == pytest.approx(t0 + 0.01, abs=SLACK)  # first tick one interval in
    for k, (tick, _) in enumerate(ticks):
        assert tick.scheduled == ticker.start + tick.index * 0.01  # exact: from the grid
        assert tick.late >= 0 and tick.time == tick.scheduled + tick.late
        if k:
            prev = ticks[k - 1][0]
            assert tick.missed == tick.index - prev.index - 1
            if prev.late < 0.005:  # not held up by a loaded machine: no skip
                assert tick.missed == 0


def test_every_grid_stays_drift_free_with_slow_body(loop):
    interval = 0.01

    async def body(tick):
        if tick.index % 4 == 0:
            await asyncio.sleep(0.025)  # runs past two grid points

    ticker = every(interval, count=20)
    ticks = _collect(loop, ticker, body)
    assert len(ticks) == 20
    start = ticker.start
    for k, (tick, _) in enumerate(ticks):
        # every tick is on the grid start + index * interval: no drift, however long
        assert tick.scheduled == pytest.approx(start + tick.index * interval, abs=1e-9)
        assert tick.late >= 0
        if k == 0:
            continue
        prev, prev_end = ticks[k - 1]
        assert tick.index > prev.index
        assert tick.missed == tick.index - prev.index - 1
        # "the next tick is the next grid point": not before the body ended ...
        assert tick.scheduled >= prev_end - 1e-9
        # ... and every skipped point had passed before the body ended.
        if tick.missed:
            assert tick.scheduled - interval < prev_end + 1e-6
        if prev.index % 4 == 0:  # a slow body skipped at least two points
            assert tick.missed >= 2
    total_missed = sum(t.missed for t, _ in ticks)
    assert total_missed == ticks[-1][0].index - 19
    # the last tick is still on the grid and delivered close to its due time
    assert ticks[-1][0].late < SLACK


def test_every_start_in_past_delivers_latest_point_at_once(loop):
    async def main():
        now = loop.time()
        ticker = every(0.01, start=now - 0.035, count=2)
        first = await ticker.__anext__()
        assert loop.time() - now < SLACK
        second = await ticker.__anext__()
        with pytest.raises(StopAsyncIteration):
            await ticker.__anext__()
        return now, first, second

    now, first, second = loop.run_until_complete(main())
    assert first.index == 3 and first.missed == 3
    assert first.scheduled == pytest.approx(now - 0.035 + 0.03, abs=1e-9)
    assert second.index >= 4


def test_every_start_now_ticks_immediately(loop):
    async def main():
        ticker = every(0.05, start=loop.time(), count=1)
        return [tick async for tick in ticker]

    [tick] = loop.run_until_complete(main())
    assert tick.index == 0 and tick.missed == 0 and tick.late < SLACK


def test_every_count_zero_and_aclose(loop):
    async def main():
        assert [t async for t in every(0.01, count=0)] == []
        ticker = every(0.01)
        got = []
        async for tick in ticker:
            got.append(tick.index)
            if len(got) == 3:
                await ticker.aclose()
        return got

    assert loop.run_until_complete(main()) == [0, 1, 2]


def test_every_accepts_timedelta(loop):
    async def main():
        return [t.index async for t in every(datetime.timedelta(milliseconds=5), count=3)]

    assert loop.run_until_complete(main()) == [0, 1, 2]

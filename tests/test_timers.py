"""call_later / call_at: order, cancel, when(), never early, sub-ms delays."""
import random
import time

import pytest


def _run_until_stopped(loop, timeout=5.0):
    """Run the loop until a callback stops it; fail instead of hanging."""
    guard = loop.call_later(timeout, loop.stop)
    loop.run_forever()
    fired_guard = not guard.cancelled() and loop.time() >= guard.when()
    guard.cancel()
    assert not fired_guard, "the loop was stopped by the test's timeout guard"


def test_call_later_fires_in_deadline_order(loop):
    """Timers fire by deadline, not by the order they were scheduled."""
    order = []
    loop.call_later(0.03, order.append, 3)
    loop.call_later(0.01, order.append, 1)
    loop.call_later(0.02, order.append, 2)
    loop.call_later(0.04, loop.stop)
    _run_until_stopped(loop)
    assert order == [1, 2, 3]


def test_call_at_fires_in_deadline_order(loop):
    """call_at timers fire by their absolute loop-time deadline."""
    order = []
    now = loop.time()
    for i in [5, 2, 4, 1, 3]:
        loop.call_at(now + i * 0.005, order.append, i)
    loop.call_at(now + 0.03, loop.stop)
    _run_until_stopped(loop)
    assert order == [1, 2, 3, 4, 5]


def test_sub_millisecond_deadlines_keep_their_order(loop):
    """Deadlines 0.1 ms apart are told apart (no rounding to milliseconds)."""
    order = []
    loop.call_later(0.0003, order.append, "c")
    loop.call_later(0.0002, order.append, "b")
    loop.call_later(0.0001, order.append, "a")
    loop.call_later(0.01, loop.stop)
    _run_until_stopped(loop)
    assert order == ["a", "b", "c"]


def test_same_when_timers_all_fire_in_one_iteration(loop):
    """Timers sharing one `when` all fire, before later ones, in one iteration.

    asyncio's heap is not FIFO for equal deadlines (3+ timers come out in
    heap order), so only what asyncio guarantees is asserted: every one fires,
    all of them before the next deadline and before a callback queued by the
    first of them.
    """
    fired = []
    when = loop.time() + 0.01
    first_done = []

    def cb(i):
        if not first_done:
            first_done.append(i)
            loop.call_soon(fired.append, "queued-by-first")
        fired.append(i)

    for i in range(50):
        loop.call_at(when, cb, i)
    loop.call_at(when + 0.005, fired.append, "later")
    loop.call_at(when + 0.01, loop.stop)
    _run_until_stopped(loop)
    assert sorted(x for x in fired if isinstance(x, int)) == list(range(50))
    assert fired[50:] == ["queued-by-first", "later"]


def test_timer_handle_when(loop):
    """TimerHandle.when() is the call_at deadline; call_later adds to time()."""
    t = loop.time() + 10
    h = loop.call_at(t, lambda: None)
    assert h.when() == t
    before = loop.time()
    h2 = loop.call_later(2.5, lambda: None)
    after = loop.time()
    assert before + 2.5 <= h2.when() <= after + 2.5
    assert isinstance(h2.when(), float)
    h.cancel()
    h2.cancel()


def test_cancelled_timer_never_fires(loop):
    """A cancelled timer is skipped; cancelled() reports it."""
    fired = []
    h = loop.call_later(0.01, fired.append, "cancelled")
    loop.call_later(0.02, fired.append, "kept")
    assert h.cancelled() is False
    h.cancel()
    assert h.cancelled() is True
    loop.call_later(0.03, loop.stop)
    _run_until_stopped(loop)
    assert fired == ["kept"]


def test_timer_cancelled_by_earlier_timer_in_same_iteration(loop):
    """A due timer cancelled by another timer firing just before it never runs."""
    fired = []
    when = loop.time() + 0.01
    box = {}

    def first():
        fired.append("first")
        box["second"].cancel()

    loop.call_at(when, first)
    box["second"] = loop.call_at(when + 1e-6, fired.append, "second")
    loop.call_at(when + 0.02, loop.stop)
    _run_until_stopped(loop)
    assert fired == ["first"]


def test_many_cancelled_timers_are_skipped(loop):
    """Cancelling most of many timers leaves exactly the others to fire."""
    fired = []
    handles = [loop.call_later(0.001 * (i % 20), fired.append, i) for i in range(2000)]
    for i, h in enumerate(handles):
        if i % 3:
            h.cancel()
    loop.call_later(0.05, loop.stop)
    _run_until_stopped(loop)
    assert sorted(fired) == [i for i in range(2000) if i % 3 == 0]


def test_timer_never_fires_before_when(loop):
    """Inside every timer callback, loop.time() >= that timer's when()."""
    rng = random.Random(1234)
    early = []
    count = {"n": 0}
    total = 500

    def cb(box):
        now = loop.time()
        if now < box[0].when():
            early.append((box[0].when(), now))
        count["n"] += 1
        if count["n"] == total:
            loop.stop()

    for _ in range(total):
        box = []
        box.append(loop.call_later(rng.uniform(0, 0.02), cb, box))
    _run_until_stopped(loop)
    assert count["n"] == total
    assert early == []


@pytest.mark.parametrize("delay", [0.0002, 0.0005, 0.0015])
def test_sub_millisecond_delay_honoured(loop, delay):
    """A sub-ms call_later fires, and not before its delay has elapsed."""
    seen = []

    def cb():
        seen.append(loop.time())
        loop.stop()

    start = loop.time()
    h = loop.call_later(delay, cb)
    _run_until_stopped(loop, timeout=1.0)
    assert len(seen) == 1
    assert seen[0] >= h.when()
    assert seen[0] - start >= delay


def test_negative_delay_runs_soon(loop):
    """call_later with a negative delay fires on the next iteration, not later."""
    fired = []
    loop.call_later(-1, fired.append, "negative")
    loop.call_later(0, fired.append, "zero")
    loop.call_later(0.05, fired.append, "later")
    loop.call_soon(loop.call_soon, loop.stop)  # stop after the next iteration
    _run_until_stopped(loop)
    assert sorted(fired) == ["negative", "zero"]


def test_call_at_in_the_past_runs_soon(loop):
    """A call_at deadline already in the past fires right away."""
    fired = []
    loop.call_at(loop.time() - 100, fired.append, "past")
    loop.call_soon(loop.call_soon, loop.stop)
    _run_until_stopped(loop)
    assert fired == ["past"]


@pytest.mark.parametrize("delay", [1e9, float("inf")])
def test_huge_delay_is_accepted(loop, delay):
    """A huge (or infinite) delay schedules fine and does not stall the loop."""
    fired = []
    h = loop.call_later(delay, fired.append, "never")
    loop.call_later(0.01, loop.stop)
    _run_until_stopped(loop)
    assert fired == []
    assert h.when() >= loop.time()
    h.cancel()


def test_timer_args_and_timer_order_vs_call_soon(loop):
    """Positional args reach timer callbacks; a 0-delay timer never precedes call_soon."""
    order = []
    loop.call_later(0, order.append, ("timer", 1))
    loop.call_soon(order.append, ("soon", 2))
    loop.call_later(0.01, loop.stop)
    _run_until_stopped(loop)
    assert order == [("soon", 2), ("timer", 1)]


def test_time_is_monotonic_float(loop):
    """loop.time() returns a float that never goes backwards."""
    samples = [loop.time() for _ in range(1000)]
    assert all(isinstance(s, float) for s in samples)
    assert samples == sorted(samples)


def test_call_later_on_closed_loop_raises(loop_factory):
    """call_later / call_at on a closed loop raise 'Event loop is closed'."""
    lp = loop_factory()
    lp.close()
    with pytest.raises(RuntimeError, match="^Event loop is closed$"):
        lp.call_later(1, lambda: None)
    with pytest.raises(RuntimeError, match="^Event loop is closed$"):
        lp.call_at(1, lambda: None)


def test_time_advances_within_a_callback(loop):
    """loop.time() is read fresh on each call, not cached per iteration."""
    seen = []

    def cb():
        t1 = loop.time()
        end = time.perf_counter() + 0.002
        while time.perf_counter() < end:
            pass
        seen.append(loop.time() - t1)
        loop.stop()

    loop.call_soon(cb)
    loop.run_forever()
    assert seen[0] >= 0.0019


def test_call_later_counts_from_the_call_not_the_iteration(loop):
    """A timer set late in a long callback still waits its full delay from that call."""
    seen = {}

    def long_callback():
        end = time.perf_counter() + 0.03
        while time.perf_counter() < end:
            pass
        seen["scheduled"] = time.monotonic()
        loop.call_later(0.02, fire)

    def fire():
        seen["fired"] = time.monotonic()
        loop.stop()

    loop.call_soon(long_callback)
    _run_until_stopped(loop)
    assert seen["fired"] - seen["scheduled"] >= 0.02

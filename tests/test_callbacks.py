"""call_soon: FIFO order, iteration boundaries, handles and their cancel()."""
import asyncio
import contextvars
import functools
import random
import socket
import sys
import types

import pytest


def test_call_soon_runs_callbacks_fifo(loop):
    """Callbacks queued with call_soon run in the order they were queued."""
    order = []
    for i in range(1000):
        loop.call_soon(order.append, i)
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert order == list(range(1000))


def test_call_soon_passes_positional_args(loop):
    """Extra positional arguments reach the callback unchanged."""
    got = []
    sentinel = object()
    loop.call_soon(lambda *a: got.append(a), 1, "two", sentinel)
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert got == [(1, "two", sentinel)]


def test_call_soon_rejects_unknown_keyword(loop):
    """Only context= is accepted as a keyword; others are a TypeError."""
    with pytest.raises(TypeError):
        loop.call_soon(print, foo=1)


def test_callback_scheduled_by_callback_runs_next_iteration(loop):
    """A callback queued while the ready queue runs waits for the next round.

    asyncio runs a snapshot of the ready queue per iteration: B, queued by A1
    while the snapshot [A1, A2] runs, goes after A2.
    """
    order = []

    def a1():
        order.append("a1")
        loop.call_soon(b)

    def b():
        order.append("b")
        loop.stop()

    loop.call_soon(a1)
    loop.call_soon(order.append, "a2")
    loop.run_forever()
    assert order == ["a1", "a2", "b"]


def _io_poll_order(loop):
    """Run A -> (writes, queues B) -> B -> (queues C) -> C with reader R; return the order."""
    rsock, wsock = socket.socketpair()
    rsock.setblocking(False)
    order = []

    def reader():
        order.append("R")
        rsock.recv(100)
        loop.remove_reader(rsock)

    def a():
        order.append("A")
        wsock.send(b"x")
        loop.call_soon(b)

    def b():
        order.append("B")
        loop.call_soon(c)

    def c():
        order.append("C")
        loop.stop()

    try:
        loop.add_reader(rsock, reader)
        loop.call_soon(a)
        loop.run_forever()
    finally:
        loop.remove_reader(rsock)
        rsock.close()
        wsock.close()
    return order


def test_io_is_polled_between_iterations(loop):
    """I/O that became ready during one iteration is served in the next one.

    A makes R's fd readable and queues B; B queues C. R must run before C.
    """
    order = _io_poll_order(loop)
    assert order.index("R") < order.index("C"), order


def test_io_callbacks_queue_behind_already_ready_callbacks(loop):
    """asyncio's exact order: callbacks queued before the poll run before I/O.

    asyncio appends the poll's ready I/O callbacks to the ready queue, after
    B (queued by A in the previous iteration): A, B, R, C.
    """
    assert _io_poll_order(loop) == ["A", "B", "R", "C"]


def test_call_soon_chain_does_not_starve_io(loop):
    """A callback that re-queues itself forever still lets I/O callbacks run."""
    rsock, wsock = socket.socketpair()
    rsock.setblocking(False)
    state = {"spins": 0, "read_at": None}

    def spin():
        state["spins"] += 1
        if state["spins"] > 10_000:  # I/O starved: give up, the assert says so
            loop.stop()
            return
        loop.call_soon(spin)

    def reader():
        state["read_at"] = state["spins"]
        rsock.recv(100)
        loop.stop()

    try:
        wsock.send(b"x")
        loop.add_reader(rsock, reader)
        loop.call_soon(spin)
        loop.run_forever()
    finally:
        loop.remove_reader(rsock)
        rsock.close()
        wsock.close()
    assert state["read_at"] is not None and state["read_at"] <= 2


def test_call_soon_chain_does_not_starve_timers(loop):
    """A due timer fires even while a call_soon chain keeps the queue busy."""
    state = {"spins": 0, "fired_at": None}

    def spin():
        state["spins"] += 1
        if state["spins"] > 5_000_000:
            loop.stop()
            return
        loop.call_soon(spin)

    def timer():
        state["fired_at"] = state["spins"]
        loop.stop()

    loop.call_later(0.01, timer)
    loop.call_soon(spin)
    loop.run_forever()
    assert state["fired_at"] is not None


def test_call_soon_returns_cancellable_handle(loop):
    """The handle has cancel()/cancelled(); a cancelled callback never runs."""
    ran = []
    h = loop.call_soon(ran.append, "cancelled")
    loop.call_soon(ran.append, "kept")
    assert h.cancelled() is False
    h.cancel()
    assert h.cancelled() is True
    h.cancel()  # cancelling twice is harmless
    assert h.cancelled() is True
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert ran == ["kept"]


def test_handle_cancel_from_earlier_callback_in_same_iteration(loop):
    """A callback can cancel one queued behind it in the same iteration."""
    ran = []
    handles = {}

    def first():
        ran.append("first")
        handles["second"].cancel()

    loop.call_soon(first)
    handles["second"] = loop.call_soon(ran.append, "second")
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert ran == ["first"]


def test_handle_cancel_after_run_marks_cancelled(loop):
    """cancel() on a handle that already ran is allowed and marks it cancelled."""
    h = loop.call_soon(lambda: None)
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert h.cancelled() is False
    h.cancel()
    assert h.cancelled() is True


def test_handle_cancel_is_available_inside_its_own_callback(loop):
    """A callback may cancel its own handle while running; nothing breaks."""
    box = {}
    ran = []

    def cb():
        ran.append(1)
        box["h"].cancel()
        loop.stop()

    box["h"] = loop.call_soon(cb)
    loop.run_forever()
    assert ran == [1]
    assert box["h"].cancelled() is True


@pytest.mark.skipif(sys.version_info < (3, 12), reason="Handle.get_context is new in 3.12")
def test_handle_get_context(loop):
    """get_context() returns the explicit context, or a copy of the current one."""
    var = contextvars.ContextVar("var")
    ctx = contextvars.copy_context()
    h1 = loop.call_soon(lambda: None, context=ctx)
    assert h1.get_context() is ctx

    var.set("outer")
    h2 = loop.call_soon(lambda: None)
    got = h2.get_context()
    assert isinstance(got, contextvars.Context)
    assert got[var] == "outer"
    var.set("later")  # a copy was taken: later changes do not show through
    assert got[var] == "outer"
    h1.cancel()
    h2.cancel()


def test_callbacks_see_running_loop(loop):
    """Inside a callback, get_running_loop() is this loop and is_running() is true."""
    seen = []

    def cb():
        seen.append(asyncio.get_running_loop())
        seen.append(loop.is_running())
        seen.append(asyncio.get_event_loop())
        loop.stop()

    loop.call_soon(cb)
    loop.run_forever()
    assert seen == [loop, True, loop]


def test_call_soon_on_closed_loop_raises(loop_factory):
    """call_soon on a closed loop raises RuntimeError('Event loop is closed')."""
    lp = loop_factory()
    lp.close()
    with pytest.raises(RuntimeError, match="^Event loop is closed$"):
        lp.call_soon(lambda: None)


def test_large_queue_growing_while_it_runs(loop):
    """50,000 queued callbacks each queue one more: both generations keep FIFO order."""
    n = 50_000
    order = []

    def cb(i):
        order.append(i)
        if i < n:
            loop.call_soon(cb, i + n)
        elif i == 2 * n - 1:
            loop.stop()

    for i in range(n):
        loop.call_soon(cb, i)
    loop.run_forever()
    assert order == list(range(2 * n))


def _random_program(seed, size=3000):
    """A seeded tree of scheduling actions: for each callback id, what it schedules.

    Only deterministic operations are used (call_soon, call_soon_threadsafe from
    the loop thread, call_at with distinct deadlines already in the past, cancel),
    so the order of execution is fully defined by asyncio's rules.
    """
    rng = random.Random(seed)
    actions = {}
    next_id = 1
    frontier = [0]
    while frontier and next_id < size:
        cid = frontier.pop(0)
        acts = []
        for _ in range(5 if cid == 0 else rng.choice([1, 1, 2, 3])):
            acts.append((rng.choice(["soon", "soon", "threadsafe", "at"]), next_id))
            frontier.append(next_id)
            next_id += 1
        if rng.random() < 0.2:  # cancel some earlier handle: pending, running or done
            acts.insert(rng.randrange(len(acts) + 1), ("cancel", rng.randrange(next_id)))
        actions[cid] = acts
    return actions


def _run_program(lp, actions):
    """Run a program from _random_program on lp; return the order callbacks ran in."""
    order = []
    handles = {}
    base = lp.time() - 1000.0  # every call_at deadline is in the past, all distinct
    counter = [0]

    def cb(cid):
        order.append(cid)
        for op, arg in actions.get(cid, ()):
            if op == "cancel":
                if arg in handles:
                    handles[arg].cancel()
                continue
            if op == "soon":
                handles[arg] = lp.call_soon(cb, arg)
            elif op == "threadsafe":
                handles[arg] = lp.call_soon_threadsafe(cb, arg)
            else:
                counter[0] += 1
                handles[arg] = lp.call_at(base + counter[0] * 1e-3, cb, arg)

    handles[0] = lp.call_soon(cb, 0)
    lp.call_later(0.1, lp.stop)  # ~3,000 callbacks take a few ms
    lp.run_forever()
    return order


@pytest.mark.parametrize("seed", range(5))
def test_scheduling_order_matches_asyncio(loop, seed):
    """A random mix of call_soon/threadsafe/past call_at/cancel runs in asyncio's exact order."""
    actions = _random_program(seed)
    reference = asyncio.SelectorEventLoop()
    try:
        expected = _run_program(reference, actions)
    finally:
        reference.close()
    assert len(expected) > 500
    assert _run_program(loop, actions) == expected


class _CallableObject:
    """An instance with __call__."""

    def __call__(self, out, value):
        out.append(value)


class _RecordOnInit:
    """A class used as a callback: constructing it records a value."""

    def __init__(self, out, value):
        out.append(value)


def _callable_kinds(out):
    """(name, callback, args, check) for every kind of callable asyncio accepts."""
    lst = [None]
    d = {}
    ns = types.SimpleNamespace()
    return [
        ("python function", lambda o, v: o.append(v), (out, 1), lambda: 1 in out),
        ("builtin function", setattr, (ns, "flag", 2), lambda: getattr(ns, "flag", None) == 2),
        ("bound builtin method", out.append, (3,), lambda: 3 in out),
        ("list.__setitem__ slot wrapper", lst.__setitem__, (0, 4), lambda: lst == [4]),
        ("dict.__setitem__ slot wrapper", d.__setitem__, ("k", 5), lambda: d == {"k": 5}),
        ("functools.partial", functools.partial(out.append), (6,), lambda: 6 in out),
        ("callable object", _CallableObject(), (out, 7), lambda: 7 in out),
        ("class", _RecordOnInit, (out, 8), lambda: 8 in out),
    ]


@pytest.mark.parametrize("how", ["call_soon", "call_later", "call_at", "call_soon_threadsafe"])
def test_every_kind_of_callable_runs(loop, how):
    """Builtins, slot wrappers (list.__setitem__), partials and callable objects all run."""
    out = []
    errors = []
    loop.set_exception_handler(lambda lp, ctx: errors.append(ctx["message"] + ": " + repr(ctx.get("exception"))))
    kinds = _callable_kinds(out)
    for _, cb, args, _ in kinds:
        if how == "call_soon":
            loop.call_soon(cb, *args)
        elif how == "call_later":
            loop.call_later(0, cb, *args)
        elif how == "call_at":
            loop.call_at(loop.time(), cb, *args)
        else:
            loop.call_soon_threadsafe(cb, *args)
    loop.call_later(0.01, loop.stop)
    loop.run_forever()
    assert errors == []
    assert [name for name, _, _, check in kinds if not check()] == []


def _sample_callback(a, b):
    """A named callback for repr checks."""


def test_handle_repr_matches_asyncio(loop):
    """repr() of handles and timer handles reads exactly as asyncio's, cancelled or not."""
    ref = asyncio.SelectorEventLoop()
    try:
        h = loop.call_soon(_sample_callback, 1, "x")
        assert repr(h) == repr(asyncio.Handle(_sample_callback, (1, "x"), ref))
        t = loop.call_at(12345.5, _sample_callback, 2, None)
        assert repr(t) == repr(asyncio.TimerHandle(12345.5, _sample_callback, (2, None), ref))
        h.cancel()
        t.cancel()
        ref_h = asyncio.Handle(_sample_callback, (1, "x"), ref)
        ref_h.cancel()
        assert repr(h) == repr(ref_h)
        ref_t = asyncio.TimerHandle(12345.5, _sample_callback, (2, None), ref)
        ref_t.cancel()
        assert repr(t) == repr(ref_t)
    finally:
        ref.close()

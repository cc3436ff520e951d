"""Reference cycles through handles are collected once the loop lets go of them.

tideloop hides queued handles (and their context copies) from the cyclic GC
while only its own queues hold them; these tests pin down that cycles through
handles that escaped to user code are still collected, exactly as on asyncio.
"""
import contextvars
import gc
import sys
import weakref

import pytest


class Holder:
    """An object that keeps the handle scheduled for it: a reference cycle."""


def _cycles(loop, schedule, count=50):
    refs = []
    for _ in range(count):
        obj = Holder()
        obj.handle = schedule(obj)
        refs.append(weakref.ref(obj))
    return refs


def _alive(refs):
    gc.collect()
    return sum(r() is not None for r in refs)


def test_cycles_through_run_handles_collect(loop):
    soon = _cycles(loop, lambda o: loop.call_soon(lambda o: None, o))
    later = _cycles(loop, lambda o: loop.call_later(0.001, lambda o: None, o))
    loop.call_later(0.02, loop.stop)
    loop.run_forever()
    assert _alive(soon) == 0
    assert _alive(later) == 0


def test_cycles_through_cancelled_timers_collect(loop):
    def schedule(o):
        h = loop.call_later(3600, lambda o: None, o)
        h.cancel()
        return h

    refs = _cycles(loop, schedule)
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert _alive(refs) == 0


def test_pending_timers_are_kept_then_released_by_close(loop):
    refs = _cycles(loop, lambda o: loop.call_later(3600, lambda o: None, o))
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert _alive(refs) == len(refs)  # still scheduled: alive
    loop.close()
    assert _alive(refs) == 0


@pytest.mark.skipif(sys.version_info < (3, 12), reason="Handle.get_context is new in 3.12")
def test_cycle_through_a_handle_context_collects(loop):
    var = contextvars.ContextVar("holder")
    refs = []

    def remember_handle_in_its_context(obj):
        var.set(obj)  # the handle's context now references obj, obj the handle

    for _ in range(50):
        obj = Holder()
        obj.handle = loop.call_soon(remember_handle_in_its_context, obj)
        obj.context = obj.handle.get_context()
        refs.append(weakref.ref(obj))
    del obj
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert _alive(refs) == 0


def test_exception_context_handles_collect(loop):
    seen = []
    loop.set_exception_handler(lambda lp, ctx: seen.append(ctx))

    def boom(o):
        raise ValueError("boom")

    refs = _cycles(loop, lambda o: loop.call_soon(boom, o))
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert len(seen) == len(refs)
    seen.clear()
    assert _alive(refs) == 0

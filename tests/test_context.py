"""contextvars: callbacks, timers, readers and tasks run in the right context."""
import asyncio
import contextvars
import socket
import sys
import threading

import pytest

var = contextvars.ContextVar("var", default="default")


def _run_callbacks(loop):
    """Run what is queued, plus one more iteration, then return."""
    loop.call_soon(loop.stop)
    loop.run_forever()


def test_call_soon_copies_current_context(loop):
    """A value set before call_soon is seen by the callback."""
    seen = []
    token = var.set("before")
    try:
        loop.call_soon(lambda: seen.append(var.get()))
    finally:
        var.reset(token)
    _run_callbacks(loop)
    assert seen == ["before"]


def test_context_is_copied_at_schedule_time(loop):
    """Changing the variable after call_soon does not affect the queued callback."""
    seen = []
    token = var.set("at-schedule")
    loop.call_soon(lambda: seen.append(var.get()))
    var.set("after-schedule")
    try:
        _run_callbacks(loop)
    finally:
        var.reset(token)
    assert seen == ["at-schedule"]


def test_explicit_context_is_used_and_mutated(loop):
    """context=ctx runs the callback in ctx; its changes land in ctx."""
    ctx = contextvars.copy_context()
    ctx.run(var.set, "in-ctx")
    seen = []

    def cb():
        seen.append(var.get())
        var.set("changed-by-callback")

    loop.call_soon(cb, context=ctx)
    _run_callbacks(loop)
    assert seen == ["in-ctx"]
    assert ctx[var] == "changed-by-callback"
    assert var.get() == "default"


def test_callback_changes_do_not_leak(loop):
    """A callback's set() is invisible to the caller and to later callbacks."""
    seen = []

    def writer():
        var.set("leaked?")

    loop.call_soon(writer)
    loop.call_soon(lambda: seen.append(var.get()))
    _run_callbacks(loop)
    assert seen == ["default"]
    assert var.get() == "default"


def test_shared_explicit_context_is_shared(loop):
    """Two callbacks given the same context see each other's changes, in order."""
    ctx = contextvars.copy_context()
    seen = []
    loop.call_soon(var.set, "first", context=ctx)
    loop.call_soon(lambda: seen.append(var.get()), context=ctx)
    _run_callbacks(loop)
    assert seen == ["first"]


def test_timers_carry_context(loop):
    """call_later and call_at copy the context, or use context=."""
    seen = []
    ctx = contextvars.copy_context()
    ctx.run(var.set, "explicit")
    token = var.set("implicit")
    try:
        loop.call_later(0.001, lambda: seen.append(("later", var.get())))
        loop.call_at(loop.time() + 0.002, lambda: seen.append(("at", var.get())))
        loop.call_later(0.003, lambda: seen.append(("ctx", var.get())), context=ctx)
    finally:
        var.reset(token)
    loop.call_later(0.02, loop.stop)
    loop.run_forever()
    assert seen == [("later", "implicit"), ("at", "implicit"), ("ctx", "explicit")]


def test_threadsafe_copies_the_calling_threads_context(loop):
    """call_soon_threadsafe captures the context of the thread that calls it."""
    seen = []

    def in_thread():
        var.set("thread-value")
        loop.call_soon_threadsafe(lambda: seen.append(var.get()))

    t = threading.Thread(target=in_thread)
    t.start()
    t.join()
    _run_callbacks(loop)
    assert seen == ["thread-value"]


def test_threadsafe_explicit_context(loop):
    """call_soon_threadsafe accepts context=."""
    ctx = contextvars.copy_context()
    ctx.run(var.set, "explicit")
    seen = []
    loop.call_soon_threadsafe(lambda: seen.append(var.get()), context=ctx)
    _run_callbacks(loop)
    assert seen == ["explicit"]


def test_reader_callback_runs_in_context_of_add_reader(loop):
    """add_reader copies the context current when it is called."""
    rsock, wsock = socket.socketpair()
    rsock.setblocking(False)
    seen = []

    def on_read():
        seen.append(var.get())
        rsock.recv(10)
        loop.remove_reader(rsock)
        loop.stop()

    token = var.set("reader-ctx")
    try:
        loop.add_reader(rsock, on_read)
    finally:
        var.reset(token)
    try:
        wsock.send(b"x")
        loop.call_later(5, loop.stop)
        loop.run_forever()
    finally:
        loop.remove_reader(rsock)
        rsock.close()
        wsock.close()
    assert seen == ["reader-ctx"]


def test_task_copies_context(loop):
    """A task starts in a copy of the creator's context; its changes stay inside."""

    async def child():
        before = var.get()
        var.set("set-in-child")
        return before

    async def parent():
        var.set("parent")
        got = await loop.create_task(child())
        return got, var.get()

    assert loop.run_until_complete(parent()) == ("parent", "parent")
    assert var.get() == "default"


def test_create_task_explicit_context(loop):
    """create_task(context=ctx) runs the task in ctx (3.11+)."""
    ctx = contextvars.copy_context()
    ctx.run(var.set, "explicit")

    async def child():
        seen = var.get()
        var.set("from-task")
        return seen

    async def main():
        return await loop.create_task(child(), context=ctx)

    assert loop.run_until_complete(main()) == "explicit"
    assert ctx[var] == "from-task"


def test_future_done_callback_context(loop):
    """add_done_callback copies the context of its caller; context= overrides it."""
    seen = []
    ctx = contextvars.copy_context()
    ctx.run(var.set, "explicit")

    async def main():
        fut = loop.create_future()
        var.set("adder")
        fut.add_done_callback(lambda f: seen.append(var.get()))
        fut.add_done_callback(lambda f: seen.append(var.get()), context=ctx)
        var.set("resolver")
        loop.call_soon(fut.set_result, None)
        await fut
        await asyncio.sleep(0)

    loop.run_until_complete(main())
    assert seen == ["adder", "explicit"]


def test_run_until_complete_copies_context_into_task(loop):
    """run_until_complete(coro) wraps it in a task with a copy of the context."""

    async def main():
        seen = var.get()
        var.set("inside")
        return seen

    token = var.set("outside")
    try:
        assert loop.run_until_complete(main()) == "outside"
        assert var.get() == "outside"
    finally:
        var.reset(token)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="handlers run in the failing handle's context since 3.12")
def test_exception_handler_runs_in_handle_context(loop):
    """A custom exception handler runs inside the failing callback's context."""
    ctx = contextvars.copy_context()
    ctx.run(var.set, "handle-ctx")
    seen = []
    loop.set_exception_handler(lambda lp, c: seen.append(var.get()))

    def boom():
        raise ValueError("boom")

    loop.call_soon(boom, context=ctx)
    _run_callbacks(loop)
    assert seen == ["handle-ctx"]


@pytest.mark.skipif(sys.version_info < (3, 12), reason="Task.get_context is new in 3.12")
def test_task_get_context(loop):
    """Task.get_context() is the context the task runs in."""
    ctx = contextvars.copy_context()

    async def main():
        t = loop.create_task(asyncio.sleep(0), context=ctx)
        assert t.get_context() is ctx
        await t

    loop.run_until_complete(main())

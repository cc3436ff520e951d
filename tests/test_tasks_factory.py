"""create_task / create_future and task factories (eager tasks on 3.12+)."""
import asyncio
import contextvars
import sys

import pytest


async def _value(x):
    """Return x without suspending."""
    return x


def test_create_task_returns_real_task(loop):
    """create_task makes an asyncio.Task of this loop, visible to all_tasks/current_task."""
    seen = {}

    async def body():
        seen["current"] = asyncio.current_task()
        seen["all"] = asyncio.all_tasks()
        return "done"

    async def main():
        t = loop.create_task(body(), name="worker")
        assert isinstance(t, asyncio.Task)
        assert t.get_loop() is loop
        assert t.get_name() == "worker"
        assert await t == "done"
        return t

    t = loop.run_until_complete(main())
    assert seen["current"] is t
    assert t in seen["all"]


def test_create_future_returns_real_future(loop):
    """create_future makes an asyncio.Future bound to this loop."""
    fut = loop.create_future()
    assert isinstance(fut, asyncio.Future)
    assert fut.get_loop() is loop
    loop.call_soon(fut.set_result, 5)
    assert loop.run_until_complete(fut) == 5


def test_get_set_task_factory(loop):
    """get_task_factory is None by default and returns what was set; None resets."""
    assert loop.get_task_factory() is None

    def factory(lp, coro, **kwargs):
        return asyncio.Task(coro, loop=lp, **kwargs)

    loop.set_task_factory(factory)
    assert loop.get_task_factory() is factory
    loop.set_task_factory(None)
    assert loop.get_task_factory() is None


def test_task_factory_is_used(loop):
    """create_task, ensure_future and run_until_complete all go through the factory."""
    calls = []

    class MyTask(asyncio.Task):
        pass

    def factory(lp, coro, **kwargs):
        calls.append((lp, kwargs))
        return MyTask(coro, loop=lp, **kwargs)

    loop.set_task_factory(factory)

    async def main():
        t1 = loop.create_task(_value(1))
        t2 = asyncio.ensure_future(_value(2))
        assert isinstance(t1, MyTask) and isinstance(t2, MyTask)
        return await t1 + await t2

    assert loop.run_until_complete(main()) == 3
    assert len(calls) == 3  # main itself, t1, t2
    assert all(lp is loop for lp, _ in calls)


def test_task_factory_name_and_context(loop):
    """name= is applied to the factory's task; context= is passed to the factory."""
    received = []

    def factory(lp, coro, **kwargs):
        received.append(kwargs)
        return asyncio.Task(coro, loop=lp, **kwargs)

    loop.set_task_factory(factory)
    ctx = contextvars.copy_context()

    async def main():
        t = loop.create_task(_value(1), name="named")
        assert t.get_name() == "named"
        t2 = loop.create_task(_value(2), context=ctx)
        return await t + await t2

    assert loop.run_until_complete(main()) == 3
    assert any(kw.get("context") is ctx for kw in received)


def test_plain_two_argument_factory(loop):
    """A factory taking only (loop, coro) works when no context is given."""

    def factory(lp, coro):
        return asyncio.Task(coro, loop=lp)

    loop.set_task_factory(factory)
    assert loop.run_until_complete(_value(7)) == 7


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager tasks are new in 3.12")
def test_eager_task_factory(loop):
    """With eager_task_factory a task runs its first step inside create_task."""
    loop.set_task_factory(asyncio.eager_task_factory)
    steps = []

    async def suspends():
        steps.append("first-step")
        await asyncio.sleep(0)
        steps.append("second-step")
        return "suspended"

    async def main():
        t1 = loop.create_task(_value("eager"))
        assert t1.done()  # finished without ever yielding to the loop
        t2 = loop.create_task(suspends())
        assert steps == ["first-step"]
        assert not t2.done()
        return t1.result(), await t2

    assert loop.run_until_complete(main()) == ("eager", "suspended")
    assert steps == ["first-step", "second-step"]


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager tasks are new in 3.12")
def test_create_eager_task_factory_with_task_class(loop):
    """create_eager_task_factory(custom Task class) makes eager tasks of that class."""

    class MyTask(asyncio.Task):
        pass

    loop.set_task_factory(asyncio.create_eager_task_factory(MyTask))

    async def main():
        t = loop.create_task(_value(3))
        assert isinstance(t, MyTask)
        assert t.done()
        return t.result()

    assert loop.run_until_complete(main()) == 3


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager tasks are new in 3.12")
def test_eager_tasks_in_gather_and_taskgroup(loop):
    """Eager tasks work through gather and TaskGroup."""
    loop.set_task_factory(asyncio.eager_task_factory)

    async def sleeper(x):
        await asyncio.sleep(0.001)
        return x

    async def main():
        got = await asyncio.gather(_value(1), sleeper(2))
        async with asyncio.TaskGroup() as tg:
            a = tg.create_task(_value(3))
            b = tg.create_task(sleeper(4))
        return got, a.result(), b.result()

    assert loop.run_until_complete(main()) == ([1, 2], 3, 4)


@pytest.mark.skipif(sys.version_info < (3, 14), reason="eager_start= per call is new in 3.14")
def test_create_task_eager_start_keyword(loop):
    """On 3.14 create_task(coro, eager_start=True) starts the task eagerly."""

    async def main():
        t = loop.create_task(_value(1), eager_start=True)
        assert t.done()
        return t.result()

    assert loop.run_until_complete(main()) == 1


def test_create_task_on_closed_loop(loop_factory):
    """create_task on a closed loop raises 'Event loop is closed'."""
    lp = loop_factory()
    lp.close()
    coro = _value(1)
    try:
        with pytest.raises(RuntimeError, match="^Event loop is closed$"):
            lp.create_task(coro)
    finally:
        coro.close()

"""tideloop's public API: run, new_event_loop, EventLoop, install/EventLoopPolicy, asyncio entry points."""
import asyncio
import sys

import pytest

tideloop = pytest.importorskip("tideloop")


async def _whoami():
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    return type(loop), task in asyncio.all_tasks(), loop.get_debug()


def test_run_returns_result_on_a_tideloop_loop():
    cls, task_seen, debug = tideloop.run(_whoami())
    assert cls is tideloop.EventLoop
    assert task_seen
    assert debug is False


def test_run_debug_flag():
    assert tideloop.run(_whoami(), debug=True)[2] is True


def test_run_propagates_exceptions():
    async def boom():
        raise KeyError("x")

    with pytest.raises(KeyError):
        tideloop.run(boom())


def test_run_refuses_running_loop():
    async def nested():
        coro = asyncio.sleep(0)
        try:
            with pytest.raises(RuntimeError, match="cannot be called from a running event loop"):
                tideloop.run(coro)
        finally:
            coro.close()
        return "ok"

    assert tideloop.run(nested()) == "ok"


def test_run_rejects_non_coroutine():
    with pytest.raises(ValueError, match="a coroutine was expected"):
        tideloop.run(42)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="asyncio.run(loop_factory=) is new in 3.12")
def test_asyncio_run_with_loop_factory():
    assert asyncio.run(_whoami(), loop_factory=tideloop.new_event_loop)[0] is tideloop.EventLoop


def test_asyncio_runner_with_loop_factory():
    with asyncio.Runner(loop_factory=tideloop.new_event_loop) as runner:
        assert runner.run(_whoami())[0] is tideloop.EventLoop
        assert isinstance(runner.get_loop(), tideloop.EventLoop)


def test_event_loop_is_an_asyncio_loop():
    loop = tideloop.new_event_loop()
    try:
        assert isinstance(loop, asyncio.AbstractEventLoop)
        assert isinstance(loop, tideloop.EventLoop)
        assert "EventLoop" in repr(loop)
    finally:
        loop.close()


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="policies are deprecated in 3.14")
def test_install_makes_asyncio_use_tideloop():
    old = asyncio.get_event_loop_policy()
    try:
        tideloop.install()
        assert isinstance(asyncio.get_event_loop_policy(), tideloop.EventLoopPolicy)
        loop = asyncio.new_event_loop()
        try:
            assert isinstance(loop, tideloop.EventLoop)
            asyncio.set_event_loop(loop)
            assert asyncio.get_event_loop() is loop
        finally:
            asyncio.set_event_loop(None)
            loop.close()
        assert asyncio.run(_whoami())[0] is tideloop.EventLoop
    finally:
        asyncio.set_event_loop_policy(old)


def test_unknown_attribute():
    with pytest.raises(AttributeError):
        tideloop.no_such_name


def test_statistics_count_work():
    loop = tideloop.new_event_loop()
    try:
        for _ in range(10):
            loop.call_soon(lambda: None)
        loop.call_later(0.001, loop.stop)
        loop.run_forever()
        stats = loop.statistics()
        assert stats["callbacks"] >= 11
        assert stats["timers_scheduled"] == 1 and stats["timers_fired"] == 1
        assert stats["iterations"] >= 1
        assert stats["backend"] == "epoll"
    finally:
        loop.close()



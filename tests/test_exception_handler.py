"""Exception handler API: default logging, custom handlers, propagation of exits."""
import asyncio
import gc
import logging
import socket
from asyncio import format_helpers

import pytest


def _asyncio_errors(caplog):
    """ERROR records logged by the 'asyncio' logger."""
    return [r for r in caplog.records if r.name == "asyncio" and r.levelno == logging.ERROR]


def _run_callbacks(loop):
    """Run what is queued, plus one more iteration, then return."""
    loop.call_soon(loop.stop)
    loop.run_forever()


def boom_callback():
    """A callback that always fails."""
    raise ValueError("boom")


def test_default_handler_logs_exception_in_callback(loop, caplog):
    """The default handler logs 'Exception in callback <name>...' with exc_info."""
    caplog.set_level(logging.ERROR, logger="asyncio")
    loop.call_soon(boom_callback)
    _run_callbacks(loop)
    records = _asyncio_errors(caplog)
    assert len(records) == 1
    msg = records[0].getMessage()
    assert msg.startswith("Exception in callback ")
    assert "boom_callback" in msg.splitlines()[0]
    assert records[0].exc_info is not None
    assert isinstance(records[0].exc_info[1], ValueError)
    assert str(records[0].exc_info[1]) == "boom"


def test_exception_in_timer_and_reader_callbacks_is_reported(loop):
    """Timer and reader callbacks that raise reach the handler with their handle."""
    contexts = []
    loop.set_exception_handler(lambda lp, ctx: contexts.append(ctx))
    rsock, wsock = socket.socketpair()
    rsock.setblocking(False)

    def bad_reader():
        loop.remove_reader(rsock)
        raise KeyError("reader")

    try:
        timer = loop.call_later(0.001, boom_callback)
        loop.add_reader(rsock, bad_reader)
        wsock.send(b"x")
        loop.call_later(0.05, loop.stop)
        loop.run_forever()
    finally:
        loop.remove_reader(rsock)
        rsock.close()
        wsock.close()
    excs = sorted(type(c["exception"]).__name__ for c in contexts)
    assert excs == ["KeyError", "ValueError"]
    for ctx in contexts:
        assert ctx["message"].startswith("Exception in callback ")
        assert "handle" in ctx
    timer_ctx = [c for c in contexts if isinstance(c["exception"], ValueError)][0]
    assert timer_ctx["handle"] is timer


def test_get_set_exception_handler(loop):
    """get_exception_handler is None by default and returns what was set."""
    assert loop.get_exception_handler() is None

    def handler(lp, ctx):
        pass

    loop.set_exception_handler(handler)
    assert loop.get_exception_handler() is handler
    loop.set_exception_handler(None)
    assert loop.get_exception_handler() is None


def test_set_exception_handler_rejects_non_callable(loop):
    """A non-callable handler is a TypeError with asyncio's message."""
    with pytest.raises(TypeError, match=r"^A callable object or None is expected, got 42$"):
        loop.set_exception_handler(42)
    assert loop.get_exception_handler() is None


def test_custom_handler_receives_loop_and_context(loop):
    """The handler is called as handler(loop, context) with message/exception/handle."""
    calls = []
    loop.set_exception_handler(lambda lp, ctx: calls.append((lp, ctx)))
    h = loop.call_soon(boom_callback)
    _run_callbacks(loop)
    assert len(calls) == 1
    lp, ctx = calls[0]
    assert lp is loop
    assert ctx["message"].startswith("Exception in callback ")
    assert isinstance(ctx["exception"], ValueError)
    assert ctx["handle"] is h


def test_handler_that_raises_is_logged(loop, caplog):
    """A raising handler: the default handler logs 'Unhandled error in exception handler'."""
    caplog.set_level(logging.ERROR, logger="asyncio")

    def bad_handler(lp, ctx):
        raise RuntimeError("handler failed")

    loop.set_exception_handler(bad_handler)
    loop.call_soon(boom_callback)
    loop.call_soon(loop.stop)
    loop.run_forever()
    records = _asyncio_errors(caplog)
    assert len(records) == 1
    msg = records[0].getMessage()
    assert msg.startswith("Unhandled error in exception handler")
    assert "context: {" in msg and "Exception in callback" in msg
    assert isinstance(records[0].exc_info[1], RuntimeError)


def test_call_exception_handler_custom_keys(loop, caplog):
    """call_exception_handler passes custom keys to the handler and to the log."""
    got = []
    loop.set_exception_handler(lambda lp, ctx: got.append(dict(ctx)))
    ctx = {"message": "custom problem", "my_key": "my value", "exception": OSError("x")}
    loop.call_exception_handler(ctx)
    assert got == [ctx]

    loop.set_exception_handler(None)
    caplog.set_level(logging.ERROR, logger="asyncio")
    loop.call_exception_handler({"message": "custom problem", "my_key": "my value"})
    records = _asyncio_errors(caplog)
    assert len(records) == 1
    assert records[0].getMessage() == "custom problem\nmy_key: 'my value'"
    assert not records[0].exc_info


def test_default_exception_handler_without_message(loop, caplog):
    """With no message, the default handler logs 'Unhandled exception in event loop'."""
    caplog.set_level(logging.ERROR, logger="asyncio")
    exc = ZeroDivisionError("z")
    loop.default_exception_handler({"exception": exc})
    records = _asyncio_errors(caplog)
    assert len(records) == 1
    assert records[0].getMessage() == "Unhandled exception in event loop"
    assert records[0].exc_info[1] is exc


def test_custom_handler_can_defer_to_default(loop, caplog):
    """A custom handler may call loop.default_exception_handler(context)."""
    caplog.set_level(logging.ERROR, logger="asyncio")
    loop.set_exception_handler(lambda lp, ctx: lp.default_exception_handler(ctx))
    loop.call_soon(boom_callback)
    _run_callbacks(loop)
    records = _asyncio_errors(caplog)
    assert len(records) == 1
    assert records[0].getMessage().startswith("Exception in callback ")


def test_exception_in_callback_does_not_stop_the_loop(loop):
    """After a failing callback the loop goes on with the next ones."""
    loop.set_exception_handler(lambda lp, ctx: None)
    ran = []
    loop.call_soon(boom_callback)
    loop.call_soon(ran.append, "same-iteration")
    loop.call_later(0.01, ran.append, "timer")
    loop.call_later(0.02, loop.stop)
    loop.run_forever()
    assert ran == ["same-iteration", "timer"]


def test_unretrieved_task_exception_reaches_handler(loop):
    """A failed task never awaited reports 'Task exception was never retrieved'."""
    contexts = []
    loop.set_exception_handler(lambda lp, ctx: contexts.append(ctx))

    async def fails():
        raise ValueError("lost")

    async def main():
        loop.create_task(fails())
        await asyncio.sleep(0.01)

    loop.run_until_complete(main())
    gc.collect()
    assert len(contexts) == 1
    assert contexts[0]["message"] == "Task exception was never retrieved"
    assert isinstance(contexts[0]["exception"], ValueError)
    assert isinstance(contexts[0]["future"], asyncio.Task)
    contexts.clear()


@pytest.mark.parametrize("exc_type", [SystemExit, KeyboardInterrupt])
def test_exit_from_callback_propagates_out_of_run_forever(loop, exc_type):
    """SystemExit/KeyboardInterrupt leave run_forever; the loop runs again afterwards."""
    handled = []
    loop.set_exception_handler(lambda lp, ctx: handled.append(ctx))
    ran = []

    def exit_cb():
        raise exc_type()

    loop.call_soon(exit_cb)
    loop.call_soon(ran.append, "queued-after")
    with pytest.raises(exc_type):
        loop.run_forever()
    assert not loop.is_running()
    assert handled == []  # never routed to the exception handler
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()

    # the loop is usable again, and the callback queued after the exit still runs
    _run_callbacks(loop)
    assert ran == ["queued-after"]
    assert loop.run_until_complete(asyncio.sleep(0, result="again")) == "again"


@pytest.mark.parametrize("exc_type", [SystemExit, KeyboardInterrupt])
def test_exit_from_callback_propagates_out_of_run_until_complete(loop, exc_type):
    """An exit raised by a callback while run_until_complete waits propagates out of it."""

    def exit_cb():
        raise exc_type()

    async def main():
        loop.call_soon(exit_cb)
        await asyncio.sleep(10)

    task = loop.create_task(main())
    with pytest.raises(exc_type):
        loop.run_until_complete(task)
    assert not loop.is_running()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        loop.run_until_complete(task)
    assert loop.run_until_complete(asyncio.sleep(0, result=5)) == 5


@pytest.mark.parametrize("exc_type", [SystemExit, KeyboardInterrupt])
def test_exit_from_coroutine_propagates(loop, exc_type):
    """A coroutine raising SystemExit/KeyboardInterrupt ends run_until_complete with it."""

    async def main():
        await asyncio.sleep(0)
        raise exc_type()

    with pytest.raises(exc_type):
        loop.run_until_complete(main())
    assert not loop.is_running()
    assert loop.run_until_complete(asyncio.sleep(0, result=1)) == 1


def test_exception_message_names_callback_and_source(loop):
    """The message is asyncio's exactly: 'Exception in callback name(args) at file:line'."""
    contexts = []
    loop.set_exception_handler(lambda lp, ctx: contexts.append(ctx))

    def failing(a, b):
        raise ValueError("x")

    loop.call_soon(failing, 1, "two")
    _run_callbacks(loop)
    # asyncio's own formatter is the reference (3.13 no longer shows the args)
    expected = "Exception in callback " + format_helpers._format_callback_source(failing, (1, "two"))
    code = failing.__code__
    assert expected.endswith(f") at {code.co_filename}:{code.co_firstlineno}")
    assert contexts[0]["message"] == expected


@pytest.mark.parametrize("exc_type", [SystemExit, KeyboardInterrupt])
def test_exit_raised_by_handler_propagates(loop, exc_type):
    """SystemExit/KeyboardInterrupt raised by the exception handler leave the loop."""

    def handler(lp, ctx):
        raise exc_type()

    loop.set_exception_handler(handler)
    loop.call_soon(boom_callback)
    with pytest.raises(exc_type):
        loop.run_forever()
    assert not loop.is_running()
    loop.set_exception_handler(None)
    assert loop.run_until_complete(asyncio.sleep(0, result=1)) == 1

"""``tideloop.run``: ``asyncio.run`` on a tideloop loop, on every supported Python."""
import asyncio
from asyncio import events

from ._loop import new_event_loop


def run(main, *, debug=None):
    """Run coroutine *main* on a new tideloop loop and return its result.

    Same contract as ``asyncio.run(main, debug=debug)``: it refuses to run
    inside a running loop, cancels what is left, shuts down async generators
    and the default executor, and turns SIGINT into cancelling *main*.
    """
    if events._get_running_loop() is not None:
        # asyncio.run's check and message, naming this function.
        raise RuntimeError("tideloop.run() cannot be called from a running event loop")
    # asyncio.Runner exists from 3.11 on and owns all of run()'s semantics
    # (SIGINT handling, cleanup order, error messages); reuse it.
    with asyncio.Runner(debug=debug, loop_factory=new_event_loop) as runner:
        return runner.run(main)

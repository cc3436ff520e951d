"""asyncio's (pre-3.14) policy hooks: ``install()`` and ``EventLoopPolicy``."""
import asyncio

from ._loop import new_event_loop


class EventLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """An event loop policy whose loops are tideloop loops.

    ``asyncio.set_event_loop_policy(tideloop.EventLoopPolicy())`` makes
    ``asyncio.new_event_loop()``, ``asyncio.run()`` and (in the main thread)
    ``asyncio.get_event_loop()`` use tideloop.
    """

    def _loop_factory(self):
        return new_event_loop()

    def new_event_loop(self):
        """Create a new tideloop loop."""
        return new_event_loop()


def install():
    """Make tideloop the loop of every asyncio entry point in this process."""
    asyncio.set_event_loop_policy(EventLoopPolicy())

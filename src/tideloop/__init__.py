"""tideloop: a compiled asyncio event loop.

Public names only.  The loop itself lives in the private compiled core
(``tideloop._core``); this package adds the thin Python layer around it.

    import asyncio, tideloop
    tideloop.run(main())                                   # like asyncio.run
    asyncio.run(main(), loop_factory=tideloop.new_event_loop)   # 3.12+
    with asyncio.Runner(loop_factory=tideloop.new_event_loop) as r: r.run(main())
"""
import sys as _sys

from ._loop import EventLoop, new_event_loop
from ._runner import run
from .timer import Timer, every

__version__ = "0.1.0"

__all__ = ("EventLoop", "new_event_loop", "run", "Timer", "every", "__version__")


def __getattr__(name):
    # asyncio deprecates its policy system in 3.14 (removal in 3.16); like
    # uvloop, serve install()/EventLoopPolicy lazily and warn there.
    if name in ("install", "EventLoopPolicy"):
        from . import _policy

        if _sys.version_info >= (3, 14):
            import warnings

            warnings.warn(
                f"tideloop.{name} is deprecated with asyncio's policy system; "
                "use tideloop.run() or asyncio.Runner(loop_factory=tideloop.new_event_loop)",
                DeprecationWarning,
                stacklevel=2,
            )
        return getattr(_policy, name)
    raise AttributeError(f"module 'tideloop' has no attribute {name!r}")

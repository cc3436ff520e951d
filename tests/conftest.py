"""Shared fixtures: every behaviour test runs on tideloop AND on asyncio's own loop.

A test takes ``loop`` (a fresh loop, closed afterwards) or ``loop_factory``
(a callable making new loops) and is collected twice, with ids ``[tideloop]``
and ``[asyncio]``.  A test that fails on ``[asyncio]`` tests the wrong thing.
"""
import asyncio
import gc
import signal

import pytest

# A test run started in the background by a non-interactive shell inherits
# SIGINT *ignored* (POSIX), and Python then installs no KeyboardInterrupt
# handler - in this process or in the child programs the Ctrl-C tests start.
# Restore the interactive default so those tests see what a user's program
# sees.  (A handled signal resets to SIG_DFL across exec; an ignored one
# would stay ignored in every child.)
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

try:
    import tideloop
except ImportError:  # the compiled core is not built: run asyncio's half only
    tideloop = None

FACTORIES = {
    "tideloop": (tideloop.new_event_loop if tideloop is not None else None),
    "asyncio": asyncio.SelectorEventLoop,
}


@pytest.fixture(params=list(FACTORIES))
def loop_factory(request):
    """A callable that makes a new loop of the kind under test."""
    factory = FACTORIES[request.param]
    if factory is None:
        pytest.skip("tideloop's compiled core is not built")
    return factory


@pytest.fixture
def loop_name(loop_factory):
    """'tideloop' or 'asyncio': which loop this run of the test uses."""
    return "asyncio" if loop_factory is asyncio.SelectorEventLoop else "tideloop"


@pytest.fixture
def loop(loop_factory):
    """A fresh loop, set as the current loop, closed after the test."""
    lp = loop_factory()
    asyncio.set_event_loop(lp)
    try:
        yield lp
    finally:
        asyncio.set_event_loop(None)
        if not lp.is_closed():
            if lp.is_running():  # a broken test; do not mask its failure
                lp.stop()
            else:
                lp.run_until_complete(lp.shutdown_asyncgens())
                lp.close()
        del lp
        gc.collect()

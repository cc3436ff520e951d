"""Put the loop under test behind every way CPython's test_asyncio makes a loop.

CPython's tests make loops through ``asyncio.new_event_loop()``, ``asyncio.run``,
``asyncio.Runner`` and ``IsolatedAsyncioTestCase`` (all of which go through the
event loop policy), or by naming a loop class (``create_event_loop`` in the
per-selector test classes, a mocked ``asyncio.BaseEventLoop()`` as a stand-in
loop).  The first group is served here by a policy; the second by retarget.py.

Every loop made for a test goes through :func:`new_loop`, which counts them, so
the runner can tell tests that ran on the loop under test from tests that only
exercise asyncio's own base loop (``test_utils.TestLoop``, mocked
``BaseEventLoop``) and never touch ours.
"""
import asyncio
import asyncio.events
import threading

LOOP_NAMES = ("tideloop", "asyncio")

_factory = None          # the callable making loops of the kind under test
_loop_name = None
_created = 0             # loops made by new_loop(), for per-test accounting
_created_lock = threading.Lock()
_original_default_policy = asyncio.DefaultEventLoopPolicy


def loop_factory(name):
    """Return the loop class/factory called *name* ('tideloop' or 'asyncio')."""
    if name == "tideloop":
        import tideloop  # ImportError here means the core is not built

        return tideloop.new_event_loop
    if name == "asyncio":
        return asyncio.SelectorEventLoop
    raise ValueError(f"unknown loop {name!r}; choose from {LOOP_NAMES}")


def new_loop():
    """Make a new loop of the kind under test (and count it)."""
    global _created
    loop = _factory()
    with _created_lock:
        _created += 1
    return loop


def loops_created():
    """How many loops of the kind under test were made so far."""
    return _created


_test_loops = 0          # asyncio TestLoops (fake clock) made by tests


def note_test_loop():
    """Record that a test made asyncio's fake-clock ``test_utils.TestLoop``."""
    global _test_loops
    _test_loops += 1


def test_loops_created():
    """How many fake-clock TestLoops tests made so far."""
    return _test_loops


def loop_name():
    """'tideloop' or 'asyncio': the loop under test."""
    return _loop_name


class HarnessPolicy(_original_default_policy):
    """asyncio's default policy, except that new loops are the loop under test.

    It subclasses the platform default (child watchers and all), so tests that
    inspect or subclass ``asyncio.DefaultEventLoopPolicy`` see the same API.
    """

    def new_event_loop(self):
        """Make a loop of the kind under test."""
        return new_loop()


def install(name):
    """Make every policy-made loop in this process a *name* loop.

    test_asyncio's modules reset the policy in tearDownModule
    (``set_event_loop_policy(None)``) and some tests install their own; asyncio
    re-creates the default from ``asyncio.DefaultEventLoopPolicy`` whenever the
    policy is None, so replacing that name keeps our policy in force for good.
    """
    global _factory, _loop_name
    _factory = loop_factory(name)
    _loop_name = name
    asyncio.DefaultEventLoopPolicy = HarnessPolicy
    asyncio.set_event_loop_policy(None)
    _patch_test_utils()


def _patch_test_utils():
    """Make test_utils.TestCase's loop cleanup work for a loop that is not asyncio's.

    ``TestCase.close_loop`` reads ``loop._default_executor`` (a BaseEventLoop
    attribute) to decide whether to shut the executor down.  That is cleanup,
    not an assertion: for a loop without that attribute do the same through
    the public API (tideloop has it, so it gets the original cleanup).
    """
    from asyncio import base_events
    from test.test_asyncio import utils as test_utils

    original = test_utils.TestCase.__dict__["close_loop"].__func__
    if getattr(original, "_harness", False):
        return

    def close_loop(loop):
        if isinstance(loop, base_events.BaseEventLoop) or hasattr(loop, "_default_executor"):
            return original(loop)
        if not loop.is_closed():
            loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()

    close_loop._harness = True
    test_utils.TestCase.close_loop = staticmethod(close_loop)

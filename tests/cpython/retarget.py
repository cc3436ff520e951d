"""Point the test classes that name a loop class at the loop under test.

Some test_asyncio classes do not ask the policy for a loop; they build one:

- test_events / test_sock_lowlevel end with one class per selector
  (``EPollEventLoopTests``, ``PollEventLoopTests``, ``SelectEventLoopTests`` ...)
  whose ``create_event_loop`` returns ``asyncio.SelectorEventLoop(<selector>)``.
  Those tests are about the loop, so they are replaced by ONE class,
  ``LoopUnderTest``, built from the same mixins the way test_events.py builds
  its own, with ``create_event_loop`` returning the loop under test.
- test_sendfile's per-selector classes likewise become ``LoopUnderTest``;
  test_server, test_buffered_proto and test_sslproto's Selector* functional
  classes get ``new_loop()`` returning the loop under test.
- test_base_events.BaseEventLoopWithSelectorTests builds
  ``asyncio.SelectorEventLoop()`` in setUp: replaced the same way.
- ``test_utils.TestCase.new_test_loop()`` called without a fake-time script
  (most of test_tasks and test_futures) gets the loop under test; with a
  script it keeps asyncio's fake-clock TestLoop (as do test_tasks' gather
  tests, which step the loop by reading ``loop._ready``).
- test_pep492.BaseTest and test_runners.BaseTest use a mocked
  ``asyncio.BaseEventLoop()`` merely as "some loop" for coroutine and Runner
  tests: they get the loop under test instead (the runner tests keep their
  check that asyncio.run/Runner called ``shutdown_asyncgens`` and closed it).

The same retargeting is applied for ``--loop asyncio`` (the loop under test is
then ``asyncio.SelectorEventLoop``), so both runs execute the same test ids.
Tests of asyncio's own base loop on purpose (scripted-time ``TestLoop``,
``BaseEventLoopTests``, ``HandleTests``, ...) are left alone: they run unchanged
and never touch the loop under test (the runner reports them separately).
"""
import harness

# Per-selector classes that exist only to run a mixin on asyncio's loop with
# each selector; replaced by LoopUnderTest.
_SELECTOR_CLASSES = (
    "KqueueEventLoopTests",
    "EPollEventLoopTests",
    "PollEventLoopTests",
    "SelectEventLoopTests",
    "ProactorEventLoopTests",
)


def _drop(module, names):
    for name in names:
        if hasattr(module, name):
            delattr(module, name)


def _create_event_loop(self):
    return harness.new_loop()


def _test_events(module):
    from test.test_asyncio import utils as test_utils

    _drop(module, _SELECTOR_CLASSES)
    # EventLoopTestsMixin is the loop's behaviour; SubprocessTestsMixin the
    # subprocess part (skipped as a later issue in skips.py).  The upstream
    # UnixEventLoopTestsMixin only adds a SafeChildWatcher for subprocesses.
    module.LoopUnderTest = type(
        "LoopUnderTest",
        (module.EventLoopTestsMixin, module.SubprocessTestsMixin, test_utils.TestCase),
        {"create_event_loop": _create_event_loop, "__module__": module.__name__},
    )


def _test_sock_lowlevel(module):
    from test.test_asyncio import utils as test_utils

    _drop(module, _SELECTOR_CLASSES)
    module.LoopUnderTest = type(
        "LoopUnderTest",
        (module.BaseSockTestsMixin, test_utils.TestCase),
        {"create_event_loop": _create_event_loop, "__module__": module.__name__},
    )


def _test_base_events(module):
    original = module.BaseEventLoopWithSelectorTests

    def setUp(self):
        # Same as the original setUp, with our loop for asyncio.SelectorEventLoop().
        super(original, self).setUp()
        self.loop = harness.new_loop()
        self.set_event_loop(self.loop)

    _drop(module, ["BaseEventLoopWithSelectorTests"])
    module.LoopUnderTest = type(
        "LoopUnderTest",
        (original,),
        {"setUp": setUp, "__module__": module.__name__},
    )


def _test_sendfile(module):
    from test.test_asyncio import utils as test_utils

    _drop(module, _SELECTOR_CLASSES)
    module.LoopUnderTest = type(
        "LoopUnderTest",
        (module.SendfileTestsBase, test_utils.TestCase),
        {"create_event_loop": _create_event_loop, "__module__": module.__name__},
    )


def _new_loop_method(class_name, drop=()):
    # Functional test classes (func_tests.FunctionalTestCaseMixin) whose
    # new_loop() returns asyncio.SelectorEventLoop(): the loop under test instead.
    def fix(module):
        _drop(module, drop)
        getattr(module, class_name).new_loop = lambda self: harness.new_loop()
    return fix


def _test_tasks(module):
    # GatherTestsBase drives its loops with ``while loop._ready: run_briefly()``
    # (a BaseEventLoop attribute): its classes keep asyncio's TestLoop.
    def new_test_loop(self, gen=None):
        harness.note_test_loop()
        return _ORIGINAL_NEW_TEST_LOOP(self, gen)

    module.GatherTestsBase.new_test_loop = new_test_loop


def _test_pep492(module):
    base = module.BaseTest

    def setUp(self):
        super(base, self).setUp()
        self.loop = harness.new_loop()
        self.set_event_loop(self.loop)

    base.setUp = setUp


class _ShutdownTracker:
    """Record that asyncio.run/Runner called ``loop.shutdown_asyncgens()``.

    test_runners' mocked loop sets ``loop.shutdown_ag_run`` from a replaced
    ``shutdown_asyncgens`` and its tearDown asserts it.  Our loop keeps its
    own method: the wrapper calls it, then records the call.
    """

    def __init__(self, loop):
        self._shutdown = loop.shutdown_asyncgens
        self.loop = loop

    async def __call__(self):
        await self._shutdown()
        self.loop.shutdown_ag_run = True


def _test_runners(module):
    def new_loop(self):
        loop = harness.new_loop()
        loop.shutdown_ag_run = False
        loop.shutdown_asyncgens = _ShutdownTracker(loop)
        return loop

    module.BaseTest.new_loop = new_loop


def _test_unix_events(module):
    # The pipe transport tests drive asyncio's _UnixReadPipeTransport /
    # _UnixWritePipeTransport with a mocked os module and check the fake
    # loop's ``readers``/``writers``/``assert_reader``: test_utils.TestLoop
    # internals, and test asyncio's own classes, not tideloop's compiled
    # pipe transports.  They keep the TestLoop; tests/test_pipes.py checks
    # tideloop's transports against asyncio's on real pipes, and
    # test_events' pipe and pty tests run them on the real loop.
    def new_test_loop(self, gen=None):
        harness.note_test_loop()
        return _ORIGINAL_NEW_TEST_LOOP(self, gen)

    for name in ("UnixReadPipeTransportTests", "UnixWritePipeTransportTests"):
        getattr(module, name).new_test_loop = new_test_loop

    # The Unix socket tests build asyncio.SelectorEventLoop() in setUp (issue 3).
    unix_sock = module.SelectorEventLoopUnixSocketTests

    def setUp(self):
        super(unix_sock, self).setUp()
        self.loop = harness.new_loop()
        self.set_event_loop(self.loop)

    unix_sock.setUp = setUp


_RETARGETS = {
    "test_unix_events": _test_unix_events,
    "test_tasks": _test_tasks,
    "test_events": _test_events,
    "test_sock_lowlevel": _test_sock_lowlevel,
    "test_base_events": _test_base_events,
    "test_pep492": _test_pep492,
    "test_runners": _test_runners,
    "test_sendfile": _test_sendfile,
    "test_server": _new_loop_method("SelectorStartServerTests", ["ProactorStartServerTests"]),
    "test_buffered_proto": _new_loop_method(
        "BufferedProtocolSelectorTests", ["BufferedProtocolProactorTests"]),
    "test_sslproto": _new_loop_method("SelectorStartTLSTests", ["ProactorStartTLSTests"]),
}


_ORIGINAL_NEW_TEST_LOOP = None


def _patch_new_test_loop():
    """``TestCase.new_test_loop()`` without a time script -> the loop under test.

    ``new_test_loop(gen)`` makes a ``test_utils.TestLoop``, asyncio's base loop
    with a scripted fake clock.  With a *gen* the test scripts virtual time
    (asserting exact ``loop.time()`` values), so it keeps the TestLoop.  Without
    one the clock never moves and the TestLoop is only "a loop": those tests
    (most of test_tasks and test_futures) pass unchanged on a real loop, so they
    run on the loop under test.
    """
    from test.test_asyncio import utils as test_utils

    global _ORIGINAL_NEW_TEST_LOOP
    original = test_utils.TestCase.new_test_loop
    if getattr(original, "_harness", False):
        return
    _ORIGINAL_NEW_TEST_LOOP = original

    def new_test_loop(self, gen=None):
        if gen is not None:
            harness.note_test_loop()
            return original(self, gen)
        loop = harness.new_loop()
        self.set_event_loop(loop)
        return loop

    new_test_loop._harness = True
    test_utils.TestCase.new_test_loop = new_test_loop


def retarget(module):
    """Apply the retargeting for *module* (a test.test_asyncio.test_* module)."""
    _patch_new_test_loop()
    short = module.__name__.rpartition(".")[2]
    fix = _RETARGETS.get(short)
    if fix is not None and not getattr(module, "_harness_retargeted", False):
        fix(module)
        module._harness_retargeted = True


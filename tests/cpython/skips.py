"""The one list of CPython test_asyncio tests the harness skips, each with its reason.

Keys are ``"module.Class.test_name"`` (the unittest id without the
``test.test_asyncio.`` prefix); ``*`` and ``?`` match as in fnmatch, so
``"test_tasks.*.test_x"`` covers every Task/Future variant class.  A value is
the one-line reason, or a dict ``{"3.12": reason, ...}`` when the skip applies
to some Python versions only, or None to run a test a pattern would skip (an
exact key wins over patterns).

Every reason starts with its category (the runner tallies them):

- ``private:`` the test reads, sets or mocks asyncio-private internals of
  asyncio's own loop classes (``loop._ready``, ``_selector``, ``_run_once``,
  ``_csock``, ``asyncio.base_events.socket`` mocks ...), which a compiled loop
  does not have.  These pass on asyncio's loop and say nothing about ours.
- ``later issue: <area>`` the behaviour belongs to a later tideloop issue
  (transports, TLS, pipes, subprocess).  Remove the entry when the
  issue lands.

A tideloop failure that is a real behaviour difference never goes here: it is
reported (docs/CPYTHON_TESTS.md) and fixed in the loop.
"""

PIPES = "later issue: pipes"
SUBPROCESS = "later issue: subprocess"

SKIPS = {
    # ------------------------------------------------------------------ test_tasks
    "test_tasks.*.test_log_destroyed_pending_task":
        "private: steps the loop with loop._run_once() and reads loop._ready",

    # ------------------------------------------------------------------ test_events
    # EventLoopTestsMixin / SubprocessTestsMixin, run as test_events.LoopUnderTest
    "test_events.LoopUnderTest.test_timeout_rounding":
        "private: replaces loop._run_once and reads _clock_resolution/_selector",
    "test_events.LoopUnderTest.test_prompt_cancellation":
        "private: ends by calling loop._stop_serving() (a proactor/selector helper)",
    # The Py variant swaps asyncio.events' C running-loop accessors for their
    # pure-Python twins (events._py__set_running_loop ...); tideloop sets the
    # running loop through the C accessor directly (CONTRACT.md 1b), as the
    # TestCGetEventLoop variant checks (and passes).
    "test_events.TestPyGetEventLoop.test_get_event_loop_returns_running_loop":
        "private: swaps asyncio.events._set_running_loop for events._py__set_running_loop",
    "test_events.TestPyGetEventLoop.test_get_event_loop_returns_running_loop2":
        "private: swaps asyncio.events._set_running_loop for events._py__set_running_loop",

    # ------------------------------------------------------------------ test_subprocess
    # tideloop watches its own children (pidfd in the poller, waitpid thread
    # as fallback) and never consults asyncio's deprecated child watchers.
    "test_subprocess.SubprocessFastWatcherTests.*":
        "private: installs asyncio's FastChildWatcher, whose SIGCHLD handler reaps every "
        "child with waitpid(-1), tideloop's too (tideloop uses no asyncio child watcher)",
    "test_subprocess.GenericWatcherTests.test_create_subprocess_fails_with_inactive_watcher":
        "private: sets a mocked asyncio child watcher and expects its is_active() check "
        "(tideloop uses no asyncio child watcher)",
    # 3.12's policy.get_event_loop() still makes a loop in the main thread
    # unless set_event_loop() was called on that policy before: the test leans
    # on earlier tests' state and fails on asyncio's loop here too.
    "test_subprocess.GenericWatcherTests.test_create_subprocess_with_pidfd": {
        "3.12": "private: needs policy state (set_event_loop called) left by earlier tests; "
                "fails on asyncio's loop under the harness as well",
    },

    # ------------------------------------------------------------------ test_unix_events
    "test_unix_events.SelectorEventLoopUnixSockSendfileTests.test_sock_sendfile_blocking_error":
        "private: reads loop._selector",
    "test_unix_events.SelectorEventLoopUnixSockSendfileTests.test_sock_sendfile_cancel1":
        "private: reads loop._selector",
    "test_unix_events.SelectorEventLoopUnixSockSendfileTests.test_sock_sendfile_cancel2":
        "private: reads loop._selector",
    "test_unix_events.SelectorEventLoopUnixSockSendfileTests.test_sock_sendfile_exception":
        "private: reads loop._selector",
    "test_unix_events.SelectorEventLoopUnixSockSendfileTests.test_sock_sendfile_os_error_first_call":
        "private: reads loop._selector",
    "test_unix_events.SelectorEventLoopUnixSockSendfileTests.test_sock_sendfile_os_error_next_call":
        "private: reads loop._selector",

    # ------------------------------------------------------------------ test_sock_lowlevel

    # ------------------------------------------------------------------ test_base_events
    # BaseEventLoopWithSelectorTests, run as test_base_events.LoopUnderTest
    "test_base_events.LoopUnderTest.test_accept_connection_*":
        "private: calls loop._accept_connection (BaseSelectorEventLoop's accept helper)",
    "test_base_events.LoopUnderTest.test_create_connection_ssl_server_hostname_default":
        "private: mocks loop._make_ssl_transport",
    "test_base_events.LoopUnderTest.test_log_slow_callbacks":
        "private: observes the warning through a mock of asyncio.base_events.logger "
        "(tideloop logs the same message to the 'asyncio' logger)",
    # Despite its name, a sock_connect test (core): run it.
    "test_base_events.LoopUnderTest.test_create_connection_bluetooth": None,
}

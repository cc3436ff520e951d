"""The one list of CPython test_asyncio tests the harness skips, each with its reason.

Keys are ``"module.Class.test_name"`` (the unittest id without the
``test.test_asyncio.`` prefix); ``*`` and ``?`` match as in fnmatch, so
``"test_tasks.*.test_x"`` covers every Task/Future variant class.  A value is
the one-line reason, or a dict ``{"3.12": reason, ...}`` when the skip applies
to some Python versions only.

Every reason starts with its category (the runner tallies them):

- ``private:`` the test reads, sets or mocks asyncio-private internals of
  asyncio's own loop classes (``loop._ready``, ``_selector``, ``_run_once``,
  ``_csock``, ``asyncio.base_events.socket`` mocks ...), which a compiled loop
  does not have.  These pass on asyncio's loop and say nothing about ours.
- ``later issue: <area>`` the behaviour belongs to a later tideloop issue
  (transports, TLS, pipes, subprocess, signals).  Remove the entry when the
  issue lands.

A tideloop failure that is a real behaviour difference never goes here: it is
reported (docs/CPYTHON_TESTS.md) and fixed in the loop.
"""

TRANSPORTS = "later issue: transports"
TLS = "later issue: TLS"
PIPES = "later issue: pipes"
SUBPROCESS = "later issue: subprocess"
SIGNALS = "later issue: signals"

SKIPS = {
    # ------------------------------------------------------------------ test_events
    # EventLoopTestsMixin (run on the loop under test as test_events.LoopUnderTest)
    "test_events.LoopUnderTest.test_internal_fds":
        "private: reads BaseSelectorEventLoop._internal_fds/_csock/_ssock",
    "test_events.LoopUnderTest.test_timeout_rounding":
        "private: replaces loop._run_once and reads _clock_resolution/_selector",
    "test_events.LoopUnderTest.test_add_signal_handler": SIGNALS,
    "test_events.LoopUnderTest.test_signal_handling_while_selecting": SIGNALS,
    "test_events.LoopUnderTest.test_signal_handling_args": SIGNALS,
    "test_events.LoopUnderTest.test_create_*": TRANSPORTS,
    "test_events.LoopUnderTest.test_connect_accepted_socket": TRANSPORTS,
    "test_events.LoopUnderTest.test_ssl_connect_accepted_socket": TLS,
    "test_events.LoopUnderTest.test_connect_accepted_socket_ssl_timeout_for_plain_socket": TLS,
    "test_events.LoopUnderTest.test_server_close": TRANSPORTS,
    "test_events.LoopUnderTest.test_read_pipe": PIPES,
    "test_events.LoopUnderTest.test_unclosed_pipe_transport": PIPES,
    "test_events.LoopUnderTest.test_read_pty_output": PIPES,
    "test_events.LoopUnderTest.test_write_pipe": PIPES,
    "test_events.LoopUnderTest.test_write_pipe_disconnect_on_close": PIPES,
    "test_events.LoopUnderTest.test_write_pty": PIPES,
    "test_events.LoopUnderTest.test_bidirectional_pty": PIPES,
    "test_events.LoopUnderTest.test_subprocess_*": SUBPROCESS,
}

"""tideloop.EventLoop: the compiled core plus asyncio's own cold paths.

The hot paths (scheduling, timers, polling, running callbacks) are compiled
in tideloop._core.  Methods that asyncio implements purely on top of a
loop's public and documented-private surface are *borrowed* from asyncio's
own classes for the running Python version (below, one explicit list).
That way their behaviour, messages and per-version differences (e.g.
shutdown_default_executor's timeout, added in 3.12) are asyncio's exactly.
Each borrowed name is a deliberate choice; docs/ARCHITECTURE.md explains it.
"""
import asyncio
import errno
import inspect
import signal
import sys
import weakref
from asyncio import base_events, coroutines, selector_events, unix_events

from . import _net
from ._core import Handle
from ._core import Loop as _CoreLoop
from ._unix import UnixMixin

__all__ = ("EventLoop", "new_event_loop")


class EventLoop(UnixMixin, _CoreLoop, asyncio.AbstractEventLoop):
    """tideloop's asyncio event loop.  Create with tideloop.new_event_loop()."""

    def __init__(self):
        self._exception_handler = None
        self._default_executor = None
        self._executor_shutdown_called = False
        self._asyncgens = weakref.WeakSet()
        self._asyncgens_shutdown_called = False
        self._coroutine_origin_tracking_enabled = False
        self._coroutine_origin_tracking_saved_depth = None
        self._transports = weakref.WeakValueDictionary()
        self._unix_server_sockets = {}   # 3.13's create_unix_server unlinks these
        self.set_debug(coroutines._is_debug_mode())

    # -- signals -------------------------------------------------------
    # asyncio's contract (unix_events.add_signal_handler), with one change of
    # mechanism: the Python-level handler queues the callback itself instead
    # of a no-op handler plus reading signal numbers from the wakeup socket.
    # It runs in the main thread at a safe point, where pushing to the ready
    # queue is safe; the wakeup fd still interrupts a blocking poll.

    def add_signal_handler(self, sig, callback, *args):
        """Run callback(*args) in the loop whenever signal *sig* arrives."""
        if coroutines.iscoroutine(callback) or coroutines.iscoroutinefunction(callback):
            raise TypeError("coroutines cannot be used with add_signal_handler()")
        self._check_signal(sig)
        self._check_closed()
        try:
            # Raises ValueError outside the main thread: a loop running in
            # another thread cannot add signal handlers.
            signal.set_wakeup_fd(self._signal_wakeup_fd(), warn_on_full_buffer=False)
        except (ValueError, OSError) as exc:
            raise RuntimeError(str(exc))
        handle = Handle(callback, args, self, None)
        self._signal_handlers[sig] = handle
        try:
            signal.signal(sig, self._deliver_signal)
            # Restart interrupted system calls in other threads' code.
            signal.siginterrupt(sig, False)
        except OSError as exc:
            del self._signal_handlers[sig]
            if not self._signal_handlers and not self.is_running():
                try:
                    signal.set_wakeup_fd(-1)
                except (ValueError, OSError) as nexc:
                    base_events.logger.info("set_wakeup_fd(-1) failed: %s", nexc)
            if exc.errno == errno.EINVAL:
                raise RuntimeError(f"sig {sig:d} cannot be caught")
            raise

    def _deliver_signal(self, signum, frame):
        handle = self._signal_handlers.get(signum)
        if handle is None:
            return
        if handle._cancelled:
            self.remove_signal_handler(signum)
        else:
            self._add_callback_signalsafe(handle)

    def remove_signal_handler(self, sig):
        """Remove the handler for *sig*; True if there was one."""
        self._check_signal(sig)
        try:
            del self._signal_handlers[sig]
        except KeyError:
            return False
        handler = signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL
        try:
            signal.signal(sig, handler)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                raise RuntimeError(f"sig {sig:d} cannot be caught")
            raise
        if not self._signal_handlers and not self.is_running():
            try:
                signal.set_wakeup_fd(-1)
            except (ValueError, OSError) as exc:
                base_events.logger.info("set_wakeup_fd(-1) failed: %s", exc)
        return True

    def __repr__(self):
        return (
            f"<{self.__class__.__name__} running={self.is_running()} "
            f"closed={self.is_closed()} debug={self.get_debug()}>"
        )


def _borrow(source, names):
    for name in names:
        # getattr_static keeps staticmethod/classmethod wrappers intact.
        setattr(EventLoop, name, inspect.getattr_static(source, name))


# Generic loop logic from asyncio.BaseEventLoop.
_borrow(base_events.BaseEventLoop, [
    "__del__",
    "run_until_complete",
    "set_debug",
    "_set_coroutine_origin_tracking",
    # exception handler
    "get_exception_handler", "set_exception_handler",
    "default_exception_handler", "call_exception_handler",
    # executor
    "run_in_executor", "set_default_executor", "shutdown_default_executor",
    "_do_shutdown", "_check_default_executor",
    # async generators
    "shutdown_asyncgens", "_asyncgen_finalizer_hook", "_asyncgen_firstiter_hook",
    # DNS
    "getaddrinfo", "getnameinfo", "_getaddrinfo_debug", "_ensure_resolved",
    # sock_sendfile's generic part (the native part is selector_events')
    "sock_sendfile", "_sock_sendfile_fallback", "_check_sendfile_params",
])

# The sock_* coroutines from asyncio's selector loop: they only use
# _add_reader/_remove_reader/_add_writer/_remove_writer, which the core
# provides with the same contract.
_borrow(selector_events.BaseSelectorEventLoop, [
    "_ensure_fd_no_transport",
    "sock_recv", "_sock_recv", "_sock_read_done",
    "sock_recv_into", "_sock_recv_into",
    "sock_recvfrom", "_sock_recvfrom",
    "sock_recvfrom_into", "_sock_recvfrom_into",
    "sock_sendall", "_sock_sendall", "_sock_write_done",
    "sock_sendto", "_sock_sendto",
    "sock_connect", "_sock_connect", "_sock_connect_cb",
    "sock_accept", "_sock_accept",
])

# Zero-copy os.sendfile for sock_sendfile lives in asyncio's Unix loop.
_borrow(unix_events._UnixSelectorEventLoop, [
    "_check_signal",
    "_sock_sendfile_native", "_sock_sendfile_native_impl",
    "_sock_sendfile_update_filepos", "_sock_add_cancellation_callback",
])


# Connections, servers, TLS, UDP, sendfile: tideloop/_net.py.
_net.install(EventLoop)


def new_event_loop():
    """Create a new tideloop event loop (a drop-in asyncio loop)."""
    return EventLoop()

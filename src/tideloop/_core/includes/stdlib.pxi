# Cached Python-level objects the core uses (uvloop's aio_* convention):
# looked up once at import, never per call.
import asyncio as _asyncio
import collections as _collections
import contextvars as _contextvars
import errno as _errno
import functools as _functools
import logging as _logging
import os as _os
import signal as _signal
import socket as _socket
import sys as _sys
import threading as _threading
import warnings as _warnings
from asyncio import events as _aio_events
from asyncio import format_helpers as _aio_format_helpers
from asyncio import coroutines as _aio_coroutines

cdef object aio_Future = _asyncio.Future
cdef object aio_Task = _asyncio.Task
cdef object aio_set_running_loop = _aio_events._set_running_loop
cdef object aio_get_running_loop = _aio_events._get_running_loop
cdef object aio_iscoroutine = _aio_coroutines.iscoroutine
cdef object aio_iscoroutinefunction = _aio_coroutines.iscoroutinefunction
cdef object aio_format_callback_source = _aio_format_helpers._format_callback_source
cdef object aio_extract_stack = _aio_format_helpers.extract_stack
cdef object aio_logger = _logging.getLogger("asyncio")
cdef object sys_getframe = _sys._getframe
cdef object sys_get_asyncgen_hooks = _sys.get_asyncgen_hooks
cdef object sys_set_asyncgen_hooks = _sys.set_asyncgen_hooks
cdef object signal_set_wakeup_fd = _signal.set_wakeup_fd
cdef object threading_get_ident = _threading.get_ident
cdef object threading_main_thread = _threading.main_thread
cdef object os_getpid = _os.getpid

# asyncio's constants: cap on one poll, and when to rebuild the timer heap.
cdef double MAXIMUM_SELECT_TIMEOUT = 24 * 3600
cdef Py_ssize_t MIN_SCHEDULED_TIMER_HANDLES = 100
cdef double MIN_CANCELLED_TIMER_HANDLES_FRACTION = 0.5
from asyncio.base_events import _format_handle as _aio_format_handle
cdef object aio_format_handle = _aio_format_handle

# cython: language_level=3, freethreading_compatible=True
# cython: boundscheck=False, wraparound=False, cdivision=True
"""tideloop._core.core: the compiled event loop (private).

One compilation unit assembled from its parts by `include`, as uvloop does:
declarations first, then handles, the poller, the queues, the loop.
"""

from libc.stdint cimport uint64_t
from cpython.exc cimport PyErr_SetFromErrno

from includes.python cimport (
    PyObject, Py_INCREF, Py_DECREF, PyMem_Malloc, PyMem_Realloc, PyMem_Free,
    PyContext_CopyCurrent, PyContext_Enter, PyContext_Exit, PyErr_CheckSignals,
    PyThread_get_thread_ident, PyObject_Call,
    PyObject_GC_IsTracked, PyObject_GC_Track, PyObject_GC_UnTrack, Py_REFCNT,
    tideloop_touch, tideloop_warm_with_preheader, tideloop_warm_entry,
    tideloop_warm_instance_values, tideloop_slot_offset, tideloop_slot_get,
)
from includes.system cimport (
    timespec, time_t, clock_gettime, CLOCK_MONOTONIC, read, write, close,
    eventfd, EFD_CLOEXEC, EFD_NONBLOCK, errno, EINTR, EAGAIN, ENOSYS, EBADF, ENOENT,
    iovec, msghdr, recv, send, sendmsg, MSG_NOSIGNAL, EWOULDBLOCK,
)

include "includes/stdlib.pxi"


cdef int _raise_errno() except -1:
    PyErr_SetFromErrno(OSError)
    return -1


include "handles.pxi"
include "poller/poller.pxi"
include "poller/idle_tick.pxi"
include "poller/epoll.pxi"
include "queues.pxi"
include "allocator.pxi"
include "loop.pxi"
include "transports/stream.pxi"
include "transports/sockops.pxi"
include "transports/datagram.pxi"
include "transports/writequeue.pxi"
include "transports/pipe.pxi"

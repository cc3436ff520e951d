# Handle and TimerHandle: what call_soon / call_later / call_at return.
#
# Same contract as asyncio.events.Handle / TimerHandle: cancel(), cancelled(),
# get_context(), when(), repr, ordering of timer handles by `when`.  They are
# compiled classes, not subclasses of asyncio's (whose __slots__ layout a
# compiled class cannot share); docs/COMPATIBILITY.md records that.
#
# Invariant: a Handle always holds a Context (copied at creation when the
# caller gave none), so running it never checks for None.
#
# GC: a handle made by call_soon/call_later is owned by the loop's C queues,
# which the cyclic GC cannot see, so while it sits there no cycle through it
# can be garbage.  Such handles are created *untracked* (the GC never walks
# the million handles of a burst) and tracked again by _handle_escapes()
# when they leave the queues while somebody else still holds them.

cimport cython


@cython.freelist(256)
cdef class Handle:
    """A callback scheduled on a tideloop loop (asyncio.Handle's contract)."""

    cdef public object _callback
    cdef public object _args
    cdef object _ctx
    cdef bint _ctx_untracked   # _ctx is our own copy, hidden from the GC
    cdef public object _loop
    cdef public bint _cancelled
    cdef public object _source_traceback
    cdef public object _repr
    cdef object __weakref__

    def __init__(self, callback, args, loop, context=None):
        # Python-level construction (tests, subclasses); the loop uses _new().
        if context is None:
            context = PyContext_CopyCurrent()
        self._callback = callback
        self._args = tuple(args) if args is not None else ()
        self._loop = loop
        self._ctx = context
        if loop is not None and loop.get_debug():
            self._source_traceback = aio_extract_stack(sys_getframe(1))

    def __dealloc__(self):
        # CPython frees a Context assuming the GC tracks it: hand ours back.
        if self._ctx_untracked:
            self._ctx_untracked = False
            PyObject_GC_Track(<void*>self._ctx)

    cdef inline void _escape(self) noexcept:
        # The handle is reachable from outside the loop's queues: let the
        # GC see it and its context again so cycles through them collect.
        if not PyObject_GC_IsTracked(self):
            PyObject_GC_Track(<void*>self)
        if self._ctx_untracked:
            self._ctx_untracked = False
            PyObject_GC_Track(<void*>self._ctx)

    @property
    def _context(self):
        self._escape()
        return self._ctx

    cdef inline int _call(self) except -1:
        cdef object ctx = self._ctx
        cdef object cb = self._callback
        PyContext_Enter(ctx)
        try:
            if <Py_ssize_t>len(<tuple>self._args) == 0:
                cb()
            else:
                cb(*<tuple>self._args)   # no kwargs dict: slot wrappers refuse one
        except (SystemExit, KeyboardInterrupt):
            PyContext_Exit(ctx)
            raise
        except BaseException as exc:
            PyContext_Exit(ctx)
            self._report(exc)
            return 0
        PyContext_Exit(ctx)
        return 0

    cdef _report(self, exc):
        self._escape()
        cb = aio_format_callback_source(self._callback, self._args)
        context = {
            "message": f"Exception in callback {cb}",
            "exception": exc,
            "handle": self,
        }
        if self._source_traceback:
            context["source_traceback"] = self._source_traceback
        self._loop.call_exception_handler(context)

    def _run(self):
        """Run the callback now, reporting its exception (asyncio's Handle._run)."""
        self._call()

    def cancel(self):
        """Cancel the call; a cancelled handle's callback never runs."""
        if not self._cancelled:
            self._cancelled = True
            if self._loop is not None and self._loop.get_debug():
                # Keep a representation for debugging before dropping refs.
                self._repr = repr(self)
            self._callback = None
            self._args = None

    def cancelled(self):
        """True once cancel() has been called."""
        return self._cancelled

    def get_context(self):
        """The contextvars.Context the callback runs in."""
        self._escape()
        return self._ctx

    def _repr_info(self):
        info = [type(self).__name__]
        if self._cancelled:
            info.append("cancelled")
        if self._callback is not None:
            info.append(aio_format_callback_source(self._callback, self._args))
        if self._source_traceback:
            frame = self._source_traceback[-1]
            info.append(f"created at {frame[0]}:{frame[1]}")
        return info

    def __repr__(self):
        if self._repr is not None:
            return self._repr
        return "<{}>".format(" ".join(self._repr_info()))


cdef inline void _handle_leaves_queue(Handle h) noexcept:
    # Called with one reference held by the caller: more means it escaped.
    if Py_REFCNT(h) > 1:
        h._escape()


cdef inline object _own_context():
    ctx = PyContext_CopyCurrent()
    PyObject_GC_UnTrack(<void*>ctx)
    return ctx


cdef inline Handle _new_handle(object callback, tuple args, object loop, object context):
    cdef Handle h = Handle.__new__(Handle)
    PyObject_GC_UnTrack(<void*>h)
    h._callback = callback
    h._args = args
    h._loop = loop
    if context is None:
        h._ctx = _own_context()
        h._ctx_untracked = True
    else:
        h._ctx = context
    return h


@cython.freelist(256)
cdef class TimerHandle(Handle):
    """A callback scheduled for a loop time (asyncio.TimerHandle's contract)."""

    cdef public double _when
    cdef public bint _scheduled

    def __init__(self, when, callback, args, loop, context=None):
        Handle.__init__(self, callback, args, loop, context)
        self._when = when

    def when(self):
        """The absolute loop time (loop.time() clock) the callback is due."""
        return self._when

    def cancel(self):
        """Cancel the call; the loop drops it from its timer heap lazily."""
        if not self._cancelled and self._scheduled and self._loop is not None:
            self._loop._timer_handle_cancelled(self)
        Handle.cancel(self)

    def _repr_info(self):
        info = Handle._repr_info(self)
        pos = 2 if self._cancelled else 1
        info.insert(pos, f"when={self._when}")
        return info

    def __hash__(self):
        return hash(self._when)

    def __lt__(self, other):
        if isinstance(other, TimerHandle):
            return self._when < (<TimerHandle>other)._when
        return NotImplemented

    def __le__(self, other):
        if isinstance(other, TimerHandle):
            return self._when < (<TimerHandle>other)._when or self.__eq__(other)
        return NotImplemented

    def __gt__(self, other):
        if isinstance(other, TimerHandle):
            return self._when > (<TimerHandle>other)._when
        return NotImplemented

    def __ge__(self, other):
        if isinstance(other, TimerHandle):
            return self._when > (<TimerHandle>other)._when or self.__eq__(other)
        return NotImplemented

    def __eq__(self, other):
        if isinstance(other, TimerHandle):
            o = <TimerHandle>other
            return (self._when == o._when and self._callback == o._callback
                    and self._args == o._args and self._cancelled == o._cancelled)
        return NotImplemented


cdef inline TimerHandle _new_timer(double when, object callback, tuple args,
                                   object loop, object context):
    cdef TimerHandle h = TimerHandle.__new__(TimerHandle)
    PyObject_GC_UnTrack(<void*>h)
    h._callback = callback
    h._args = args
    h._loop = loop
    if context is None:
        h._ctx = _own_context()
        h._ctx_untracked = True
    else:
        h._ctx = context
    h._when = when
    return h

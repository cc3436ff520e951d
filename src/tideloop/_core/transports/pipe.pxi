# ReadPipeTransport / WritePipeTransport: the compiled pipe transports behind
# connect_read_pipe / connect_write_pipe, and so behind every subprocess's
# stdin, stdout and stderr.  The contract is asyncio's unix_events
# _UnixReadPipeTransport / _UnixWritePipeTransport (identical in 3.11-3.13):
# accepted fd kinds and messages, callback order, error paths, logging.
#
# As in stream.pxi, each transport is a compiled core that IS the loop's
# FdEntry for its fd (readiness lands in dispatch(), which reads or writes at
# once: no Handle, no call_soon), and a Python face subclassing asyncio's
# transport class whose hot methods are the core's bound methods.
#
# What is faster than asyncio's and why (bench/processes.py, `cat`):
# - read(): into the loop's shared 256 KiB buffer, then one exact-size bytes
#   (asyncio's os.read(fd, 256 KiB) allocates 256 KiB per read and shrinks
#   it: fresh pages to fault in and charge on every read).
# - write(): write() at once; only the unsent rest is queued, and an
#   immutable bytes is queued as it is (WriteQueue, writequeue.pxi), written
#   out with writev() - no bytearray copy, no `del buf[:n]` memmove.
# - a pipe that carries bulk data grows (F_SETPIPE_SZ) to PIPE_GROW_TO the
#   first time it is found full - a write the pipe did not take whole, or a
#   read of a whole default pipe - within a process-wide budget (see
#   "Growing pipes on demand" below): fewer context switches per MB.
# - pause_reading() is lazy: the poller interest goes when data arrives while
#   paused (StreamReader pauses and resumes around every big chunk).
#
# Every protocol callback runs in the context copied when the transport was
# made, except pause_writing(), which asyncio calls synchronously from write()
# in the caller's context.  Nothing raised by a protocol escapes into the
# loop's poll phase: it is reported to the exception handler as asyncio's
# Handle would report it.
#
# Several pipe transports may use one fd (asyncio allows it: a pty master
# read and written through two transports).  The second to register joins
# the first in a _PipeMux entry that registers the union of their interests
# and hands each event to both (see _PipeCore._take_fd).
#
# Deliberate differences (docs/COMPATIBILITY.md): abort()/close() after the
# transport is closed are no-ops (asyncio can call connection_lost twice, or
# raise AttributeError once its _loop is None); write() counts bytes, not
# items, of a multi-byte memoryview; transports sharing an fd all get their
# events (asyncio's last reader/writer replaces the earlier one's).
#
# Needs stream.pxi (_os_error, RECV_SIZE, aio_set_result_unless_cancelled,
# buffer/bytes cimports) and sockops.pxi (_evict_lazy) included before it.

import stat as _pipe_stat
from asyncio import constants as _aio_pipe_constants
from asyncio import transports as _aio_pipe_transports

cdef extern from "<errno.h>":
    int EIO

# Growing pipes on demand.  Linux makes 64 KiB pipes: bulk data through one
# (a child's stdout, `cat`) then costs a context switch on each side per
# 64 KiB.  A pipe found full gets PIPE_GROW_TO (1 MiB, the unprivileged
# maximum /proc/sys/fs/pipe-max-size by default): 100 MB through `cat`
# 0.060 s -> 0.040 s.  Only pipes that carry bulk data grow, once each, and
# all of this process's grown pipes together stay within PIPE_GROW_BUDGET:
# the kernel charges pipe capacity to the user's pipe-user-pages-soft quota
# (64 MiB by default), and a user over it gets 8 KiB pipes everywhere.  The
# budget is given back when the transport closes.  The kernel may refuse
# (EPERM over quota or limit): the pipe keeps its size.
cdef enum:
    PIPE_FULL_DEFAULT = 65536         # a read this big emptied a full default pipe
    PIPE_GROW_TO = 1048576
    PIPE_GROW_BUDGET = 16777216

cdef Py_ssize_t _pipe_grown_total = 0  # bytes of capacity added, process-wide

cdef extern from *:
    """
    #include <fcntl.h>
    #ifndef F_SETPIPE_SZ
    #define F_SETPIPE_SZ 1031
    #endif
    #ifndef F_GETPIPE_SZ
    #define F_GETPIPE_SZ 1032
    #endif
    /* Grow the pipe behind fd to `size`: the bytes of capacity added (0 if
       it was already that big, or not a pipe, or the kernel refused). */
    static Py_ssize_t tideloop_pipe_grow(int fd, int size) {
        int cur = fcntl(fd, F_GETPIPE_SZ);
        int now;
        if (cur < 0 || cur >= size)
            return 0;
        now = fcntl(fd, F_SETPIPE_SZ, size);
        if (now <= cur)
            return 0;
        return (Py_ssize_t)(now - cur);
    }
    """
    Py_ssize_t tideloop_pipe_grow(int fd, int size) nogil

cdef object _ReadTransportBase = _aio_pipe_transports.ReadTransport
cdef object _WriteTransportBase = _aio_pipe_transports._FlowControlMixin
cdef int PIPE_CONNLOST_LOG = _aio_pipe_constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES
cdef object _S_ISFIFO = _pipe_stat.S_ISFIFO
cdef object _S_ISSOCK = _pipe_stat.S_ISSOCK
cdef object _S_ISCHR = _pipe_stat.S_ISCHR
cdef object _os_fstat = _os.fstat
cdef object _os_set_blocking = _os.set_blocking

# Reads at least this big switch a read pipe to reading straight into a new
# bytes object of RECV_SIZE (then shrunk), one copy less; smaller reads copy
# from the loop buffer.  For pipes (64-128 KiB of capacity, bench/processes.py)
# the copy wins: at a 64 KiB threshold 100 MB through `cat` took 19x the page
# faults and +70% CPU, so the switch is only for reads that fill the whole
# buffer (a pipe grown past 256 KiB; there the two measured the same).
cdef enum:
    PIPE_BIG_READ = 262144

cdef extern from *:
    """
    #include <unistd.h>
    /* read() straight into a new bytes object of `size`, shrunk to what came
       (as os.read does).  n_out < 0 with *err on failure (then None is
       returned); NULL only for a Python error. */
    static PyObject *tideloop_read_bytes(int fd, Py_ssize_t size,
                                         Py_ssize_t *n_out, int *err) {
        PyObject *b = PyBytes_FromStringAndSize(NULL, size);
        ssize_t n;
        if (b == NULL)
            return NULL;
        n = read(fd, PyBytes_AS_STRING(b), (size_t)size);
        if (n < 0) {
            *err = errno;
            *n_out = -1;
            Py_DECREF(b);
            Py_RETURN_NONE;
        }
        *n_out = n;
        if (n != size && _PyBytes_Resize(&b, n) < 0)
            return NULL;
        return b;
    }
    """
    object tideloop_read_bytes(int fd, Py_ssize_t size, Py_ssize_t* n_out, int* err)


cdef class _PipeCore(FdEntry):
    """State and registration shared by the read and the write pipe core."""

    cdef object _face
    cdef Loop _tloop
    cdef object _pipe_obj          # the pipe object; None once closed
    cdef object _fileno_obj        # asyncio's _fileno (kept after closing)
    cdef object _proto
    cdef object _ctx
    cdef dict _extra
    cdef public bint _closing
    cdef bint _rd_on               # the poller should report readability
    cdef bint _wr_on               # ... writability (data queued)
    cdef bint _lost                # connection_lost is scheduled or done
    cdef bint _evicted             # our fd number was taken by an unrelated entry
    cdef _PipeMux _mux             # set while sharing the fd with other pipe transports
    cdef object _ident             # (st_dev, st_ino, st_rdev) of the fd at setup
    cdef bint _grow_tried          # _maybe_grow() ran (once per transport)
    cdef Py_ssize_t _grown         # capacity it added (given back on close)
    cdef object __weakref__

    cdef int _init_common(self, face, Loop loop, pipe, protocol, extra) except -1:
        # asyncio's BaseTransport.__init__ keeps the caller's dict itself.
        self._face = face
        self._tloop = loop
        self._ctx = PyContext_CopyCurrent()
        self._extra = {} if extra is None else extra
        face._extra = self._extra
        self._extra['pipe'] = pipe
        self._pipe_obj = pipe
        self.fd = -1
        self._fileno_obj = pipe.fileno()
        self.fd = self._fileno_obj
        self._proto = protocol
        return 0

    cdef int _maybe_grow(self) except -1:
        # The pipe was found full: grow it once (see "Growing pipes on demand").
        global _pipe_grown_total
        if self._grow_tried or self._pipe_obj is None:
            return 0
        self._grow_tried = True
        if _pipe_grown_total + PIPE_GROW_TO > PIPE_GROW_BUDGET:
            return 0
        self._grown = tideloop_pipe_grow(self.fd, PIPE_GROW_TO)
        _pipe_grown_total += self._grown
        return 0

    cdef void _release_growth(self) noexcept:
        global _pipe_grown_total
        _pipe_grown_total -= self._grown
        self._grown = 0

    cdef int _refuse(self) except -1:
        # Not a pipe: asyncio forgets the pipe (no ResourceWarning, not closed).
        self._pipe_obj = None
        self._fileno_obj = None
        self._proto = None
        self._lost = True
        self.fd = -1
        return 0

    # ------------------------------------------------------------------
    # asyncio-visible attributes

    @property
    def _loop(self):
        # asyncio sets _loop to None once connection_lost has run.
        return None if self._pipe_obj is None and self._lost else self._tloop

    @property
    def _pipe(self):
        return self._pipe_obj

    @_pipe.setter
    def _pipe(self, value):
        # Tests (CPython's) set _pipe = None to silence the ResourceWarning.
        self._pipe_obj = value

    @property
    def _fileno(self):
        return self._fileno_obj

    @property
    def _protocol(self):
        return self._proto

    # ------------------------------------------------------------------
    # registration with the poller

    cdef bint _shares_with(self, _PipeCore other) except -1:
        # Is `other` (about to register on our fd number) a second transport
        # on the very file we use (a pty master read and written through two
        # transports; sys.stdout connected twice)?  Not if our pipe object was
        # closed, or the number now names another file (closed behind our
        # back and reused).
        if self._pipe_obj is None or self._lost or self._evicted:
            return False
        try:
            if self._pipe_obj.fileno() != self.fd:
                return False
        except (OSError, ValueError):
            return False
        return self._ident is not None and self._ident == other._ident

    cdef bint _take_fd(self) except -1:
        # Become the loop's entry for our fd, or join the transports already
        # on it (True: then self._mux is set).  Anything else registered
        # there (a reader left on a closed-and-reused fd, a lazy sock_*
        # entry, a stale transport) is dropped, as a new selector key
        # replaces it.
        cdef Loop loop = self._tloop
        cdef FdEntry old = loop._entry(self.fd)
        cdef _PipeMux mux
        cdef _PipeCore core
        if old is self:
            return False
        if isinstance(old, _PipeMux):
            mux = <_PipeMux>old
            if mux._accepts(self):
                mux.members.append(self)
                self._mux = mux
                return True
        elif isinstance(old, _PipeCore) and (<_PipeCore>old)._shares_with(self):
            # Share: a mux takes over old's registration and foreign handles.
            core = <_PipeCore>old
            mux = _PipeMux.__new__(_PipeMux)
            mux.fd = self.fd
            mux.loop = loop
            mux.events = core.events
            mux.reader, core.reader = core.reader, None
            mux.writer, core.writer = core.writer, None
            mux.members = [core, self]
            core._mux = mux
            self._mux = mux
            loop._fd_table[self.fd] = mux
            return True
        if old is not None:
            _pipe_evict(loop, old)
        loop._store_entry(self.fd, self)
        return False

    cdef int _set_io(self) except -1:
        # Make the poller watch what the state asks for.
        cdef Loop loop = self._tloop
        cdef int want = 0
        if self._pipe_obj is None or self.fd < 0 or self._evicted:
            want = 0
        else:
            if self._rd_on or self.reader is not None:
                want |= EV_READ
            if self._wr_on or self.writer is not None:
                want |= EV_WRITE
        if loop._closed:
            # As asyncio: removing interest is a no-op, adding it raises.
            if want & ~self.events:
                self.events &= want
                raise RuntimeError('Event loop is closed')
            self.events &= want
            return 0
        if self._mux is not None:
            # Sharing the fd: our events are our part of the mux's.
            if want != self.events:
                self.events = want
                self._mux._update()
            return 0
        if want == self.events:
            return 0
        if want == 0:
            self._unregister()
            return 0
        if loop._entry(self.fd) is not self and self._take_fd():
            self.events = want
            self._mux._update()
            return 0
        loop._poller_set(self, want)
        return 0

    cdef int _unregister(self) except -1:
        # Stop watching the fd (for good when called on closing).
        cdef Loop loop = self._tloop
        cdef FdEntry e
        cdef _PipeMux mux = self._mux
        if mux is not None:
            # Leave the mux; the other transports on the fd go on.
            self._mux = None
            self.events = 0
            if self in mux.members:
                mux.members.remove(self)
            mux._update()
            return 0
        if loop._closed or self.fd < 0:
            self.events = 0
            return 0
        e = loop._entry(self.fd)
        if e is self or e is None:
            if self.events:
                loop._poller_set_quiet(self, 0)
            if e is self:
                loop._fd_table[self.fd] = None
        else:
            # Our fd number now belongs to someone else's entry (our pipe
            # was closed behind our back and the number reused): leave it.
            self.events = 0
        return 0

    cdef int _dispatch_foreign(self, Loop loop, int ev) except -1:
        # Readers/writers added with loop._add_reader/_add_writer on our fd.
        cdef Handle h
        if ev & EV_READ and self.reader is not None:
            h = self.reader
            if h._cancelled:
                self.reader = None
                self._set_io()
            else:
                rq_push(&loop._ready, h)
        if ev & EV_WRITE and self.writer is not None:
            h = self.writer
            if h._cancelled:
                self.writer = None
                self._set_io()
            else:
                rq_push(&loop._ready, h)
        return 0

    cdef int _report(self, exc, str method) except -1:
        # What asyncio's Handle reports when a reader/writer callback raises.
        self._tloop.call_exception_handler({
            'message': f'Exception in callback {type(self._face).__name__}.{method}()',
            'exception': exc,
            'transport': self._face,
            'protocol': self._proto,
        })
        return 0

    # ------------------------------------------------------------------
    # protocol

    def set_protocol(self, protocol):
        """Use *protocol* from now on."""
        self._proto = protocol

    def get_protocol(self):
        """The current protocol."""
        return self._proto

    def get_extra_info(self, name, default=None):
        """'pipe' (the pipe object given), or what extra= supplied."""
        return self._extra.get(name, default)

    def is_closing(self):
        """True once closing (close(), EOF, an error, or write_eof())."""
        return self._closing

    # ------------------------------------------------------------------
    # closing

    def _call_connection_lost_py(self, exc):
        self._call_connection_lost(exc)

    cdef int _call_connection_lost(self, exc) except -1:
        try:
            if self._proto is not None:
                self._proto.connection_lost(exc)
        finally:
            # Unregister before closing: epoll would keep reporting an fd
            # whose file is still open in a child.
            self._rd_on = self._wr_on = False
            self._unregister()
            pipe = self._pipe_obj
            self._pipe_obj = None
            self._proto = None
            self._release_growth()
            if pipe is not None:
                pipe.close()
        return 0

    cdef int _schedule_lost(self, exc) except -1:
        self._lost = True
        self._tloop.call_soon(self._call_connection_lost_py, exc, context=self._ctx)
        return 0

    def _unclosed(self):
        # The face is being finalized with the pipe still open.
        if self._pipe_obj is not None:
            _warnings.warn(f"unclosed transport {self._face!r}", ResourceWarning,
                           source=self._face)
            self._rd_on = self._wr_on = False
            try:
                self._unregister()
            finally:
                pipe = self._pipe_obj
                self._pipe_obj = None
                self._release_growth()
                pipe.close()


cdef int _pipe_evict(Loop loop, FdEntry old) except -1:
    # Drop an unrelated entry from our fd number: its handles are cancelled,
    # its registration removed; a stale pipe transport (or mux) never
    # registers that number again.
    if old.lazy:
        _evict_lazy(loop, old)
        return 0
    if old.reader is not None:
        old.reader.cancel()
    if old.writer is not None:
        old.writer.cancel()
    if isinstance(old, _PipeCore):
        (<_PipeCore>old)._evicted = True
    elif isinstance(old, _PipeMux):
        (<_PipeMux>old).dead = True
        for m in (<_PipeMux>old).members:
            (<_PipeCore>m)._evicted = True
    loop._poller_set_quiet(old, 0)
    if loop._entry(old.fd) is old:
        loop._fd_table[old.fd] = None
    return 0


cdef class _PipeMux(FdEntry):
    """The loop's entry for an fd several pipe transports use at once.

    asyncio allows it (a pty master with a read and a write transport, one
    selector key holding the reader of one and the writer of the other);
    one FdEntry per fd cannot, so this entry registers the union of its
    members' interests and hands every event to each of them.
    """

    cdef Loop loop
    cdef list members
    cdef bint dead

    cdef bint _accepts(self, _PipeCore core) except -1:
        cdef _PipeCore m
        if self.dead:
            return False
        for m in self.members:
            if m._shares_with(core):
                return True
        return False

    cdef int _update(self) except -1:
        cdef Loop loop = self.loop
        cdef _PipeCore m
        cdef int want = 0
        cdef FdEntry cur
        if self.dead:
            return 0
        for m in self.members:
            want |= m.events
        if self.reader is not None:
            want |= EV_READ
        if self.writer is not None:
            want |= EV_WRITE
        if loop._closed:
            self.events &= want
            return 0
        cur = loop._entry(self.fd)
        if want == 0:
            if self.events:
                loop._poller_set_quiet(self, 0)
            if cur is self:
                loop._fd_table[self.fd] = None
            return 0
        if cur is not self:
            if cur is not None:
                _pipe_evict(loop, cur)
            loop._store_entry(self.fd, self)
        if want != self.events:
            loop._poller_set(self, want)
        return 0

    cdef int dispatch(self, Loop loop, int ev) except -1:
        cdef Handle h
        cdef _PipeCore m
        if ev & EV_READ and self.reader is not None:
            h = self.reader
            if h._cancelled:
                self.reader = None
                self._update()
            else:
                rq_push(&loop._ready, h)
        if ev & EV_WRITE and self.writer is not None:
            h = self.writer
            if h._cancelled:
                self.writer = None
                self._update()
            else:
                rq_push(&loop._ready, h)
        for m in list(self.members):
            if m._mux is self:
                m.dispatch(loop, ev)
        return 0


# ----------------------------------------------------------------------
# read side


cdef class _ReadPipeCore(_PipeCore):
    """The compiled state and logic of one ReadPipeTransport (see below)."""

    cdef public bint _paused       # pause_reading() in effect
    cdef bint _big_reads           # read into a new bytes (see PIPE_BIG_READ)
    cdef public Py_ssize_t max_size  # bytes read at most per readiness (asyncio's attribute)

    def _setup(self, face, Loop loop, pipe, protocol, waiter, extra):
        self.max_size = RECV_SIZE
        self._init_common(face, loop, pipe, protocol, extra)
        st = _os_fstat(self.fd)
        mode = st.st_mode
        self._ident = (st.st_dev, st.st_ino, st.st_rdev)
        if not (_S_ISFIFO(mode) or _S_ISSOCK(mode) or _S_ISCHR(mode)):
            self._refuse()
            raise ValueError("Pipe transport is for pipes/sockets only.")
        _os_set_blocking(self.fd, False)
        loop.call_soon(protocol.connection_made, face, context=self._ctx)
        # Reading starts only once connection_made() has run.
        loop.call_soon(self._start_reading, context=self._ctx)
        if waiter is not None:
            loop.call_soon(aio_set_result_unless_cancelled, waiter, None)

    def _start_reading(self):
        if not self.is_reading():
            return
        self._rd_on = True
        self._set_io()

    cdef int dispatch(self, Loop loop, int ev) except -1:
        if self.reader is not None or self.writer is not None:
            self._dispatch_foreign(loop, ev)
        if not (ev & EV_READ):
            return 0
        if not self._rd_on:
            # Paused lazily (pause_reading leaves the poller alone, so a quick
            # pause/resume costs no syscall): data came while paused.
            if self.events & EV_READ:
                self._set_io()
            return 0
        ctx = self._ctx
        PyContext_Enter(ctx)
        try:
            self._read_ready()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            # asyncio: an exception from data_received() reaches the reader
            # Handle, which reports it; the transport stays open.
            self._report(exc, '_read_ready')
        finally:
            PyContext_Exit(ctx)
        return 0

    cdef int _read_ready(self) except -1:
        cdef Loop loop = self._tloop
        cdef Py_ssize_t n
        cdef int err = 0
        cdef Py_ssize_t size = self.max_size
        cdef bint direct = self._big_reads or size > RECV_SIZE
        if self._pipe_obj is None:
            return 0
        if size < 0:
            size = 0   # (os.read would raise ValueError on every readiness)
        if direct:
            data = tideloop_read_bytes(self.fd, size, &n, &err)
            if n >= 0 and n < PIPE_BIG_READ:
                self._big_reads = False
        else:
            loop._recv_buffer()
            n = read(self.fd, loop._rbuf, <size_t>size)
            err = errno
            if n >= PIPE_BIG_READ:
                self._big_reads = True
        if n < 0:
            if err == EAGAIN or err == EWOULDBLOCK or err == EINTR:
                return 0
            self._fatal_error(_os_error(err), 'Fatal read error on pipe transport')
            return 0
        if n == 0:
            if loop._debug:
                aio_logger.info("%r was closed by peer", self._face)
            self._closing = True
            self._rd_on = False
            self._set_io()
            loop.call_soon(self._proto.eof_received, context=self._ctx)
            self._schedule_lost(None)
            return 0
        if not direct:
            data = PyBytes_FromStringAndSize(loop._rbuf, n)
        if n >= PIPE_FULL_DEFAULT and not self._grow_tried:
            self._maybe_grow()
        self._proto.data_received(data)
        return 0

    def is_reading(self):
        """True unless reading is paused or the transport is closing."""
        return not self._paused and not self._closing

    def pause_reading(self):
        """Stop calling the protocol with data until resume_reading()."""
        if self._paused or self._closing:
            return
        self._paused = True
        self._rd_on = False   # the poller interest goes lazily (dispatch)
        if self._tloop._debug:
            aio_logger.debug("%r pauses reading", self._face)

    def resume_reading(self):
        """Resume delivering data after pause_reading()."""
        if self._closing or not self._paused:
            return
        self._paused = False
        if self._tloop._closed:
            # asyncio's _add_reader refuses (the lazy pause may have left the
            # interest in place, so _set_io alone would not notice).
            raise RuntimeError('Event loop is closed')
        self._rd_on = True
        self._set_io()
        if self._tloop._debug:
            aio_logger.debug("%r resumes reading", self._face)

    def close(self):
        """Stop reading; connection_lost(None) follows, then the pipe is closed."""
        if not self._closing:
            self._close(None)

    def _fatal_error(self, exc, message='Fatal error on pipe transport'):
        # EIO is how a pty master reports the other side's hang-up: only
        # logged in debug mode.  Anything else goes to the exception handler.
        if isinstance(exc, OSError) and (<object>exc).errno == EIO:
            if self._tloop._debug:
                aio_logger.debug("%r: %s", self._face, message, exc_info=exc)
        else:
            self._tloop.call_exception_handler({
                'message': message,
                'exception': exc,
                'transport': self._face,
                'protocol': self._proto,
            })
        self._close(exc)

    def _close(self, exc):
        self._closing = True
        if self._lost:
            return
        self._rd_on = False
        self._set_io()
        self._schedule_lost(exc)

    def __repr__(self):
        info = [type(self._face).__name__]
        if self._pipe_obj is None:
            info.append('closed')
        elif self._closing:
            info.append('closing')
        info.append(f'fd={self._fileno_obj}')
        if self._pipe_obj is not None and not self._tloop._closed:
            info.append('polling' if self._rd_on else 'idle')
        elif self._pipe_obj is not None:
            info.append('open')
        else:
            info.append('closed')
        return '<{}>'.format(' '.join(info))


# ----------------------------------------------------------------------
# write side


cdef class _WritePipeCore(_PipeCore):
    """The compiled state and logic of one WritePipeTransport (see below)."""

    cdef WriteQueue _wq
    cdef public int _conn_lost
    cdef public bint _protocol_paused
    cdef public Py_ssize_t _high_water
    cdef public Py_ssize_t _low_water

    def _setup(self, face, Loop loop, pipe, protocol, waiter, extra):
        self._wq = WriteQueue.__new__(WriteQueue)
        self._high_water = 64 * 1024
        self._low_water = 16 * 1024
        self._init_common(face, loop, pipe, protocol, extra)
        st = _os_fstat(self.fd)
        mode = st.st_mode
        self._ident = (st.st_dev, st.st_ino, st.st_rdev)
        is_char = _S_ISCHR(mode)
        is_fifo = _S_ISFIFO(mode)
        is_socket = _S_ISSOCK(mode)
        if not (is_char or is_fifo or is_socket):
            self._refuse()
            raise ValueError("Pipe transport is only for "
                             "pipes, sockets and character devices")
        _os_set_blocking(self.fd, False)
        loop.call_soon(protocol.connection_made, face, context=self._ctx)
        # Watching readability of the write end tells when the reader went
        # away (EPOLLERR on a pipe, EOF on a socket).  Only once
        # connection_made() has run.
        if is_socket or is_fifo:
            loop.call_soon(self._start_watching, context=self._ctx)
        if waiter is not None:
            loop.call_soon(aio_set_result_unless_cancelled, waiter, None)

    def _start_watching(self):
        if self._lost:
            return   # already closed: nothing to watch (asyncio would add a stale reader)
        self._rd_on = True
        self._set_io()

    cdef int dispatch(self, Loop loop, int ev) except -1:
        if self.reader is not None or self.writer is not None:
            self._dispatch_foreign(loop, ev)
        if not (ev & EV_READ and self._rd_on) and not (ev & EV_WRITE and self._wr_on):
            return 0
        ctx = self._ctx
        PyContext_Enter(ctx)
        try:
            # Readability first, as asyncio's selector runs the reader
            # before the writer for one event.
            if ev & EV_READ and self._rd_on:
                try:
                    self._peer_closed()
                except (SystemExit, KeyboardInterrupt):
                    raise
                except BaseException as exc:
                    self._report(exc, '_read_ready')
            if ev & EV_WRITE and self._wr_on:
                try:
                    self._write_ready()
                except (SystemExit, KeyboardInterrupt):
                    raise
                except BaseException as exc:
                    self._report(exc, '_write_ready')
        finally:
            PyContext_Exit(ctx)
        return 0

    cdef int _peer_closed(self) except -1:
        # asyncio's _UnixWritePipeTransport._read_ready: the pipe was closed
        # by its reader.
        if self._tloop._debug:
            aio_logger.info("%r was closed by peer", self._face)
        if self._wq.size:
            self._close(BrokenPipeError())
        else:
            self._close(None)
        return 0

    # ------------------------------------------------------------------
    # writing

    def write(self, data):
        """Write bytes-like *data*; what the pipe does not take now is queued."""
        cdef Py_buffer view
        cdef ssize_t n
        cdef int err = 0
        cdef Py_ssize_t size
        cdef bint isbytes = type(data) is bytes
        if not isbytes and not isinstance(data, (bytes, bytearray, memoryview)):
            raise AssertionError(repr(data))   # asyncio's assert
        if isbytes:
            if PyBytes_GET_SIZE(data) == 0:
                return
        elif not data:
            return
        if self._conn_lost or self._closing:
            if self._conn_lost >= PIPE_CONNLOST_LOG:
                aio_logger.warning('pipe closed by peer or '
                                   'os.write(pipe, data) raised exception.')
            self._conn_lost += 1
            return
        if self._wq.size:
            # Queued data goes first.  A mutable buffer is copied (a
            # non-contiguous one raises BufferError here, as asyncio's
            # bytearray += does).
            if isbytes:
                self._wq.push(<bytes>data, 0)
            else:
                PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
                try:
                    self._wq.push_copy(<char*>view.buf, view.len)
                finally:
                    PyBuffer_Release(&view)
            self._maybe_pause_protocol()
            return
        # Nothing queued: try to write it all now.  The buffer is released
        # before any Python code (protocol, exception handler) runs.
        try:
            PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            # asyncio's os.write() raises it inside its try.
            self._conn_lost += 1
            self._fatal_error(exc, 'Fatal write error on pipe transport')
            return
        rest = None
        try:
            size = view.len
            n = write(self.fd, view.buf, size)
            if n < 0:
                err = errno
                if err == EAGAIN or err == EWOULDBLOCK or err == EINTR:
                    n = 0
            if n >= 0 and n < size and not isbytes:
                # The unsent tail of a mutable buffer: a private copy.
                rest = PyBytes_FromStringAndSize(<char*>view.buf + n, size - n)
        finally:
            PyBuffer_Release(&view)
        if n < 0:
            self._conn_lost += 1
            self._fatal_error(_os_error(err), 'Fatal write error on pipe transport')
            return
        if n == size:
            return
        if not self._grow_tried:
            self._maybe_grow()   # the pipe is full
        # asyncio adds the writer before it queues: a closed loop raises
        # RuntimeError here with nothing queued.
        self._wr_on = True
        try:
            self._set_io()
        except BaseException:
            self._wr_on = False
            raise
        if isbytes:
            self._wq.push(<bytes>data, n)    # the object itself: no copy
        else:
            self._wq.push(<bytes>rest, 0)
        self._maybe_pause_protocol()

    cdef int _write_ready(self) except -1:
        # Flush the queue with writev(), batch after batch while the pipe
        # takes whole batches.
        cdef int err = 0
        cdef bint more = True
        cdef Py_ssize_t n
        while more:
            n = self._wq.write_to(self.fd, &err, &more)
            if n < 0:
                if err == EAGAIN or err == EWOULDBLOCK or err == EINTR:
                    return 0
                self._wq.clear()
                self._conn_lost += 1
                self._wr_on = False
                self._set_io()
                self._fatal_error(_os_error(err), 'Fatal write error on pipe transport')
                return 0
        if self._wq.size:
            return 0
        self._wr_on = False
        self._set_io()
        self._maybe_resume_protocol()   # may write more
        if self._closing:
            self._rd_on = False
            self._set_io()
            self._lost = True
            self._call_connection_lost(None)
        return 0

    def get_write_buffer_size(self):
        """Bytes queued and not yet written."""
        return self._wq.size

    def can_write_eof(self):
        """True: closing the write end is the EOF."""
        return True

    def write_eof(self):
        """Close the pipe once the queue is flushed; connection_lost(None) follows."""
        if self._closing:
            return
        if not self._pipe_obj:
            raise AssertionError   # asyncio's `assert self._pipe`
        self._closing = True
        if not self._wq.size and not self._lost:
            self._rd_on = False
            self._set_io()
            self._schedule_lost(None)

    def close(self):
        """As write_eof(): flush, then close."""
        if self._pipe_obj is not None and not self._closing:
            self.write_eof()

    def abort(self):
        """Close at once, dropping queued data; connection_lost(None) follows."""
        self._close(None)

    def _fatal_error(self, exc, message='Fatal error on pipe transport'):
        if isinstance(exc, OSError):
            if self._tloop._debug:
                aio_logger.debug("%r: %s", self._face, message, exc_info=exc)
        else:
            self._tloop.call_exception_handler({
                'message': message,
                'exception': exc,
                'transport': self._face,
                'protocol': self._proto,
            })
        self._close(exc)

    def _close(self, exc=None):
        self._closing = True
        if self._lost:
            return
        self._wr_on = False
        self._wq.clear()
        self._rd_on = False
        self._set_io()
        self._schedule_lost(exc)

    # ------------------------------------------------------------------
    # flow control (asyncio's _FlowControlMixin)

    cdef int _maybe_pause_protocol(self) except -1:
        if self._wq.size <= self._high_water or self._protocol_paused:
            return 0
        self._protocol_paused = True
        try:
            self._proto.pause_writing()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._tloop.call_exception_handler({
                'message': 'protocol.pause_writing() failed',
                'exception': exc,
                'transport': self._face,
                'protocol': self._proto,
            })
        return 0

    cdef int _maybe_resume_protocol(self) except -1:
        if self._protocol_paused and self._wq.size <= self._low_water:
            self._protocol_paused = False
            try:
                self._proto.resume_writing()
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._tloop.call_exception_handler({
                    'message': 'protocol.resume_writing() failed',
                    'exception': exc,
                    'transport': self._face,
                    'protocol': self._proto,
                })
        return 0

    def _maybe_pause_protocol_py(self):
        self._maybe_pause_protocol()

    def _maybe_resume_protocol_py(self):
        self._maybe_resume_protocol()

    def get_write_buffer_limits(self):
        """(low, high) water marks of the write buffer."""
        return (self._low_water, self._high_water)

    def _set_write_buffer_limits(self, high=None, low=None):
        if high is None:
            if low is None:
                high = 64 * 1024
            else:
                high = 4 * low
        if low is None:
            low = high // 4
        if not high >= low >= 0:
            raise ValueError(
                f'high ({high!r}) must be >= low ({low!r}) must be >= 0')
        self._high_water = high
        self._low_water = low

    def set_write_buffer_limits(self, high=None, low=None):
        """Set the water marks (high defaults to 64 KiB, low to high // 4)."""
        self._set_write_buffer_limits(high=high, low=low)
        self._maybe_pause_protocol()

    def __repr__(self):
        info = [type(self._face).__name__]
        if self._pipe_obj is None:
            info.append('closed')
        elif self._closing:
            info.append('closing')
        info.append(f'fd={self._fileno_obj}')
        if self._pipe_obj is not None and not self._tloop._closed:
            info.append('polling' if self._wr_on else 'idle')
            info.append(f'bufsize={self._wq.size}')
        elif self._pipe_obj is not None:
            info.append('open')
        else:
            info.append('closed')
        return '<{}>'.format(' '.join(info))


# ----------------------------------------------------------------------
# the faces: real asyncio transport subclasses (isinstance() checks pass);
# hot methods are the core's bound methods stored on the instance, so
# transport.write(data) costs no extra Python frame.  The instance keeps a
# __dict__, as asyncio's pipe transports do (tests replace methods on it).

_READ_HOT = ('is_reading', 'pause_reading', 'resume_reading', 'is_closing',
             'close', 'get_extra_info', 'get_protocol', 'set_protocol')
_WRITE_HOT = ('write', 'get_write_buffer_size', 'is_closing', 'close', 'abort',
              'write_eof', 'can_write_eof', 'get_extra_info', 'get_protocol',
              'set_protocol')


class ReadPipeTransport(_ReadTransportBase):
    """asyncio read transport over a pipe, FIFO, socket, pty or character device.

    Made by loop.connect_read_pipe(); the methods are asyncio.ReadTransport's.
    The work is done by a compiled core; see transports/pipe.pxi.
    """

    @property
    def max_size(self):
        """Bytes read at most per readiness (256 KiB, as asyncio's); settable."""
        return self._core.max_size

    @max_size.setter
    def max_size(self, value):
        self._core.max_size = value

    def __init__(self, loop, pipe, protocol, waiter=None, extra=None):
        core = _ReadPipeCore.__new__(_ReadPipeCore)
        self._core = core
        d = self.__dict__
        for name in _READ_HOT:
            d[name] = getattr(core, name)
        core._setup(self, loop, pipe, protocol, waiter, extra)

    def _fatal_error(self, exc, message='Fatal error on pipe transport'):
        self._core._fatal_error(exc, message)

    def _close(self, exc):
        self._core._close(exc)

    @property
    def _pipe(self):
        return self._core._pipe

    @_pipe.setter
    def _pipe(self, value):
        self._core._pipe = value

    @property
    def _fileno(self):
        return self._core._fileno

    @property
    def _loop(self):
        return self._core._loop

    @property
    def _protocol(self):
        return self._core._protocol

    @property
    def _closing(self):
        return self._core._closing

    @property
    def _paused(self):
        return self._core._paused

    def __repr__(self):
        return repr(self._core)

    def __del__(self):
        core = self.__dict__.get('_core')
        if core is not None:
            core._unclosed()


class WritePipeTransport(_WriteTransportBase, _aio_pipe_transports.WriteTransport):
    """asyncio write transport over a pipe, FIFO, socket, pty or character device.

    Made by loop.connect_write_pipe(); the methods are asyncio.WriteTransport's.
    The work is done by a compiled core; see transports/pipe.pxi.
    """

    def __init__(self, loop, pipe, protocol, waiter=None, extra=None):
        core = _WritePipeCore.__new__(_WritePipeCore)
        self._core = core
        d = self.__dict__
        for name in _WRITE_HOT:
            d[name] = getattr(core, name)
        core._setup(self, loop, pipe, protocol, waiter, extra)

    def set_write_buffer_limits(self, high=None, low=None):
        """Set the water marks (high defaults to 64 KiB, low to high // 4)."""
        self._core.set_write_buffer_limits(high, low)

    def get_write_buffer_limits(self):
        """(low, high) water marks of the write buffer."""
        return self._core.get_write_buffer_limits()

    def _set_write_buffer_limits(self, high=None, low=None):
        self._core._set_write_buffer_limits(high, low)

    def _maybe_pause_protocol(self):
        self._core._maybe_pause_protocol_py()

    def _maybe_resume_protocol(self):
        self._core._maybe_resume_protocol_py()

    def _fatal_error(self, exc, message='Fatal error on pipe transport'):
        self._core._fatal_error(exc, message)

    def _close(self, exc=None):
        self._core._close(exc)

    @property
    def _pipe(self):
        return self._core._pipe

    @_pipe.setter
    def _pipe(self, value):
        self._core._pipe = value

    @property
    def _fileno(self):
        return self._core._fileno

    @property
    def _loop(self):
        return self._core._loop

    @property
    def _protocol(self):
        return self._core._protocol

    @property
    def _closing(self):
        return self._core._closing

    @property
    def _conn_lost(self):
        return self._core._conn_lost

    @property
    def _protocol_paused(self):
        return self._core._protocol_paused

    @property
    def _high_water(self):
        return self._core._high_water

    @property
    def _low_water(self):
        return self._core._low_water

    def __repr__(self):
        return repr(self._core)

    def __del__(self):
        core = self.__dict__.get('_core')
        if core is not None:
            core._unclosed()

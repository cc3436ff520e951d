# SocketTransport: the compiled stream transport over a connected socket
# (TCP or Unix), asyncio's _SelectorSocketTransport contract.
#
# It IS the loop's FdEntry for its fd: readiness from the poller lands in
# dispatch(), which recv()s straight into the loop's buffer (or the
# BufferedProtocol's get_buffer()) and calls the protocol at once - no
# Handle, no call_soon.  write() tries send() at once and queues only the
# rest, flushed later with one sendmsg() of up to IOV_BATCH buffers.
#
# Every protocol callback runs in the context copied when the transport was
# made (uvloop #348), except pause_writing/resume_writing, which asyncio
# calls synchronously from write()/the flush in the caller's context.
#
# Messages, the order of callbacks and the error paths are asyncio's own
# (selector_events.py, 3.11-3.13); comments mark where versions differ.

from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE, PyBUF_WRITABLE
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.object cimport Py_TYPE
from libc.string cimport memset

import warnings as _tr_warnings
from asyncio import protocols as _aio_protocols
from asyncio import constants as _aio_constants
from asyncio import futures as _aio_futures
from asyncio import transports as _aio_transports

# _FlowControlMixin(Transport): asyncio's sendfile fallback insists on it.
_aio_Transport = _aio_transports._FlowControlMixin
cdef object aio_BufferedProtocol = _aio_protocols.BufferedProtocol
cdef object aio_set_result_unless_cancelled = _aio_futures._set_result_unless_cancelled
cdef object SENDFILE_TRY_NATIVE = _aio_constants._SendfileMode.TRY_NATIVE
cdef int LOG_THRESHOLD_FOR_CONNLOST_WRITES = _aio_constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES
cdef bint PY313 = _sys.version_info >= (3, 13)
cdef bint PY312 = _sys.version_info >= (3, 12)
cdef object SHUT_WR = _socket.SHUT_WR
cdef tuple TCP_FAMILIES = (_socket.AF_INET, _socket.AF_INET6)
cdef tuple TCP_PROTOS = (0, _socket.IPPROTO_TCP)

cdef enum:
    IOV_BATCH = 64          # buffers per sendmsg() when flushing the queue


cdef object _socket_base = _socket.socket.__mro__[1]   # _socket.socket (C type)

cdef extern from *:
    """
    /* PySocketSockObject begins with PyObject_HEAD, then SOCKET_T sock_fd
       (an int on POSIX) - stable since Python 2. */
    static inline int tideloop_socket_fd(PyObject *o) {
        return *(int *)((char *)o + sizeof(PyObject));
    }
    """
    int tideloop_socket_fd(object o)

cdef extern from *:
    """
    #include <sys/socket.h>
    #include <sys/ioctl.h>
    /* A big read straight into a new bytes object sized to what the socket
       holds (FIONREAD), so nothing is copied or resized: a bytes allocated
       at 256 KiB and shrunk to what came would be mmap'd, page-faulted and
       mremap'd on every read (glibc never raises its mmap threshold for
       chunks freed after a shrink).  Returns None with *n_out = -2 when
       fewer than `min` bytes wait (the caller reads into its buffer), with
       *n_out = -1 and *err on failure; NULL only for a Python error. */
    static PyObject *tideloop_recv_bytes(int fd, Py_ssize_t min, Py_ssize_t max,
                                         Py_ssize_t *n_out, int *err) {
        PyObject *b;
        ssize_t n;
        int avail = 0;
        if (ioctl(fd, FIONREAD, &avail) < 0 || avail < min) {
            *n_out = -2;
            Py_RETURN_NONE;
        }
        if (avail > max)
            avail = (int)max;
        b = PyBytes_FromStringAndSize(NULL, avail);
        if (b == NULL)
            return NULL;
        n = recv(fd, PyBytes_AS_STRING(b), (size_t)avail, 0);
        if (n < 0) {
            *err = errno;
            *n_out = -1;
            Py_DECREF(b);
            Py_RETURN_NONE;
        }
        *n_out = n;
        if (n != avail && _PyBytes_Resize(&b, n) < 0)
            return NULL;
        return b;
    }
    """
    object tideloop_recv_bytes(int fd, Py_ssize_t min, Py_ssize_t max, Py_ssize_t* n_out, int* err)

cdef extern from *:
    """
    /* A medium or large read straight into a new bytes object of `size`, shrunk to
       what came.  Returns None with *n_out <= 0 (and *err) for EOF or an
       error; NULL only for a Python error. */
    static PyObject *tideloop_recv_new(int fd, Py_ssize_t size,
                                       Py_ssize_t *n_out, int *err) {
        ssize_t n;
        PyObject *b = PyBytes_FromStringAndSize(NULL, size);
        if (b == NULL)
            return NULL;
        n = recv(fd, PyBytes_AS_STRING(b), (size_t)size, 0);
        if (n <= 0) {
            *err = errno;
            *n_out = n;
            Py_DECREF(b);
            Py_RETURN_NONE;
        }
        *n_out = n;
        if (n != size && _PyBytes_Resize(&b, n) < 0)
            return NULL;
        return b;
    }
    """
    object tideloop_recv_new(int fd, Py_ssize_t size, Py_ssize_t* n_out, int* err)

# How a transport reads follows the size of its last reads:
# - small (< MEDIUM_MIN): recv into the loop's buffer and copy out; a copy of
#   a few hundred bytes (pymalloc) is cheaper than any allocation trick.
# - medium: recv straight into a new bytes of MEDIUM_READ, shrunk to what came.
#   Its chunk (~64 KiB) is below glibc's smallest mmap threshold (128 KiB), so
#   it comes from the heap and the shrink is a realloc in place; a heap trim
#   keeps a 128 KiB pad, so the next chunk needs no brk either. One copy of the
#   data less than a small read (Protocol 10 KiB echo: -3% server CPU/request).
# - large (after a read >= BIG_READ or a full medium chunk): the same into a
#   new bytes of LARGE_READ (124 KiB, still below the mmap threshold). It stays
#   large down to MEDIUM_MIN: a 100 KiB message seen partly (say 60 KiB, then
#   40) must not fall back to medium, whose 64 KiB cap would split every later
#   message in two reads and two writes of an echo.
# - sized (after a full large chunk or a small read of that much): a bytes
#   sized by FIONREAD (see tideloop_recv_bytes), one ioctl more per read, up
#   to RECV_SIZE; the large chunk saves that ioctl for messages up to 124 KiB.
#   Sticky down to MEDIUM_MIN, for the same reason.
# Every mode steps down to small when a read comes in under MEDIUM_MIN.
cdef enum:
    BIG_READ = 65536
    MEDIUM_READ = 65536 - 64
    LARGE_READ = 131072 - 4096
    MEDIUM_MIN = 4096
    READ_SMALL = 0
    READ_MEDIUM = 1
    READ_LARGE = 2
    READ_SIZED = 3


cdef inline int _live_fd(object sock, bint native):
    # The fd the socket object holds now (-1 once closed).  For the C socket
    # type it is read straight from the object (PySocketSockObject starts
    # with PyObject_HEAD then `SOCKET_T sock_fd`, an int on POSIX; checked
    # against fileno() at setup); anything else is asked.
    if sock is None:
        return -1
    if native:
        return tideloop_socket_fd(sock)
    return sock.fileno()


cdef int _forget_closed_fd(Loop loop, FdEntry e) except -1:
    # The transport's socket was closed behind its back (the real socket is
    # what get_extra_info('socket') hands out).  The kernel dropped the epoll
    # registration with the socket, and the fd number may belong to another
    # file or connection by now: epoll_ctl on it would add, change or delete
    # the new owner's interest.  So only our own bookkeeping is undone.
    if e.events:
        loop._n_watched -= 1
        e.events = 0
    if loop._entry(e.fd) is e:
        loop._fd_table[e.fd] = None
    return 0


cdef int _set_nodelay(object sock) except -1:
    # Every TCP stream gets TCP_NODELAY.  asyncio's _set_nodelay also asks
    # for proto == IPPROTO_TCP, which a socket made as socket(AF_INET,
    # SOCK_STREAM) does not have (proto 0), nor any connection accepted from
    # such a listener: there Nagle held the tail of each large reply until
    # the ACK of its head came back (docs/COMPATIBILITY.md).  Proto 0 of a
    # stream socket in these families is TCP.
    if (sock.family in TCP_FAMILIES and sock.type == _socket.SOCK_STREAM
            and sock.proto in TCP_PROTOS):
        sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
    return 0


cdef object _os_error(int err):
    # OSError(errno, msg) picks the subclass (ConnectionResetError, ...).
    return OSError(err, _os.strerror(err))


cdef class _StreamCore(FdEntry):
    """The compiled state and logic of one SocketTransport (see below).

    It is the loop's FdEntry for the socket's fd.  Users and protocols only
    ever see its face, the SocketTransport, whose hot methods are this
    object's bound methods.
    """

    cdef object _face

    cdef Loop _tloop
    cdef object _sock_obj
    cdef object _proto
    cdef object _ctx
    cdef object _server_obj
    cdef public dict _extra
    cdef bint _buffered            # protocol is a BufferedProtocol
    cdef bint _protocol_connected
    cdef public bint _closing
    cdef public int _conn_lost
    cdef public bint _paused       # pause_reading() in effect
    cdef bint _rd_on               # the poller should report readability
    cdef public bint _eof          # write_eof() called
    cdef public bint _protocol_paused
    cdef public Py_ssize_t _high_water
    cdef public Py_ssize_t _low_water
    cdef list _wbuf                # queued bytes objects ...
    cdef Py_ssize_t _wi            # ... from index _wi ...
    cdef Py_ssize_t _woff          # ... and offset _woff in it
    cdef Py_ssize_t _wsize         # total bytes queued
    cdef public object _empty_waiter
    cdef public int _sock_fd
    cdef bint _native_sock         # _live_fd may read the C socket object
    cdef int _read_mode            # READ_SMALL ... READ_SIZED (see BIG_READ)
    cdef object __weakref__

    def _setup(self, face, Loop loop, sock, protocol, waiter, extra, server):
        cdef FdEntry old
        self._face = face
        self._tloop = loop
        self._ctx = PyContext_CopyCurrent()
        self._extra = {} if extra is None else dict(extra)
        self._extra['socket'] = sock
        try:
            self._extra['sockname'] = sock.getsockname()
        except OSError:
            self._extra['sockname'] = None
        if 'peername' not in self._extra:
            try:
                self._extra['peername'] = sock.getpeername()
            except OSError:
                self._extra['peername'] = None
        self._sock_obj = sock
        self._sock_fd = self.fd = sock.fileno()
        self._native_sock = (isinstance(sock, _socket_base) and
                             _live_fd(sock, True) == self.fd)
        self.fileobj = sock
        self._wbuf = []
        self._high_water = 64 * 1024
        self._low_water = 16 * 1024
        self.set_protocol(protocol)
        face._extra = self._extra
        if server is not None:
            # A server closed before this accepted connection's transport
            # was made fails _attach() (an assertion, as on asyncio's loop):
            # only a transport that got attached may detach later.
            if PY313:
                server._attach(face)
            else:
                server._attach()
        self._server_obj = server
        loop._transports[self.fd] = face
        # A reader/writer someone left on this fd is replaced, as a new
        # selector key would replace it in asyncio.
        old = loop._entry(self.fd)
        if old is not None and old is not self:
            if old.reader is not None:
                old.reader.cancel()
            if old.writer is not None:
                old.writer.cancel()
            loop._poller_set_quiet(old, 0)
            loop._fd_table[self.fd] = None
        # Disable Nagle: small writes go out without waiting for an ACK.
        _set_nodelay(sock)
        loop.call_soon(self._proto.connection_made, face, context=self._ctx)
        # Reading starts only once connection_made() has run.
        loop.call_soon(self._start_reading, context=self._ctx)
        if waiter is not None:
            loop.call_soon(aio_set_result_unless_cancelled, waiter, None)

    # ------------------------------------------------------------------
    # asyncio-visible attributes borrowed asyncio code relies on

    @property
    def _loop(self):
        return None if self._sock_obj is None else self._tloop

    @property
    def _sock(self):
        return self._sock_obj

    @property
    def _protocol(self):
        return self._proto

    @property
    def _server(self):
        return self._server_obj

    # ------------------------------------------------------------------
    # registration with the poller

    cdef int _set_io(self) except -1:
        # Make the poller watch what the state asks for.
        cdef Loop loop = self._tloop
        cdef int want = 0
        if self._sock_obj is None:
            self.events = 0
            return 0
        if self._rd_on or self.reader is not None:
            want |= EV_READ
        if self._wsize or self.writer is not None:
            want |= EV_WRITE
        if loop._closed:
            # As asyncio: removing interest is a no-op, adding it raises.
            if want & ~self.events:
                self.events &= want
                raise RuntimeError('Event loop is closed')
            self.events &= want
            return 0
        if _live_fd(self._sock_obj, self._native_sock) != self.fd:
            _forget_closed_fd(loop, self)
            # Still wanting I/O (reading, or a close() waiting to flush):
            # fail as a read or write on the closed socket would.
            # _force_close() empties the queue before it gets here again.
            if want and not self._conn_lost and (not self._closing or self._wsize):
                self._fatal_error(_os_error(EBADF), 'Fatal error on socket transport')
            return 0
        if want != self.events:
            if want == 0:
                loop._poller_set_quiet(self, 0)
            else:
                loop._poller_set(self, want)
        if want and loop._entry(self.fd) is not self:
            loop._store_entry(self.fd, self)
        return 0

    cdef int _unregister(self) except -1:
        cdef Loop loop = self._tloop
        self._rd_on = False
        if loop._closed:
            self.events = 0
            return 0
        if _live_fd(self._sock_obj, self._native_sock) != self.fd:
            return _forget_closed_fd(loop, self)
        if self.events:
            loop._poller_set_quiet(self, 0)
        if loop._entry(self.fd) is self:
            loop._fd_table[self.fd] = None
        return 0

    def _start_reading(self):
        if not self.is_reading():
            return
        self._rd_on = True
        self._set_io()

    # ------------------------------------------------------------------
    # readiness

    cdef void warm(self, int stage) noexcept:
        # What a read touches past this object: the context entered around
        # the protocol call, the socket object (_live_fd), the protocol and
        # its attributes (self.transport), and the face (its type and core
        # slot: transport.write looks up its method and reads the core).
        if stage == 1:
            tideloop_touch(<PyObject*>self._ctx)
            tideloop_touch(<PyObject*>self._sock_obj)
            tideloop_warm_with_preheader(<PyObject*>self._proto)
            tideloop_touch(<PyObject*>self._face)
            tideloop_touch((<char*><PyObject*>self._face) + _face_core_offset)
        else:
            tideloop_warm_instance_values(<PyObject*>self._proto)

    cdef int dispatch(self, Loop loop, int ev) except -1:
        cdef Handle h
        if ev & EV_READ and self.reader is not None:
            # A reader added by the loop's own sock_* code on our fd.
            h = self.reader
            if h._cancelled:
                loop._remove_reader_fd(self.fd)
                self._set_io()
            else:
                rq_push(&loop._ready, h)
            ev &= ~EV_READ
        if ev & EV_WRITE and self.writer is not None:
            # A writer added by the loop's sock_sendfile on our fd.
            h = self.writer
            if h._cancelled:
                loop._remove_writer_fd(self.fd)
                self._set_io()
            else:
                rq_push(&loop._ready, h)
            ev &= ~EV_WRITE
        if ev & EV_READ and not self._rd_on and self.events & EV_READ:
            # Paused lazily (pause_reading leaves the poller alone, so a
            # quick pause/resume costs no syscall): data came while paused,
            # stop watching now.
            self._set_io()
        if not (ev & EV_READ and self._rd_on) and not (ev & EV_WRITE and self._wsize):
            return 0
        ctx = self._ctx
        PyContext_Enter(ctx)
        try:
            if ev & EV_READ and self._rd_on:
                if self._buffered:
                    self._read_ready_buffered()
                else:
                    self._read_ready_data()
            if ev & EV_WRITE and self._wsize:
                self._write_ready()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            # Nothing may escape into the loop's poll phase: report it as
            # asyncio reports an exception in its _read_ready/_write_ready
            # callbacks (e.g. shutdown() failing after the queue drained).
            loop.call_exception_handler({
                'message': f'Exception in callback {type(self._face).__name__}.dispatch()',
                'exception': exc,
                'transport': self._face,
                'protocol': self._proto,
            })
        finally:
            PyContext_Exit(ctx)
        return 0

    cdef int _read_ready_data(self) except -1:
        cdef Loop loop = self._tloop
        cdef ssize_t n
        cdef Py_ssize_t nn
        cdef int err = 0
        cdef bint direct
        cdef Py_ssize_t cap
        cdef Py_ssize_t ready
        if self._conn_lost:
            return 0
        loop._recv_buffer()
        if _live_fd(self._sock_obj, self._native_sock) != self.fd:
            self._fatal_error(_os_error(EBADF), 'Fatal read error on socket transport')
            return 0
        direct = False
        if self._read_mode == READ_SIZED:
            data = tideloop_recv_bytes(self.fd, MEDIUM_MIN, RECV_SIZE, &nn, &err)
            n = nn
            direct = n != -2
            if not direct:
                # Less than MEDIUM_MIN waits: a small read instead.
                self._read_mode = READ_SMALL
        elif self._read_mode != READ_SMALL:
            cap = MEDIUM_READ if self._read_mode == READ_MEDIUM else LARGE_READ
            data = tideloop_recv_new(self.fd, cap, &nn, &err)
            n = nn
            direct = True
            if n >= cap:
                # The chunk filled: more may wait, read bigger next time.
                self._read_mode = READ_LARGE if cap == MEDIUM_READ else READ_SIZED
            elif 0 < n < MEDIUM_MIN:
                self._read_mode = READ_SMALL
        if not direct:
            n = recv(self.fd, loop._rbuf, RECV_SIZE, 0)
            err = errno
            if n >= LARGE_READ:
                self._read_mode = READ_SIZED
            elif n >= BIG_READ:
                self._read_mode = READ_LARGE
            elif n >= MEDIUM_MIN:
                self._read_mode = READ_MEDIUM
        if n < 0:
            if err == EAGAIN or err == EWOULDBLOCK or err == EINTR:
                return 0
            self._fatal_error(_os_error(err), 'Fatal read error on socket transport')
            return 0
        if n == 0:
            self._read_ready_on_eof()
            return 0
        if not direct:
            data = PyBytes_FromStringAndSize(loop._rbuf, n)
        ready = loop._ready.size
        try:
            self._proto.data_received(data)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, 'Fatal error: protocol.data_received() call failed.')
        loop._note_read(ready, n)
        return 0

    cdef int _read_ready_buffered(self) except -1:
        cdef Py_buffer view
        cdef ssize_t n
        cdef int err
        cdef Py_ssize_t ready
        if self._conn_lost:
            return 0
        try:
            buf = self._proto.get_buffer(-1)
            PyObject_GetBuffer(buf, &view, PyBUF_WRITABLE)
            if view.len == 0:
                PyBuffer_Release(&view)
                raise RuntimeError('get_buffer() returned an empty buffer')
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, 'Fatal error: protocol.get_buffer() call failed.')
            return 0
        if _live_fd(self._sock_obj, self._native_sock) != self.fd:
            PyBuffer_Release(&view)
            self._fatal_error(_os_error(EBADF), 'Fatal read error on socket transport')
            return 0
        n = recv(self.fd, view.buf, view.len, 0)
        err = errno
        PyBuffer_Release(&view)
        buf = None
        if n < 0:
            if err == EAGAIN or err == EWOULDBLOCK or err == EINTR:
                return 0
            self._fatal_error(_os_error(err), 'Fatal read error on socket transport')
            return 0
        if n == 0:
            self._read_ready_on_eof()
            return 0
        ready = self._tloop._ready.size
        try:
            self._proto.buffer_updated(n)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, 'Fatal error: protocol.buffer_updated() call failed.')
        self._tloop._note_read(ready, n)
        return 0

    cdef int _read_ready_on_eof(self) except -1:
        if self._tloop._debug:
            aio_logger.debug("%r received EOF", self._face)
        try:
            keep_open = self._proto.eof_received()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, 'Fatal error: protocol.eof_received() call failed.')
            return 0
        if keep_open:
            # The protocol may still write, but nothing more can be read.
            self._rd_on = False
            self._set_io()
        else:
            self.close()
        return 0

    # ------------------------------------------------------------------
    # writing

    cdef int _write(self, data) except -1:
        cdef Py_buffer view
        cdef ssize_t n
        cdef int err
        cdef Py_ssize_t size
        cdef char* buf
        cdef bint exact = type(data) is bytes
        if not exact and not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f'data argument must be a bytes-like object, '
                            f'not {type(data).__name__!r}')
        if self._eof:
            raise RuntimeError('Cannot call write() after write_eof()')
        if self._empty_waiter is not None:
            raise RuntimeError('unable to write; sendfile is in progress')
        if (PyBytes_GET_SIZE(data) == 0) if exact else not data:
            return 0
        if self._conn_lost:
            if self._conn_lost >= LOG_THRESHOLD_FOR_CONNLOST_WRITES:
                aio_logger.warning('socket.send() raised exception.')
            self._conn_lost += 1
            return 0
        if self._wsize:
            # Queued data goes first; keep a private copy of mutable buffers.
            self._queue(data if exact else bytes(data))
            return 0
        # Nothing queued: try to send it all now. bytes is immutable and we
        # hold a reference: its storage is read directly, no buffer export
        # (PyObject_GetBuffer + PyBuffer_Release, ~0.1 us per write).
        if exact:
            buf = PyBytes_AS_STRING(data)
            size = PyBytes_GET_SIZE(data)
        else:
            PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
            buf = <char*>view.buf
            size = view.len
        try:
            if _live_fd(self._sock_obj, self._native_sock) != self.fd:
                n = -1
                err = EBADF   # closed behind our back: as socket.send() says
            else:
                n = send(self.fd, buf, size, MSG_NOSIGNAL)
                err = errno
            if n < 0:
                if err == EAGAIN or err == EWOULDBLOCK or err == EINTR:
                    n = 0
                else:
                    self._fatal_error(_os_error(err), 'Fatal write error on socket transport')
                    return 0
            if n == size:
                return 0
            if exact:
                # Immutable: queue the object itself from offset n (no copy
                # of the rest; the queue is empty, so it is the first buffer).
                rest = None
            else:
                rest = PyBytes_FromStringAndSize(buf + n, size - n)
        finally:
            if not exact:
                PyBuffer_Release(&view)
        if rest is None:
            self._wbuf.append(data)
            self._woff = n
            self._wsize = size - n
            self._set_io()
            self._maybe_pause_protocol()
        else:
            self._queue(rest)
        return 0

    cdef int _queue(self, bytes data) except -1:
        cdef bint was_empty = self._wsize == 0
        self._wbuf.append(data)
        self._wsize += PyBytes_GET_SIZE(data)
        if was_empty:
            self._set_io()
        self._maybe_pause_protocol()
        return 0

    def writelines(self, list_of_data):
        """Write every bytes-like object of an iterable, in order."""
        if self._eof:
            if PY312:
                raise RuntimeError('Cannot call writelines() after write_eof()')
            raise RuntimeError('Cannot call write() after write_eof()')
        if self._empty_waiter is not None:
            if PY312:
                raise RuntimeError('unable to writelines; sendfile is in progress')
            raise RuntimeError('unable to write; sendfile is in progress')
        data = b''.join(list_of_data)
        if data:
            self._write(data)

    cdef int _write_ready(self) except -1:
        # Flush the queue: one sendmsg() over up to IOV_BATCH buffers.
        cdef iovec iov[IOV_BATCH]
        cdef msghdr msg
        cdef int cnt = 0
        cdef Py_ssize_t i, nbuf, off, blen
        cdef ssize_t n
        cdef int err
        cdef bytes b
        if self._conn_lost or not self._wsize:
            return 0
        nbuf = len(self._wbuf)
        i = self._wi
        off = self._woff
        while i < nbuf and cnt < IOV_BATCH:
            b = <bytes>self._wbuf[i]
            iov[cnt].iov_base = PyBytes_AS_STRING(b) + off
            iov[cnt].iov_len = PyBytes_GET_SIZE(b) - off
            off = 0
            cnt += 1
            i += 1
        memset(&msg, 0, sizeof(msg))
        msg.msg_iov = iov
        msg.msg_iovlen = cnt
        if _live_fd(self._sock_obj, self._native_sock) != self.fd:
            n = -1
            err = EBADF
        else:
            n = sendmsg(self.fd, &msg, MSG_NOSIGNAL)
            err = errno
        if n < 0:
            if err == EAGAIN or err == EWOULDBLOCK or err == EINTR:
                return 0
            exc = _os_error(err)
            self._clear_wbuf()
            self._set_io()
            self._fatal_error(exc, 'Fatal write error on socket transport')
            if self._empty_waiter is not None:
                self._empty_waiter.set_exception(exc)
            return 0
        self._consume(n)
        self._maybe_resume_protocol()   # may queue more
        if not self._wsize:
            self._set_io()
            if self._empty_waiter is not None:
                self._empty_waiter.set_result(None)
            if self._closing:
                self._call_connection_lost(None)
            elif self._eof:
                self._sock_obj.shutdown(SHUT_WR)
        return 0

    cdef int _consume(self, Py_ssize_t n) except -1:
        cdef Py_ssize_t blen
        self._wsize -= n
        if not self._wsize:
            self._clear_wbuf()
            return 0
        while n > 0:
            blen = PyBytes_GET_SIZE(<bytes>self._wbuf[self._wi]) - self._woff
            if n >= blen:
                n -= blen
                self._wbuf[self._wi] = None
                self._wi += 1
                self._woff = 0
            else:
                self._woff += n
                n = 0
        if self._wi >= 64 and self._wi * 2 >= len(self._wbuf):
            del self._wbuf[:self._wi]
            self._wi = 0
        return 0

    cdef void _clear_wbuf(self) noexcept:
        self._wbuf = []
        self._wi = 0
        self._woff = 0
        self._wsize = 0

    def write_eof(self):
        """Close the write end once the queue is flushed (shutdown(SHUT_WR))."""
        if self._closing or self._eof:
            return
        self._eof = True
        if not self._wsize:
            self._sock_obj.shutdown(SHUT_WR)

    # ------------------------------------------------------------------
    # flow control (asyncio's _FlowControlMixin)

    cdef int _maybe_pause_protocol(self) except -1:
        if self._wsize <= self._high_water or self._protocol_paused:
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
        if self._protocol_paused and self._wsize <= self._low_water:
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

    # ------------------------------------------------------------------
    # reading control

    def is_reading(self):
        """True unless reading is paused or the transport is closing."""
        return not self._closing and not self._paused

    def pause_reading(self):
        """Stop calling the protocol with data until resume_reading()."""
        if self._closing or self._paused:
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
        self._rd_on = True
        if self._tloop._closed:
            raise RuntimeError('Event loop is closed')   # asyncio's _add_reader
        self._set_io()
        if self._tloop._debug:
            aio_logger.debug("%r resumes reading", self._face)

    # ------------------------------------------------------------------
    # protocol and extra info

    def set_protocol(self, protocol):
        """Use *protocol* from now on (Protocol or BufferedProtocol)."""
        self._buffered = isinstance(protocol, aio_BufferedProtocol)
        self._proto = protocol
        self._protocol_connected = True

    # ------------------------------------------------------------------
    # closing

    def close(self):
        """Close after flushing the queue; connection_lost(None) follows."""
        if self._closing:
            return
        self._closing = True
        self._rd_on = False
        if not self._wsize:
            self._conn_lost += 1
            self._set_io()
            self._tloop.call_soon(self._call_connection_lost_py, None, context=self._ctx)
        else:
            self._set_io()

    def abort(self):
        """Close at once, dropping queued data; connection_lost(None) follows."""
        self._force_close(None)

    def _fatal_error(self, exc, message='Fatal error on transport'):
        if isinstance(exc, OSError):
            if self._tloop._debug:
                aio_logger.debug("%r: %s", self._face, message, exc_info=True)
        else:
            self._tloop.call_exception_handler({
                'message': message,
                'exception': exc,
                'transport': self._face,
                'protocol': self._proto,
            })
        self._force_close(exc)

    def _force_close(self, exc):
        if self._conn_lost:
            return
        if self._wsize:
            self._clear_wbuf()
        self._closing = True
        self._rd_on = False
        self._set_io()
        self._conn_lost += 1
        self._tloop.call_soon(self._call_connection_lost_py, exc, context=self._ctx)

    def _call_connection_lost_py(self, exc):
        self._call_connection_lost(exc)

    cdef int _call_connection_lost(self, exc) except -1:
        try:
            if self._protocol_connected:
                self._proto.connection_lost(exc)
        finally:
            self._unregister()
            if self._sock_obj is not None:
                self._sock_obj.close()
                self._sock_obj = None
            self._proto = None
            server = self._server_obj
            if server is not None:
                self._server_obj = None
                if PY313:
                    server._detach(self._face)
                else:
                    server._detach()
            if self._empty_waiter is not None:
                self._empty_waiter.set_exception(
                    ConnectionError("Connection is closed by peer"))
        return 0

    # ------------------------------------------------------------------
    # sendfile support (the loop's borrowed _sendfile_native)

    def _make_empty_waiter(self):
        if self._empty_waiter is not None:
            raise RuntimeError("Empty waiter is already set")
        self._empty_waiter = self._tloop.create_future()
        if not self._wsize:
            self._empty_waiter.set_result(None)
        return self._empty_waiter

    def _reset_empty_waiter(self):
        self._empty_waiter = None

    # ------------------------------------------------------------------

    def __repr__(self):
        info = [type(self._face).__name__]
        if self._sock_obj is None:
            info.append('closed')
        elif self._closing:
            info.append('closing')
        info.append(f'fd={self._sock_fd}')
        if self._sock_obj is not None and not self._tloop._closed:
            info.append('read=polling' if self._rd_on else 'read=idle')
            state = 'polling' if self.events & EV_WRITE else 'idle'
            info.append(f'write=<{state}, bufsize={self._wsize}>')
        return '<{}>'.format(' '.join(info))

    def _unclosed(self):
        # The face is being finalized with the socket still open.
        if self._sock_obj is not None:
            _tr_warnings.warn(f"unclosed transport {self!r}", ResourceWarning,
                              source=self._face)
            self._sock_obj.close()
            self._sock_obj = None
            server = self._server_obj
            if server is not None:
                self._server_obj = None
                if PY313:
                    server._detach(self._face)
                else:
                    server._detach()


# The face: a real asyncio.Transport subclass (so isinstance() checks pass;
# a compiled class cannot subclass it, its __slots__ layout conflicts).  Its
# methods are compiled here (Cython functions, which bind like Python ones)
# and call the core in C, so transport.write(data) costs no Python frame and
# a connection carries no bound-method objects (twelve slots of them made a
# face ~1.1 KB; a server's memory per idle connection went from ~2,210 bytes
# to ~1,360 without them, tests/test_connection_memory.py).


cdef inline PyObject* _face_core(face, PyObject* face_type, Py_ssize_t offset,
                                 PyObject* core_type) noexcept:
    # The object in a face's `_core` slot (borrowed), read straight from the
    # slot when the face is exactly `face_type` (what the loop makes) and the
    # object exactly `core_type`; NULL otherwise, and the caller asks the
    # face.  Shared by the stream face (_core_of) and the datagram face
    # (datagram.pxi: _dcore_of).
    cdef PyObject* p
    if <PyObject*>Py_TYPE(face) == face_type:
        p = tideloop_slot_get(<PyObject*>face, offset)
        if p != NULL and <PyObject*>Py_TYPE(<object>p) == core_type:
            return p
    return NULL


cdef tuple _face_slot(cls):
    # (offset of cls's `_core` slot, cls) for _face_core(), or (0, None)
    # where `_core` is not a plain member slot: then no face type matches
    # and every call asks the face.  Read once, when the module loads.
    cdef Py_ssize_t offset = tideloop_slot_offset(<PyObject*>cls.__dict__['_core'])
    if offset > 0:
        return offset, cls
    return 0, None


cdef inline _StreamCore _core_of(face):
    # The stream face's core: from its slot (_face_core), else asked.
    cdef PyObject* p = _face_core(face, <PyObject*>_face_type, _face_core_offset,
                                  <PyObject*>_StreamCore)
    if p != NULL:
        return <_StreamCore>p
    return <_StreamCore?>face._core


class SocketTransport(_aio_Transport):
    """asyncio stream transport over a connected socket (TCP or Unix).

    Made by loop._make_socket_transport(); the methods are asyncio.Transport's.
    The work is done by a compiled _StreamCore; see transports/stream.pxi.
    """

    # __dict__ (empty until used) as on asyncio's transports: code and tests
    # may set attributes or replace a method on one instance.
    __slots__ = ('_core', '__dict__', '__weakref__')

    _start_tls_compatible = True
    _sendfile_compatible = SENDFILE_TRY_NATIVE
    max_size = RECV_SIZE

    def __init__(self, loop, sock, protocol, waiter=None, extra=None, server=None):
        core = _StreamCore.__new__(_StreamCore)
        self._core = core
        core._setup(self, loop, sock, protocol, waiter, extra, server)

    def write(self, data):
        """Write bytes-like *data*; what the socket does not take now is queued."""
        _core_of(self)._write(data)

    def writelines(self, list_of_data):
        """Write every bytes-like object of an iterable, in order."""
        _core_of(self).writelines(list_of_data)

    def is_closing(self):
        """True once close() or abort() was called or the connection was lost."""
        return _core_of(self)._closing

    def is_reading(self):
        """True unless reading is paused or the transport is closing."""
        return _core_of(self).is_reading()

    def get_extra_info(self, name, default=None):
        """'socket' (the real socket.socket), 'sockname', 'peername', ..."""
        return _core_of(self)._extra.get(name, default)

    def get_write_buffer_size(self):
        """Bytes queued and not yet sent."""
        return _core_of(self)._wsize

    def pause_reading(self):
        """Stop calling the protocol with data until resume_reading()."""
        _core_of(self).pause_reading()

    def resume_reading(self):
        """Resume delivering data after pause_reading()."""
        _core_of(self).resume_reading()

    def get_protocol(self):
        """The current protocol."""
        return _core_of(self)._proto

    def set_protocol(self, protocol):
        """Use *protocol* from now on (Protocol or BufferedProtocol)."""
        _core_of(self).set_protocol(protocol)

    def close(self):
        """Close after flushing the queue; connection_lost(None) follows."""
        _core_of(self).close()

    def abort(self):
        """Close at once, dropping queued data; connection_lost(None) follows."""
        _core_of(self).abort()

    def write_eof(self):
        """Close the write end once the queue is flushed (shutdown(SHUT_WR))."""
        self._core.write_eof()

    def can_write_eof(self):
        """True: sockets can half-close."""
        return True

    def set_write_buffer_limits(self, high=None, low=None):
        """Set the water marks (high defaults to 64 KiB, low to high // 4)."""
        self._core.set_write_buffer_limits(high, low)

    def get_write_buffer_limits(self):
        """(low, high) water marks of the write buffer."""
        return self._core.get_write_buffer_limits()

    def _set_write_buffer_limits(self, high=None, low=None):
        self._core._set_write_buffer_limits(high, low)

    def _fatal_error(self, exc, message='Fatal error on transport'):
        self._core._fatal_error(exc, message)

    def _force_close(self, exc):
        self._core._force_close(exc)

    def _make_empty_waiter(self):
        return self._core._make_empty_waiter()

    def _reset_empty_waiter(self):
        self._core._reset_empty_waiter()

    @property
    def _sock(self):
        return self._core._sock

    @property
    def _sock_fd(self):
        return self._core._sock_fd

    @property
    def _loop(self):
        return self._core._loop

    @property
    def _protocol(self):
        return self._core._protocol

    @property
    def _server(self):
        return self._core._server

    @property
    def _closing(self):
        return self._core._closing

    @property
    def _conn_lost(self):
        return self._core._conn_lost

    @property
    def _empty_waiter(self):
        return self._core._empty_waiter

    @property
    def _protocol_paused(self):
        return self._core._protocol_paused

    def __repr__(self):
        return repr(self._core)

    def __del__(self):
        core = getattr(self, '_core', None)
        if core is not None:
            core._unclosed()


# Where a face keeps its core (after asyncio's inherited slots), for
# _core_of() and warm().
cdef Py_ssize_t _face_core_offset
cdef object _face_type
_face_core_offset, _face_type = _face_slot(SocketTransport)

# DatagramSocketTransport: the compiled datagram transport (UDP over
# IPv4/IPv6, Unix datagram sockets), asyncio's _SelectorDatagramTransport
# contract.
#
# Like _StreamCore it IS the loop's FdEntry for its fd: readiness lands in
# dispatch(), which recvfrom()s a datagram into the loop's buffer and calls
# protocol.datagram_received(data, addr) at once (or queues a Handle when
# callbacks were already ready, as asyncio orders I/O after them).
#
# Order of delivery.  asyncio reads one datagram per loop iteration.  Under
# load this transport reads on (UDP: recvmmsg() batches) but delivers the
# next datagram at once only while that cannot be told apart from asyncio:
# the protocol scheduled no callback, still reads, did not stop the loop.
# Otherwise the datagrams already read are held and delivered one per
# Handle, each after the callbacks its predecessor scheduled - asyncio's
# order.  See _read_ready / _deliver_held.
#
# sendto() tries the syscall at once when nothing is queued and queues
# (bytes, addr) otherwise; the queue is flushed when the fd is writable.
#
# Addresses.  For AF_INET, AF_INET6 and AF_UNIX on a real socket object the
# peer address is built in C exactly as socket.recvfrom() builds it, and the
# raw sockaddr of the last datagram received is kept: sendto() to that same
# address (the echo pattern: `transport.sendto(data, addr)` in
# datagram_received) reuses it with no parsing.  Any other address goes
# through socket.sendto(), so parsing, name resolution and every error message
# are the socket module's, as in asyncio.  Other families use the socket
# object's own recvfrom()/sendto().
#
# Every protocol callback from readiness runs in the context copied when the
# transport was made; error_received/pause_writing from sendto() run in the
# caller's, as asyncio calls them synchronously.

from libc.string cimport memcpy
from cpython.bytearray cimport PyByteArray_AS_STRING

cdef extern from "<sys/socket.h>" nogil:
    ctypedef unsigned int socklen_t
    cdef struct sockaddr:
        unsigned short sa_family
    ssize_t sendto(int fd, const void* buf, size_t n, int flags,
                   const sockaddr* addr, socklen_t addrlen)

cdef extern from *:
    """
    #include <sys/socket.h>
    #include <sys/un.h>
    #include <netinet/in.h>
    #include <arpa/inet.h>
    #include <stddef.h>
    #include <string.h>

    typedef struct { struct sockaddr_storage ss; } tideloop_sockaddr;

    /* recvfrom() into buf; the sender's address lands in *sa (zeroed first,
       as the socket module does).  Returns n or -1 with *err. */
    static Py_ssize_t tideloop_recvfrom(int fd, char *buf, size_t size,
                                        tideloop_sockaddr *sa, socklen_t *salen,
                                        int *err) {
        ssize_t n;
        *salen = sizeof(sa->ss);
        memset(&sa->ss, 0, sizeof(sa->ss));
        n = recvfrom(fd, buf, size, 0, (struct sockaddr *)&sa->ss, salen);
        if (n < 0)
            *err = errno;
        else if (*salen > sizeof(sa->ss))
            *salen = sizeof(sa->ss);   /* never more than was written */
        return n;
    }

    #define TIDELOOP_MMSG_N 8
    #define TIDELOOP_MSLOT 65536   /* > any UDP payload (65507 IPv4, 65527 IPv6) */

    /* recvmmsg(): up to TIDELOOP_MMSG_N datagrams, the first into buf0 (the
       loop buffer), the others into 64 KiB slots.  Returns the count, or -1
       with *err. */
    static int tideloop_recvmmsg(int fd, char *buf0, size_t size0, char *slots,
                                 tideloop_sockaddr *sas, socklen_t *lens,
                                 Py_ssize_t *sizes, int *err) {
        struct mmsghdr msgs[TIDELOOP_MMSG_N];
        struct iovec iov[TIDELOOP_MMSG_N];
        int i, n;
        memset(msgs, 0, sizeof(msgs));
        for (i = 0; i < TIDELOOP_MMSG_N; i++) {
            iov[i].iov_base = i == 0 ? buf0 : slots + (size_t)(i - 1) * TIDELOOP_MSLOT;
            iov[i].iov_len = i == 0 ? size0 : TIDELOOP_MSLOT;
            memset(&sas[i].ss, 0, sizeof(sas[i].ss));
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &sas[i].ss;
            msgs[i].msg_hdr.msg_namelen = sizeof(sas[i].ss);
        }
        n = recvmmsg(fd, msgs, TIDELOOP_MMSG_N, MSG_DONTWAIT, NULL);
        if (n < 0) {
            *err = errno;
            return -1;
        }
        for (i = 0; i < n; i++) {
            lens[i] = msgs[i].msg_hdr.msg_namelen;
            if (lens[i] > sizeof(sas[i].ss))
                lens[i] = sizeof(sas[i].ss);
            sizes[i] = (Py_ssize_t)msgs[i].msg_len;
        }
        return n;
    }

    /* Is (sa, salen) the same address as (prev, prevlen)? */
    static int tideloop_same_addr(tideloop_sockaddr *sa, socklen_t salen,
                                  tideloop_sockaddr *prev, socklen_t prevlen) {
        return salen == prevlen && salen != 0 && memcmp(&sa->ss, &prev->ss, salen) == 0;
    }

    /* The Python address object socket.recvfrom() would give (socketmodule.c
       makesockaddr) for AF_INET / AF_INET6 / AF_UNIX. */
    static PyObject *tideloop_make_addr(tideloop_sockaddr *sa, socklen_t salen) {
        char host[INET6_ADDRSTRLEN];
        if (salen == 0)
            Py_RETURN_NONE;
        switch (sa->ss.ss_family) {
        case AF_INET: {
            struct sockaddr_in *a = (struct sockaddr_in *)&sa->ss;
            if (inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host)) == NULL)
                return PyErr_SetFromErrno(PyExc_OSError);
            return Py_BuildValue("Ni", PyUnicode_FromString(host), ntohs(a->sin_port));
        }
        case AF_INET6: {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&sa->ss;
            if (inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host)) == NULL)
                return PyErr_SetFromErrno(PyExc_OSError);
            return Py_BuildValue("NiII", PyUnicode_FromString(host), ntohs(a->sin6_port),
                                 ntohl(a->sin6_flowinfo), a->sin6_scope_id);
        }
        case AF_UNIX: {
            struct sockaddr_un *a = (struct sockaddr_un *)&sa->ss;
            size_t plen = salen - offsetof(struct sockaddr_un, sun_path);
            if (salen > offsetof(struct sockaddr_un, sun_path) && a->sun_path[0] == 0)
                return PyBytes_FromStringAndSize(a->sun_path, plen);   /* abstract */
            return PyUnicode_DecodeFSDefaultAndSize(
                a->sun_path, strnlen(a->sun_path, sizeof(sa->ss) - offsetof(struct sockaddr_un, sun_path)));
        }
        }
        Py_RETURN_NONE;
    }
    """
    ctypedef struct tideloop_sockaddr:
        pass
    Py_ssize_t tideloop_recvfrom(int fd, char* buf, size_t size, tideloop_sockaddr* sa,
                                 socklen_t* salen, int* err) nogil
    object tideloop_make_addr(tideloop_sockaddr* sa, socklen_t salen)
    bint tideloop_same_addr(tideloop_sockaddr* sa, socklen_t salen,
                            tideloop_sockaddr* prev, socklen_t prevlen)
    int tideloop_recvmmsg(int fd, char* buf0, size_t size0, char* slots,
                          tideloop_sockaddr* sas, socklen_t* lens, Py_ssize_t* sizes,
                          int* err)
    enum:
        TIDELOOP_MMSG_N
        TIDELOOP_MSLOT

from asyncio import selector_events as _aio_selector_events

cdef int AF_INET_ = _socket.AF_INET
cdef int AF_INET6_ = _socket.AF_INET6
cdef int AF_UNIX_ = _socket.AF_UNIX

cdef bint _udp_gro(sock):
    # UDP_GRO (opt-in) may deliver more than 64 KiB at once: no recvmmsg slots then.
    try:
        return sock.getsockopt(_socket.IPPROTO_UDP, 104) != 0   # UDP_GRO
    except OSError:
        return False


cdef bytearray _loop_slots(Loop loop):
    # The recvmmsg slots, one set per loop (kept on the Python loop object).
    slots = getattr(loop, '_tideloop_dgram_slots', None)
    if slots is None:
        slots = bytearray((TIDELOOP_MMSG_N - 1) * TIDELOOP_MSLOT)
        try:
            setattr(loop, '_tideloop_dgram_slots', slots)
        except AttributeError:
            pass    # a bare core Loop: this transport keeps its own
    return <bytearray>slots


cdef enum:
    READ_BATCH = 32     # datagrams read per readiness at most
    BATCH_PROBE = 8     # when batching does not pay, try every 8th readiness ...
    BATCH_PROBE_MAX = 128   # ... doubling after each probe that finds nothing

# Per-datagram header bytes counted in the write buffer size.  3.11/3.12:
# none.  3.13 counts 8 per queued datagram; 3.13.0-3.13.5 add it on queueing
# but never subtract it (gh-135444: the size never returns to 0 and a paused
# protocol may never resume); later versions name it _header_size and
# subtract it too, which is what is done here on every 3.13.
cdef Py_ssize_t DGRAM_HEADER = getattr(
    _aio_selector_events._SelectorDatagramTransport, '_header_size', 8 if PY313 else 0)


cdef class _DatagramCore(FdEntry):
    """The compiled state and logic of one DatagramSocketTransport (see below).

    It is the loop's FdEntry for the socket's fd; users only see its face,
    whose compiled methods read and call this object in C.
    """

    cdef object _face
    cdef Loop _tloop
    cdef object _sock_obj
    cdef object _proto
    cdef object _ctx
    cdef public dict _extra
    cdef public object _address      # remote address of a connected endpoint
    cdef bint _connected             # extra['peername'] set: send(), not sendto()
    cdef bint _fast                  # C recvfrom/address path (INET/INET6/UNIX)
    cdef bint _native_sock
    cdef bint _protocol_connected
    cdef public bint _closing
    cdef public int _conn_lost
    cdef public bint _paused
    cdef bint _rd_on
    cdef bint _wr_on
    cdef public bint _protocol_paused
    cdef public Py_ssize_t _high_water
    cdef public Py_ssize_t _low_water
    cdef public object _buffer       # deque of (bytes, addr)
    cdef public Py_ssize_t _buffer_size
    cdef public int _sock_fd
    # the last sender: its address object and raw sockaddr
    cdef object _ra_obj
    cdef tideloop_sockaddr _ra
    cdef socklen_t _ra_len
    cdef bint _batch               # read on after a datagram (see _read_ready)
    cdef unsigned int _probe       # reads since the last batch probe
    cdef unsigned int _probe_every # readinesses between probes
    cdef bint _mmsg                # UDP: batches come with one recvmmsg()
    cdef bytearray _slots          # the loop's recvmmsg slots (shared, lazy)
    cdef list _held                # datagrams read, not yet delivered ...
    cdef Py_ssize_t _held_i        # ... from this index
    cdef bint _held_sched          # a Handle will deliver them
    cdef object __weakref__

    def _setup(self, face, Loop loop, sock, protocol, address, waiter, extra):
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
        self._fast = self._native_sock and sock.family in (AF_INET_, AF_INET6_, AF_UNIX_)
        self._connected = bool(self._extra['peername'])
        self._mmsg = (self._fast and sock.family in (AF_INET_, AF_INET6_)
                      and sock.type == _socket.SOCK_DGRAM and not _udp_gro(sock))
        self._address = address
        self.fileobj = sock
        self._buffer = _collections.deque()
        self._high_water = 64 * 1024
        self._low_water = 16 * 1024
        self._probe_every = BATCH_PROBE
        self._proto = protocol
        self._protocol_connected = True
        face._extra = self._extra
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
        loop.call_soon(self._proto.connection_made, face, context=self._ctx)
        # Reading starts only once connection_made() has run.
        loop.call_soon(self._start_reading, context=self._ctx)
        if waiter is not None:
            loop.call_soon(aio_set_result_unless_cancelled, waiter, None)

    # ------------------------------------------------------------------
    # asyncio-visible attributes

    @property
    def _loop(self):
        return None if self._sock_obj is None else self._tloop

    @property
    def _sock(self):
        return self._sock_obj

    @property
    def _protocol(self):
        return self._proto

    # ------------------------------------------------------------------
    # registration with the poller

    cdef int _set_io(self) except -1:
        cdef Loop loop = self._tloop
        cdef int want = 0
        if self._sock_obj is None:
            self.events = 0
            return 0
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
        if _live_fd(self._sock_obj, self._native_sock) != self.fd:
            # Closed behind our back: see _forget_closed_fd (stream.pxi).
            _forget_closed_fd(loop, self)
            if want and not self._conn_lost and (not self._closing or self._buffer):
                self._fatal_error(_os_error(EBADF), 'Fatal error on datagram transport')
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
        self._wr_on = False
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
        if self._closing or self._paused:
            return
        self._rd_on = True
        self._set_io()

    # ------------------------------------------------------------------
    # readiness

    cdef int dispatch(self, Loop loop, int ev) except -1:
        cdef Handle h
        if ev & EV_READ and self.reader is not None:
            h = self.reader
            if h._cancelled:
                loop._remove_reader_fd(self.fd)
                self._set_io()
            else:
                rq_push(&loop._ready, h)
            ev &= ~EV_READ
        if ev & EV_WRITE and self.writer is not None:
            h = self.writer
            if h._cancelled:
                loop._remove_writer_fd(self.fd)
                self._set_io()
            else:
                rq_push(&loop._ready, h)
            ev &= ~EV_WRITE
        if ev & EV_READ and not self._rd_on and self.events & EV_READ:
            # Paused lazily: data came while paused, stop watching now.
            self._set_io()
        if ev & EV_READ and self._held is not None:
            # Datagrams already read are still being delivered, one per
            # Handle: that is this iteration's read (the fd stays readable,
            # level-triggered, and is seen again once they are through).
            ev &= ~EV_READ
            if self._rd_on and not self._held_sched:
                self._schedule_held(False)
        if not (ev & EV_READ and self._rd_on) and not (ev & EV_WRITE and self._wr_on):
            return 0
        if loop._ready_before_io:
            # Callbacks were ready before this poll: asyncio would run them
            # before this I/O (its reader/writer is a Handle queued after
            # them), so queue it as a Handle too, keeping the order.
            rq_push(&loop._ready, _new_handle(self._io_handle, (ev,), loop, self._ctx))
            return 0
        ctx = self._ctx
        PyContext_Enter(ctx)
        try:
            self._io(ev, True)
        finally:
            PyContext_Exit(ctx)
        return 0

    def _io_handle(self, int ev):
        # The deferred dispatch (in self._ctx); the state may have changed
        # meanwhile, as it may for asyncio's queued reader/writer Handle
        # (pause_reading/close cancel that one).
        self._io(ev)

    cdef int _io(self, int ev, bint batch=False) except -1:
        if ev & EV_READ and self._rd_on:
            try:
                self._read_ready(batch)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._callback_failed(exc, '_read_ready')
        if ev & EV_WRITE and self._wr_on:
            try:
                self._sendto_ready()
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._callback_failed(exc, '_sendto_ready')
        return 0

    cdef int _callback_failed(self, exc, str name) except -1:
        # asyncio runs _read_ready/_sendto_ready as Handles: an exception
        # from the protocol (datagram_received, error_received) reaches the
        # exception handler and the transport stays open.
        self._tloop.call_exception_handler({
            'message': f'Exception in callback {type(self._face).__name__}.{name}()',
            'exception': exc,
            'transport': self._face,
            'protocol': self._proto,
        })
        return 0

    cdef int _read_ready(self, bint batch=False) except -1:
        cdef Loop loop = self._tloop
        cdef Py_ssize_t nready
        cdef int got, i
        if self._conn_lost:
            return 0
        if not self._fast or _live_fd(self._sock_obj, True) != self.fd:
            # Another family, or the socket closed behind our back: the
            # socket object says what happens (EBADF for a closed one).
            try:
                data, addr = self._sock_obj.recvfrom(RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                return 0
            except OSError as exc:
                self._proto.error_received(exc)
                return 0
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, 'Fatal read error on datagram transport')
                return 0
            self._proto.datagram_received(data, addr)
            return 0
        loop._recv_buffer()
        if self._held is not None:
            # Datagrams read earlier go first, in order, by their Handle
            # (it runs after the callbacks the last one scheduled).
            if not self._held_sched:
                self._schedule_held(False)
            return 0
        if batch and self._mmsg and self._batch:
            self._read_batches(loop, False)
            return 0
        nready = loop._ready.size     # before the protocol runs
        if self._recv_one(loop) <= 0 or not batch:
            return 0
        # Batching.  asyncio reads one datagram per readiness.  Reading on
        # here saves a poll per datagram under load, and is only done while
        # it cannot be told apart from asyncio: the protocol scheduled no
        # callback (the ready queue did not grow), is still reading, did not
        # stop the loop, and at most READ_BATCH datagrams - another fd or a
        # timer waiting a little longer is what a slightly later arrival
        # would give in asyncio.  Whether it pays is learned: a read that
        # finds nothing costs a syscall, so after one, only every
        # BATCH_PROBE-th readiness tries (backing off to BATCH_PROBE_MAX).
        # UDP then reads with recvmmsg() (_read_batches), holding what
        # cannot be delivered yet.
        if not self._batch:
            self._probe += 1
            if self._probe < self._probe_every:
                return 0
            self._probe = 0
        for i in range(READ_BATCH - 1):
            if (not self._rd_on or self._conn_lost or loop._stopping
                    or loop._ready.size != nready):
                return 0
            if self._mmsg:
                # Something was waiting: from now on read batches with
                # recvmmsg() (learned back off when one finds a lone datagram).
                self._read_batches(loop, True)
                return 0
            got = self._recv_one(loop)
            if got <= 0:
                if i == 0:
                    self._batch_failed()   # nothing was waiting
                return 0
            self._batch = True
            self._probe_every = BATCH_PROBE
        return 0

    cdef void _batch_failed(self) noexcept:
        # Batching found nothing more: back to one read per readiness, and
        # probe again later - twice as late each time (ping-pong traffic
        # then pays almost nothing for the probes).
        if self._batch:
            self._probe_every = BATCH_PROBE
        elif self._probe_every < BATCH_PROBE_MAX:
            self._probe_every *= 2
        self._batch = False

    cdef int _read_batches(self, Loop loop, bint probing) except -1:
        # recvmmsg() batches, delivered under the batching rule, until about
        # READ_BATCH datagrams, a short batch, or a reason to stop.  When
        # probing, one datagram was just read by recvfrom(): any more means
        # batching pays; otherwise a lone datagram means it does not.
        cdef int n, total = 0
        cdef Py_ssize_t nready = loop._ready.size
        while True:
            n = self._recv_many(loop)
            if total == 0 and (n <= 0 or (n == 1 and not probing)):
                self._batch_failed()   # back to one recvfrom() per readiness
            elif total == 0:
                self._batch = True
                self._probe_every = BATCH_PROBE
            if n <= 0:
                return 0
            total += n
            self._deliver_held(loop)
            if (self._held is not None or n < TIDELOOP_MMSG_N or total >= READ_BATCH
                    or not self._rd_on or self._conn_lost or loop._stopping
                    or loop._ready.size != nready):
                return 0

    cdef int _recv_many(self, Loop loop) except -2:
        # One recvmmsg(): the datagrams go to self._held (delivered by
        # _deliver_held); returns their count, 0 for none, -1 error reported.
        cdef tideloop_sockaddr sas[TIDELOOP_MMSG_N]
        cdef socklen_t lens[TIDELOOP_MMSG_N]
        cdef Py_ssize_t sizes[TIDELOOP_MMSG_N]
        cdef int n, i
        cdef int err = 0
        cdef char* base
        if self._slots is None:
            self._slots = _loop_slots(loop)
        n = tideloop_recvmmsg(self.fd, loop._rbuf, RECV_SIZE,
                              PyByteArray_AS_STRING(self._slots), sas, lens, sizes, &err)
        if n < 0:
            if err == EAGAIN or err == EWOULDBLOCK or err == EINTR:
                return 0
            self._proto.error_received(_os_error(err))
            return -1
        held = []
        for i in range(n):
            if i == 0:
                base = loop._rbuf
            else:
                base = PyByteArray_AS_STRING(self._slots) + (i - 1) * TIDELOOP_MSLOT
            data = PyBytes_FromStringAndSize(base, sizes[i])
            if self._ra_obj is not None and tideloop_same_addr(&sas[i], lens[i], &self._ra, self._ra_len):
                addr = self._ra_obj
            else:
                addr = tideloop_make_addr(&sas[i], lens[i])
                if addr is None:
                    self._ra_obj = None
                else:
                    memcpy(&self._ra, &sas[i], lens[i])
                    self._ra_len = lens[i]
                    self._ra_obj = addr
            held.append((data, addr))
        if n:
            self._held = held
            self._held_i = 0
        return n

    cdef int _deliver_held(self, Loop loop) except -1:
        # Deliver datagrams already read: the first at once, the next ones
        # under the batching rule (no callback scheduled, loop not stopped).
        # What remains waits for a Handle (the next iteration, as asyncio's
        # next read), or for resume_reading(); close() drops it (asyncio
        # never reads what is still in the socket then).
        cdef list held = self._held
        cdef Py_ssize_t nready = loop._ready.size
        cdef bint first = True
        try:
            while self._held_i < len(held):
                if not self._rd_on or self._conn_lost:
                    break
                if not first and (loop._stopping or loop._ready.size != nready):
                    break
                first = False
                item = held[self._held_i]
                held[self._held_i] = None
                self._held_i += 1
                self._proto.datagram_received((<tuple>item)[0], (<tuple>item)[1])
        finally:
            if self._held is held:
                if self._held_i >= len(held) or self._conn_lost or self._closing:
                    self._held = None
                    self._held_i = 0
                elif self._rd_on:
                    # After the callbacks just scheduled, as asyncio's next
                    # read; after stop(), not before the loop runs again.
                    self._schedule_held(loop._stopping)
        return 0

    cdef int _schedule_held(self, bint next_iteration) except -1:
        if not self._held_sched:
            self._held_sched = True
            cb = self._held_trampoline if next_iteration else self._held_handle
            rq_push(&self._tloop._ready, _new_handle(cb, (), self._tloop, self._ctx))
        return 0

    def _held_trampoline(self):
        # Runs in this iteration; the Handle it queues runs in the next one.
        rq_push(&self._tloop._ready,
                _new_handle(self._held_handle, (), self._tloop, self._ctx))

    def _held_handle(self):
        self._held_sched = False
        if self._held is None or self._conn_lost:
            return
        try:
            self._deliver_held(self._tloop)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._callback_failed(exc, '_read_ready')

    cdef int _recv_one(self, Loop loop) except -2:
        # One recvfrom(): 1 delivered, 0 nothing there, -1 error reported.
        cdef tideloop_sockaddr sa
        cdef socklen_t salen
        cdef Py_ssize_t n
        cdef int err = 0
        n = tideloop_recvfrom(self.fd, loop._rbuf, RECV_SIZE, &sa, &salen, &err)
        if n < 0:
            if err == EAGAIN or err == EWOULDBLOCK or err == EINTR:
                return 0
            # e.g. ECONNREFUSED on a connected endpoint after an ICMP error
            self._proto.error_received(_os_error(err))
            return -1
        data = PyBytes_FromStringAndSize(loop._rbuf, n)
        if self._ra_obj is not None and tideloop_same_addr(&sa, salen, &self._ra, self._ra_len):
            addr = self._ra_obj     # same sender: the same (immutable) object
        else:
            addr = tideloop_make_addr(&sa, salen)
            if addr is None:
                self._ra_obj = None
            else:
                memcpy(&self._ra, &sa, salen)
                self._ra_len = salen
                self._ra_obj = addr
        self._proto.datagram_received(data, addr)
        return 1

    # ------------------------------------------------------------------
    # writing

    cdef bint _addr_hit(self, object addr):
        # Is *addr* the last sender's address (so its raw sockaddr is valid)?
        # Only exact str/bytes/int contents count: socket.sendto() might
        # treat an equal object of another type differently (a float port
        # is a TypeError there).
        c = self._ra_obj
        if c is None:
            return False
        if addr is c:
            return True
        t = type(addr)
        if t is not type(c):
            return False
        if t is tuple:
            for x in <tuple>addr:
                if type(x) is not str and type(x) is not int:
                    return False
            return addr == c
        return (t is str or t is bytes) and addr == c

    cdef int _send(self, object data, object addr) except -1:
        # Send one datagram: 0 sent, 1 would block; OSError (or whatever
        # socket.sendto() raises for a bad address) propagates.
        cdef Py_buffer view
        cdef ssize_t n
        cdef int err
        cdef bint raw
        sock = self._sock_obj
        if sock is None:
            # asyncio calls self._sock.send* on None here
            raise AttributeError("'NoneType' object has no attribute '%s'"
                                 % ('send' if self._connected else 'sendto'))
        raw = self._native_sock and (self._connected or self._addr_hit(addr))
        if not raw:
            try:
                if self._connected:
                    sock.send(data)
                else:
                    sock.sendto(data, addr)
            except (BlockingIOError, InterruptedError):
                return 1
            return 0
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        try:
            if _live_fd(sock, True) != self.fd:
                n = -1
                err = EBADF   # closed behind our back: as socket.send() says
            elif self._connected:
                n = send(self.fd, view.buf, view.len, MSG_NOSIGNAL)
                err = errno
            else:
                n = sendto(self.fd, view.buf, view.len, MSG_NOSIGNAL,
                           <sockaddr*>&self._ra, self._ra_len)
                err = errno
        finally:
            PyBuffer_Release(&view)
        if n < 0:
            if err == EAGAIN or err == EWOULDBLOCK or err == EINTR:
                return 1
            raise _os_error(err)
        return 0

    cdef int _sendto(self, data, addr) except -1:
        # The face's sendto(): sent at once when nothing is queued; otherwise
        # (or when the socket would block) queued, with pause_writing() past
        # the high-water mark.
        cdef Py_ssize_t size
        if type(data) is bytes:
            size = PyBytes_GET_SIZE(data)
        elif isinstance(data, (bytes, bytearray, memoryview)):
            size = len(data)
        else:
            raise TypeError(f'data argument must be a bytes-like object, '
                            f'not {type(data).__name__!r}')
        if not size and not PY313:
            return 0    # 3.13 sends empty datagrams (gh-113812)
        if self._address:
            if (addr is not None and addr is not self._address
                    and addr not in (None, self._address)):
                raise ValueError(
                    f'Invalid address: must be None or {self._address}')
            addr = self._address
        if self._conn_lost and self._address:
            if self._conn_lost >= LOG_THRESHOLD_FOR_CONNLOST_WRITES:
                aio_logger.warning('socket.send() raised exception.')
            self._conn_lost += 1
            return 0
        if not self._buffer:
            # Attempt to send it right away first.
            try:
                if self._send(data, addr) == 0:
                    return 0
            except OSError as exc:
                self._proto.error_received(exc)
                return 0
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, 'Fatal write error on datagram transport')
                return 0
            # Would block: watch for writability (on a closed loop this
            # raises, as asyncio's _add_writer, and nothing is queued).
            self._wr_on = True
            try:
                self._set_io()
            except BaseException:
                self._wr_on = False
                raise
        # Ensure that what we buffer is immutable.
        self._buffer.append((bytes(data), addr))
        self._buffer_size += size + DGRAM_HEADER
        self._maybe_pause_protocol()
        return 0

    cdef int _sendto_ready(self) except -1:
        cdef Py_ssize_t size
        buf = self._buffer
        while buf:
            item = buf.popleft()
            data, addr = item
            size = PyBytes_GET_SIZE(data) + DGRAM_HEADER
            self._buffer_size -= size
            try:
                if self._send(data, addr):
                    buf.appendleft(item)   # try again later
                    self._buffer_size += size
                    break
            except OSError as exc:
                self._proto.error_received(exc)
                return 0
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, 'Fatal write error on datagram transport')
                return 0
        self._maybe_resume_protocol()   # may append to the queue
        if not buf:
            self._wr_on = False
            self._set_io()
            if self._closing:
                self._call_connection_lost(None)
        return 0

    # ------------------------------------------------------------------
    # flow control (asyncio's _FlowControlMixin)

    cdef int _maybe_pause_protocol(self) except -1:
        if self._buffer_size <= self._high_water or self._protocol_paused:
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
        if self._protocol_paused and self._buffer_size <= self._low_water:
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

    def pause_reading(self):
        """Stop delivering datagrams until resume_reading()."""
        if self._closing or self._paused:
            return
        self._paused = True
        self._rd_on = False   # the poller interest goes lazily (dispatch)
        if self._tloop._debug:
            aio_logger.debug("%r pauses reading", self._face)

    def resume_reading(self):
        """Resume delivering datagrams after pause_reading()."""
        if self._closing or not self._paused:
            return
        self._paused = False
        self._rd_on = True
        if self._tloop._closed:
            raise RuntimeError('Event loop is closed')   # asyncio's _add_reader
        self._set_io()
        if self._held is not None:
            self._schedule_held(False)
        if self._tloop._debug:
            aio_logger.debug("%r resumes reading", self._face)

    # ------------------------------------------------------------------
    # protocol and extra info

    def set_protocol(self, protocol):
        """Use *protocol* from now on."""
        self._proto = protocol
        self._protocol_connected = True

    # ------------------------------------------------------------------
    # closing

    def close(self):
        """Close after sending what is queued; connection_lost(None) follows."""
        if self._closing:
            return
        self._closing = True
        self._rd_on = False
        self._held = None
        if not self._buffer:
            self._conn_lost += 1
            self._wr_on = False
            self._set_io()
            self._tloop.call_soon(self._call_connection_lost_py, None, context=self._ctx)
        else:
            self._set_io()

    def abort(self):
        """Close at once, dropping queued datagrams; connection_lost(None) follows."""
        self._force_close(None)

    def _fatal_error(self, exc, message='Fatal error on transport'):
        if self._sock_obj is None:
            # asyncio's _loop is None once connection_lost() has run
            raise AttributeError(
                "'NoneType' object has no attribute 'call_exception_handler'")
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
        if self._buffer:
            # asyncio clears the queue but leaves _buffer_size as it was
            self._buffer.clear()
            self._wr_on = False
        if not self._closing:
            self._closing = True
            self._rd_on = False
        self._held = None
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
            self._ra_obj = None
            self._held = None
        return 0

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
            info.append(f'write=<{state}, bufsize={self._buffer_size}>')
        return '<{}>'.format(' '.join(info))

    def _unclosed(self):
        # The face is being finalized with the socket still open.
        if self._sock_obj is not None:
            _tr_warnings.warn(f"unclosed transport {self!r}", ResourceWarning,
                              source=self._face)
            self._sock_obj.close()
            self._sock_obj = None


# The face: a real asyncio transport subclass (isinstance checks pass; 3.12+
# asyncio's own is both a _FlowControlMixin and a DatagramTransport).  As on
# the stream face, its methods are compiled and call the core in C: no Python
# frame per sendto() and no bound-method objects per endpoint.


cdef inline _DatagramCore _dcore_of(face):
    # The datagram face's core: from its slot (stream.pxi: _face_core), else asked.
    cdef PyObject* p = _face_core(face, <PyObject*>_dface_type, _dface_core_offset,
                                  <PyObject*>_DatagramCore)
    if p != NULL:
        return <_DatagramCore>p
    return <_DatagramCore?>face._core


class DatagramSocketTransport(_aio_transports._FlowControlMixin,
                              _aio_transports.DatagramTransport):
    """asyncio datagram transport over a UDP or Unix datagram socket.

    Made by loop._make_datagram_transport(); the methods are
    asyncio.DatagramTransport's.  The work is done by a compiled
    _DatagramCore; see transports/datagram.pxi.
    """

    # __dict__ (empty until used) as on asyncio's transports.
    __slots__ = ('_core', '__dict__', '__weakref__')

    max_size = RECV_SIZE

    def __init__(self, loop, sock, protocol, address=None, waiter=None, extra=None):
        core = _DatagramCore.__new__(_DatagramCore)
        self._core = core
        core._setup(self, loop, sock, protocol, address, waiter, extra)

    def sendto(self, data, addr=None):
        """Send *data* (bytes-like) to *addr* (None on a connected endpoint).

        Sent at once when nothing is queued; otherwise (or when the socket
        would block) queued, with pause_writing() past the high-water mark.
        """
        _dcore_of(self)._sendto(data, addr)

    def is_closing(self):
        """True once close() or abort() was called or the transport failed."""
        return _dcore_of(self)._closing

    def is_reading(self):
        """True unless reading is paused or the transport is closing."""
        cdef _DatagramCore core = _dcore_of(self)
        return not core._closing and not core._paused

    def get_extra_info(self, name, default=None):
        """'socket' (the real socket.socket), 'sockname', 'peername', ..."""
        return _dcore_of(self)._extra.get(name, default)

    def get_write_buffer_size(self):
        """Bytes queued and not yet sent (plus per-datagram headers on 3.13)."""
        return _dcore_of(self)._buffer_size

    def pause_reading(self):
        """Stop delivering datagrams until resume_reading()."""
        _dcore_of(self).pause_reading()

    def resume_reading(self):
        """Resume delivering datagrams after pause_reading()."""
        _dcore_of(self).resume_reading()

    def get_protocol(self):
        """The current protocol."""
        return _dcore_of(self)._proto

    def set_protocol(self, protocol):
        """Use *protocol* from now on."""
        _dcore_of(self).set_protocol(protocol)

    def close(self):
        """Close after sending what is queued; connection_lost(None) follows."""
        _dcore_of(self).close()

    def abort(self):
        """Close at once, dropping queued datagrams; connection_lost(None) follows."""
        _dcore_of(self).abort()

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
    def _address(self):
        return self._core._address

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
    def _buffer_size(self):
        return self._core._buffer_size

    def __repr__(self):
        return repr(self._core)

    def __del__(self):
        core = getattr(self, '_core', None)
        if core is not None:
            core._unclosed()


# Where a face keeps its core, for _dcore_of().
cdef Py_ssize_t _dface_core_offset
cdef object _dface_type
_dface_core_offset, _dface_type = _face_slot(DatagramSocketTransport)

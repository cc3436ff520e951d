# loop.sock_recv / sock_recv_into / sock_sendall, compiled, with lazy
# unregistration.
#
# asyncio registers the fd on every sock_recv that would block and removes it
# when the future is done: two epoll_ctl() calls per request in a
# request/response loop.  Here a socket waiting through these methods gets a
# _SockEntry that STAYS registered after the wait ends; the next wait on the
# same socket (usually issued before the next readiness) costs no syscall.
# Interest is dropped lazily, when readiness arrives and nobody waits.
#
# Waits are readiness futures: the coroutine retries the operation itself,
# so a task cancelled after readiness loses no data (asyncio's callback has
# already read it into a future nobody will look at).
#
# fd reuse: a _SockEntry remembers its socket object.  A different object
# (or a closed one) on the same fd number means the entry is stale: it is
# evicted (unregistered, its waiters woken to retry) before anything else
# uses the fd.  Loop._add_reader/_add_writer evict a lazy entry the same way
# (FdEntry.lazy), and then sock_* waits on that fd fall back to asyncio's
# Handle-based registration.

from asyncio import base_events as _aio_base_events_s

cdef object aio_check_ssl_socket = _aio_base_events_s._check_ssl_socket
# The C recv: a socket class whose recv resolves to it may be read directly.
cdef object _socket_base_recv = _socket.socket.recv


cdef class _SockEntry(FdEntry):
    """FdEntry of a socket used through loop.sock_*: readiness futures."""

    cdef object rfut
    cdef object wfut

    cdef int dispatch(self, Loop loop, int ev) except -1:
        cdef int drop = 0
        if ev & EV_READ:
            f = self.rfut
            self.rfut = None
            if f is not None and not f.done():
                f.set_result(None)
            elif self.events & EV_READ:
                drop |= EV_READ
        if ev & EV_WRITE:
            f = self.wfut
            self.wfut = None
            if f is not None and not f.done():
                f.set_result(None)
            elif self.events & EV_WRITE:
                drop |= EV_WRITE
        if drop:
            # Nobody waits that way any more: stop watching (lazily).
            loop._poller_set_quiet(self, self.events & ~drop)
            if self.events == 0 and loop._entry(self.fd) is self:
                loop._fd_table[self.fd] = None
        return 0


cdef int _evict_lazy(Loop loop, FdEntry e) except -1:
    # Drop a lazy entry from the poller and the table; wake its waiters so
    # their coroutines retry (and re-wait through whatever is there now).
    cdef _SockEntry se = <_SockEntry>e
    loop._poller_set_quiet(e, 0)
    if loop._entry(e.fd) is e:
        loop._fd_table[e.fd] = None
    for f in (se.rfut, se.wfut):
        if f is not None and not f.done():
            f.set_result(None)
    se.rfut = se.wfut = None
    return 0


def _fut_set_none(fut):
    if not fut.done():
        fut.set_result(None)


cdef object _sock_wait(Loop loop, int fd, object sock, int ev):
    """A future done when *fd* is ready for *ev*, and whether it is Handle-based."""
    cdef FdEntry e = loop._entry(fd)
    cdef _SockEntry se
    if loop._closed:
        raise RuntimeError('Event loop is closed')
    fut = aio_Future(loop=loop)
    if e is not None and e.lazy and e.fileobj is not sock:
        _evict_lazy(loop, e)   # another socket now has this fd number
        e = None
    if e is None:
        se = _SockEntry.__new__(_SockEntry)
        se.fd = fd
        se.fileobj = sock
        se.lazy = True
        loop._poller_set(se, ev)
        loop._store_entry(fd, se)
    elif e.lazy:
        se = <_SockEntry>e
        if not (se.events & ev):
            loop._poller_set(se, se.events | ev)
        if loop._entry(fd) is not se:
            loop._store_entry(fd, se)
    else:
        # Someone watches this fd with add_reader/add_writer: asyncio's way
        # (our callback replaces theirs, as asyncio's sock_* do).
        if ev == EV_READ:
            loop._add_reader(fd, _fut_set_none, fut)
        else:
            loop._add_writer(fd, _fut_set_none, fut)
        return fut, True
    if ev == EV_READ:
        se.rfut = fut
    else:
        se.wfut = fut
    return fut, False


cdef int _sock_wait_done(Loop loop, int fd, int ev, bint handle_based) except -1:
    if handle_based:
        if ev == EV_READ:
            loop._remove_reader(fd)
        else:
            loop._remove_writer(fd)
    return 0


cdef object _sock_try_recv(Loop loop, object sock, object n):
    # sock.recv(n), or None where it would block.  For the C socket type and
    # n up to RECV_SIZE the bytes arrive in the loop's buffer and are copied
    # into an exact-size bytes: sock.recv(n) allocates n bytes up front and
    # shrinks them, and for a large n (servers ask for 64-256 KiB) that is an
    # mmap, page faults and an mremap per call.  A subclass overriding
    # recv() keeps its own.
    cdef Py_ssize_t size
    cdef ssize_t got
    cdef int fd, err
    if type(n) is int and getattr(type(sock), 'recv', None) is _socket_base_recv:
        size = n
        if 0 < size <= RECV_SIZE:
            fd = tideloop_socket_fd(sock)
            if fd >= 0:
                loop._recv_buffer()
                while True:
                    got = recv(fd, loop._rbuf, size, 0)
                    if got >= 0:
                        return PyBytes_FromStringAndSize(loop._rbuf, got)
                    err = errno
                    if err == EAGAIN or err == EWOULDBLOCK:
                        return None
                    if err != EINTR:
                        raise _os_error(err)
    try:
        return sock.recv(n)
    except (BlockingIOError, InterruptedError):
        return None


async def sock_recv(self, sock, n):
    """Receive up to *n* bytes from the non-blocking socket *sock*.

    asyncio's loop.sock_recv, compiled (see transports/sockops.pxi).
    """
    cdef Loop loop = <Loop?>self
    cdef int fd
    aio_check_ssl_socket(sock)
    if loop._debug and sock.gettimeout() != 0:
        raise ValueError("the socket must be non-blocking")
    data = _sock_try_recv(loop, sock, n)
    if data is not None:
        return data
    fd = sock.fileno()
    self._ensure_fd_no_transport(fd)
    while True:
        fut, hb = _sock_wait(loop, fd, sock, EV_READ)
        try:
            await fut
        finally:
            _sock_wait_done(loop, fd, EV_READ, hb)
        data = _sock_try_recv(loop, sock, n)
        if data is not None:
            return data


async def sock_recv_into(self, sock, buf):
    """Receive into *buf* from the non-blocking socket *sock*; the byte count.

    asyncio's loop.sock_recv_into, compiled (see transports/sockops.pxi).
    """
    cdef Loop loop = <Loop?>self
    cdef int fd
    aio_check_ssl_socket(sock)
    if loop._debug and sock.gettimeout() != 0:
        raise ValueError("the socket must be non-blocking")
    try:
        return sock.recv_into(buf)
    except (BlockingIOError, InterruptedError):
        pass
    fd = sock.fileno()
    self._ensure_fd_no_transport(fd)
    while True:
        fut, hb = _sock_wait(loop, fd, sock, EV_READ)
        try:
            await fut
        finally:
            _sock_wait_done(loop, fd, EV_READ, hb)
        try:
            return sock.recv_into(buf)
        except (BlockingIOError, InterruptedError):
            pass


async def sock_sendall(self, sock, data):
    """Send all of *data* on the non-blocking socket *sock*.

    asyncio's loop.sock_sendall, compiled (see transports/sockops.pxi).
    """
    cdef Loop loop = <Loop?>self
    cdef int fd
    cdef Py_ssize_t pos, total
    aio_check_ssl_socket(sock)
    if loop._debug and sock.gettimeout() != 0:
        raise ValueError("the socket must be non-blocking")
    try:
        n = sock.send(data)
    except (BlockingIOError, InterruptedError):
        n = 0
    if n == len(data):
        return
    fd = sock.fileno()
    self._ensure_fd_no_transport(fd)
    view = memoryview(data)
    pos = n
    total = len(view)
    while True:
        fut, hb = _sock_wait(loop, fd, sock, EV_WRITE)
        try:
            await fut
        finally:
            _sock_wait_done(loop, fd, EV_WRITE, hb)
        try:
            n = sock.send(view[pos:])
        except (BlockingIOError, InterruptedError):
            continue
        pos += n
        if pos >= total:
            return

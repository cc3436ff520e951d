# WriteQueue: the bytes a transport could not write at once, in order.
#
# A list of bytes objects plus an offset into the first unsent one.  An
# immutable `bytes` is queued as it is, also its unsent tail after a partial
# write (no copy: asyncio copies every queued byte into a bytearray and then
# `del buf[:n]`s it, a memmove of the rest per write); anything mutable is
# copied once, as asyncio must too.  The queue is written out with one
# writev() over up to WQ_IOV buffers (fill() + consume() for callers that need
# sendmsg() instead, e.g. MSG_NOSIGNAL on sockets).
#
# Used by transports/pipe.pxi; written so stream.pxi can adopt it.

cimport cython
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING, PyBytes_GET_SIZE

cdef extern from "<sys/uio.h>" nogil:
    ssize_t writev(int fd, const iovec* iov, int iovcnt)

cdef enum:
    WQ_IOV = 128          # buffers per writev() (IOV_MAX is 1024 on Linux)
    WQ_COMPACT = 64       # sent entries dropped from the list once this many


@cython.final
cdef class WriteQueue:
    """Queued bytes of one transport: a list plus the offset into its head."""

    cdef list _items
    cdef Py_ssize_t _head         # index of the first unsent item ...
    cdef Py_ssize_t _off          # ... and how much of it was sent
    cdef readonly Py_ssize_t size # bytes queued and not yet sent

    def __cinit__(self):
        self._items = []

    cdef inline bint empty(self) noexcept:
        return self.size == 0

    cdef int push(self, bytes data, Py_ssize_t off) except -1:
        """Queue data[off:]; the object itself is kept when it can be (no copy)."""
        cdef Py_ssize_t n = PyBytes_GET_SIZE(data) - off
        if n <= 0:
            return 0
        if self.size == 0:
            self._items = [data]
            self._head = 0
            self._off = off
        elif off:
            self._items.append(PyBytes_FromStringAndSize(PyBytes_AS_STRING(data) + off, n))
        else:
            self._items.append(data)
        self.size += n
        return 0

    cdef int push_copy(self, const char* buf, Py_ssize_t n) except -1:
        """Queue a private copy of n bytes at buf (for mutable buffers)."""
        if n <= 0:
            return 0
        self.push(PyBytes_FromStringAndSize(buf, n), 0)
        return 0

    cdef int fill(self, iovec* iov, int maxcnt, Py_ssize_t* total) except -1:
        """Point up to maxcnt iovecs at the unsent bytes; their count (and byte total)."""
        cdef Py_ssize_t i = self._head
        cdef Py_ssize_t nitems = len(self._items)
        cdef Py_ssize_t off = self._off
        cdef Py_ssize_t tot = 0
        cdef int cnt = 0
        cdef bytes b
        while i < nitems and cnt < maxcnt:
            b = <bytes>self._items[i]
            iov[cnt].iov_base = PyBytes_AS_STRING(b) + off
            iov[cnt].iov_len = <size_t>(PyBytes_GET_SIZE(b) - off)
            tot += PyBytes_GET_SIZE(b) - off
            off = 0
            cnt += 1
            i += 1
        total[0] = tot
        return cnt

    cdef int consume(self, Py_ssize_t n) except -1:
        """Drop the first n unsent bytes (written out)."""
        cdef Py_ssize_t blen
        if n >= self.size:
            self.clear()
            return 0
        self.size -= n
        while n > 0:
            blen = PyBytes_GET_SIZE(<bytes>self._items[self._head]) - self._off
            if n >= blen:
                n -= blen
                self._items[self._head] = None   # release it now
                self._head += 1
                self._off = 0
            else:
                self._off += n
                n = 0
        if self._head >= WQ_COMPACT and self._head * 2 >= len(self._items):
            del self._items[:self._head]
            self._head = 0
        return 0

    cdef void clear(self) noexcept:
        """Drop everything queued."""
        self._items = []
        self._head = 0
        self._off = 0
        self.size = 0

    cdef Py_ssize_t write_to(self, int fd, int* err, bint* more) except -2:
        """One writev() of the queue's head to fd; consumes what was written.

        Returns the bytes written, or -1 with *err set (nothing consumed).
        *more is true when a whole batch went out and more is queued (the
        caller may try again at once).
        """
        cdef iovec iov[WQ_IOV]
        cdef Py_ssize_t total = 0
        cdef int cnt = self.fill(iov, WQ_IOV, &total)
        cdef ssize_t n
        more[0] = False
        if cnt == 0:
            return 0
        n = writev(fd, iov, cnt)
        if n < 0:
            err[0] = errno
            return -1
        self.consume(n)
        more[0] = n == total and self.size > 0
        return n

# epoll(7) backend.
#
# Some facts about epoll that shape this file:
# - epoll tracks *open file descriptions*, not fd numbers.  If an fd is
#   closed while registered, the kernel drops it from the set only when the
#   last fd referring to that description is closed; a dup() keeps it alive
#   and events keep arriving for a number we no longer own.  So the loop must
#   unregister before closing (transports do), and must treat events for an
#   fd it has no entry for as stale (Loop._dispatch ignores them).
# - EPOLL_CTL_DEL on a closed fd fails with EBADF and on an unknown one with
#   ENOENT; both mean "already gone" for unregister().
# - Regular files cannot be registered (EPERM): asyncio reports that as
#   PermissionError from add_reader, and so do we.
# - epoll_wait takes milliseconds; epoll_pwait2 (Linux 5.11) a timespec.  We
#   use epoll_pwait2 when the kernel has it, so a 200 us timer waits 200 us,
#   and otherwise round *up* to whole ms so that a timer never fires early.
# - epoll_wait is never restarted after a signal handler (EINTR regardless of
#   SA_RESTART); wait() returns 0 then and the loop runs PyErr_CheckSignals().
# - Wakeup from other threads is an eventfd in the set: writes coalesce, one
#   read drains any number of them.
# - Removing an item queues an RCU callback (the epitem is freed after a
#   grace period), and a CPU with RCU callbacks queued keeps its scheduler
#   tick when it goes idle: see idle_tick.pxi for why we want that on some
#   machines and how wait() uses it.

from libc.stdint cimport uint32_t, uint64_t
from libc.math cimport ceil

cdef extern from "<sys/epoll.h>" nogil:
    cdef enum:
        EPOLLIN
        EPOLLOUT
        EPOLLERR
        EPOLLHUP
        EPOLL_CTL_ADD
        EPOLL_CTL_MOD
        EPOLL_CTL_DEL
        EPOLL_CLOEXEC
    ctypedef union epoll_data_t:
        void* ptr
        int fd
        uint32_t u32
        uint64_t u64
    cdef struct epoll_event:
        uint32_t events
        epoll_data_t data
    int epoll_create1(int flags)
    int epoll_ctl(int epfd, int op, int fd, epoll_event* event)
    int epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout)

cdef extern from *:
    """
    #include <sys/syscall.h>
    #include <signal.h>
    #include <time.h>
    #include <unistd.h>
    /* glibc wraps epoll_pwait2 only from 2.35; call the syscall directly so the
       build does not depend on the libc version, only the kernel (>= 5.11). */
    static int tideloop_epoll_pwait2(int epfd, struct epoll_event *events,
                                     int maxevents, const struct timespec *ts) {
    #ifdef SYS_epoll_pwait2
        return (int)syscall(SYS_epoll_pwait2, epfd, events, maxevents, ts, NULL, 0);
    #else
        errno = ENOSYS;
        return -1;
    #endif
    }
    """
    int tideloop_epoll_pwait2(int epfd, epoll_event* events, int maxevents, const timespec* ts) nogil


cdef inline uint32_t _to_epoll(int events) noexcept:
    cdef uint32_t m = 0
    if events & EV_READ:
        m |= EPOLLIN
    if events & EV_WRITE:
        m |= EPOLLOUT
    return m


cdef class EpollPoller(Poller):
    """The default backend on Linux: epoll with an eventfd for wakeups."""

    cdef int epfd
    cdef int wake_fd
    cdef int tick_fd     # never readable; added and removed to keep the tick, or -1
    cdef bint keep_tick
    cdef epoll_event* events
    cdef bint use_pwait2
    cdef unsigned long long n_waits
    cdef unsigned long long n_events
    cdef unsigned long long n_wakeups
    cdef unsigned long long n_tick_holds

    def __cinit__(self):
        self.epfd = -1
        self.wake_fd = -1
        self.tick_fd = -1
        self.events = NULL

    def __init__(self):
        self.backend = "epoll"
        self.capacity = self.batch = 256
        self.events = <epoll_event*>PyMem_Malloc(sizeof(epoll_event) * self.capacity)
        if self.events == NULL:
            raise MemoryError()
        self.use_pwait2 = True
        self.keep_tick = keep_tick_wanted()
        self._open()

    cdef int _open(self) except -1:
        cdef epoll_event ev
        self.epfd = epoll_create1(EPOLL_CLOEXEC)
        if self.epfd < 0:
            _raise_errno()
        self.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)
        if self.wake_fd < 0:
            _raise_errno()
        ev.events = EPOLLIN
        ev.data.fd = self.wake_fd
        if epoll_ctl(self.epfd, EPOLL_CTL_ADD, self.wake_fd, &ev) < 0:
            _raise_errno()
        if self.keep_tick:
            self.tick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)
            if self.tick_fd < 0:
                _raise_errno()
        return 0

    def __dealloc__(self):
        self._close_fds()
        if self.events != NULL:
            PyMem_Free(self.events)
            self.events = NULL

    cdef void _close_fds(self) noexcept:
        cdef int fd
        if self.wake_fd >= 0:
            fd = self.wake_fd
            self.wake_fd = -1   # first, so a racing wakeup() sees it gone
            close(fd)
        if self.tick_fd >= 0:
            close(self.tick_fd)
            self.tick_fd = -1
        if self.epfd >= 0:
            close(self.epfd)
            self.epfd = -1

    cdef int register(self, int fd, int events) except -1:
        cdef epoll_event ev
        ev.events = _to_epoll(events)
        ev.data.u64 = 0
        ev.data.fd = fd
        if epoll_ctl(self.epfd, EPOLL_CTL_ADD, fd, &ev) < 0:
            _raise_errno()
        return 0

    cdef int modify(self, int fd, int events) except -1:
        cdef epoll_event ev
        ev.events = _to_epoll(events)
        ev.data.u64 = 0
        ev.data.fd = fd
        if epoll_ctl(self.epfd, EPOLL_CTL_MOD, fd, &ev) < 0:
            _raise_errno()
        return 0

    cdef int unregister(self, int fd) except -1:
        cdef epoll_event ev
        if epoll_ctl(self.epfd, EPOLL_CTL_DEL, fd, &ev) < 0:
            if errno != EBADF and errno != ENOENT:
                _raise_errno()
        return 0

    cdef int wait(self, double timeout) except -1:
        cdef int n
        cdef int epfd = self.epfd
        if epfd < 0:
            raise RuntimeError("poller is closed")
        self.n_waits += 1
        if timeout == 0 or self.tick_fd >= 0:
            # A poll that need not sleep skips releasing the GIL. Keeping the
            # tick, every wait starts so, and only one that must sleep holds
            # the tick (idle_tick.pxi).
            n = epoll_wait(epfd, self.events, self.batch, 0)
            if n == 0 and timeout != 0:
                self._hold_tick()
                n = self._block(epfd, timeout)
        else:
            n = self._block(epfd, timeout)
        if n < 0:
            if errno == EINTR:
                return 0
            _raise_errno()
        self.n_events += n
        return n

    cdef int _block(self, int epfd, double timeout) noexcept:
        """epoll_wait for up to `timeout` s (< 0: forever), GIL released; -1 and errno on error."""
        cdef int n
        cdef timespec ts
        if timeout < 0:
            with nogil:
                n = epoll_wait(epfd, self.events, self.batch, -1)
            return n
        if self.use_pwait2:
            ts.tv_sec = <time_t>timeout
            ts.tv_nsec = <long>((timeout - <double>ts.tv_sec) * 1e9)
            with nogil:
                n = tideloop_epoll_pwait2(epfd, self.events, self.batch, &ts)
            if n >= 0 or errno != ENOSYS:
                return n
            self.use_pwait2 = False
        with nogil:
            n = epoll_wait(epfd, self.events, self.batch, <int>ceil(timeout * 1000.0))
        return n

    cdef void _hold_tick(self) noexcept:
        """Queue an RCU callback on this CPU before sleeping: add and remove tick_fd."""
        cdef epoll_event ev
        ev.events = EPOLLIN
        ev.data.u64 = 0
        ev.data.fd = self.tick_fd
        self.n_tick_holds += 1
        if epoll_ctl(self.epfd, EPOLL_CTL_ADD, self.tick_fd, &ev) == 0:
            epoll_ctl(self.epfd, EPOLL_CTL_DEL, self.tick_fd, &ev)

    cdef int ready_fd(self, int i):
        cdef int fd = self.events[i].data.fd
        if fd == self.wake_fd:
            self._drain_wakeup()
            return -1
        return fd

    cdef int peek_fd(self, int i) noexcept:
        return self.events[i].data.fd

    cdef int ready_events(self, int i):
        cdef uint32_t e = self.events[i].events
        cdef int r = 0
        # As selectors does: anything but "only writable" wakes a reader,
        # anything but "only readable" wakes a writer (ERR/HUP wake both).
        if e & ~(<uint32_t>EPOLLOUT):
            r |= EV_READ
        if e & ~(<uint32_t>EPOLLIN):
            r |= EV_WRITE
        return r

    cdef void _drain_wakeup(self) noexcept:
        cdef uint64_t value
        self.n_wakeups += 1
        read(self.wake_fd, &value, 8)

    cdef void wakeup(self) noexcept:
        cdef uint64_t one = 1
        cdef int fd = self.wake_fd
        if fd >= 0:
            write(fd, &one, 8)   # EAGAIN (counter full) still leaves it readable

    cdef int close(self) except -1:
        self._close_fds()
        return 0

    cdef int reopen(self) except -1:
        # close() of our copy of the epoll fd leaves the parent's instance
        # and its interest list untouched; likewise the eventfd.
        self._close_fds()
        self._open()
        return 0

    def statistics(self):
        """Counters (waits, I/O events delivered, cross-thread wakeups), the batch size, the tick policy."""
        return {
            "backend": self.backend,
            "batch": self.batch,
            "batch_capacity": self.capacity,
            "waits": self.n_waits,
            "io_events": self.n_events,
            "wakeups": self.n_wakeups,
            "pwait2": bool(self.use_pwait2),
            "keep_tick": bool(self.keep_tick),
            "tick_holds": self.n_tick_holds,
        }

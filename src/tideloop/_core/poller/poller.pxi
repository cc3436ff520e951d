# The Poller interface: the ONLY way the loop and transports reach the OS
# readiness API.  A backend is one subclass in one file (epoll.pxi today;
# poll(2) and io_uring later), chosen in one place: Loop.__cinit__.
#
# Events are tideloop's own bits, never the OS's:
#   EV_READ  - the fd is readable, or has hung up / errored (a reader must look)
#   EV_WRITE - the fd is writable, or has hung up / errored (a writer must look)
# Error and hang-up are reported as both, as selectors does, so that whoever
# waits on the fd gets to call recv()/send() and see the real error.

cdef enum:
    EV_READ = 1
    EV_WRITE = 2


cdef class Poller:
    """Interface of a readiness backend (see the comment above)."""

    cdef readonly str backend
    # Ready fds asked for per wait(), 1..capacity (the size of the backend's
    # event array, so never writable from Python); the loop lowers it while
    # reads are big (see Loop._size_io_batch).
    cdef readonly int batch
    cdef readonly int capacity

    cdef int register(self, int fd, int events) except -1:
        raise NotImplementedError

    cdef int modify(self, int fd, int events) except -1:
        raise NotImplementedError

    cdef int unregister(self, int fd) except -1:
        raise NotImplementedError

    # Block up to `timeout` seconds (< 0: forever) with the GIL released.
    # Returns the number of ready fds (0 on timeout or EINTR; never retries
    # EINTR itself, so the loop can run Python signal handlers at once).
    cdef int wait(self, double timeout) except -1:
        raise NotImplementedError

    cdef int ready_fd(self, int i):
        return -1

    cdef int ready_events(self, int i):
        return 0

    # The fd of ready event i with no side effect (ready_fd drains the
    # wakeup fd): what the loop warms the cache for ahead of dispatching.
    cdef int peek_fd(self, int i) noexcept:
        return -1

    # Make a wait() in progress (or the next one) return now.  Safe from any
    # thread, and after close() (then it does nothing).
    cdef void wakeup(self) noexcept:
        pass

    cdef int close(self) except -1:
        return 0

    # In a forked child: give up the OS objects shared with the parent
    # (close this process's copies only; never deregister anything from a
    # shared instance, that would change the parent's interest set) and make
    # fresh, empty ones.  The caller re-registers what it still watches.
    cdef int reopen(self) except -1:
        raise NotImplementedError

    def statistics(self):
        """A dict of counters for this backend."""
        return {}

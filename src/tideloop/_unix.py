"""Processes and pipes for tideloop: subprocess_exec/_shell, connect_*_pipe.

The pipe transports are compiled (tideloop._core's ReadPipeTransport and
WritePipeTransport, transports/pipe.pxi): connect_read_pipe /
connect_write_pipe (asyncio's own coroutines, borrowed below) make them
through _make_read_pipe_transport / _make_write_pipe_transport, and so does
every subprocess for its stdin/stdout/stderr.  The subprocess transport is
asyncio's (unix_events._UnixSubprocessTransport over base_subprocess) with
two steps made cheaper (_subprocess.py): the child is started by a leaner
subprocess.Popen (_spawn.py) and its pipes are connected without a Task.

What is tideloop's own is the *child watcher*, the same on every Python:
asyncio's global child watchers are deprecated in 3.12 and gone in 3.14, and
3.11's default (a thread per child) is slow.  Each child's exit is watched
with a pidfd registered in the loop's poller (Linux 5.3+); where pidfd_open
is missing or refused (old kernel, seccomp) a daemon thread blocks in
waitpid instead.  Either way the child is reaped (waitid on the pidfd, or
waitpid), so no zombie is left, also for children still running when the
loop closes (a reaper thread takes those over).  The first spawn of a loop
iteration happens in the loop; further ones in the same iteration go to the
spawn pool (threads; vfork would hold the loop until each child exec'd).
No spawn runs an os.register_at_fork hook; only with a preexec_fn (which
makes CPython run the hooks) the child is spawned in a thread of its own,
since Popen returns only after preexec_fn and exec.
"""
import asyncio
import inspect
import itertools
import os
import queue
import signal
import threading
import weakref
from asyncio import base_events
from asyncio.log import logger

from ._core import ReadPipeTransport, WritePipeTransport
from ._subprocess import SubprocessTransport, popen_class

__all__ = ("UnixMixin",)

_thread_counter = itertools.count()


def _exitcode(status):
    # As asyncio: a status waitstatus_to_exitcode cannot decode is passed on.
    try:
        return os.waitstatus_to_exitcode(status)
    except ValueError:
        return status


def _blocking_wait(pid):
    """Block until *pid* exits and reap it; its exit code, or None if reaped elsewhere."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return None
    return _exitcode(status)


_P_PIDFD = getattr(os, "P_PIDFD", None)


def _reap_pidfd(pid, pidfd, block=False):
    """Reap the child behind *pidfd*: its exit code, None if reaped elsewhere, False if running.

    waitid(P_PIDFD) names the very process the pidfd refers to, so a pid
    reused after somebody else reaped ours can never be waited for by mistake.
    """
    flags = os.WEXITED if block else os.WEXITED | os.WNOHANG
    try:
        if _P_PIDFD is None:
            wpid, status = os.waitpid(pid, 0 if block else os.WNOHANG)
            return _exitcode(status) if wpid else False
        res = os.waitid(_P_PIDFD, pidfd, flags)
    except ChildProcessError:
        return None
    if res is None:
        return False
    if res.si_code == os.CLD_EXITED:
        return res.si_status
    return -res.si_status  # CLD_KILLED / CLD_DUMPED: killed by that signal


def _waitpid_thread(loop, pid, transp):
    # Fallback watcher: one daemon thread per child, as asyncio's
    # ThreadedChildWatcher.
    returncode = _blocking_wait(pid)
    if loop.get_debug():
        logger.debug("process %s exited with returncode %s", pid, returncode)
    try:
        loop.call_soon_threadsafe(loop._child_exited, pid, transp, returncode)
    except RuntimeError:  # the loop was closed meanwhile; the child is reaped
        logger.warning("Loop %r that handles pid %r is closed", loop, pid)


def _reap_orphans(children):
    # Children still running when their loop closed: reap them when they
    # exit so they do not stay zombies (asyncio's threaded watcher does the
    # same by simply going on waiting).
    for pid, pidfd in children:
        _reap_pidfd(pid, pidfd, block=True)
        os.close(pidfd)


def _settle(fut, result, exc):
    if fut.cancelled():
        if exc is None:  # nobody wants the process any more
            _kill_popen(result)
        return
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(result)


def _kill_spawned(fut):
    if not fut.cancelled() and fut.exception() is None:
        _kill_popen(fut.result())


def _kill_popen(proc, wait=False):
    # Close our pipe ends, kill the child and reap it (it dies at once):
    # here if *wait* (a helper thread), else in a new thread (the loop).
    for f in (proc.stdin, proc.stdout, proc.stderr):
        if f is not None:
            f.close()
    try:
        proc.kill()
    except ProcessLookupError:
        pass
    if wait:
        proc.wait()
    else:
        threading.Thread(target=proc.wait, daemon=True).start()


# The spawn pool: up to _POOL_THREADS threads that start children for
# spawns after the first one in a loop iteration, shared by every loop of
# the process.  _posixsubprocess.fork_exec drops the GIL while vfork waits
# for the child's exec (CPython 3.11.5+, gh-104372), so the loop's thread
# runs meanwhile and several children reach exec at once.
_POOL_THREADS = 8
_POOL_IDLE_SECONDS = 5.0
_pool = None
_pool_lock = threading.Lock()


class _SpawnPool:
    """Daemon threads running spawn jobs; a thread ends after 5 s without work."""

    def __init__(self):
        self._jobs = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0

    def submit(self, job):
        """Run job() in one of the pool's threads (started on demand)."""
        with self._lock:
            start = self._idle == 0 and self._threads < _POOL_THREADS
            if start:
                self._threads += 1
            else:
                self._idle -= 1  # a waiting thread will take it
        self._jobs.put(job)
        if start:
            try:
                threading.Thread(target=self._work, name=f"tideloop-spawn-{next(_thread_counter)}",
                                 daemon=True).start()
            except RuntimeError:  # interpreter shutdown: run it here
                with self._lock:
                    self._threads -= 1
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:  # a thread that just finished took it
                    return
                job()

    def _work(self):
        jobs = self._jobs
        while True:
            try:
                job = jobs.get(timeout=_POOL_IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:  # nobody counts on this thread: end it
                        self._idle -= 1
                        self._threads -= 1
                        return
                continue
            try:
                job()
            except BaseException:  # a bug in the job: this thread ends, uncounted
                with self._lock:
                    self._threads -= 1
                raise
            del job
            with self._lock:
                self._idle += 1


def _spawn_pool():
    global _pool
    pool = _pool
    if pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = _SpawnPool()
            pool = _pool
    return pool


class _SpawnedSubprocessTransport(SubprocessTransport):
    """asyncio's subprocess transport around a Popen that already exists.

    BaseSubprocessTransport.__init__ calls _start(args=...); tideloop passes
    the Popen made in a thread (preexec_fn case) as *args*.
    """

    def _start(self, args, shell, stdin, stdout, stderr, bufsize, **kwargs):
        self._proc = args


# Every tideloop loop alive in this process, for the after-fork hook below.
_loops = weakref.WeakSet()


class UnixMixin:
    """Subprocesses and pipes for tideloop's EventLoop (a base class of it)."""

    # pid -> pidfd of the children watched through the poller.
    _tl_children = None
    # A child was spawned on the loop in this iteration (the next goes to
    # the spawn pool).
    _tl_spawned_this_turn = False

    def _make_read_pipe_transport(self, pipe, protocol, waiter=None, extra=None):
        """The compiled read pipe transport (asyncio's _UnixReadPipeTransport contract)."""
        return ReadPipeTransport(self, pipe, protocol, waiter, extra)

    def _make_write_pipe_transport(self, pipe, protocol, waiter=None, extra=None):
        """The compiled write pipe transport (asyncio's _UnixWritePipeTransport contract)."""
        return WritePipeTransport(self, pipe, protocol, waiter, extra)

    def __new__(cls, *args, **kwargs):
        self = super().__new__(cls, *args, **kwargs)
        _loops.add(self)
        return self

    async def _make_subprocess_transport(self, protocol, args, shell,
                                         stdin, stdout, stderr, bufsize,
                                         extra=None, **kwargs):
        """Spawn the child and return its transport once its pipes are connected."""
        # Same flow as asyncio's, with tideloop's watcher instead of
        # events.get_child_watcher().
        waiter = self.create_future()
        dedicated = kwargs.get("preexec_fn") is not None
        if dedicated or self._tl_spawned_this_turn:
            # Off the loop.  With a preexec_fn, Popen waits until the child
            # has run it (arbitrary Python code): a thread of its own.  A
            # second spawn in the same loop iteration (gather() of many
            # create_subprocess_exec) goes to the spawn pool: vfork holds
            # the spawning thread until the child has exec'd, which on busy
            # cores takes several times the spawn itself, and the loop need
            # not wait for each child in turn.
            proc = await self._popen_off_loop(
                dedicated, args, shell=shell, stdin=stdin, stdout=stdout, stderr=stderr,
                universal_newlines=False, bufsize=bufsize, **kwargs)
            transp = _SpawnedSubprocessTransport(
                self, protocol, proc, shell, stdin, stdout, stderr, bufsize,
                waiter=waiter, extra=extra, **kwargs)
        else:
            # The first spawn of an iteration: right here, as asyncio does
            # (no thread hand-off on the common one-at-a-time path).
            self._tl_spawned_this_turn = True
            self.call_soon(self._tl_end_spawn_turn)
            transp = SubprocessTransport(
                self, protocol, args, shell, stdin, stdout, stderr, bufsize,
                waiter=waiter, extra=extra, **kwargs)
        self._watch_child(transp.get_pid(), transp)
        try:
            await waiter
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException:
            transp.close()
            await transp._wait()
            raise
        return transp

    def _tl_end_spawn_turn(self):
        self._tl_spawned_this_turn = False

    async def _popen_off_loop(self, dedicated, *args, **kwargs):
        """Popen(*args, **kwargs) in another thread; the loop keeps running.

        *dedicated*: a new thread for this child (preexec_fn), else one of
        the spawn pool's.
        """
        fut = self.create_future()
        lock = threading.Lock()
        state = {"cancelled": False, "handed_over": False}
        popen = popen_class()

        def spawn():
            result = exc = None
            try:
                result = popen(*args, **kwargs)
            except BaseException as e:
                exc = e
            with lock:
                if state["cancelled"]:  # nobody wants the process any more
                    if result is not None:
                        _kill_popen(result, wait=True)
                    return
                state["handed_over"] = True
            try:
                self.call_soon_threadsafe(_settle, fut, result, exc)
            except RuntimeError:  # the loop closed meanwhile
                if result is not None:
                    _kill_popen(result, wait=True)

        if dedicated:
            threading.Thread(target=spawn, name=f"tideloop-spawn-{next(_thread_counter)}",
                             daemon=True).start()
        else:
            _spawn_pool().submit(spawn)
        try:
            return await asyncio.shield(fut)
        except asyncio.CancelledError:
            # Cancelled while the child was being spawned: kill and reap it
            # once it exists, as a cancelled create_subprocess_* leaves
            # nothing behind.
            with lock:
                state["cancelled"] = True
                handed_over = state["handed_over"]
            if handed_over:
                fut.add_done_callback(_kill_spawned)
            raise

    def _watch_child(self, pid, transp):
        """Call transp._process_exited(returncode) in the loop when *pid* exits."""
        try:
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            # No pidfd (kernel < 5.3, seccomp, non-Linux): a waitpid thread.
            # ESRCH (already reaped elsewhere) ends up there too, and the
            # thread's waitpid reports it at once.
            threading.Thread(
                target=_waitpid_thread, args=(self, pid, transp),
                name=f"tideloop-waitpid-{next(_thread_counter)}", daemon=True,
            ).start()
            return
        if self._tl_children is None:
            self._tl_children = {}
        self._tl_children[pid] = pidfd
        try:
            self._add_reader(pidfd, self._pidfd_ready, pid, pidfd, transp)
        except BaseException:
            del self._tl_children[pid]
            os.close(pidfd)
            raise

    def _pidfd_ready(self, pid, pidfd, transp):
        # A readable pidfd means the child has exited.
        returncode = _reap_pidfd(pid, pidfd)
        if returncode is False:  # not after all: keep watching
            return
        self._remove_reader(pidfd)
        self._tl_children.pop(pid, None)
        os.close(pidfd)
        if self._debug:
            logger.debug("process %s exited with returncode %s", pid, returncode)
        self._child_exited(pid, transp, returncode)

    def _child_exited(self, pid, transp, returncode):
        if returncode is None:
            # Reaped by someone else: on 3.11/3.12 Popen.send_signal() and
            # the transport's close() call Popen.poll(), which reaps and keeps
            # the status.  Otherwise report 255 as asyncio's watchers do.
            returncode = transp._proc.returncode if transp._proc is not None else None
            if returncode is None:
                logger.warning(
                    "child process pid %d exit status already read: "
                    " will report returncode 255", pid)
                returncode = 255
        transp._process_exited(returncode)

    def close(self):
        """Close the loop; children still running are reaped when they exit."""
        super().close()
        children = self._tl_children
        if children and self.is_closed():
            self._tl_children = None
            children = list(children.items())
            try:
                threading.Thread(
                    target=_reap_orphans, args=(children,),
                    name=f"tideloop-reaper-{next(_thread_counter)}", daemon=True,
                ).start()
            except RuntimeError:  # interpreter shutdown: no new threads
                for pid, pidfd in children:
                    _reap_pidfd(pid, pidfd)
                    os.close(pidfd)


def _sighandler_noop(signum, frame):
    """Stands in, in a forked child, for a parent loop's signal handler."""


def _after_fork_in_child():
    # A forked child must never touch its parent's loops: their wakeup
    # socket, eventfd and epoll instance are shared with the parent.  asyncio
    # 3.12+ resets the wakeup fd in the child (gh-66285); tideloop does so on
    # every Python, and only when the wakeup fd is a tideloop loop's.  The
    # parent loops' Python-level signal handlers would queue into the child's
    # copy of the loop and write the parent's eventfd: replace them with a
    # no-op, as asyncio's own handler is.  Runs only on os.fork() (and for
    # Popen with preexec_fn), never on an ordinary spawn.
    ours = set()
    for lp in list(_loops):
        if lp.is_closed():
            continue
        handlers = lp._signal_handlers
        # Only loops that already have their wakeup socket (those with
        # handlers, and the one running in the parent's main thread, which
        # claimed it): creating it here would register the new socket in the
        # epoll instance shared with the parent.
        if handlers or (lp._thread_id is not None and lp._thread_id == _parent_main_ident):
            ours.add(lp._signal_wakeup_fd())
        deliver = lp._deliver_signal
        for sig in list(handlers):
            try:
                if signal.getsignal(sig) == deliver:
                    signal.signal(sig, _sighandler_noop)
            except (ValueError, OSError):
                pass
    try:
        fd = signal.set_wakeup_fd(-1)
        if fd != -1 and fd not in ours:
            signal.set_wakeup_fd(fd)  # the program's own: leave it
    except (ValueError, OSError):
        pass
    # The spawn pool's threads are the parent's: the child starts its own
    # (and a new lock, in case a parent thread held the old one).
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()
    # Then each loop stops sharing its epoll instance, eventfd and signal
    # socketpair with the parent (Loop._after_fork_in_child).
    for lp in list(_loops):
        try:
            lp._after_fork_in_child()
        except Exception:   # an at-fork hook must not raise; the loop is unusable then
            pass


_parent_main_ident = None


def _before_fork():
    global _parent_main_ident
    _parent_main_ident = threading.main_thread().ident


os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)


def _borrow(source, names):
    for name in names:
        # getattr_static keeps staticmethod/classmethod wrappers intact.
        setattr(UnixMixin, name, inspect.getattr_static(source, name))


# The public coroutines: argument checks, debug logging, waiting for the
# transport; identical per Python version to asyncio's.
_borrow(base_events.BaseEventLoop, [
    "connect_read_pipe", "connect_write_pipe",
    "subprocess_exec", "subprocess_shell", "_log_subprocess",
])

"""tideloop's subprocess transport: asyncio's, with its pipes connected in one step.

asyncio's BaseSubprocessTransport connects the child's pipes in a Task: one
coroutine, then one `await connect_*_pipe()` per pipe (a future and two loop
iterations each), then connection_made and the waiter, each one more
iteration.  With the compiled pipe transports nothing there can block, so
this subclass makes the pipe transports directly in __init__ and schedules
the same callbacks in the same order:

    each pipe protocol's connection_made  (scheduled by its transport)
    protocol.connection_made(transport)
    the waiter's result                   (subprocess_exec returns after it)

Everything else (close, kill, _process_exited, _try_finish, the exit
waiters, repr, the per-version send_signal) is asyncio's own code, inherited.
"""
import collections
import subprocess
from asyncio import base_subprocess, futures, transports, unix_events
from asyncio.log import logger

from ._spawn import Popen

__all__ = ("SubprocessTransport", "popen_class")

_set_result_unless_cancelled = futures._set_result_unless_cancelled
_stdlib_Popen = subprocess.Popen
_WriteProto = base_subprocess.WriteSubprocessPipeProto
_ReadProto = base_subprocess.ReadSubprocessPipeProto


def popen_class():
    """The Popen class to spawn with: tideloop's, or subprocess.Popen if replaced.

    A replaced subprocess.Popen (mock.patch in a test, an instrumenting
    wrapper) is called, as asyncio's transport would call it.
    """
    popen = subprocess.Popen
    return Popen if popen is _stdlib_Popen else popen


class SubprocessTransport(unix_events._UnixSubprocessTransport):
    """asyncio's Unix subprocess transport; the child's pipes connect without a Task."""

    def _start(self, args, shell, stdin, stdout, stderr, bufsize, **kwargs):
        # unix_events._UnixSubprocessTransport._start on Linux (its AIX
        # socketpair does not apply), with tideloop's Popen (_spawn.py).
        self._proc = popen_class()(
            args, shell=shell, stdin=stdin, stdout=stdout, stderr=stderr,
            universal_newlines=False, bufsize=bufsize, **kwargs)

    def __init__(self, loop, protocol, args, shell,
                 stdin, stdout, stderr, bufsize,
                 waiter=None, extra=None, **kwargs):
        # BaseSubprocessTransport.__init__ up to the Task, unchanged.
        transports.SubprocessTransport.__init__(self, extra)
        self._closed = False
        self._protocol = protocol
        self._loop = loop
        self._proc = None
        self._pid = None
        self._returncode = None
        self._exit_waiters = []
        self._pending_calls = collections.deque()
        self._pipes = {}
        self._finished = False

        if stdin == subprocess.PIPE:
            self._pipes[0] = None
        if stdout == subprocess.PIPE:
            self._pipes[1] = None
        if stderr == subprocess.PIPE:
            self._pipes[2] = None

        try:
            self._start(args=args, shell=shell, stdin=stdin, stdout=stdout,
                        stderr=stderr, bufsize=bufsize, **kwargs)
        except:  # noqa: E722 - as asyncio: close on anything, re-raise
            self.close()
            raise

        self._pid = self._proc.pid
        self._extra['subprocess'] = self._proc

        if loop.get_debug():
            # From the Popen: a child spawned off the loop comes in as *args*.
            args = self._proc.args
            program = args if isinstance(args, (bytes, str)) else args[0]
            logger.debug('process %r created: pid %s', program, self._pid)

        d = getattr(loop, '__dict__', None)
        if d and ('connect_read_pipe' in d or 'connect_write_pipe' in d):
            # The loop's connect_*_pipe replaced on the instance (tests wrap
            # them to reach the pipe transports): go through them, in
            # asyncio's Task.
            loop.create_task(self._connect_pipes(waiter))
        else:
            self._connect_pipes_now(waiter)

    def _connect_pipes_now(self, waiter):
        # _connect_pipes without the awaits: the compiled pipe transports
        # schedule their protocol's connection_made themselves (which sets
        # proto.pipe again; it is set here at once so that close() before
        # then finds the transport), and a failure to make one reaches the
        # waiter, as in asyncio.
        proc = self._proc
        loop = self._loop
        try:
            if proc.stdin is not None:
                proto = _WriteProto(self, 0)
                proto.pipe = loop._make_write_pipe_transport(proc.stdin, proto)
                self._pipes[0] = proto
            if proc.stdout is not None:
                proto = _ReadProto(self, 1)
                proto.pipe = loop._make_read_pipe_transport(proc.stdout, proto)
                self._pipes[1] = proto
            if proc.stderr is not None:
                proto = _ReadProto(self, 2)
                proto.pipe = loop._make_read_pipe_transport(proc.stderr, proto)
                self._pipes[2] = proto
            if loop.get_debug():  # what connect_*_pipe log
                for fd, proto in self._pipes.items():
                    logger.debug('%s pipe %r connected: (%r, %r)',
                                 'Write' if fd == 0 else 'Read',
                                 proto.pipe.get_extra_info('pipe').fileno(),
                                 proto.pipe, proto)
            loop.call_soon(self._protocol.connection_made, self)
            pending = self._pending_calls
            self._pending_calls = None
            for callback, data in pending:
                loop.call_soon(callback, *data)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            if waiter is not None and not waiter.cancelled():
                waiter.set_exception(exc)
        else:
            if waiter is not None:
                loop.call_soon(_set_result_unless_cancelled, waiter, None)

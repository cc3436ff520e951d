"""Spawning children for subprocess_exec/_shell: a faster subprocess.Popen.

asyncio's subprocess transport makes a subprocess.Popen, and in the spawn
benchmark (1,000 `true` processes) Popen's Python code is the largest share
of the parent's work that the loop can change: about a third of it is
rebuilding, on every call, the candidate paths of the executable from $PATH
(os.get_exec_path, which sets up a warnings filter, then one
os.path.join + os.fsencode per directory), and the rest is general-purpose
bookkeeping (a context manager per call, a set of fds to keep sorted, ...).

`Popen` here is a subclass of subprocess.Popen, so the object is a real
Popen (get_extra_info('subprocess'), poll(), wait(), send_signal() are
CPython's).  For the children asyncio makes -- bytes, no text mode, no
preexec_fn, no user/group/umask change -- its __init__ does what Popen's
does with fewer steps and calls the same _posixsubprocess.fork_exec with the
same arguments, so the child is started exactly as CPython starts it (vfork
where CPython would use it, the same signal resets and fd closing, the same
error report through a pipe).  Anything else is Popen's own __init__.

The candidate paths come from a cache of the encoded $PATH directories,
keyed by the $PATH string itself: a changed $PATH (or an env= with its own
PATH) is a new key.  The child still tries each candidate in turn with
execve, as CPython's does, so a file that appears or disappears between two
spawns is found or missed exactly as with Popen.
"""
import builtins
import inspect
import io
import os
import subprocess
import sys
import threading

from _posixsubprocess import fork_exec as _fork_exec

__all__ = ("Popen",)

_PIPE = subprocess.PIPE
_DEVNULL = subprocess.DEVNULL
_STDOUT = subprocess.STDOUT
# 3.13 reports a failed chdir(cwd) as "noexec:chdir" (the error names cwd)
# and a failure before exec as "noexec" (no filename); 3.11 and 3.12 send
# "noexec" for both and name cwd.
_NOEXEC_CHDIR = sys.version_info >= (3, 13)
_Popen = subprocess.Popen
# subprocess._USE_VFORK, _USE_POSIX_SPAWN and _HAVE_POSIX_SPAWN_CLOSEFROM
# are read on every spawn, as CPython does: setting _USE_VFORK or
# _USE_POSIX_SPAWN to False is subprocess's documented way to turn them off.
_POSIX_SPAWN_TAKES_CLOSE_FDS = (
    "close_fds" in inspect.signature(_Popen._posix_spawn).parameters
    if hasattr(_Popen, "_posix_spawn") else False)
_Popen_init = _Popen.__init__
_SubprocessError = subprocess.SubprocessError

# $PATH string -> tuple of its directories, fsencoded, each ending in b'/'.
_path_dirs = {}
_PATH_DIRS_MAX = 64


def _exec_dirs(env):
    # The directories of os.get_exec_path(env), each ending in a separator,
    # memoized per $PATH string (get_exec_path sets up a warnings filter on
    # every call).
    if env is None:
        path = os.environ.get("PATH")
    elif b"PATH" in env:  # a bytes key: get_exec_path's own rules and errors
        return tuple(os.path.join(os.fsencode(d), b"") for d in os.get_exec_path(env))
    else:
        path = env.get("PATH")
    if path is None:
        path = os.defpath
    dirs = _path_dirs.get(path)
    if dirs is None:
        dirs = tuple(os.path.join(os.fsencode(d), b"") for d in path.split(os.pathsep))
        if len(_path_dirs) >= _PATH_DIRS_MAX:
            _path_dirs.clear()
        _path_dirs[path] = dirs
    return dirs


def _plain(stream):
    # A stdio argument the fast path takes: None, PIPE, DEVNULL or an fd.
    return stream is None or type(stream) is int


class Popen(_Popen):
    """subprocess.Popen; starts asyncio's usual children with less Python work."""

    def __init__(self, args, bufsize=-1, executable=None,
                 stdin=None, stdout=None, stderr=None,
                 preexec_fn=None, close_fds=True,
                 shell=False, cwd=None, env=None, universal_newlines=None,
                 startupinfo=None, creationflags=0,
                 restore_signals=True, start_new_session=False,
                 pass_fds=(), *, process_group=None, **other):
        # The signature is Popen's; **other holds its keyword-only rest
        # (user, group, extra_groups, encoding, errors, text, umask, pipesize).
        if (other or preexec_fn is not None or universal_newlines
                or startupinfo is not None or creationflags != 0
                or type(bufsize) is not int
                or not (_plain(stdin) and _plain(stdout) and _plain(stderr))
                or stdout == _STDOUT):
            # Anything unusual (text mode, user/group/umask, file objects,
            # a preexec_fn, bad arguments): CPython's own code path.
            _Popen_init(self, args, bufsize, executable, stdin, stdout, stderr,
                        preexec_fn, close_fds, shell, cwd, env, universal_newlines,
                        startupinfo, creationflags, restore_signals=restore_signals,
                        start_new_session=start_new_session, pass_fds=pass_fds,
                        process_group=process_group, **other)
            return
        subprocess._cleanup()
        self._waitpid_lock = threading.Lock()
        self._input = None
        self._communication_started = False
        self.args = args
        self.stdin = self.stdout = self.stderr = None
        self.pid = None
        self.returncode = None
        self.encoding = self.errors = None
        self.pipesize = -1
        self.text_mode = None
        self._sigint_wait_secs = 0.25
        self._closed_child_pipe_fds = False
        if pass_fds and not close_fds:
            import warnings
            warnings.warn("pass_fds overriding close_fds.", RuntimeWarning)
            close_fds = True

        p2cread = p2cwrite = c2pread = c2pwrite = errread = errwrite = -1
        to_close = []  # the child's ends and /dev/null, closed after the spawn
        try:
            # Each parent end is wrapped in its file object at once, so the
            # except clause below closes it through that object.
            if stdin == _PIPE:
                p2cread, p2cwrite = os.pipe()
                to_close.append(p2cread)
                self.stdin = io.open(p2cwrite, "wb", bufsize)
            elif stdin == _DEVNULL:
                p2cread = self._get_devnull()
            elif stdin is not None:
                p2cread = stdin
            if stdout == _PIPE:
                c2pread, c2pwrite = os.pipe()
                to_close.append(c2pwrite)
                self.stdout = io.open(c2pread, "rb", bufsize)
            elif stdout == _DEVNULL:
                c2pwrite = self._get_devnull()
            elif stdout is not None:
                c2pwrite = stdout
            if stderr == _PIPE:
                errread, errwrite = os.pipe()
                to_close.append(errwrite)
                self.stderr = io.open(errread, "rb", bufsize)
            elif stderr == _STDOUT:
                errwrite = c2pwrite if c2pwrite != -1 else sys.__stdout__.fileno()
            elif stderr == _DEVNULL:
                errwrite = self._get_devnull()
            elif stderr is not None:
                errwrite = stderr
            self._spawn(args, executable, close_fds, pass_fds, cwd, env, shell,
                        p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite,
                        restore_signals, start_new_session,
                        -1 if process_group is None else process_group, to_close)
        except BaseException:
            # As Popen: close our ends and, if the spawn did not get to it,
            # the child's.
            for f in (self.stdin, self.stdout, self.stderr):
                if f is not None:
                    try:
                        f.close()
                    except OSError:
                        pass
            if not self._closed_child_pipe_fds:
                if hasattr(self, "_devnull"):
                    to_close.append(self._devnull)
                for fd in to_close:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            raise

    def _spawn(self, args, executable, close_fds, pass_fds, cwd, env, shell,
               p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite,
               restore_signals, start_new_session, process_group, to_close):
        # subprocess.Popen._execute_child (POSIX), fork_exec branch.
        if isinstance(args, (str, bytes)):
            args = [args]
        elif isinstance(args, os.PathLike):
            if shell:
                raise TypeError('path-like args is not allowed when '
                                'shell is true')
            args = [args]
        else:
            args = list(args)
        if shell:
            args = ["/bin/sh", "-c"] + args
            if executable:
                args[0] = executable
        if executable is None:
            executable = args[0]
        sys.audit("subprocess.Popen", executable, args, cwd, env)
        if (getattr(subprocess, "_USE_POSIX_SPAWN", False)
                and os.path.dirname(executable)
                and (not close_fds or getattr(subprocess, "_HAVE_POSIX_SPAWN_CLOSEFROM", False))
                and not pass_fds
                and cwd is None
                and (p2cread == -1 or p2cread > 2)
                and (c2pwrite == -1 or c2pwrite > 2)
                and (errwrite == -1 or errwrite > 2)
                and not start_new_session
                and process_group == -1):
            # Where CPython starts the child with os.posix_spawn, so does
            # this class, with CPython's own method (a posix_spawn child
            # differs in small ways, e.g. glibc's internal signals).
            if _POSIX_SPAWN_TAKES_CLOSE_FDS:
                self._posix_spawn(args, executable, env, restore_signals, close_fds,
                                  p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite)
            else:
                self._posix_spawn(args, executable, env, restore_signals,
                                  p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite)
            return  # _posix_spawn closed the child's ends and /dev/null
        orig_executable = executable

        errpipe_read, errpipe_write = os.pipe()
        low_fds_to_close = []
        while errpipe_write < 3:
            low_fds_to_close.append(errpipe_write)
            errpipe_write = os.dup(errpipe_write)
        for low_fd in low_fds_to_close:
            os.close(low_fd)
        try:
            try:
                if env is not None:
                    env_list = []
                    for k, v in env.items():
                        k = os.fsencode(k)
                        if b'=' in k:
                            raise ValueError("illegal environment variable name")
                        env_list.append(k + b'=' + os.fsencode(v))
                else:
                    env_list = None
                executable = os.fsencode(executable)
                if b"/" in executable:
                    executable_list = (executable,)
                else:
                    executable_list = tuple([d + executable for d in _exec_dirs(env)])
                if pass_fds:
                    fds_to_keep = set(pass_fds)
                    fds_to_keep.add(errpipe_write)
                    fds_to_keep = tuple(sorted(map(int, fds_to_keep)))
                else:
                    fds_to_keep = (errpipe_write,)
                self.pid = _fork_exec(
                    args, executable_list,
                    close_fds, fds_to_keep,
                    cwd, env_list,
                    p2cread, p2cwrite, c2pread, c2pwrite,
                    errread, errwrite,
                    errpipe_read, errpipe_write,
                    restore_signals, start_new_session,
                    process_group, None, None, None, -1,
                    None, subprocess._USE_VFORK)
                self._child_created = True
            finally:
                os.close(errpipe_write)
            # The child's ends: closed here, once (Popen._close_pipe_fds).
            self._closed_child_pipe_fds = True
            for fd in to_close:
                os.close(fd)
            if hasattr(self, "_devnull"):
                os.close(self._devnull)
            errpipe_data = os.read(errpipe_read, 50000)
            if errpipe_data:
                while len(errpipe_data) <= 50000:
                    part = os.read(errpipe_read, 50000)
                    if not part:
                        break
                    errpipe_data += part
        finally:
            os.close(errpipe_read)

        if errpipe_data:
            self._raise_child_error(errpipe_data, orig_executable, cwd)

    def _raise_child_error(self, errpipe_data, orig_executable, cwd):
        # The exec failed: reap the child and raise what it reported,
        # exactly as Popen._execute_child does on this Python.
        try:
            pid, sts = os.waitpid(self.pid, 0)
            if pid == self.pid:
                self._handle_exitstatus(sts)
            else:
                self.returncode = sys.maxsize
        except ChildProcessError:
            pass
        try:
            exception_name, hex_errno, err_msg = errpipe_data.split(b':', 2)
            err_msg = err_msg.decode()
        except ValueError:
            exception_name = b'SubprocessError'
            hex_errno = b'0'
            err_msg = 'Bad exception data from child: {!r}'.format(bytes(errpipe_data))
        child_exception_type = getattr(builtins, exception_name.decode('ascii'),
                                       _SubprocessError)
        if issubclass(child_exception_type, OSError) and hex_errno:
            errno_num = int(hex_errno, 16)
            if _NOEXEC_CHDIR:
                if err_msg == "noexec:chdir":
                    err_msg = ""
                    err_filename = cwd
                elif err_msg == "noexec":
                    err_msg = ""
                    err_filename = None
                else:
                    err_filename = orig_executable
            elif err_msg == "noexec":
                err_msg = ""
                err_filename = cwd
            else:
                err_filename = orig_executable
            if errno_num != 0:
                err_msg = os.strerror(errno_num)
            if err_filename is not None:
                raise child_exception_type(errno_num, err_msg, err_filename)
            raise child_exception_type(errno_num, err_msg)
        raise child_exception_type(err_msg)

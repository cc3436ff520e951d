"""tideloop's Popen (_spawn.py) against CPython's subprocess.Popen, case by case.

Differential: each case runs with both classes and the outcome -- output, return code, or the exception's type, errno,
filename and text -- must be the same.  The asyncio-level behaviour is in
test_subprocess.py (on both loops).
"""
import os
import signal
import stat
import subprocess
import sys
import warnings

import pytest

from tideloop._spawn import Popen as TidePopen

PY = sys.executable
CLASSES = {"stdlib": subprocess.Popen, "tideloop": TidePopen}


def outcome(Popen, *args, **kwargs):
    """('ok', returncode, stdout, stderr) or ('error', type, errno, filename, str)."""
    try:
        p = Popen(*args, **kwargs)
    except Exception as e:
        return ("error", type(e), getattr(e, "errno", None), getattr(e, "filename", None), str(e))
    out, err = p.communicate(timeout=30)
    return ("ok", p.returncode, out, err)


def both(*args, **kwargs):
    """The outcome with CPython's Popen and with tideloop's, which must be equal."""
    a = outcome(subprocess.Popen, *args, **kwargs)
    b = outcome(TidePopen, *args, **kwargs)
    assert a == b
    return b


def script(dirpath, name, body):
    """An executable shell script *name* in *dirpath*."""
    path = os.path.join(dirpath, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body + "\n")
    os.chmod(path, 0o755)
    return path


def test_found_on_path_with_output():
    r = both(["echo", "hello"], stdout=subprocess.PIPE)
    assert r == ("ok", 0, b"hello\n", None)


def test_env_path_is_the_one_searched(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    script(a, "tl-which", "echo a")
    script(b, "tl-which", "echo b")
    # The cache of $PATH directories must follow each call's PATH.
    for first in ([str(a), str(b)], [str(b), str(a)], [str(b)], [str(a)]):
        env = {"PATH": os.pathsep.join(first)}
        expect = first[0][-1].encode() + b"\n"
        assert both(["tl-which"], env=env, stdout=subprocess.PIPE) == ("ok", 0, expect, None)


def test_program_appearing_and_disappearing_on_path(tmp_path):
    env = {"PATH": str(tmp_path)}
    r = both(["tl-late"], env=env)
    assert r[:2] == ("error", FileNotFoundError)
    path = script(tmp_path, "tl-late", "exit 7")
    assert both(["tl-late"], env=env) == ("ok", 7, None, None)
    os.unlink(path)
    assert both(["tl-late"], env=env)[:2] == ("error", FileNotFoundError)


def test_empty_env_uses_default_path():
    # No PATH in env: os.defpath, as os.get_exec_path() gives.
    assert both(["true"], env={}) == ("ok", 0, None, None)


def test_bytes_path_in_env(tmp_path):
    script(tmp_path, "tl-bytes", "echo bytes")
    env = {b"PATH": os.fsencode(str(tmp_path))}
    assert both(["tl-bytes"], env=env, stdout=subprocess.PIPE) == ("ok", 0, b"bytes\n", None)


@pytest.mark.parametrize("argv", [["tl-no-such-program"], ["/nonexistent/dir/prog"]])
def test_missing_program(argv):
    r = both(argv)
    assert r[:3] == ("error", FileNotFoundError, 2)
    assert r[3] == argv[0]


def test_not_executable(tmp_path):
    path = tmp_path / "plain"
    path.write_text("#!/bin/sh\n")
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    r = both([str(path)])
    assert r[:2] == ("error", PermissionError)


def test_bad_cwd(tmp_path):
    r = both(["true"], cwd=str(tmp_path / "missing"))
    assert r[:2] == ("error", FileNotFoundError)


def test_cwd_and_env_reach_the_child(tmp_path):
    r = both([PY, "-c", "import os; print(os.getcwd(), os.environ['TL_X'])"],
             cwd=str(tmp_path), env={"TL_X": "42", "PATH": os.environ["PATH"]},
             stdout=subprocess.PIPE)
    assert r == ("ok", 0, f"{tmp_path} 42\n".encode(), None)


def test_illegal_env_name():
    r = both(["true"], env={"A=B": "1"})
    assert r[:2] == ("error", ValueError)


def test_shell_and_executable():
    assert both("echo $((6*7))", shell=True, stdout=subprocess.PIPE) == ("ok", 0, b"42\n", None)
    # executable= replaces the program run, argv[0] stays.
    r = both(["tl-argv0", "-c", "import sys; print(sys.argv[0])"], executable=PY,
             stdout=subprocess.PIPE)
    assert r == ("ok", 0, b"-c\n", None)
    r = both("echo $0", shell=True, executable="/bin/sh", stdout=subprocess.PIPE)
    assert r == ("ok", 0, b"/bin/sh\n", None)


def test_bytes_and_pathlike_args(tmp_path):
    path = script(tmp_path, "tl-pl", "echo pl")
    import pathlib
    assert both([os.fsencode(path)], stdout=subprocess.PIPE) == ("ok", 0, b"pl\n", None)
    assert both(pathlib.Path(path), stdout=subprocess.PIPE) == ("ok", 0, b"pl\n", None)
    assert both(os.fsencode(path), stdout=subprocess.PIPE) == ("ok", 0, b"pl\n", None)


def test_stdio_combinations(tmp_path):
    code = "import sys; d = sys.stdin.buffer.read(); sys.stdout.buffer.write(d); sys.stderr.write('E')"
    for Popen in CLASSES.values():
        p = Popen([PY, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                  stderr=subprocess.STDOUT)
        assert p.communicate(b"in", timeout=30) == (b"inE", None)
        p = Popen([PY, "-c", code], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                  stderr=subprocess.DEVNULL)
        assert p.communicate(timeout=30) == (b"", None)
        with open(tmp_path / "in", "wb") as f:
            f.write(b"file")
        with open(tmp_path / "in", "rb") as fin, open(tmp_path / "out", "wb") as fout:
            p = Popen([PY, "-c", code], stdin=fin.fileno(), stdout=fout.fileno(),
                      stderr=subprocess.PIPE)
            assert p.communicate(timeout=30) == (None, b"E")
        assert (tmp_path / "out").read_bytes() == b"file"
        assert p.returncode == 0


def test_pass_fds_and_close_fds():
    r, w = os.pipe()
    os.set_inheritable(r, True)  # inheritable, yet closed in the child unless passed
    code = f"import os; print(os.path.exists('/proc/self/fd/{r}'))"
    try:
        assert both([PY, "-c", code], stdout=subprocess.PIPE) == ("ok", 0, b"False\n", None)
        assert both([PY, "-c", code], stdout=subprocess.PIPE, pass_fds=(r,)) == ("ok", 0, b"True\n", None)
        assert both([PY, "-c", code], stdout=subprocess.PIPE, close_fds=False) == ("ok", 0, b"True\n", None)
        for Popen in CLASSES.values():
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                p = Popen([PY, "-c", code], stdout=subprocess.PIPE, pass_fds=(r,), close_fds=False)
                assert p.communicate(timeout=30)[0] == b"True\n"
            assert [str(w.message) for w in caught] == ["pass_fds overriding close_fds."]
    finally:
        os.close(r)
        os.close(w)


def test_session_and_process_group():
    code = "import os; print(os.getsid(0) == os.getpid(), os.getpgid(0) == os.getpid())"
    assert both([PY, "-c", code], stdout=subprocess.PIPE, start_new_session=True) == (
        "ok", 0, b"True True\n", None)
    if sys.version_info >= (3, 11):
        assert both([PY, "-c", code], stdout=subprocess.PIPE, process_group=0) == (
            "ok", 0, b"False True\n", None)


def test_signals_restored_in_child():
    # The parent (Python) ignores SIGPIPE; the child gets the default back
    # (restore_signals=True) or keeps it ignored (False).
    assert signal.getsignal(signal.SIGPIPE) is signal.SIG_IGN
    bit = 1 << (signal.SIGPIPE - 1)
    code = "grep SigIgn /proc/$$/status"
    for restore, ignored in ((True, False), (False, True)):
        r = both(["/bin/sh", "-c", code], stdout=subprocess.PIPE, restore_signals=restore)
        mask = int(r[2].split()[1], 16)
        assert bool(mask & bit) is ignored


def test_text_mode_and_other_options_take_cpythons_path():
    for Popen in CLASSES.values():
        p = Popen([PY, "-c", "print('t')"], stdout=subprocess.PIPE, text=True)
        assert p.communicate(timeout=30) == ("t\n", None)
        p = Popen([PY, "-c", "import os; print(oct(os.umask(0)))"], stdout=subprocess.PIPE, umask=0o027)
        assert p.communicate(timeout=30) == (b"0o27\n", None)


def test_a_real_popen_object():
    p = TidePopen([PY, "-c", "import time; time.sleep(30)"], stdin=subprocess.PIPE)
    assert isinstance(p, subprocess.Popen)
    assert p.poll() is None
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == -signal.SIGTERM
    assert p.poll() == -signal.SIGTERM
    p.stdin.close()
    assert "returncode: -15" in repr(p)
    with TidePopen(["true"]) as q:
        pass
    assert q.returncode == 0


def test_no_fd_leak_on_failures_and_success(tmp_path):
    before = set(os.listdir("/proc/self/fd"))
    for _ in range(200):
        with pytest.raises(FileNotFoundError):
            TidePopen(["tl-no-such-program"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE)
        with pytest.raises(FileNotFoundError):
            TidePopen(["true"], cwd=str(tmp_path / "missing"), stdout=subprocess.DEVNULL)
        with pytest.raises(FileNotFoundError):  # posix_spawn's path on 3.13
            TidePopen(["/nonexistent/prog"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        p = TidePopen(["true"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        p.communicate(timeout=30)
    assert set(os.listdir("/proc/self/fd")) == before
    with pytest.raises(ChildProcessError):  # every child reaped
        os.waitpid(-1, os.WNOHANG)


def test_stdio_fds_closed_in_parent():
    # errpipe gets an fd below 3 when 0-2 are closed: it must be moved up.
    code = ("import os, subprocess, sys\n"
            "from tideloop._spawn import Popen\n"
            "os.close(0); os.close(1)\n"
            "p = Popen(['sh', '-c', 'echo ok >&2'])\n"
            "sys.exit(p.wait())\n")
    r = subprocess.run([PY, "-c", code], capture_output=True, timeout=30)
    assert (r.returncode, r.stderr) == (0, b"ok\n")


def test_both_path_keys_in_env():
    r = both(["true"], env={"PATH": "/usr/bin", b"PATH": b"/bin"})
    assert r[:2] == ("error", ValueError)


def test_positional_arguments_are_popens():
    # Popen(args, bufsize, executable, stdin, stdout, stderr, preexec_fn,
    #       close_fds, shell, cwd, env, universal_newlines, startupinfo,
    #       creationflags, restore_signals, start_new_session, pass_fds)
    r = both(["sh", "-c", "echo $TL_P; pwd"], -1, None, None, subprocess.PIPE, None, None,
             True, False, "/", {"TL_P": "pos", "PATH": os.environ["PATH"]}, None, None, 0,
             True, False, ())
    assert r == ("ok", 0, b"pos\n/\n", None)


@pytest.mark.parametrize("switch", ["_USE_VFORK", "_USE_POSIX_SPAWN"])
def test_documented_switches_are_read_per_spawn(monkeypatch, switch):
    # subprocess's docs: set _USE_VFORK / _USE_POSIX_SPAWN to False to turn
    # them off; the spawn must read the module's value each time.
    import tideloop._spawn as sp
    monkeypatch.setattr(subprocess, switch, False)
    calls = []
    real = sp._fork_exec

    def spy(*args):
        calls.append(args[-1])  # allow_vfork
        return real(*args)

    monkeypatch.setattr(sp, "_fork_exec", spy)
    # A bare name always goes through fork_exec; an absolute path takes
    # posix_spawn on 3.13 unless that is switched off.
    program = "sh" if switch == "_USE_VFORK" else "/bin/sh"
    assert both([program, "-c", "exit 3"]) == ("ok", 3, None, None)
    assert calls == [switch != "_USE_VFORK"]

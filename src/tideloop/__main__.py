"""The ``tideloop`` command (also ``python -m tideloop``).

    tideloop run script.py [args...]      run an asyncio program on tideloop
    tideloop run -m module [args...]      the same for ``python -m module``
    tideloop info [--json] [--plain]      version, Python, poller backend, build
    tideloop bench [suite ...] [--quick]  run the benchmark suites of a source tree

``run`` installs tideloop's event loop policy, then runs the program exactly as
``python script.py`` / ``python -m module`` would (``sys.argv``, ``sys.path[0]``,
``__name__ == "__main__"``), so ``asyncio.run()``, ``asyncio.new_event_loop()``
and ``asyncio.Runner()`` inside it all get tideloop loops.  Nothing else in
asyncio is patched.
"""
import os
import re
import runpy
import sys
import sysconfig
import warnings

USAGE = """\
usage: tideloop run [--debug] script.py [args...]
       tideloop run [--debug] -m module [args...]
       tideloop info [--json] [--plain]
       tideloop bench [suite ...] [--quick] [--loops L,...] [--repeat N]
                      [--json FILE] [--markdown] [-- script options]
       tideloop --version

  run    run an asyncio program with tideloop as its event loop
         (--debug: asyncio debug mode, as PYTHONASYNCIODEBUG=1)
  info   print tideloop's version, Python, poller backend and build details
  bench  run the benchmark suites of a source checkout (micro, processes,
         echo, http) with a progress display and print their tables
"""


def main(argv=None):
    """Entry point of the ``tideloop`` script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    if cmd in ("--version", "-V", "version"):
        import tideloop

        print("tideloop", tideloop.__version__)
        return 0
    if cmd == "run":
        return cmd_run(rest)
    if cmd == "info":
        return cmd_info(rest)
    if cmd == "bench":
        return cmd_bench(rest)
    sys.stderr.write(f"tideloop: unknown command {cmd!r}\n\n{USAGE}")
    return 2


# ---------------------------------------------------------------- run


def _usage_error(msg):
    sys.stderr.write(f"tideloop run: {msg}\n\n{USAGE}")
    return 2


def cmd_run(argv):
    """``tideloop run [--debug] (script | -m module) [args...]``."""
    module = script = None
    i = 0
    # Options come before the target; everything after it belongs to the program.
    while i < len(argv):
        arg = argv[i]
        if arg in ("-h", "--help"):
            sys.stdout.write(USAGE)
            return 0
        if arg == "--debug":
            # asyncio reads this each time a loop is created, tideloop too.
            os.environ["PYTHONASYNCIODEBUG"] = "1"
            i += 1
        elif arg == "-m":
            if i + 1 >= len(argv):
                return _usage_error("-m needs a module name")
            module = argv[i + 1]
            args = argv[i + 2:]
            break
        elif arg.startswith("-m") and len(arg) > 2:  # python accepts -mmodule too
            module = arg[2:]
            args = argv[i + 1:]
            break
        elif arg == "--":
            i += 1
            if i >= len(argv):
                return _usage_error("no script given")
            script, args = argv[i], argv[i + 1:]
            break
        elif arg.startswith("-"):
            return _usage_error(f"unknown option {arg!r}")
        else:
            script, args = arg, argv[i + 1:]
            break
    else:
        return _usage_error("no script or -m module given")

    if script is not None and not os.path.exists(script):
        sys.stderr.write(f"tideloop run: can't open file {script!r}: No such file or directory\n")
        return 2

    _install_policy()
    try:
        if module is not None:
            # python -m puts the current directory first on sys.path; run_module
            # sets sys.argv[0] to the module's file, as python does.
            sys.path[0:1] = [os.getcwd()]
            sys.argv = [module] + args
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        else:
            # python script.py puts the script's directory first on sys.path.
            sys.path[0:1] = [os.path.dirname(os.path.abspath(script))]
            sys.argv = [script] + args
            runpy.run_path(script, run_name="__main__")
    except SystemExit:
        raise
    except KeyboardInterrupt:
        raise  # python's own handling: traceback, then exit by SIGINT
    except BaseException as exc:
        # Report like python would: the program's frames only, not ours/runpy's.
        _print_program_traceback(exc)
        return 1
    return 0


def _install_policy():
    """Install tideloop's event loop policy (asyncio's loop-choice hook)."""
    from tideloop import _policy

    with warnings.catch_warnings():
        # 3.14 deprecates the policy system; the CLI is the one place that
        # knowingly uses it, since it cannot pass loop_factory= to the
        # program's own asyncio.run().
        warnings.simplefilter("ignore", DeprecationWarning)
        _policy.install()


def _print_program_traceback(exc):
    """Print *exc*'s traceback without the leading runpy/CLI frames."""
    # runpy is frozen on 3.11+ ("<frozen runpy>"), a plain file before.
    skip = {"<frozen runpy>", os.path.abspath(runpy.__file__), os.path.abspath(__file__)}
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename not in skip and os.path.abspath(filename) not in skip:
            break
        tb = tb.tb_next
    # sys.excepthook shows it exactly as an uncaught exception would be shown;
    # it prints the exception's own __traceback__, so trim that.
    exc.with_traceback(tb)
    sys.excepthook(type(exc), exc, tb)


# ---------------------------------------------------------------- info


def _backend_name(loop):
    """The poller backend of a tideloop loop ("epoll" if the loop does not say)."""
    for attr in ("backend", "_backend"):
        value = getattr(loop, attr, None)
        if callable(value):
            value = value()
        if isinstance(value, str) and value:
            return value
    try:
        value = loop.statistics().get("backend")
    except Exception:
        value = None
    return value if isinstance(value, str) and value else "epoll"


def _core_module():
    """The compiled core's module, or None if it is not loaded."""
    for name in ("tideloop._core.core", "tideloop._core"):
        mod = sys.modules.get(name)
        if mod is not None and getattr(mod, "__file__", "").endswith((".so", ".pyd")):
            return mod
    return None


def _compiler_of(path):
    """The compiler that built the shared object at *path*, from its ELF
    ``.comment`` strings (e.g. ``GCC: (Debian 12.2.0-14) 12.2.0``); falls back
    to the compiler Python's build uses for extensions."""
    found = []
    try:
        with open(path, "rb") as f:
            data = f.read()
        for m in re.finditer(rb"(?:GCC: \([^\x00]{0,120}|clang version [^\x00]{0,120})", data):
            text = m.group(0).decode("ascii", "replace").strip()
            if text not in found:
                found.append(text)
    except OSError:
        pass
    if found:
        return "; ".join(found)
    cc = sysconfig.get_config_var("CC") or "unknown"
    return f"{cc.split()[0]} (Python's configured compiler)"


def collect_info():
    """Everything ``tideloop info`` reports, as a flat dict of strings."""
    import platform

    import tideloop

    info = {
        "tideloop": tideloop.__version__,
        "package": os.path.dirname(os.path.abspath(tideloop.__file__)),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "executable": sys.executable,
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
    }
    loop = tideloop.new_event_loop()
    try:
        info["loop"] = f"{type(loop).__module__}.{type(loop).__qualname__}"
        info["backend"] = _backend_name(loop)
    finally:
        loop.close()
    core = _core_module()
    info["core"] = core.__file__ if core is not None else "not loaded"
    info["compiler"] = _compiler_of(core.__file__) if core is not None else "unknown"
    try:
        import Cython

        info["cython"] = Cython.__version__ + " (installed)"
    except ImportError:
        info["cython"] = "not installed"
    ft_build = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    info["free-threaded build"] = "yes" if ft_build else "no"
    gil_check = getattr(sys, "_is_gil_enabled", None)  # 3.13+
    info["GIL enabled"] = ("yes" if gil_check() else "no") if gil_check else "yes"
    return info


def cmd_info(argv):
    """``tideloop info [--json] [--plain]``."""
    as_json = "--json" in argv
    plain = "--plain" in argv
    unknown = [a for a in argv if a not in ("--json", "--plain")]
    if unknown:
        sys.stderr.write(f"tideloop info: unknown option {unknown[0]!r}\n\n{USAGE}")
        return 2
    info = collect_info()
    if as_json:
        import json

        print(json.dumps(info, indent=2))
        return 0
    if not plain:
        try:
            from rich.console import Console
            from rich.table import Table
        except ImportError:
            plain = True
    if plain:
        width = max(map(len, info))
        for key, value in info.items():
            print(f"{key:<{width}}  {value}")
        return 0
    table = Table(title="tideloop", show_header=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")  # paths stay whole, wrapped
    for key, value in info.items():
        table.add_row(key, value)
    Console().print(table)
    return 0


# ---------------------------------------------------------------- bench


def cmd_bench(argv):
    """``tideloop bench [suite ...] [options]``: the benchmark suites (tideloop._bench_cli)."""
    from tideloop import _bench_cli

    try:
        return _bench_cli.cmd_bench(argv)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

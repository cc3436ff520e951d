"""``tideloop bench``: run the benchmark suites of a source checkout, show progress, print the tables.

The suites are the scripts of bench/ (listed in bench/suites.py); they ship
with the source tree, not with the installed package. Each suite runs in this
process through its script's ``collect(argv, progress)``, with the script's own
options built from ours (``--quick`` -> the suite's smoke-run options,
``--loops``, ``--repeat``, anything after ``--``), so ``tideloop bench echo
--loops asyncio,tideloop`` measures exactly what ``python bench/echo.py
--loops asyncio,tideloop --sweep`` does. See docs/CLI.md.
"""
import argparse
import datetime
import importlib.util
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time
import traceback

from tideloop import _bench_display

NOT_FOUND = (
    "tideloop bench: bench/micro.py was not found: the benchmarks ship with the\n"
    "source tree, not the installed package.  From a tideloop checkout run\n"
    "  tideloop bench --quick      (or: make bench)\n"
)


def find_micro_bench():
    """bench/micro.py of the source tree tideloop runs from, or of the
    current directory; None when neither has one (an installed wheel)."""
    import tideloop

    pkg = pathlib.Path(tideloop.__file__).resolve().parent
    # src/tideloop/__init__.py -> the checkout root is two levels up.
    for root in (pkg.parent.parent, pathlib.Path.cwd()):
        candidate = root / "bench" / "micro.py"
        if candidate.is_file():
            return candidate
    return None


# ---------------------------------------------------------------- loading


def _load_file(path, name):
    """Import the file *path* as module *name* (bench/ is no package)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


class Bench:
    """The bench/ directory of a checkout: its suite registry and helpers."""

    def __init__(self, directory):
        self.dir = pathlib.Path(directory)
        here = str(self.dir)
        # bench/http.py must never stand in for the standard library's http
        # package: import the real one before bench/ joins sys.path.
        saved = sys.path[:]
        sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
        try:
            import http  # noqa: F401
        finally:
            sys.path[:] = saved
        if here not in sys.path:
            sys.path.insert(0, here)  # the scripts import their neighbours by name
        self.registry = _load_file(self.dir / "suites.py", "_tideloop_bench_suites")
        self.api = importlib.import_module("suite_api")
        self.suites = self.registry.by_name()

    def loop_names(self):
        """The loops the scripts know (bench/micro_loops.py)."""
        return importlib.import_module("micro_loops").LOOP_NAMES

    def has_hooks(self, suite):
        """True when the suite's script defines collect() and report_blocks() (read, not run:
        a script without hooks may do its work at import)."""
        import ast

        tree = ast.parse((self.dir / suite.script).read_text(), str(self.dir / suite.script))
        defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        return {"collect", "report_blocks"} <= defined

    def script(self, suite):
        """Import the suite's script as a module (its ``__main__`` block does not run)."""
        return _load_file(self.dir / suite.script, f"_tideloop_bench_{suite.name}")


# ---------------------------------------------------------------- options


def parse(argv, bench):
    """Our options; everything after ``--`` goes to the (one) suite's script."""
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    names = list(bench.suites) if bench else ["micro", "processes", "echo", "http"]
    epilog = "suites:\n" + "\n".join(
        f"  {s.name:<10} {s.about}" for s in (bench.suites.values() if bench else ())) if bench else None
    p = argparse.ArgumentParser(
        prog="tideloop bench", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=epilog,
        description="Run the benchmark suites of a tideloop source checkout with a progress display "
                    "and print their tables (tideloop against asyncio, uvloop and rloop).",
        usage="tideloop bench [suite ...] [--quick] [--loops L,...] [--repeat N] [--json FILE] [--markdown]"
              " [-- script options]")
    p.add_argument("suites", nargs="*", metavar="suite", help=f"suites to run (default: all): {', '.join(names)}")
    p.add_argument("--quick", action="store_true", help="a smoke run at small scales, 1 repetition (about a minute)")
    p.add_argument("--loops", metavar="L,...", help="comma-separated loops (default: every installed one)")
    p.add_argument("--repeat", type=int, metavar="N", help="repetitions per measurement (default: each suite's own)")
    p.add_argument("--json", metavar="FILE", help="write every suite's raw results and tables as JSON")
    p.add_argument("--markdown", action="store_true", help="print markdown tables (for docs/PERFORMANCE.md)")
    p.add_argument("--plain", action="store_true", help="no rich: plain progress lines and text tables")
    p.add_argument("--report", metavar="FILE", help="only print the report of a run saved with --json")
    p.add_argument("--list", action="store_true", help="list the suites and the script each runs")
    args = p.parse_args(argv)
    args.extra = extra
    if args.repeat is not None and args.repeat < 1:
        p.error("--repeat must be >= 1")
    if bench is not None:
        for name in args.suites:
            if name not in bench.suites:
                p.error(f"unknown suite {name!r}; choose from {', '.join(bench.suites)}")
        if args.loops is not None:
            known = bench.loop_names()
            for name in args.loops.split(","):
                if name not in known:
                    p.error(f"unknown loop {name!r}; choose from {','.join(known)}")
    if extra and len(args.suites) != 1:
        p.error("options after -- go to one suite's script: name exactly one suite")
    return args


def script_argv(suite, args):
    """The suite's script options for this run."""
    argv = list(suite.quick if args.quick else suite.full)
    if args.loops:
        argv += ["--loops", args.loops]
    if args.repeat is not None:
        argv += ["--repeat", str(args.repeat)]
    return argv + list(args.extra)


# ---------------------------------------------------------------- running


def run_suite(bench, suite, args, display, records):
    """Run one suite; its record (status, reason, argv, seconds, data, blocks / output) goes
    into *records* as it starts, so an interrupted suite is reported too."""
    argv = script_argv(suite, args)
    record = {"status": "ok", "reason": None, "about": suite.about, "script": f"bench/{suite.script}",
              "argv": argv, "seconds": None, "data": None, "blocks": None}
    records[suite.name] = record
    progress = display.begin(suite.name, suite.about)
    t0 = time.monotonic()
    try:
        if bench.has_hooks(suite):
            module = bench.script(suite)
            record["data"] = module.collect(argv, progress)
            record["blocks"] = module.report_blocks(record["data"])
            if record["blocks"].get("failed"):
                record["status"] = "failed"
        else:
            _run_script(bench, suite, argv, args, progress, record)
    except bench.api.Unavailable as exc:
        record.update(status="skipped", reason=str(exc))
    except SystemExit as exc:  # the script's argparse rejected an option (it printed why)
        record.update(status="error", reason=f"bench/{suite.script} {' '.join(argv)}: bad options (exit {exc.code})")
    except KeyboardInterrupt:
        record.update(status="interrupted", reason="Ctrl-C")
        raise
    except Exception as exc:
        traceback.print_exc()
        record.update(status="error", reason=f"{type(exc).__name__}: {exc}")
    finally:
        record["seconds"] = round(time.monotonic() - t0, 1)
        display.end(suite.name, _outcome(record))


def _run_script(bench, suite, argv, args, progress, record):
    """A script without report hooks: run it, its stderr as progress, its stdout as the report."""
    with tempfile.TemporaryDirectory() as tmp:
        out_path = os.path.join(tmp, "report.txt")
        json_path = os.path.join(tmp, "data.json")
        cmd = [sys.executable, str(bench.dir / suite.script), *argv, "--json", json_path]
        if args.markdown:
            cmd.append("--markdown")
        with open(out_path, "w+") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, text=True, cwd=bench.dir.parent)
            try:
                for line in proc.stderr:
                    if line.strip():
                        progress.status(line.rstrip())
            finally:
                proc.wait()
            out.seek(0)
            record["output"] = out.read()
        if os.path.exists(json_path):
            with open(json_path) as f:
                record["data"] = json.load(f)
    if proc.returncode != 0:
        record.update(status="failed", reason=f"bench/{suite.script} exited with status {proc.returncode}")


def _outcome(record):
    """A suite's end in a few words, for the progress display."""
    status = record["status"]
    if status == "ok":
        return f"done in {record['seconds']:.0f} s"
    if status == "failed":
        return f"FAILED after {record['seconds']:.0f} s (see the report)"
    return f"{status}: {record['reason']}"


# ---------------------------------------------------------------- report


def _meta(bench, argv, args):
    common = importlib.import_module("netbench_common")
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "tideloop bench " + " ".join(argv),
        "commit": common.git_commit(),
        "python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "machine": common.machine_line(),
        "quick": bool(args.quick),
    }


def rejudge(bench, saved):
    """Rebuild each saved suite's tables from its raw data with this checkout's report code,
    so an old run is printed with today's columns and verdict rule."""
    for name, rec in saved["suites"].items():
        suite = bench.suites.get(name)
        if rec.get("data") and suite is not None and bench.has_hooks(suite):
            rec["blocks"] = bench.script(suite).report_blocks(rec["data"])


def print_report(saved, report):
    """Print a run (the dict --json writes) on stdout through *report* (a _bench_display.Report)."""
    meta = saved["meta"]
    title = f"tideloop bench, {meta['date']}, tideloop commit {meta['commit']}"
    if report.style == "markdown":
        print(f"**{title}**\n")
    else:
        report.line(title)
    head = [f"command: {meta['command']}", f"python: {meta['python']}", f"machine: {meta['machine']}"]
    if meta.get("quick"):
        head.append("--quick: small scales and one repetition, a smoke run; its figures are not results")
    report.lines(head)
    summary = []
    for name, rec in saved["suites"].items():
        report.heading(f"{name}: {rec['about']}")
        if not rec.get("blocks"):  # the scripts' own headers name their command
            report.lines([f"command: python {rec['script']} {' '.join(rec['argv'])}".rstrip()])
        if rec["status"] in ("skipped", "error", "interrupted"):
            report.line(f"{rec['status']}: {rec['reason']}")
        elif rec.get("blocks"):
            report.lines(rec["blocks"]["header"])
            for t in rec["blocks"]["tables"]:
                report.table(t)
            report.footer(rec["blocks"]["footer"])
        elif rec.get("output") is not None:
            report.raw(rec["output"])
        if rec["status"] == "failed" and rec.get("reason"):
            report.line(f"FAILED: {rec['reason']}")
        summary.append(f"{name} {rec['status'] if rec['status'] != 'failed' else 'FAILED'}"
                       + (f" ({rec['seconds']:.0f} s)" if rec["status"] in ("ok", "failed") else ""))
    print()
    report.line("suites: " + ", ".join(summary))


def exit_status(saved, named):
    """0 when every suite ran and passed its checks; 1 on a failure, or when a suite named on
    the command line could not run (a missing tool); 130 when interrupted."""
    statuses = {name: rec["status"] for name, rec in saved["suites"].items()}
    if "interrupted" in statuses.values():
        return 130
    if any(s in ("failed", "error") for s in statuses.values()):
        return 1
    if any(statuses.get(name) == "skipped" for name in named):
        return 1
    return 0


def cmd_bench(argv):
    """``tideloop bench [suite ...] [options]``: see docs/CLI.md."""
    argv = list(argv)
    micro = find_micro_bench()
    bench = None
    if micro is not None and (micro.parent / "suites.py").is_file():
        bench = Bench(micro.parent)
    args = parse(argv, bench)
    style = _bench_display.Report.choose(markdown=args.markdown, plain=args.plain)
    if args.report:
        with open(args.report) as f:
            saved = json.load(f)
        if bench is not None:
            rejudge(bench, saved)
        print_report(saved, style)
        return exit_status(saved, [])
    if bench is None:
        sys.stderr.write(NOT_FOUND)
        return 1
    if args.list:
        for s in bench.suites.values():
            print(f"{s.name:<10} bench/{s.script:<14} {s.about}")
        return 0

    names = args.suites or list(bench.suites)
    saved = {"tideloop_bench": 1, "meta": _meta(bench, argv, args), "suites": {}}
    try:
        with _bench_display.display(plain=args.plain) as display:
            display.start(len(names))
            for name in names:
                run_suite(bench, bench.suites[name], args, display, saved["suites"])
    except KeyboardInterrupt:
        pass  # the interrupted suite is marked so; report what ran
    if args.json:
        with open(args.json, "w") as f:
            json.dump(saved, f, indent=1)
    print_report(saved, style)
    return exit_status(saved, args.suites)

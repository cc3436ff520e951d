"""Micro benchmarks of asyncio's loop, uvloop, rloop and tideloop, in one report.

    python bench/micro.py                        # everything, 3 repetitions
    python bench/micro.py --scale 0.1            # a quick run (counts x 0.1)
    python bench/micro.py --loops asyncio,tideloop --bench chain,timers --repeat 5
    python bench/micro.py --markdown --json out.json

Every (loop, benchmark, repetition) runs in its own fresh process
(``python bench/micro.py --child LOOP BENCH SCALE``, which prints one JSON
line), so no loop inherits another's heap, caches or threads. Repetitions are
interleaved (rep 1 of every benchmark on every loop, then rep 2, ...) so a
change in the shared machine's load hits all loops alike. The report gives the
median of the repetitions in ops/s of wall time and ops per CPU-second
(``time.process_time`` of the measured section), with ratios to asyncio's
loop from the same run and tideloop against the faster of uvloop and rloop.
"""
import argparse
import datetime
import gc
import json
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # run as a script from anywhere, or imported by path
    sys.path.insert(0, HERE)

from micro_cases import BENCHMARKS, Stopwatch, count_for  # noqa: E402
from micro_loops import LOOP_NAMES, loop_version, new_loop  # noqa: E402
import micro_report  # noqa: E402
from suite_api import LineProgress, Unavailable  # noqa: E402

CHILD_TIMEOUT = 900  # seconds; a hung loop must not hang the whole report


# ---------------------------------------------------------------- child side


def run_child(loop_name, bench, scale):
    """Run one benchmark once on a new loop; return the result dict.

    A small warm-up (1% of the count) runs first on the same loop, so one-time
    costs (lazy imports, the default executor's first thread, allocator
    growth) are not billed to the measured section.
    """
    _label, _base, case, _unit = BENCHMARKS[bench]
    n = count_for(bench, scale)
    loop = new_loop(loop_name)
    try:
        case(loop, count_for(bench, scale / 100), Stopwatch())
        gc.collect()
        watch = Stopwatch()
        case(loop, n, watch)
        if bench == "executor":
            loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()
    return {"loop": loop_name, "bench": bench, "n": n, "wall": watch.wall, "cpu": watch.cpu, "ok": True}


def child_main(loop_name, bench, scale):
    """Entry point of ``--child``: print one JSON line; exit 1 on a wrong result."""
    try:
        result = run_child(loop_name, bench, float(scale))
    except BaseException as exc:  # report every failure, including WrongResult
        import traceback

        traceback.print_exc()
        result = {"loop": loop_name, "bench": bench, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(result), flush=True)
        return 1
    print(json.dumps(result), flush=True)
    return 0


def probe_main(loop_name):
    """Entry point of ``--probe``: print the loop's version, or why it is unusable."""
    try:
        print(json.dumps({"ok": True, "version": loop_version(loop_name)}))
    except BaseException as exc:
        print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}))
    return 0


# --------------------------------------------------------------- driver side


def child_env():
    """The environment for children: debug switches off, they would skew every loop."""
    env = dict(os.environ)
    for var in ("PYTHONASYNCIODEBUG", "PYTHONDEVMODE", "PYTHONTRACEMALLOC"):
        env.pop(var, None)
    return env


def spawn(args):
    """Run this script with *args* in a fresh interpreter; return (json or None, stderr)."""
    cmd = [sys.executable, os.path.abspath(__file__)] + args
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=CHILD_TIMEOUT, env=child_env())
    except subprocess.TimeoutExpired:
        return None, f"timed out after {CHILD_TIMEOUT} s"
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    data = json.loads(lines[-1]) if lines else None
    if proc.returncode != 0 and data is None:
        return None, f"exit code {proc.returncode}: " + proc.stderr.strip()[-2000:]
    return data, proc.stderr


def cpu_model():
    """The CPU model name from /proc/cpuinfo, or platform's guess."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def parse_args(argv):
    """The command line of the driver."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--loops", default=",".join(LOOP_NAMES), help="comma-separated loops (default: all four)")
    p.add_argument("--bench", default=",".join(BENCHMARKS), help="comma-separated: " + ",".join(BENCHMARKS))
    p.add_argument("--repeat", type=int, default=3, help="repetitions per (loop, benchmark); median reported")
    p.add_argument("--scale", type=float, default=1.0, help="multiply every count (0.1 = quick run)")
    p.add_argument("--json", metavar="FILE", help="write raw samples and summaries as JSON")
    p.add_argument("--markdown", action="store_true", help="print markdown tables (for docs/PERFORMANCE.md)")
    p.add_argument("--report", metavar="FILE", help="only print the report of a run saved with --json")
    args = p.parse_args(argv)
    args.loops = [x for x in args.loops.split(",") if x]
    args.bench = [x for x in args.bench.split(",") if x]
    for x in args.loops:
        if x not in LOOP_NAMES:
            p.error(f"unknown loop {x!r}; choose from {','.join(LOOP_NAMES)}")
    for x in args.bench:
        if x not in BENCHMARKS:
            p.error(f"unknown benchmark {x!r}; choose from {','.join(BENCHMARKS)}")
    if args.repeat < 1 or args.scale <= 0:
        p.error("--repeat must be >= 1 and --scale > 0")
    return args


def collect(argv, progress):
    """Run the benchmarks *argv* asks for; return ``{"meta", "samples", "failures"}``.

    The programmatic entry point (``tideloop bench`` calls it): *argv* is this
    script's own options, *progress* gets the events of bench/suite_api.py.
    Raises ``Unavailable`` when none of the loops imports.
    """
    args = parse_args(argv)
    versions, skipped = {}, {}
    for name in args.loops:
        progress.status(f"probing {name}")
        info, err = spawn(["--probe", name])
        if info and info.get("ok"):
            versions[name] = info["version"]
        else:
            skipped[name] = (info or {}).get("error") or (err.strip().splitlines() or ["unknown error"])[-1]
            progress.note(f"note: skipping {name}: {skipped[name]}")
    loops = [x for x in args.loops if x in versions]
    if not loops:
        raise Unavailable("no loop could be imported: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()))

    meta = {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "command": "python bench/micro.py " + " ".join(argv),
        "machine": f"{cpu_model()}, {os.cpu_count()} cores (shared with other work, nothing pinned), "
        f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "versions": versions,
        "skipped": skipped,
        "repeat": args.repeat,
        "scale": args.scale,
        "loops": loops,
        "bench": args.bench,
    }

    samples = {b: {lp: [] for lp in loops} for b in args.bench}
    failures = []
    progress.total(args.repeat * len(args.bench) * len(loops))
    for rep in range(args.repeat):
        for bench in args.bench:
            for name in loops:
                progress.step(BENCHMARKS[bench][0], name, rep + 1, args.repeat)
                data, err = spawn(["--child", name, bench, repr(args.scale)])
                if data is None or not data.get("ok"):
                    why = (data or {}).get("error") or err
                    failures.append(f"{bench} on {name} (rep {rep + 1}): {why}")
                    progress.note(f"FAILED {bench} on {name} (rep {rep + 1}): {why}\n{err}")
                    progress.advance()
                    data = data or {"ok": False, "error": why}
                else:
                    progress.advance(f"{micro_report.human(data['n'] / data['wall'])} ops/s")
                samples[bench][name].append(data)
    return {"meta": meta, "samples": samples, "failures": failures}


def report_blocks(data):
    """The report of a :func:`collect` result as header lines, tables and footer lines."""
    meta, samples = data["meta"], data["samples"]
    meta.setdefault("bench", list(samples))  # files written before these keys existed
    meta.setdefault("loops", list(next(iter(samples.values()), {})))
    return micro_report.blocks(meta, samples, data.get("failures", []))


def driver_main(argv):
    """Probe the loops, run every child, print the report; exit 1 on any failure."""
    args = parse_args(argv)
    if args.report:
        return report_main(args.report, args.markdown)
    try:
        data = collect(argv, LineProgress())
    except Unavailable as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.json:
        with open(args.json, "w") as f:
            json.dump(data, f, indent=1)
    micro_report.print_report(data["meta"], data["samples"], data["failures"], args.markdown)
    return 1 if data["failures"] else 0


def report_main(path, markdown):
    """``--report FILE``: print the report of a run saved with ``--json``, running nothing."""
    with open(path) as f:
        saved = json.load(f)
    meta, samples = saved["meta"], saved["samples"]
    meta.setdefault("bench", list(samples))  # files written before these keys existed
    meta.setdefault("loops", list(next(iter(samples.values()), {})))
    micro_report.print_report(meta, samples, saved.get("failures", []), markdown)
    return 1 if saved.get("failures") else 0


def main(argv=None):
    """Dispatch: ``--child LOOP BENCH SCALE``, ``--probe LOOP`` or the driver."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        if len(argv) != 4:
            sys.exit("usage: micro.py --child LOOP BENCH SCALE")
        return child_main(*argv[1:])
    if argv[:1] == ["--probe"]:
        return probe_main(argv[1])
    return driver_main(argv)


if __name__ == "__main__":
    sys.exit(main())

"""Process benchmarks: spawn-and-wait and piping through `cat`, on every loop, as ratios.

    python bench/processes.py                    # 3 repetitions, all cases and loops
    python bench/processes.py --scale 0.1        # quick run (counts and sizes x 0.1)
    python bench/processes.py --loops asyncio,tideloop --cases cat --repeat 5

Cases:
  spawn     1,000 `true` processes, one after another (create, wait)
  spawn50   1,000 `true` processes, 50 at a time
  cat       100 MB through `cat` (stdin pipe -> stdout pipe), written and read concurrently

Every (loop, case, repetition) runs in a fresh process (``--child LOOP CASE
SCALE`` prints one JSON line); repetitions are interleaved so load changes on
the shared machine hit every loop alike.  The report gives the median wall
time, the ratio to asyncio's loop (higher is faster) and tideloop against the
faster of uvloop and rloop.  A second table gives the benchmark process's
own CPU time (user + system, getrusage) over the measured run, per process
spawned or per MiB through `cat`: the loop's share of the work, steadier on
a shared machine than wall time, where the children's own run dominates.
"""
import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from micro_loops import LOOP_NAMES, PEERS, new_loop  # noqa: E402
from suite_api import LineProgress, Unavailable, probe_loops, table  # noqa: E402

CASES = ("spawn", "spawn50", "cat")
CHILD_TIMEOUT = 600
CHUNK = 256 * 1024


async def _one_true():
    p = await asyncio.create_subprocess_exec("true")
    rc = await p.wait()
    if rc != 0:
        raise RuntimeError(f"true exited {rc}")


async def case_spawn(n):
    """n `true` processes, one after another."""
    for _ in range(n):
        await _one_true()
    return n


async def case_spawn50(n):
    """n `true` processes, 50 at a time."""
    done = 0
    while done < n:
        k = min(50, n - done)
        await asyncio.gather(*(_one_true() for _ in range(k)))
        done += k
    return n


async def case_cat(nbytes):
    """nbytes through `cat`: a writer task with drain() and a reader task."""
    p = await asyncio.create_subprocess_exec(
        "cat", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    chunk = b"x" * CHUNK

    async def writer():
        left = nbytes
        while left > 0:
            p.stdin.write(chunk if left >= CHUNK else chunk[:left])
            left -= CHUNK
            await p.stdin.drain()
        p.stdin.close()

    async def reader():
        got = 0
        while True:
            data = await p.stdout.read(CHUNK)
            if not data:
                return got
            got += len(data)

    _, got = await asyncio.gather(writer(), reader())
    await p.wait()
    if got != nbytes:
        raise RuntimeError(f"cat returned {got} of {nbytes} bytes")
    return nbytes


def case_size(case, scale):
    """The count (or byte size) a case runs at *scale*."""
    if case == "cat":
        return max(CHUNK, int(100 * 1024 * 1024 * scale))
    return max(10, int(1000 * scale))


def case_label(case, scale):
    """'spawn [1,000 processes]', 'cat [100 MiB]': the case and its size at *scale*."""
    size = case_size(case, scale)
    if case == "cat":
        return f"cat [{size / 1024 / 1024:.3g} MiB]"
    return f"{case} [{size:,} processes]"


def run_child(loop_name, case, scale):
    """Run one case on one loop in this (fresh) process; print a JSON line."""
    loop = new_loop(loop_name)
    asyncio.set_event_loop(loop)
    fn = {"spawn": case_spawn, "spawn50": case_spawn50, "cat": case_cat}[case]
    size = case_size(case, scale)
    try:
        loop.run_until_complete(fn(max(10, size // 100)) if case != "cat" else fn(CHUNK))  # warm-up
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        loop.run_until_complete(fn(size))
        secs = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        loop.close()
    cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    print(json.dumps({"loop": loop_name, "case": case, "size": size, "seconds": secs, "cpu": cpu}))


def child(loop_name, case, scale):
    """Run a child process; its (wall seconds, CPU seconds), or an error string."""
    try:
        proc = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--child", loop_name, case, str(scale)],
            capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        return "timeout"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["exit %d" % proc.returncode])[-1]
        return last[:100]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result["seconds"], result["cpu"]


def parse_args(argv):
    """The command line of the driver (also ``--child``'s)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", default=",".join(LOOP_NAMES))
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child", nargs=3, metavar=("LOOP", "CASE", "SCALE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in args.loops.split(","):
        if name not in LOOP_NAMES:
            parser.error(f"unknown loop {name!r}; choose from {','.join(LOOP_NAMES)}")
    for case in args.cases.split(","):
        if case not in CASES:
            parser.error(f"unknown case {case!r}; choose from {','.join(CASES)}")
    return args


def collect(argv, progress):
    """Run every (loop, case, repetition) *argv* asks for in fresh processes; return the results.

    The programmatic entry point (``tideloop bench``); the dict is what
    ``--json`` writes: seconds per "loop/case", errors per "loop/case".
    """
    args = parse_args(argv)
    cases = args.cases.split(",")
    loops, versions, skipped = probe_loops(args.loops.split(","), progress)
    results = {(lp, c): [] for lp in loops for c in cases}
    cpu = {(lp, c): [] for lp in loops for c in cases}
    errors = {}
    progress.total(args.repeat * len(cases) * len(loops))
    for rep in range(args.repeat):
        for case in cases:
            for lp in loops:
                progress.step(case_label(case, args.scale), lp, rep + 1, args.repeat)
                r = child(lp, case, args.scale)
                if isinstance(r, str):
                    errors[(lp, case)] = r
                    progress.note(f"FAILED {case} on {lp} (rep {rep + 1}): {r}")
                    progress.advance()
                else:
                    results[(lp, case)].append(r[0])
                    cpu[(lp, case)].append(r[1])
                    progress.advance(f"{r[0]:.3f} s")
    return {"command": "python bench/processes.py " + " ".join(argv),
            "python": sys.version.split()[0], "scale": args.scale, "repeat": args.repeat, "cases": cases,
            "loops": loops, "versions": versions, "skipped": skipped,
            "seconds": {f"{lp}/{c}": v for (lp, c), v in results.items()},
            "cpu": {f"{lp}/{c}": v for (lp, c), v in cpu.items()},
            "errors": {f"{lp}/{c}": m for (lp, c), m in errors.items()}}


def _medians(data, key="seconds"):
    return {tuple(k.split("/")): statistics.median(v) for k, v in data.get(key, {}).items() if v}


def _cpu_unit(case, scale):
    """(divisor, unit) turning a run's CPU seconds into CPU per process or per MiB."""
    size = case_size(case, scale)
    if case == "cat":
        return size / 1024 / 1024 / 1e3, "ms/MiB"
    return size / 1e6, "us/process"


def _vs_peer(medians, case):
    """tideloop's speed over the faster peer's (higher is better), or None."""
    t = medians.get(("tideloop", case))
    peers = [medians[(p, case)] for p in PEERS if (p, case) in medians]
    return min(peers) / t if t and peers else None


def report_blocks(data):
    """The report of a :func:`collect` result: one table of median seconds and ratios."""
    loops, cases, medians = data["loops"], data["cases"], _medians(data)
    has_peer = "tideloop" in loops and any(p in loops for p in PEERS)
    headers = ["case", *loops] + (["tideloop vs best peer"] if has_peer else [])
    rows = []
    for case in cases:
        base = medians.get(("asyncio", case))
        row = [case_label(case, data["scale"])]
        for lp in loops:
            m = medians.get((lp, case))
            if m is None:
                row.append("FAILED")
            elif base and lp != "asyncio":
                row.append(f"{m:.3f}s ({base / m:.2f}x)")
            else:
                row.append(f"{m:.3f}s")
        if has_peer:
            v = _vs_peer(medians, case)
            row.append("-" if v is None else f"{v:.2f}x" + (" ahead" if v > 1 else " BEHIND"))
        rows.append(row)
    header = [f"command: {data['command']}"] if "command" in data else []
    header += [f"python {data['python']}, counts x {data['scale']:g}, median of {data.get('repeat', '?')}",
              "loops: " + ", ".join(f"{n} {data['versions'][n]}" for n in loops)]
    header += [f"skipped: {n} ({why})" for n, why in data.get("skipped", {}).items()]
    footer = [f"FAILED {k}: {m}" for k, m in sorted(data["errors"].items())]
    title = "wall seconds, median (speed relative to asyncio in parentheses; higher is faster)"
    tables = [table(title, headers, rows)]
    cpu = _medians(data, "cpu")
    if cpu:
        rows = []
        for case in cases:
            div, unit = _cpu_unit(case, data["scale"])
            row = [f"{case_label(case, data['scale'])} {unit}"]
            for lp in loops:
                m = cpu.get((lp, case))
                row.append("-" if m is None else f"{m / div:.1f}")
            if has_peer:
                v = _vs_peer(cpu, case)
                row.append("-" if v is None else f"{v:.2f}x" + (" ahead" if v > 1 else " BEHIND"))
            rows.append(row)
        tables.append(table("the benchmark process's CPU (user + system), median; lower is better",
                            headers, rows))
    return {"header": header, "tables": tables, "footer": footer,
            "failed": bool(data["errors"])}


def main(argv=None):
    """Parse arguments, run every (loop, case, repetition) in fresh processes, print the report."""
    args = parse_args(argv)
    if args.child:
        run_child(args.child[0], args.child[1], float(args.child[2]))
        return 0
    try:
        data = collect(argv if argv is not None else sys.argv[1:], LineProgress())
    except Unavailable as exc:
        print(exc, file=sys.stderr)
        return 2
    loops, cases, medians = data["loops"], data["cases"], _medians(data)

    print(f"\nProcess benchmarks, Python {data['python']}, scale {args.scale}, "
          f"median of {args.repeat} (wall seconds; x = speed relative to asyncio)")
    print("loops: " + ", ".join(f"{n} {data['versions'][n]}" for n in loops))
    header = f"{'case':<10}" + "".join(f"{n:>20}" for n in loops) + f"{'tideloop vs best peer':>24}"
    print(header)
    print("-" * len(header))
    for case in cases:
        base = medians.get(("asyncio", case))
        row = f"{case:<10}"
        for lp in loops:
            m = medians.get((lp, case))
            if m is None:
                row += f"{'error':>20}"
            elif base:
                row += f"{m:>10.3f}s {base / m:>6.2f}x "
            else:
                row += f"{m:>19.3f}s"
        v = _vs_peer(medians, case)
        row += f"{v:>23.2f}x" if v is not None else f"{'n/a':>24}"
        print(row)
    cpu = _medians(data, "cpu")
    print(f"\nthe benchmark process's CPU (user + system), median; lower is better")
    print(header)
    print("-" * len(header))
    for case in cases:
        div, unit = _cpu_unit(case, args.scale)
        row = f"{case:<10}"
        for lp in loops:
            m = cpu.get((lp, case))
            row += f"{'error':>20}" if m is None else f"{m / div:>9.1f} {unit:<10}"
        v = _vs_peer(cpu, case)
        row += f"{v:>23.2f}x" if v is not None else f"{'n/a':>24}"
        print(row)
    for key, msg in sorted(data["errors"].items()):
        print(f"  {key}: {msg}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(data, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

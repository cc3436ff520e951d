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
faster of uvloop and rloop.
"""
import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from micro_loops import LOOP_NAMES, PEERS, loop_version, new_loop  # noqa: E402

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


def run_child(loop_name, case, scale):
    """Run one case on one loop in this (fresh) process; print a JSON line."""
    loop = new_loop(loop_name)
    asyncio.set_event_loop(loop)
    fn = {"spawn": case_spawn, "spawn50": case_spawn50, "cat": case_cat}[case]
    size = case_size(case, scale)
    try:
        loop.run_until_complete(fn(max(10, size // 100)) if case != "cat" else fn(CHUNK))  # warm-up
        t0 = time.perf_counter()
        loop.run_until_complete(fn(size))
        secs = time.perf_counter() - t0
    finally:
        loop.close()
    print(json.dumps({"loop": loop_name, "case": case, "size": size, "seconds": secs}))


def child(loop_name, case, scale):
    """Run a child process; its seconds, or an error string."""
    try:
        proc = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--child", loop_name, case, str(scale)],
            capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        return "timeout"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["exit %d" % proc.returncode])[-1]
        return last[:100]
    return json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]


def main(argv=None):
    """Parse arguments, run every (loop, case, repetition) in fresh processes, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", default=",".join(LOOP_NAMES))
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child", nargs=3, metavar=("LOOP", "CASE", "SCALE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_child(args.child[0], args.child[1], float(args.child[2]))
        return 0

    loops, cases = args.loops.split(","), args.cases.split(",")
    versions = {}
    for name in list(loops):
        try:
            versions[name] = loop_version(name)
        except Exception as exc:  # not installed / not built: report and go on
            print(f"skipping {name}: {type(exc).__name__}: {exc}")
            loops.remove(name)
    results = {(lp, c): [] for lp in loops for c in cases}
    errors = {}
    for rep in range(args.repeat):
        for case in cases:
            for lp in loops:
                r = child(lp, case, args.scale)
                if isinstance(r, str):
                    errors[(lp, case)] = r
                else:
                    results[(lp, case)].append(r)
        print(f"repetition {rep + 1}/{args.repeat} done", file=sys.stderr)

    print(f"\nProcess benchmarks, Python {sys.version.split()[0]}, scale {args.scale}, "
          f"median of {args.repeat} (wall seconds; x = speed relative to asyncio)")
    print("loops: " + ", ".join(f"{n} {versions[n]}" for n in loops))
    header = f"{'case':<10}" + "".join(f"{n:>20}" for n in loops) + f"{'tideloop vs best peer':>24}"
    print(header)
    print("-" * len(header))
    medians = {k: statistics.median(v) for k, v in results.items() if v}
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
        t = medians.get(("tideloop", case))
        peers = [medians[(p, case)] for p in PEERS if (p, case) in medians]
        row += f"{(min(peers) / t):>23.2f}x" if t and peers else f"{'n/a':>24}"
        print(row)
    for (lp, case), msg in sorted(errors.items()):
        print(f"  {lp}/{case}: {msg}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"python": sys.version.split()[0], "scale": args.scale, "versions": versions,
                       "seconds": {f"{lp}/{c}": v for (lp, c), v in results.items()},
                       "errors": {f"{lp}/{c}": m for (lp, c), m in errors.items()}}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

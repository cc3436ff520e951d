"""Spawn cost without a loop: CPython's subprocess.Popen against tideloop's (_spawn.py).

    python bench/popen_cost.py [--count N] [--repeat R]

A blocking loop of Popen([PROGRAM]) + waitpid, both classes interleaved R
times; prints the median wall and CPU (this process's user + system) per
spawn.  The difference is the Python work tideloop's Popen saves on every
child that asyncio.create_subprocess_exec starts.
"""
import argparse
import os
import statistics
import subprocess
import time

from tideloop._spawn import Popen as TidePopen


def measure(cls, program, count):
    """(wall µs, CPU µs) per spawn-and-wait of *program* with *cls*."""
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(count):
        p = cls([program])
        os.waitpid(p.pid, 0)
        p.returncode = 0  # reaped here; keeps Popen.__del__ quiet
    return ((time.perf_counter() - w0) / count * 1e6, (time.process_time() - c0) / count * 1e6)


def main():
    """Run the comparison and print one line per class."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--program", default="true")
    args = ap.parse_args()
    classes = {"subprocess.Popen": subprocess.Popen, "tideloop._spawn.Popen": TidePopen}
    results = {name: [] for name in classes}
    for _ in range(args.repeat):
        for name, cls in classes.items():
            results[name].append(measure(cls, args.program, args.count))
    for name, rs in results.items():
        print(f"{name:24s} wall {statistics.median(r[0] for r in rs):6.0f} us"
              f"  cpu {statistics.median(r[1] for r in rs):5.0f} us per spawn"
              f"  (median of {args.repeat} x {args.count})")


if __name__ == "__main__":
    main()

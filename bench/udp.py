"""UDP echo benchmark of asyncio's loop, uvloop, rloop and tideloop, in one run.

    python bench/udp.py                                   # both modes, 64 B and 1 KiB, x5
    python bench/udp.py --loops uvloop,tideloop --modes pingpong --sizes 64 --repeat 3
    python bench/udp.py --markdown                        # the table for docs/PERFORMANCE.md

Each measurement runs in a fresh child process (``--child``) with one loop:
an echo server endpoint (``datagram_received`` sends the datagram back to its
sender, the usual ``transport.sendto(data, addr)``) and a client endpoint
connected to it (``create_datagram_endpoint(remote_addr=...)``), both on that
loop, over 127.0.0.1. Every echo is checked against what was sent (a sequence
number repeated to the size).

- ``pingpong``: one datagram in flight; the client sends the next one from
  ``datagram_received``. Measures the loop's per-datagram latency path.
- ``burst``: 64 datagrams in flight; each echo received sends one more.
  Measures throughput when the sockets always have data waiting.

The figure is the process's CPU time (user+system, ``time.process_time``) per
round trip - one round trip is two datagrams sent, two received and two
protocol callbacks - which stays meaningful on a shared, noisy machine; round
trips per second (wall clock) are shown too. Loops take turns (repetition,
then point, then loop), so a change in machine load hits every loop alike; the
median of the repetitions is reported, with ratios against asyncio and
tideloop against the faster of uvloop and rloop.
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

from micro_loops import LOOP_NAMES, PEERS, new_loop  # noqa: E402

MODES = {"pingpong": 1, "burst": 64}     # datagrams in flight
ROUND_TRIPS = {"pingpong": 20_000, "burst": 100_000}
WARMUP = 2_000


class Echo(asyncio.DatagramProtocol):
    """Sends every datagram back to its sender."""

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.transport.sendto(data, addr)


class Client(asyncio.DatagramProtocol):
    """Keeps `window` datagrams in flight until `total` came back, checking each."""

    def __init__(self, loop, size, window, total):
        self.size = size
        self.window = window
        self.total = total
        self.sent = self.got = 0
        self.done = loop.create_future()

    def connection_made(self, transport):
        self.transport = transport

    def payload(self, i):
        return (i.to_bytes(8, "big") * (self.size // 8 + 1))[:self.size]

    def start(self):
        while self.sent < self.total and self.sent < self.window:
            self.transport.sendto(self.payload(self.sent))
            self.sent += 1

    def datagram_received(self, data, addr):
        if data != self.payload(self.got):
            self.done.set_exception(AssertionError(f"echo {self.got} corrupted"))
            return
        self.got += 1
        if self.got == self.total:
            self.done.set_result(None)
        elif self.sent < self.total:
            self.transport.sendto(self.payload(self.sent))
            self.sent += 1

    def error_received(self, exc):
        if not self.done.done():
            self.done.set_exception(exc)


async def _run(loop, size, window, total):
    st, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    ct, cp = await loop.create_datagram_endpoint(
        lambda: Client(loop, size, window, total),
        remote_addr=st.get_extra_info("sockname"))
    t0, c0 = time.perf_counter(), time.process_time()
    cp.start()
    await asyncio.wait_for(cp.done, 120)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    ct.close()
    st.close()
    await asyncio.sleep(0)
    return wall, cpu


def child(loop_name, mode, size):
    """Measure one point on one loop; print a JSON line."""
    loop = new_loop(loop_name)
    try:
        window = MODES[mode]
        loop.run_until_complete(_run(loop, size, window, WARMUP))
        n = ROUND_TRIPS[mode]
        wall, cpu = loop.run_until_complete(_run(loop, size, window, n))
    finally:
        loop.close()
    print(json.dumps({"wall": wall, "cpu": cpu, "n": n}))


def measure(loop_name, mode, size):
    """Run one child; return its result dict, or None with a note printed."""
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child", loop_name, mode, str(size)],
        capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        print(f"  {loop_name} {mode} {size}: failed: {last}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loops", default=",".join(LOOP_NAMES))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--sizes", default="64,1024")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--child", nargs=3, metavar=("LOOP", "MODE", "SIZE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return
    loops = args.loops.split(",")
    points = [(m, int(s)) for m in args.modes.split(",") for s in args.sizes.split(",")]
    results = {}   # (mode, size, loop) -> [us CPU per round trip], [round trips/s]
    for rep in range(args.repeat):
        for mode, size in points:
            for name in loops:
                r = measure(name, mode, size)
                if r is None:
                    continue
                cpu_us, rate = results.setdefault((mode, size, name), ([], []))
                cpu_us.append(r["cpu"] / r["n"] * 1e6)
                rate.append(r["n"] / r["wall"])
        print(f"repetition {rep + 1}/{args.repeat} done", file=sys.stderr)
    report(results, loops, points, args.markdown)


def report(results, loops, points, markdown):
    """Print CPU us per round trip (median), round trips/s and the ratios."""
    head = ["mode", "size"] + [f"{n} us/rt" for n in loops] + [f"{n} rt/s" for n in loops]
    head += ["asyncio/tideloop", "best peer/tideloop"]
    rows = []
    for mode, size in points:
        cpu = {n: statistics.median(results[(mode, size, n)][0])
               for n in loops if (mode, size, n) in results}
        rate = {n: statistics.median(results[(mode, size, n)][1])
                for n in loops if (mode, size, n) in results}
        row = [mode, f"{size} B"]
        row += [f"{cpu[n]:.2f}" if n in cpu else "n/a" for n in loops]
        row += [f"{rate[n]:,.0f}" if n in rate else "n/a" for n in loops]
        t = cpu.get("tideloop")
        peers = [cpu[p] for p in PEERS if p in cpu]
        row.append(f"{cpu['asyncio'] / t:.2f}x" if t and "asyncio" in cpu else "n/a")
        row.append(f"{min(peers) / t:.2f}x" if t and peers else "n/a")
        rows.append(row)
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
        print("  ".join(h.rjust(w) for h, w in zip(head, widths)))
        for row in rows:
            print("  ".join(c.rjust(w) for c, w in zip(row, widths)))
    print("\nus/rt: process CPU time per round trip (median; lower is better); "
          "ratios > 1x mean tideloop uses less CPU.")


if __name__ == "__main__":
    main()

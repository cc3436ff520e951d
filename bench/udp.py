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

from micro_report import markdown, plain  # noqa: E402
from micro_loops import LOOP_NAMES, PEERS, new_loop  # noqa: E402
from suite_api import LineProgress, Unavailable, probe_loops, table  # noqa: E402

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


def child(loop_name, mode, size, scale=1.0):
    """Measure one point on one loop; print a JSON line."""
    loop = new_loop(loop_name)
    try:
        window = MODES[mode]
        loop.run_until_complete(_run(loop, size, window, WARMUP))
        n = max(window, int(ROUND_TRIPS[mode] * scale))
        wall, cpu = loop.run_until_complete(_run(loop, size, window, n))
    finally:
        loop.close()
    print(json.dumps({"wall": wall, "cpu": cpu, "n": n}))


def measure(loop_name, mode, size, scale):
    """Run one child; return its result dict, or the error's last line (a str)."""
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child", loop_name, mode, str(size), str(scale)],
        capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        return (proc.stderr.strip().splitlines() or ["?"])[-1]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def parse_args(argv):
    """The command line (also what ``tideloop bench udp`` passes through)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loops", default=",".join(LOOP_NAMES))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--sizes", default="64,1024")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the round-trip counts")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child", nargs=4, metavar=("LOOP", "MODE", "SIZE", "SCALE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in args.loops.split(","):
        if name not in LOOP_NAMES:
            parser.error(f"unknown loop {name!r}; choose from {','.join(LOOP_NAMES)}")
    for mode in args.modes.split(","):
        if mode not in MODES:
            parser.error(f"unknown mode {mode!r}; choose from {','.join(MODES)}")
    return args


def collect(argv, progress):
    """Run every (repetition, point, loop) *argv* asks for in fresh processes; return the results.

    The programmatic entry point (``tideloop bench``); the dict is what
    ``--json`` writes: CPU us and round trips/s per "loop/mode/size".
    """
    args = parse_args(argv)
    loops, versions, skipped = probe_loops(args.loops.split(","), progress)
    points = [(m, int(s)) for m in args.modes.split(",") for s in args.sizes.split(",")]
    cpu_us, rates, errors = {}, {}, {}
    progress.total(args.repeat * len(points) * len(loops))
    for rep in range(args.repeat):
        for mode, size in points:
            for name in loops:
                key = f"{name}/{mode}/{size}"
                progress.step(f"{mode} {size} B", name, rep + 1, args.repeat)
                r = measure(name, mode, size, args.scale)
                if isinstance(r, str):
                    errors[key] = r
                    progress.note(f"FAILED {mode} {size} B on {name} (rep {rep + 1}): {r}")
                    progress.advance()
                    continue
                cpu_us.setdefault(key, []).append(r["cpu"] / r["n"] * 1e6)
                rates.setdefault(key, []).append(r["n"] / r["wall"])
                progress.advance(f"{cpu_us[key][-1]:.2f} us/rt")
    return {"command": "python bench/udp.py " + " ".join(argv), "python": sys.version.split()[0],
            "scale": args.scale, "repeat": args.repeat, "loops": loops, "points": points,
            "versions": versions, "skipped": skipped, "cpu_us": cpu_us, "rates": rates,
            "errors": errors}


def report_blocks(data):
    """The report of a :func:`collect` result: CPU us per round trip, round trips/s, ratios."""
    loops = data["loops"]
    head = ["mode", "size"] + [f"{n} us/rt" for n in loops] + [f"{n} rt/s" for n in loops]
    head += ["asyncio/tideloop", "best peer/tideloop"]
    rows = []
    for mode, size in data["points"]:
        def med(table, n):
            v = table.get(f"{n}/{mode}/{size}")
            return statistics.median(v) if v else None
        cpu = {n: med(data["cpu_us"], n) for n in loops}
        rate = {n: med(data["rates"], n) for n in loops}
        row = [mode, f"{size} B"]
        row += [f"{cpu[n]:.2f}" if cpu[n] else "FAILED" for n in loops]
        row += [f"{rate[n]:,.0f}" if rate[n] else "FAILED" for n in loops]
        t = cpu.get("tideloop")
        peers = [cpu[p] for p in PEERS if cpu.get(p)]
        row.append(f"{cpu['asyncio'] / t:.2f}x" if t and cpu.get("asyncio") else "n/a")
        row.append(f"{min(peers) / t:.2f}x" if t and peers else "n/a")
        rows.append(row)
    header = [f"command: {data['command']}",
              f"python {data['python']}, counts x {data['scale']:g}, median of {data['repeat']}",
              "loops: " + ", ".join(f"{n} {data['versions'][n]}" for n in loops)]
    header += [f"skipped: {n} ({why})" for n, why in data.get("skipped", {}).items()]
    footer = [f"FAILED {k}: {m}" for k, m in sorted(data["errors"].items())]
    footer.append("us/rt: process CPU time per round trip (median; lower is better); "
                  "ratios > 1x mean tideloop uses less CPU.")
    title = "UDP echo: CPU us per round trip and round trips/s"
    return {"header": header, "tables": [table(title, head, rows, left=2)], "footer": footer,
            "failed": bool(data["errors"])}


def main(argv=None):
    """Parse arguments, run every point in fresh processes, print the report."""
    args = parse_args(argv)
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]), float(args.child[3]))
        return 0
    try:
        data = collect(argv if argv is not None else sys.argv[1:], LineProgress())
    except Unavailable as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.json:
        with open(args.json, "w") as f:
            json.dump(data, f, indent=1)
    blocks = report_blocks(data)
    print()
    for line in blocks["header"]:
        print(line)
    for t in blocks["tables"]:
        rows = [t["headers"]] + t["rows"]
        print(markdown(rows) if args.markdown else plain(rows))
    for line in blocks["footer"]:
        print(line)
    return 1 if blocks["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())

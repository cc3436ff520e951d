"""Scheduler-tick stops per request on the server's CPU during an echo run.

Why a server's one-connection figures depend on the CPU idle governor
(src/tideloop/_core/poller/idle_tick.pxi): with perf stat's timer:tick_stop
and timer:hrtimer_start tracepoints on the server's CPU, this counts how often
the kernel stopped the tick and started an hrtimer per request, next to the
server's CPU time and p50 per request. Servers take turns in a new random
order each repetition; the figures are medians over the repetitions.

    .venv/bin/python bench/idle_ticks.py --conns 1 --reps 5 \\
        C tideloop:sock tideloop:sock:TIDELOOP_KEEP_TICK=0 uvloop:sock

A server is ``C`` (bench/echo_server.c) or ``LOOP:MODE`` with any number of
``:VAR=VALUE`` settings for its environment. perf counts from the client's
start, warm-up included, so the counts are divided by the requests of the
measured window scaled to the whole run (requests / seconds x (seconds +
warm-up)). Needs perf and leave to read tracepoints system-wide (root, or
kernel.perf_event_paranoid <= -1).
"""
import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import echo  # noqa: E402
import netbench_common as common  # noqa: E402

EVENTS = ("timer:tick_stop", "timer:hrtimer_start")


def server_argv(spec, build):
    """The command line for a server spec: ``C`` or ``LOOP:MODE[:VAR=VALUE...]``."""
    if spec == "C":
        return echo.server_argv(None, None, build)
    loop, mode, *env = spec.split(":")
    argv = echo.server_argv(loop, mode, build)
    return ["env", *env, *argv] if env else argv


def read_counts(path):
    """perf stat -x, output: {event: count}."""
    counts = {}
    with open(path) as f:
        for line in f:
            fields = line.strip().split(",")
            if len(fields) > 2 and fields[2] in EVENTS and fields[0].replace(".", "").isdigit():
                counts[fields[2]] = float(fields[0])
    return counts


def measure(client, server, args, perf_out):
    """One run of the client against *server* under perf stat; a dict of per-request figures."""
    wrap = ["perf", "stat", "-x,", "-o", perf_out, "-a", "-C", common.SERVER_CPU, "-e", ",".join(EVENTS), "--"]
    result = echo.run_point(client, server, args.size, args.conns, args.duration, args.warmup, wrap=wrap)
    if not result.get("ok"):
        raise SystemExit(f"run failed: {result.get('error')}")
    counts = read_counts(perf_out)
    whole_run = result["requests"] / result["seconds"] * (result["seconds"] + args.warmup)
    return {
        "tick stops": counts.get("timer:tick_stop", 0.0) / whole_run,
        "hrtimer starts": counts.get("timer:hrtimer_start", 0.0) / whole_run,
        "CPU us": result["cpu_us"],
        "p50 us": result["p50_us"],
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("servers", nargs="+", help="C or LOOP:MODE[:VAR=VALUE...]")
    p.add_argument("--conns", type=int, default=1)
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--duration", type=float, default=1.0)
    p.add_argument("--warmup", type=float, default=0.3)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    if shutil.which("perf") is None:
        raise SystemExit("perf is needed (apt-get install linux-perf)")
    build = {name: common.build_c(name) for name in ("echo_client", "echo_server")}
    servers = {spec: common.ServerProcess(server_argv(spec, build)) for spec in args.servers}
    rng = random.Random(args.seed)
    samples = {spec: [] for spec in servers}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for server in servers.values():
                server.start()
            for _ in range(args.reps):
                for spec in common.run_order(list(servers), lambda spec: 0, rng):
                    samples[spec].append(measure(build["echo_client"], servers[spec], args, os.path.join(tmp, "perf")))
        finally:
            for server in servers.values():
                server.stop()
    keys = list(samples[args.servers[0]][0])
    rows = [[spec] + [f"{statistics.median(s[k] for s in samples[spec]):.2f}" for k in keys] for spec in servers]
    common.print_table(f"per request, {args.size} B x{args.conns}, median of {args.reps}",
                       ["server"] + keys, rows, left=1)


if __name__ == "__main__":
    main()

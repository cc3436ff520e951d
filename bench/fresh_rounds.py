"""Paired echo rounds on fresh server processes, for A/B tests of one loop's settings.

    .venv/bin/python bench/fresh_rounds.py --trials 12 --rounds 4 --conns 100 --size 102400 \\
        tideloop:protocol tideloop:protocol:TIDELOOP_KEEP_TICK=0

Servers are specs as in bench/idle_ticks.py: ``C`` or ``LOOP:MODE[:VAR=VALUE...]``.
For each trial every spec gets a new server process (in a new random order)
and ``--rounds`` client rounds; prints "trial spec cpu_us_per_request..." per
process. Pair round k of trial i of one spec with round k of trial i of another.

Why fresh processes: at large messages a long-lived server can fall into a
slow state it keeps for many rounds (docs/PERFORMANCE.md, "Protocol 100 KiB
x100 once more"), so alternating rounds on two long-lived servers compare the
two processes' states, not their settings.
"""
import argparse
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import echo  # noqa: E402
import idle_ticks  # noqa: E402
import netbench_common as common  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("servers", nargs="+", help="C or LOOP:MODE[:VAR=VALUE...]")
    p.add_argument("--trials", type=int, default=12)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--conns", type=int, default=100)
    p.add_argument("--size", type=int, default=102400)
    p.add_argument("--duration", type=float, default=0.5)
    p.add_argument("--warmup", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    build = {name: common.build_c(name) for name in ("echo_client", "echo_server")}
    rng = random.Random(args.seed)
    for trial in range(1, args.trials + 1):
        order = list(args.servers)
        rng.shuffle(order)
        for spec in order:
            server = common.ServerProcess(idle_ticks.server_argv(spec, build))
            server.start()
            try:
                cpu = []
                for _ in range(args.rounds):
                    result = echo.run_point(build["echo_client"], server, args.size, args.conns,
                                            args.duration, args.warmup)
                    if not result.get("ok"):
                        raise SystemExit(f"{spec}: run failed: {result.get('error')}")
                    cpu.append(f"{result['cpu_us']:.2f}")
            finally:
                server.stop()
            print(trial, spec, *cpu, flush=True)


if __name__ == "__main__":
    main()

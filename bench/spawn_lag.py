"""How late a 1 ms timer fires while the loop spawns bursts of children.

    python bench/spawn_lag.py [--loop tideloop|asyncio|uvloop|rloop] [--burst 50] [--bursts 20]

A task sleeps 1 ms in a loop and records how late each wake-up is, while
the main task runs `--bursts` gather()s of `--burst` create_subprocess_exec("true")
+ wait().  Prints the median, 99th percentile and largest lateness: how long
the loop was kept from its other work by spawning.
"""
import argparse
import asyncio
import statistics
import sys
import time

from micro_loops import LOOP_NAMES, new_loop


async def measure(burst, bursts):
    """(median, p99, max) lateness in ms of a 1 ms timer during the spawn bursts."""
    lags = []
    done = False

    async def ticker():
        while not done:
            t = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append((time.perf_counter() - t - 0.001) * 1e3)

    async def one():
        p = await asyncio.create_subprocess_exec("true")
        if await p.wait() != 0:
            raise RuntimeError("true failed")

    tick = asyncio.ensure_future(ticker())
    for _ in range(bursts):
        await asyncio.gather(*(one() for _ in range(burst)))
    done = True
    await tick
    lags.sort()
    return statistics.median(lags), lags[int(len(lags) * 0.99)], lags[-1]


def main():
    """Parse the arguments, run the bursts on the chosen loop, print one line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loop", default="tideloop", choices=LOOP_NAMES)
    ap.add_argument("--burst", type=int, default=50)
    ap.add_argument("--bursts", type=int, default=20)
    args = ap.parse_args()
    loop = new_loop(args.loop)
    asyncio.set_event_loop(loop)
    try:
        med, p99, top = loop.run_until_complete(measure(args.burst, args.bursts))
    finally:
        loop.close()
    print(f"{args.loop}: 1 ms timer late by {med:.2f} ms (median), {p99:.2f} (p99), {top:.2f} (max)"
          f" during {args.bursts} bursts of {args.burst} spawns")
    return 0


if __name__ == "__main__":
    sys.exit(main())

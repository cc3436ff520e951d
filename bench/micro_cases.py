"""The nine micro benchmarks: each runs on a given loop, times only its measured
section, and checks its own result.

A case is ``case(loop, n, watch)``: it prepares whatever must not be timed,
wraps the measured section in ``with watch:``, then verifies counts and sums
and raises :class:`WrongResult` when they are off. One "op" is one of the *n*
units the case name counts (callbacks, timers, tasks, switches, ...).
"""
import asyncio
import random
import threading
import time

# Fixed so every loop gets the very same timer delays in every run.
TIMER_SEED = 20240611


class WrongResult(Exception):
    """A benchmark computed the wrong result: the loop misbehaved."""


def expect(ok, message):
    """Raise WrongResult(message) unless *ok* (not ``assert``: ``-O`` strips it)."""
    if not ok:
        raise WrongResult(message)


class Stopwatch:
    """Context manager timing one section in wall seconds and process CPU seconds.

    CPU time is ``time.process_time()``: all threads of the process, so work a
    loop pushes to helper threads (executor, wakeups) is counted too.
    """

    def __init__(self):
        self.wall = None
        self.cpu = None

    def __enter__(self):
        self._cpu0 = time.process_time()
        self._wall0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._wall0
        self.cpu = time.process_time() - self._cpu0
        return False


def call_soon_chain(loop, n, watch):
    """n callbacks, each scheduling the next with loop.call_soon."""
    count = 0

    def step():
        nonlocal count
        count += 1
        if count < n:
            loop.call_soon(step)
        else:
            loop.stop()

    loop.call_soon(step)
    with watch:
        loop.run_forever()
    expect(count == n, f"chain ran {count} callbacks, expected {n}")


def call_soon_burst(loop, n, watch):
    """n callbacks queued at once (timed), then run (timed)."""
    count = 0

    def tick():
        nonlocal count
        count += 1

    call_soon = loop.call_soon
    with watch:
        for _ in range(n):
            call_soon(tick)
        call_soon(loop.stop)
        loop.run_forever()
    expect(count == n, f"burst ran {count} callbacks, expected {n}")


def timers(loop, n, watch):
    """n call_later timers, random delays under 10 ms, every odd one cancelled."""
    rng = random.Random(TIMER_SEED)
    delays = [rng.random() * 0.010 for _ in range(n)]
    fired = bytearray(n)
    left = [n - n // 2]  # timers that must fire: the even indices

    def ring(i):
        fired[i] += 1
        left[0] -= 1
        if left[0] == 0:
            loop.stop()

    def schedule():
        call_later = loop.call_later
        handles = [call_later(d, ring, i) for i, d in enumerate(delays)]
        for h in handles[1::2]:
            h.cancel()

    loop.call_soon(schedule)
    with watch:
        loop.run_forever()
    # Outlive the longest delay, so a cancelled timer that would still fire
    # (or an uncancelled one firing twice) is caught.
    loop.run_until_complete(asyncio.sleep(0.03))
    want = bytes(1 - i % 2 for i in range(n))
    if bytes(fired) != want:
        wrong = [i for i in range(n) if fired[i] != want[i]]
        raise WrongResult(
            f"timers: {len(wrong)} timers fired wrongly (first indices {wrong[:5]}; "
            "even = uncancelled must fire once, odd = cancelled must not fire)"
        )


async def _trivial(i):
    return i


def gather(loop, n, watch):
    """create_task for n trivial coroutines, then gather them."""

    async def main():
        create_task = loop.create_task
        tasks = [create_task(_trivial(i)) for i in range(n)]
        return await asyncio.gather(*tasks)

    with watch:
        results = loop.run_until_complete(main())
    expect(results == list(range(n)), "gather returned wrong results or order")


def sleep0_pingpong(loop, n, watch):
    """n switches between two tasks that each await asyncio.sleep(0)."""
    n -= n % 2
    state = {"last": None, "switches": 0}

    async def player(me, rounds):
        for _ in range(rounds):
            if state["last"] != me:
                state["switches"] += 1
            state["last"] = me
            await asyncio.sleep(0)

    async def main():
        await asyncio.gather(player("ping", n // 2), player("pong", n // 2))

    with watch:
        loop.run_until_complete(main())
    # With a FIFO ready queue the two tasks strictly alternate.
    expect(
        state["switches"] == n,
        f"ping-pong: {state['switches']} switches for {n} sleeps (tasks did not alternate)",
    )


def future_roundtrip(loop, n, watch):
    """n times: create_future(); call_soon(fut.set_result, i); await fut."""

    async def main():
        create_future = loop.create_future
        call_soon = loop.call_soon
        total = 0
        for i in range(n):
            fut = create_future()
            call_soon(fut.set_result, i)
            total += await fut
        return total

    with watch:
        total = loop.run_until_complete(main())
    expect(total == n * (n - 1) // 2, f"future round trip sum {total} is wrong")


def queue(loop, n, watch):
    """A producer puts n items through asyncio.Queue(maxsize=100) to a consumer."""

    async def producer(q):
        for i in range(n):
            await q.put(i)

    async def main():
        q = asyncio.Queue(maxsize=100)
        prod = loop.create_task(producer(q))
        total = 0
        for _ in range(n):
            total += await q.get()
        await prod
        return total, q.qsize()

    with watch:
        total, left = loop.run_until_complete(main())
    expect(total == n * (n - 1) // 2 and left == 0, f"queue sum {total}, {left} items left")


def _add_one(i):
    return i + 1


def run_in_executor(loop, n, watch):
    """n sequential run_in_executor round trips on the default executor."""

    async def main():
        total = 0
        for i in range(n):
            total += await loop.run_in_executor(None, _add_one, i)
        return total

    with watch:
        total = loop.run_until_complete(main())
    expect(total == n * (n + 1) // 2, f"executor sum {total} is wrong")


def call_soon_threadsafe(loop, n, watch):
    """Another thread makes n call_soon_threadsafe calls; timed until all ran."""
    go = threading.Event()
    done = loop.create_future()
    count = 0

    def tick():
        nonlocal count
        count += 1
        if count == n:
            done.set_result(count)

    def sender():
        go.wait()
        call = loop.call_soon_threadsafe
        for _ in range(n):
            call(tick)

    thread = threading.Thread(target=sender, name="bench-sender")
    thread.start()

    async def main():
        go.set()
        return await done

    try:
        with watch:
            loop.run_until_complete(main())
    finally:
        go.set()
        thread.join()
    # Let any stray extra call land before counting.
    loop.run_until_complete(asyncio.sleep(0.01))
    expect(count == n, f"threadsafe ran {count} callbacks, expected {n}")


# name -> (label in the report, count at --scale 1, case, what the ops are)
BENCHMARKS = {
    "chain": ("call_soon chain", 1_000_000, call_soon_chain, "callbacks"),
    "burst": ("call_soon burst", 1_000_000, call_soon_burst, "callbacks"),
    "timers": ("timers (half cancelled)", 100_000, timers, "timers"),
    "gather": ("create_task + gather", 100_000, gather, "tasks"),
    "pingpong": ("sleep(0) ping-pong", 1_000_000, sleep0_pingpong, "switches"),
    "future": ("future round trip", 1_000_000, future_roundtrip, "futures"),
    "queue": ("Queue(maxsize=100)", 1_000_000, queue, "items"),
    "executor": ("run_in_executor", 10_000, run_in_executor, "round trips"),
    "threadsafe": ("call_soon_threadsafe", 10_000, call_soon_threadsafe, "calls"),
}


def count_for(name, scale):
    """The number of ops benchmark *name* runs at *scale* (at least 2)."""
    n = max(2, int(round(BENCHMARKS[name][1] * scale)))
    if name == "pingpong":
        n -= n % 2  # two players, equal rounds
    return n

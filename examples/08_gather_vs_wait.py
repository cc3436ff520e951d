"""Seed section gather vs. wait.

``gather`` returns the results in order (and raises the first exception unless
``return_exceptions=True``); ``wait`` returns two sets, ``(done, pending)``,
never raises the tasks' exceptions, and can return early: ``FIRST_COMPLETED``,
``FIRST_EXCEPTION`` or a ``timeout``.

Note: the tutorial passes coroutines to ``asyncio.wait``.  Python 3.11 removed
that ("Passing coroutines is forbidden, use tasks explicitly"), so they are
wrapped with ``ensure_future`` first.
"""
import asyncio
import os
import time

import tideloop

if os.environ.get("TIDELOOP_EXAMPLES_LOOP", "tideloop") != "asyncio":
    tideloop.install()  # asyncio's entry points now make tideloop loops
SCALE = float(os.environ.get("TIDELOOP_EXAMPLE_SCALE", "1"))  # tests shrink the sleeps


async def do_some_work(loop, x):
    print("Waiting {}s...".format(x))
    await asyncio.sleep(x * SCALE)
    print("Done {}s".format(x))
    return x


async def fail():
    raise ValueError("boom")


def names(tasks):
    return sorted(t.get_name() for t in tasks)


# Python 3.12+ warns when get_event_loop() has to create the loop itself (3.14
# raises), so make the loop current first; get_event_loop() then returns it.
asyncio.set_event_loop(asyncio.new_event_loop())
loop = asyncio.get_event_loop()
print("loop:", type(loop).__module__ + "." + type(loop).__qualname__)

started = time.monotonic()
futus = [asyncio.ensure_future(do_some_work(loop, 1)), asyncio.ensure_future(do_some_work(loop, 3))]
futus[0].set_name("work-1s")
futus[1].set_name("work-3s")

done, pending = loop.run_until_complete(asyncio.wait(futus, return_when=asyncio.FIRST_COMPLETED))
print("FIRST_COMPLETED after {:.2f} s: done={} pending={}".format(
    time.monotonic() - started, names(done), names(pending)))

done, pending = loop.run_until_complete(asyncio.wait(pending, timeout=1 * SCALE))
print("timeout=1 after {:.2f} s: done={} pending={}".format(
    time.monotonic() - started, names(done), names(pending)))

done, pending = loop.run_until_complete(asyncio.wait(pending))
print("ALL_COMPLETED after {:.2f} s: done={} pending={}".format(
    time.monotonic() - started, names(done), names(pending)))

# Failures: wait() hands the failed task back; gather() raises or returns it.
tasks = [asyncio.ensure_future(do_some_work(loop, 0)), asyncio.ensure_future(fail())]
done, _ = loop.run_until_complete(asyncio.wait(tasks))
print("wait with a failure: exceptions={}".format(
    sorted(repr(t.exception()) for t in done if t.exception())))
results = loop.run_until_complete(asyncio.gather(do_some_work(loop, 0), fail(), return_exceptions=True))
print("gather(return_exceptions=True):", results)
try:
    loop.run_until_complete(asyncio.gather(do_some_work(loop, 0), fail()))
except ValueError as exc:
    print("gather raised:", repr(exc))
loop.close()

"""Seed section 多个协程 (many coroutines).

``asyncio.gather`` wraps several coroutines (or futures) into one future, so
``run_until_complete`` -- which takes one future -- can run them all.  They
run concurrently: sleeps of 1 s and 3 s end after about 3 s, not 1 + 3 = 4.
"""
import asyncio
import os
import time

import tideloop

if os.environ.get("TIDELOOP_EXAMPLES_LOOP", "tideloop") != "asyncio":
    tideloop.install()  # asyncio's entry points now make tideloop loops
SCALE = float(os.environ.get("TIDELOOP_EXAMPLE_SCALE", "1"))  # tests shrink the sleeps


async def do_some_work(x):
    print("Waiting {}s...".format(x))
    await asyncio.sleep(x * SCALE)
    return x


# Python 3.12+ warns when get_event_loop() has to create the loop itself (3.14
# raises), so make the loop current first; get_event_loop() then returns it.
asyncio.set_event_loop(asyncio.new_event_loop())
loop = asyncio.get_event_loop()
print("loop:", type(loop).__module__ + "." + type(loop).__qualname__)

# The same as loop.run_until_complete(asyncio.gather(do_some_work(1), do_some_work(3))),
# or with futures: asyncio.gather(*[asyncio.ensure_future(c) for c in coros]).
coros = [do_some_work(1), do_some_work(3)]
started = time.monotonic()
results = loop.run_until_complete(asyncio.gather(*coros))
elapsed = time.monotonic() - started
print("Done")
print("results:", results)
print("gather took {:.2f} s (concurrent: the longer sleep, not 1 + 3)".format(elapsed))
loop.close()

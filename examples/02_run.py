"""Seed section 运行协程 (running a coroutine).

Only a running loop runs coroutines.  ``run_until_complete`` blocks until the
coroutine is done; it wraps the coroutine with ``ensure_future`` first, so
``loop.run_until_complete(asyncio.ensure_future(coro))`` is the same thing.
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


# Python 3.12+ warns when get_event_loop() has to create the loop itself (3.14
# raises), so make the loop current first; get_event_loop() then returns it.
asyncio.set_event_loop(asyncio.new_event_loop())
loop = asyncio.get_event_loop()
print("loop:", type(loop).__module__ + "." + type(loop).__qualname__)

started = time.monotonic()
loop.run_until_complete(do_some_work(3))
print("run_until_complete returned after {:.2f} s".format(time.monotonic() - started))
loop.close()

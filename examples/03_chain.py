"""Seed section 串联 (chaining).

One coroutine awaits others in order: phase 1, then phase 2, and their results
are added: the result is 3, after 1 + 2 = 3 seconds.
"""
import asyncio
import os
import time

import tideloop

if os.environ.get("TIDELOOP_EXAMPLES_LOOP", "tideloop") != "asyncio":
    tideloop.install()  # asyncio's entry points now make tideloop loops
SCALE = float(os.environ.get("TIDELOOP_EXAMPLE_SCALE", "1"))  # tests shrink the sleeps


async def phase1():
    print("Phase 1")
    await asyncio.sleep(1 * SCALE)
    return 1


async def phase2():
    print("Phase 2")
    await asyncio.sleep(2 * SCALE)
    return 2


async def do_some_work():
    result1 = await phase1()
    result2 = await phase2()
    return result1 + result2


# Python 3.12+ warns when get_event_loop() has to create the loop itself (3.14
# raises), so make the loop current first; get_event_loop() then returns it.
asyncio.set_event_loop(asyncio.new_event_loop())
loop = asyncio.get_event_loop()
print("loop:", type(loop).__module__ + "." + type(loop).__qualname__)

started = time.monotonic()
try:
    result = loop.run_until_complete(do_some_work())
    print("Result:", result)
finally:
    loop.close()
print("took {:.2f} s".format(time.monotonic() - started))

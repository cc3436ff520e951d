"""Seed section 定义协程 (defining a coroutine).

``async def`` makes a *coroutine function*; calling it only makes a coroutine
object, which does nothing until a loop runs it.  A coroutine object that is
dropped without ever being awaited makes Python warn:

    RuntimeWarning: coroutine 'do_some_work' was never awaited
"""
import asyncio
import os

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

print("iscoroutinefunction(do_some_work):", asyncio.iscoroutinefunction(do_some_work))  # True
# Calling it makes a coroutine object; it is never awaited, so when it is
# garbage-collected (right after this line) Python prints the RuntimeWarning.
print("iscoroutine(do_some_work(3)):", asyncio.iscoroutine(do_some_work(3)))  # True

loop.close()

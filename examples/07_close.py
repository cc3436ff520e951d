"""Seed section Close Loop.

A loop that is not closed can run again; a closed one refuses, with asyncio's
``RuntimeError('Event loop is closed')``.  Close it (in ``finally``) so it is
cleaned up and cannot be misused.
"""
import asyncio
import os

import tideloop

if os.environ.get("TIDELOOP_EXAMPLES_LOOP", "tideloop") != "asyncio":
    tideloop.install()  # asyncio's entry points now make tideloop loops
SCALE = float(os.environ.get("TIDELOOP_EXAMPLE_SCALE", "1"))  # tests shrink the sleeps


async def do_some_work(loop, x):
    print("Waiting {}s...".format(x))
    await asyncio.sleep(x * SCALE)
    print("Done")


# Python 3.12+ warns when get_event_loop() has to create the loop itself (3.14
# raises), so make the loop current first; get_event_loop() then returns it.
asyncio.set_event_loop(asyncio.new_event_loop())
loop = asyncio.get_event_loop()
print("loop:", type(loop).__module__ + "." + type(loop).__qualname__)

# Not closed: the loop runs as often as we like.
try:
    loop.run_until_complete(do_some_work(loop, 1))
    loop.run_until_complete(do_some_work(loop, 3))
finally:
    loop.close()
print("closed:", loop.is_closed())

# Closed: it refuses to run.
coro = do_some_work(loop, 3)
try:
    loop.run_until_complete(coro)
except RuntimeError as exc:
    print("RuntimeError:", exc)
finally:
    # The loop refused before starting the coroutine; close it ourselves so
    # Python does not also warn that it was never awaited.
    coro.close()

"""Seed section 回调 (callbacks).

``future.add_done_callback(cb)`` asks the loop to call ``cb(future)`` once the
future is done -- the way to be told that, say, a read has finished.
"""
import asyncio
import os
import threading

import tideloop

if os.environ.get("TIDELOOP_EXAMPLES_LOOP", "tideloop") != "asyncio":
    tideloop.install()  # asyncio's entry points now make tideloop loops
SCALE = float(os.environ.get("TIDELOOP_EXAMPLE_SCALE", "1"))  # tests shrink the sleeps


async def do_some_work(x):
    print("Waiting {}s...".format(x))
    await asyncio.sleep(x * SCALE)
    return x


def done_callback(futu):
    print("Done")
    # The loop calls it with the future itself, in the loop's own thread.
    print("  callback got the future: done={} result={} main thread={}".format(
        futu.done(), futu.result(), threading.current_thread() is threading.main_thread()))


# Python 3.12+ warns when get_event_loop() has to create the loop itself (3.14
# raises), so make the loop current first; get_event_loop() then returns it.
asyncio.set_event_loop(asyncio.new_event_loop())
loop = asyncio.get_event_loop()
print("loop:", type(loop).__module__ + "." + type(loop).__qualname__)

futu = asyncio.ensure_future(do_some_work(3))
futu.add_done_callback(done_callback)

loop.run_until_complete(futu)
loop.close()

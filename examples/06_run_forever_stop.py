"""Seed section run_until_complete 和 run_forever.

``run_forever`` runs until ``stop()`` is called, so ``stop()`` must come from
inside the loop: a coroutine or a callback.  Two cases from the tutorial:

1. each coroutine stops the loop when it ends: the first one to finish stops
   it, and the other is left unfinished;
2. the fix: ``gather`` them into one future and stop the loop from that
   future's done callback -- which is essentially how ``run_until_complete``
   itself is built on ``run_forever``.
"""
import asyncio
import functools
import os
import time

import tideloop

if os.environ.get("TIDELOOP_EXAMPLES_LOOP", "tideloop") != "asyncio":
    tideloop.install()  # asyncio's entry points now make tideloop loops
SCALE = float(os.environ.get("TIDELOOP_EXAMPLE_SCALE", "1"))  # tests shrink the sleeps


async def do_some_work_and_stop(loop, x):
    print("Waiting {}s...".format(x))
    await asyncio.sleep(x * SCALE)
    print("Done")
    loop.stop()


async def do_some_work(loop, x):
    print("Waiting {}s...".format(x))
    await asyncio.sleep(x * SCALE)
    print("Done")


def done_callback(loop, futu):
    print("done_callback: stopping the loop")
    loop.stop()


# Python 3.12+ warns when get_event_loop() has to create the loop itself (3.14
# raises), so make the loop current first; get_event_loop() then returns it.
asyncio.set_event_loop(asyncio.new_event_loop())
loop = asyncio.get_event_loop()
print("loop:", type(loop).__module__ + "." + type(loop).__qualname__)

print("-- 1. every coroutine calls loop.stop(): the first to finish wins")
asyncio.ensure_future(do_some_work_and_stop(loop, 1))
asyncio.ensure_future(do_some_work_and_stop(loop, 3))
started = time.monotonic()
loop.run_forever()
pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
print("run_forever returned after {:.2f} s with {} coroutine(s) unfinished".format(
    time.monotonic() - started, len(pending)))
# Tidy up before the next case: cancel the one left behind.
for task in pending:
    task.cancel()
loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))

print("-- 2. gather + done callback: stop once all are done")
futus = asyncio.gather(do_some_work(loop, 1), do_some_work(loop, 3))
futus.add_done_callback(functools.partial(done_callback, loop))
started = time.monotonic()
loop.run_forever()
print("run_forever stopped by the done callback after {:.2f} s; all done: {}".format(
    time.monotonic() - started, futus.done()))
loop.close()

"""Seed section Timer.

The tutorial closes by noting that Boost.Asio has a timer *object* and Python
does not, and imitates one with ``asyncio.sleep`` plus a done callback.  That
imitation is shown first.  ``tideloop.Timer`` is the real thing (re-armable,
cancellable, shared by several waiters), and ``tideloop.every`` is its
drift-free periodic form.  Both work on any asyncio loop.
"""
import asyncio
import os

import tideloop

if os.environ.get("TIDELOOP_EXAMPLES_LOOP", "tideloop") != "asyncio":
    tideloop.install()  # asyncio's entry points now make tideloop loops
SCALE = float(os.environ.get("TIDELOOP_EXAMPLE_SCALE", "1"))  # tests shrink the sleeps


# -- the tutorial's imitation ---------------------------------------------------
async def timer(x, cb):
    futu = asyncio.ensure_future(asyncio.sleep(x * SCALE))
    futu.add_done_callback(cb)
    await futu


# -- the answer: tideloop.Timer and tideloop.every ------------------------------
async def alarm(name, t, started):
    """Wait on the shared timer; report how it ended."""
    loop = asyncio.get_running_loop()
    try:
        await t.wait()
        print("  {}: timer fired at +{:.2f} s".format(name, (loop.time() - started) / SCALE))
    except asyncio.CancelledError as exc:
        print("  {}: {} at +{:.2f} s".format(name, exc, (loop.time() - started) / SCALE))


async def ticks(started):
    """Tick every 0.25 s on a fixed grid; tick 3's body overruns by two ticks."""
    loop = asyncio.get_running_loop()
    async for tick in tideloop.every(0.25 * SCALE, count=6):
        print("  tick index={} due +{:.2f} s late={:.1f} ms missed={}".format(
            tick.index, (tick.scheduled - started) / SCALE, tick.late * 1000, tick.missed))
        if tick.index == 3:
            await asyncio.sleep(0.6 * SCALE)  # a slow body: grid points 4 and 5 pass meanwhile


async def main():
    loop = asyncio.get_running_loop()
    started = loop.time()
    t = tideloop.Timer()  # bound to the running loop
    t.expires_after(2 * SCALE)
    print("  armed: expires at +{:.2f} s".format((t.expiry() - started) / SCALE))
    waiters = [asyncio.ensure_future(alarm(name, t, started)) for name in ("A", "B", "C")]
    ticker = asyncio.ensure_future(ticks(started))

    await asyncio.sleep(0.5 * SCALE)
    print("  cancel_one() cancelled {} waiter".format(t.cancel_one()))  # A, the oldest
    await asyncio.gather(*waiters)  # B and C wake together at +2.00 s
    await ticker

    # Reusable after expiry: arm it again.  Re-arming while someone waits
    # cancels that wait (as in Asio), so nobody silently waits for a new deadline.
    t.expires_after(1 * SCALE)
    waiter = asyncio.ensure_future(alarm("D", t, started))
    await asyncio.sleep(0.25 * SCALE)
    print("  re-armed: expires_after() cancelled {} waiter".format(t.expires_after(0.5 * SCALE)))
    await waiter
    await alarm("E", t, started)  # waits for the new expiry, +2.75 s


# Python 3.12+ warns when get_event_loop() has to create the loop itself (3.14
# raises), so make the loop current first; get_event_loop() then returns it.
asyncio.set_event_loop(asyncio.new_event_loop())
loop = asyncio.get_event_loop()
print("loop:", type(loop).__module__ + "." + type(loop).__qualname__)

print("-- the tutorial's timer: asyncio.sleep + add_done_callback")
t = timer(3, lambda futu: print("Done"))
loop.run_until_complete(t)

print("-- tideloop.Timer and tideloop.every")
loop.run_until_complete(main())
loop.close()

"""An Asio-style timer object for asyncio, and a drift-free periodic ticker.

The seed tutorial ends by noting that Boost.Asio has a timer *object* and
Python does not; ``asyncio.sleep`` is a function, so there is nothing to
re-arm, cancel from outside, or share between several waiters.  This module
fills that gap:

    timer = tideloop.Timer()          # bound to the running loop
    timer.expires_after(3)            # or expires_at(loop.time() + 3)
    await timer.wait()                # returns once loop.time() >= expiry
    timer.cancel()                    # pending waiters get CancelledError

    async for tick in tideloop.every(0.5):     # start + k * 0.5, never drifting
        ...                                    # tick.index, tick.missed, tick.late

It uses only the public asyncio loop API (``time``, ``call_at``,
``create_future``), so it works on any asyncio loop: tideloop, asyncio's own,
uvloop.  Like every asyncio object it is not thread-safe: use it from the
thread running its loop.
"""
import asyncio
import datetime
import math
from dataclasses import dataclass

__all__ = ("Timer", "Tick", "Ticker", "every")

# Messages carried by the CancelledError a waiter receives (``str(exc)``).
CANCELLED_MSG = "Timer cancelled"
REARMED_MSG = "Timer cancelled: expiry changed (re-armed)"


def _seconds(value, what):
    """Validate a duration or a loop time: a real number (or timedelta) >= 0.

    ``+inf`` is allowed and means "never": a timer that only cancel() or
    re-arming can end.  Raises TypeError for non-numbers (bool included, as a
    bool is almost always a bug here) and ValueError for NaN or negatives.
    """
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    elif isinstance(value, bool):
        raise TypeError(f"{what} must be a number of seconds, not bool")
    elif not isinstance(value, (int, float)):
        # Anything that declares itself a real number (numpy floats, Decimal,
        # Fraction) converts; strings and the like are a mistake.
        try:
            value = value.__float__()
        except (AttributeError, TypeError, ValueError):
            raise TypeError(
                f"{what} must be a number of seconds or a datetime.timedelta, "
                f"not {type(value).__name__}"
            ) from None
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{what} must not be NaN")
    if value < 0:
        raise ValueError(f"{what} must be >= 0, got {value!r}")
    return value


class Timer:
    """A re-armable, cancellable timer bound to one event loop (Boost.Asio's
    ``steady_timer`` for asyncio).

    ``Timer()`` binds to the running loop; outside a coroutine pass
    ``Timer(loop=loop)``.  A new timer has no expiry: set one with
    :meth:`expires_after` or :meth:`expires_at`, then ``await timer.wait()``.

    Semantics, following Asio:

    * any number of coroutines may wait at once; when the expiry passes they
      resume in the order they started waiting;
    * :meth:`cancel` makes every pending :meth:`wait` raise
      ``asyncio.CancelledError("Timer cancelled")`` and returns how many it
      cancelled; the expiry itself is kept;
    * setting a new expiry while coroutines wait cancels them the same way
      (message ``"Timer cancelled: expiry changed (re-armed)"``) and returns
      how many were cancelled -- exactly Asio's ``expires_after`` contract, so a
      waiter never silently ends up waiting for a different deadline;
    * once expired the timer is reusable: set a new expiry and wait again.

    ``wait()`` never returns before ``loop.time() >= expiry``, even on loops
    whose timers may fire a little early (uvloop rounds to milliseconds): an
    early wake-up re-schedules itself.  One ``loop.call_at`` handle serves all
    waiters of one arming; it is created by the first waiter and cancelled when
    the last waiter leaves, so an idle timer costs the loop nothing.
    """

    __slots__ = ("_loop", "_expiry", "_waiters", "_handle")

    def __init__(self, *, loop=None):
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                raise RuntimeError(
                    "tideloop.Timer() needs a running event loop; outside a "
                    "coroutine create it with tideloop.Timer(loop=loop)"
                ) from None
        elif not isinstance(loop, asyncio.AbstractEventLoop):
            raise TypeError(f"loop must be an asyncio event loop, not {type(loop).__name__}")
        self._loop = loop
        self._expiry = None  # loop time, or None while unset
        self._waiters = []  # futures of pending wait() calls, FIFO
        self._handle = None  # the one call_at handle of the current arming

    # -- inspection ---------------------------------------------------------

    @property
    def loop(self):
        """The event loop this timer belongs to."""
        return self._loop

    def expiry(self):
        """The expiry as a loop time (compare with ``loop.time()``), or None if unset."""
        return self._expiry

    def expired(self):
        """True if an expiry is set and ``loop.time()`` has reached it."""
        return self._expiry is not None and self._loop.time() >= self._expiry

    def waiting(self):
        """The number of coroutines currently blocked in :meth:`wait`."""
        return len(self._waiters)

    def __repr__(self):
        if self._expiry is None:
            state = "unset"
        else:
            state = f"expiry={self._expiry:.6f} in {self._expiry - self._loop.time():+.6f}s"
        return f"<tideloop.Timer {state} waiting={len(self._waiters)}>"

    # -- arming -------------------------------------------------------------

    def expires_after(self, seconds):
        """Set the expiry to ``loop.time() + seconds`` and return how many
        pending waiters were cancelled by re-arming (0 if none).

        *seconds* is an int, float or ``datetime.timedelta``; 0 means "already
        expired"; ``math.inf`` means "never" (only cancel/re-arm ends a wait).
        Negative or NaN raises ValueError, other types TypeError.
        """
        seconds = _seconds(seconds, "seconds")
        return self._arm(self._loop.time() + seconds)

    def expires_at(self, when):
        """Set the expiry to the absolute loop time *when* (as ``loop.time()``
        counts) and return how many pending waiters were cancelled.

        A time already past makes the timer expired at once.  Negative or NaN
        raises ValueError, non-numbers TypeError.
        """
        return self._arm(_seconds(when, "when"))

    def _arm(self, when):
        cancelled = self._cancel_waiters(REARMED_MSG)
        self._expiry = when
        return cancelled

    # -- cancelling ---------------------------------------------------------

    def cancel(self):
        """Cancel every pending :meth:`wait`; return how many were cancelled.

        Each waiter gets ``asyncio.CancelledError("Timer cancelled")``.  The
        expiry is unchanged, so a later ``wait()`` waits for it again (or
        returns at once if it has passed) -- as with Asio's ``cancel()``.
        """
        return self._cancel_waiters(CANCELLED_MSG)

    def cancel_one(self):
        """Cancel only the longest-waiting :meth:`wait`; return 1, or 0 if none waited."""
        while self._waiters:
            fut = self._waiters.pop(0)
            if not fut.done():
                fut.cancel(msg=CANCELLED_MSG)
                if not self._waiters:
                    self._drop_handle()
                return 1
        self._drop_handle()
        return 0

    def _cancel_waiters(self, msg):
        self._drop_handle()
        waiters, self._waiters = self._waiters, []
        n = 0
        for fut in waiters:
            if not fut.done():
                fut.cancel(msg=msg)
                n += 1
        return n

    def _drop_handle(self):
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    # -- waiting ------------------------------------------------------------

    async def wait(self):
        """Wait until ``loop.time() >= expiry``.

        Returns at once (without suspending) if the timer has already expired.
        Raises ``asyncio.CancelledError`` if :meth:`cancel` is called or a new
        expiry is set meanwhile, RuntimeError if no expiry was ever set or if
        called from a loop other than the timer's.
        """
        if self._expiry is None:
            raise RuntimeError(
                "Timer has no expiry: call expires_after() or expires_at() before wait()"
            )
        loop = self._loop
        if asyncio.get_running_loop() is not loop:
            raise RuntimeError("Timer.wait() called from a loop other than the timer's own")
        if loop.time() >= self._expiry:
            return
        fut = loop.create_future()
        self._waiters.append(fut)
        if self._handle is None and self._expiry != math.inf:
            self._handle = loop.call_at(self._expiry, self._fire, self._expiry)
        try:
            await fut
        except asyncio.CancelledError:
            # Either the timer cancelled us (we were already removed) or our
            # own task was cancelled: leave the queue, and stop the loop timer
            # if nobody is left to wake.
            try:
                self._waiters.remove(fut)
            except ValueError:
                pass
            if not self._waiters:
                self._drop_handle()
            raise

    def _fire(self, when):
        """The call_at callback: wake every waiter, or re-schedule if early."""
        self._handle = None
        if when != self._expiry:  # stale (cannot happen: re-arming drops the handle)
            return
        if self._loop.time() < when:
            # The loop fired early (clock granularity): never let wait()
            # return before the expiry, go round once more.
            self._handle = self._loop.call_at(when, self._fire, when)
            return
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)


@dataclass(frozen=True, slots=True)
class Tick:
    """One tick of :func:`every`.

    Attributes:
        index: position on the grid: this tick was due at ``start + index * interval``.
        scheduled: that due time, as a loop time (exact, never accumulated).
        late: seconds between ``scheduled`` and when the tick was delivered (>= 0).
        missed: grid points skipped since the previous tick (0 when on time),
            because the previous tick's body ran past them.
        time: the loop time at which the tick was delivered (``scheduled + late``).
    """

    index: int
    scheduled: float
    late: float
    missed: int
    time: float


class Ticker:
    """The async iterator returned by :func:`every`; see there.

    Ticks fall on the grid ``start + k * interval``.  Each tick is computed
    from the grid, never from the previous wake-up, so lateness never
    accumulates.  When the loop body of a tick runs past later grid points,
    those points are skipped (not delivered in a burst) and the next tick, at
    the first grid point not yet past, reports them in ``tick.missed``.
    """

    def __init__(self, interval, *, start=None, count=None):
        interval = _seconds(interval, "interval")
        if interval == 0 or interval == math.inf:
            raise ValueError(f"interval must be > 0 and finite, got {interval!r}")
        if start is not None:
            start = _seconds(start, "start")
            if start == math.inf:
                raise ValueError("start must be finite")
        if count is not None:
            if isinstance(count, bool) or not isinstance(count, int):
                raise TypeError(f"count must be an int or None, not {type(count).__name__}")
            if count < 0:
                raise ValueError(f"count must be >= 0, got {count}")
        self.interval = interval
        self.start = start  # loop time of tick 0; fixed on first iteration if None
        self.count = count
        self._delivered = 0
        self._last_index = -1
        self._timer = None

    def __aiter__(self):
        return self

    async def __anext__(self):
        """Wait for the next grid point not yet past and return its :class:`Tick`."""
        if self.count is not None and self._delivered >= self.count:
            raise StopAsyncIteration
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = Timer(loop=loop)
            if self.start is None:
                # Like Go's time.Ticker: the first tick comes one interval in.
                self.start = loop.time() + self.interval
        timer = self._timer
        loop = timer.loop
        now = loop.time()
        if self._last_index < 0:
            # First tick: if start has passed already (e.g. start=loop.time()),
            # deliver the latest grid point passed at once rather than
            # punishing the caller for the microseconds since they read the clock.
            index = max(0, math.floor((now - self.start) / self.interval))
        else:
            # Later ticks: the first grid point not yet past.  Points passed
            # while the previous tick's body ran are skipped, not bunched up.
            index = max(self._last_index + 1, math.ceil((now - self.start) / self.interval))
            while self.start + index * self.interval < now:  # float rounding guard
                index += 1
        # Computed from the grid every time, never accumulated: no drift.
        scheduled = self.start + index * self.interval
        timer.expires_at(scheduled)
        await timer.wait()
        delivered_at = loop.time()
        missed = index - self._last_index - 1
        self._last_index = index
        self._delivered += 1
        return Tick(index, scheduled, delivered_at - scheduled, missed, delivered_at)

    async def aclose(self):
        """Stop ticking: a pending wait is cancelled and iteration ends."""
        self.count = self._delivered
        if self._timer is not None:
            self._timer.cancel()

    def __repr__(self):
        return (
            f"<tideloop.Ticker interval={self.interval} start={self.start} "
            f"count={self.count} delivered={self._delivered}>"
        )


def every(interval, *, start=None, count=None):
    """Tick every *interval* seconds on a drift-free grid: ``async for tick in every(0.5)``.

    Args:
        interval: seconds between grid points (int, float or timedelta; > 0, finite).
        start: loop time of the first grid point (tick index 0).  Default:
            one interval after iteration begins.  If start has already passed
            when iteration begins, the first tick is the latest grid point
            passed, delivered at once, and the earlier ones count as missed
            (so ``start=loop.time()`` ticks immediately with ``missed == 0``).
        count: stop after delivering this many ticks (default: never stop).

    Each iteration yields a :class:`Tick`.  Tick ``k`` is due at exactly
    ``start + k * interval`` (computed, never accumulated, so there is no
    drift however long the run).  If the body of the ``async for`` runs past
    one or more grid points, those are skipped and the next tick -- at the
    first grid point not yet past -- reports how many in ``tick.missed``.

    Arguments are checked here, at call time: negative, zero, infinite or NaN
    intervals raise ValueError, non-numbers TypeError.
    """
    return Ticker(interval, start=start, count=count)

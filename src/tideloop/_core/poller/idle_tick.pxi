# Whether the poller should keep the CPU's scheduler tick through short idles.
#
# Linux with NO_HZ_IDLE stops the periodic tick when a CPU goes idle and
# starts it again when the CPU wakes: two timer reprogrammings per idle.
# cpuidle's menu and teo governors skip that for idles they expect to be
# short. The haltpoll governor (KVM guests) skips it only while it polls,
# and with guest polling off (haltpoll.guest_halt_poll_ns=0, which
# Firecracker-style microVMs set so that an idle vCPU gives its core back)
# it stops the tick on every idle. Each reprogramming is a VM exit there, so
# a server that sleeps between requests pays for two of them per request.
#
# Measured on such a guest (Linux 6.18, HZ=250) with bench/idle_ticks.py,
# 1 KiB echo at one connection, per request: tideloop's Protocol server
# 0.93 tick stops, 1.85 hrtimer starts, 24.9 us CPU and 54.4 us p50 (the C
# server of bench/: 0.91 / 1.83 / 22.2 us / 54.9 us); the same server
# adding and removing a spare fd in its epoll set before each wait that
# would sleep: 0.34 / 0.62 / 20.4 us / 45.2 us. The kernel keeps the tick
# while the CPU has RCU callbacks queued (rcu_needs_cpu()), and removing an
# epoll item queues one (its epitem is freed after a grace period). uvloop
# got this by accident for its sock_* calls (0.12 tick stops per request):
# libuv re-registers a socket for each sock_recv().
#
# So where the governor is haltpoll with guest polling off, EpollPoller does
# that before each wait that would block (see EpollPoller._hold_tick): one
# non-blocking epoll_wait first, and only when it finds nothing, one
# EPOLL_CTL_ADD and one EPOLL_CTL_DEL of an eventfd that never becomes
# readable. A busy loop never gets there (its waits find events at once);
# a loop that goes idle pays three cheap syscalls per sleep.
#
# It must be every such wait: the RCU callback is gone well before the next
# idle. Holding at most once per 0.5 ms (2026-11-29, bench/idle_ticks.py,
# 1 KiB echo at one connection, 7 repetitions) gave 0.84 tick stops per
# request against 0.41 holding before every sleep (0.91 without holding),
# and 27.2 us CPU per request against 26.4.
#
# TIDELOOP_KEEP_TICK=1 turns it on anywhere, =0 off anywhere; unset or
# "auto" decides from sysfs as above.

cdef int _idle_stops_tick = -1     # sysfs answer, read once per process


cdef str _sysfs_text(str path):
    """The stripped text of a /sys file, or "" where it cannot be read."""
    try:
        with open("/sys/" + path) as f:
            return f.read().strip()
    except OSError:
        return ""


cdef bint _governor_stops_tick():
    """True when cpuidle is haltpoll with guest polling off (read once)."""
    global _idle_stops_tick
    if _idle_stops_tick < 0:
        governor = (_sysfs_text("devices/system/cpu/cpuidle/current_governor_ro")
                    or _sysfs_text("devices/system/cpu/cpuidle/current_governor"))
        _idle_stops_tick = (governor == "haltpoll"
                            and _sysfs_text("module/haltpoll/parameters/guest_halt_poll_ns") == "0")
    return _idle_stops_tick == 1


cdef bint keep_tick_wanted() except -1:
    """The policy for a new poller: TIDELOOP_KEEP_TICK, else the governor."""
    value = _os.environ.get("TIDELOOP_KEEP_TICK", "auto").strip().lower()
    if value == "1":
        return True
    if value == "0":
        return False
    if value in ("", "auto"):
        return _governor_stops_tick()
    raise ValueError(
        f"TIDELOOP_KEEP_TICK must be 0, 1 or auto, not {value!r}")

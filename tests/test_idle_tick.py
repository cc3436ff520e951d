"""Keeping the scheduler tick through short idles (src/tideloop/_core/poller/idle_tick.pxi).

Where the cpuidle governor stops the tick on every idle (haltpoll with guest
polling off), the epoll poller adds and removes a spare eventfd before each
wait that would sleep. These tests run each policy in a fresh interpreter
(TIDELOOP_KEEP_TICK is read when a loop is made) and check that the loop
behaves the same either way, as asyncio's does: timers wait their time, a
thread wakes a sleeping loop, sockets echo, and no fd is left behind.
"""
import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="epoll poller")

SCRIPT = textwrap.dedent("""
    import asyncio, json, os, socket, sys, threading, time

    def fds():
        return len(os.listdir("/proc/self/fd"))

    if sys.argv[1] == "asyncio":
        new_loop = asyncio.new_event_loop
    else:
        import tideloop
        new_loop = tideloop.new_event_loop

    out = {}
    before = fds()
    loop = new_loop()
    out["fds_opened"] = fds() - before

    async def main():
        t0 = time.monotonic()
        await asyncio.sleep(0.05)
        out["slept"] = time.monotonic() - t0
        for _ in range(2000):
            await asyncio.sleep(0.0001)
        # A thread wakes the loop from a wait with no timeout.
        fut = loop.create_future()
        threading.Timer(0.05, loop.call_soon_threadsafe, (fut.set_result, "woken")).start()
        out["threadsafe"] = await asyncio.wait_for(fut, 10)
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)
        got = []
        for i in range(200):
            msg = b"%d" % i
            await loop.sock_sendall(a, msg)
            got.append(await loop.sock_recv(b, 100) == msg)
        a.close()
        b.close()
        out["echo_ok"] = all(got)

    loop.run_until_complete(main())
    if sys.argv[1] != "asyncio":
        out["stats"] = {k: loop.statistics()[k] for k in ("keep_tick", "tick_holds")}
    out["fds_in_use"] = fds() - before
    loop.close()
    out["fds_after_close"] = fds() - before
    print(json.dumps(out))
""")


def run(loop_name, keep=None):
    env = dict(os.environ)
    env.pop("TIDELOOP_KEEP_TICK", None)
    if keep is not None:
        env["TIDELOOP_KEEP_TICK"] = keep
    out = subprocess.run([sys.executable, "-c", SCRIPT, loop_name], capture_output=True, text=True,
                         env=env, timeout=120)
    return out


@pytest.mark.parametrize("loop_name,keep", [("asyncio", None), ("tideloop", "0"), ("tideloop", "1")])
def test_loop_behaves_the_same_with_either_policy(loop_name, keep):
    out = run(loop_name, keep)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["slept"] >= 0.05
    assert got["threadsafe"] == "woken"
    assert got["echo_ok"] is True
    assert got["fds_after_close"] == 0
    if loop_name == "tideloop":
        assert got["stats"]["keep_tick"] is (keep == "1")
        # epoll fd and wakeup eventfd, plus the spare eventfd when keeping the tick
        assert got["fds_opened"] == (3 if keep == "1" else 2)
        if keep == "1":
            # every sleep above would block, so each holds the tick once
            assert got["stats"]["tick_holds"] >= 2000
        else:
            assert got["stats"]["tick_holds"] == 0


def governor_stops_tick():
    governor = ""
    for name in ("current_governor_ro", "current_governor"):
        try:
            with open("/sys/devices/system/cpu/cpuidle/" + name) as f:
                governor = f.read().strip()
            break
        except OSError:
            pass
    try:
        with open("/sys/module/haltpoll/parameters/guest_halt_poll_ns") as f:
            poll_ns = int(f.read())
    except (OSError, ValueError):
        return False
    return governor == "haltpoll" and poll_ns == 0


@pytest.mark.parametrize("keep", [None, "auto"])
def test_auto_follows_the_idle_governor(keep):
    out = run("tideloop", keep)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["stats"]["keep_tick"] is governor_stops_tick()


def test_a_bad_setting_is_a_clear_error():
    out = run("tideloop", "yes")
    assert out.returncode != 0
    assert "ValueError: TIDELOOP_KEEP_TICK must be 0, 1 or auto, not 'yes'" in out.stderr


def test_a_wait_that_finds_events_does_not_hold_the_tick():
    """A loop whose fds are ready when it polls never reaches the add/remove (no cost under load)."""
    script = textwrap.dedent("""
        import asyncio, json, socket, tideloop
        loop = tideloop.new_event_loop()
        a, b = socket.socketpair()
        b.setblocking(False)
        async def main():
            holds = []
            for _ in range(1000):
                a.send(b"x")            # readable before the loop polls
                fut = loop.create_future()
                def on_readable():
                    loop.remove_reader(b)
                    fut.set_result(b.recv(10))
                before = loop.statistics()["tick_holds"]
                loop.add_reader(b, on_readable)
                assert await fut == b"x"
                holds.append(loop.statistics()["tick_holds"] - before)
            return sum(holds)
        print(json.dumps(loop.run_until_complete(main())))
        loop.close()
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "TIDELOOP_KEEP_TICK": "1"})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == 0

"""The seed tutorial's programs (examples/) do what the tutorial says they do.

Each example runs in a fresh interpreter, once with tideloop installed and once
on asyncio's own loop (TIDELOOP_EXAMPLES_LOOP=asyncio), so a difference between
the two is visible.  Sleeps are scaled down with TIDELOOP_EXAMPLE_SCALE except
where the duration itself is the point (gather: about 3 s, not 4).
"""
import os
import pathlib
import re
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"
SCALE = 0.05  # 3 s sleeps become 0.15 s
ROUND = 0.006  # the examples print times rounded to 0.01 s

try:
    import tideloop  # noqa: F401  (the examples import it even on asyncio's loop)

    HAVE_TIDELOOP = True
except ImportError:
    HAVE_TIDELOOP = False

# Output that means something went wrong even if the exit status is 0.
BAD_STDERR = ("Traceback", "Exception ignored", "Task was destroyed", "DeprecationWarning",
              "ResourceWarning", "Error")


@pytest.fixture(params=["tideloop", "asyncio"])
def examples_loop(request):
    """Which loop the examples run on: 'tideloop' (installed) or 'asyncio'."""
    if not HAVE_TIDELOOP:
        pytest.skip("tideloop does not import (compiled core not built)")
    return request.param


def run_example(name, loop_kind, scale=SCALE, allowed_stderr=()):
    """Run examples/<name> and return (stdout, stderr); assert a clean exit."""
    env = dict(os.environ, TIDELOOP_EXAMPLES_LOOP=loop_kind, TIDELOOP_EXAMPLE_SCALE=str(scale))
    cmd = [sys.executable]
    if sys.version_info < (3, 14):  # 3.14 deprecates the policy system install() uses
        # The examples must not lean on anything deprecated (3.12's
        # get_event_loop() warning in particular).
        cmd += ["-W", "error::DeprecationWarning"]
    proc = subprocess.run(cmd + [str(EXAMPLES / name)], env=env, capture_output=True,
                          text=True, timeout=90)
    assert proc.returncode == 0, f"{name} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    stderr = proc.stderr
    for ok in allowed_stderr:
        stderr = stderr.replace(ok, "")
    for bad in BAD_STDERR:
        assert bad not in stderr, f"{name} wrote {bad!r} to stderr:\n{proc.stderr}"
    return proc.stdout, proc.stderr


def check_loop_class(stdout, loop_kind):
    """The example printed its loop's class: tideloop's, or asyncio's own."""
    m = re.search(r"^loop: (\S+)$", stdout, re.M)
    assert m, stdout
    prefix = "tideloop." if loop_kind == "tideloop" else "asyncio."
    assert m.group(1).startswith(prefix), f"loop class {m.group(1)} on {loop_kind}"


def seconds(pattern, stdout):
    """The float captured by *pattern* in stdout."""
    m = re.search(pattern, stdout)
    assert m, f"{pattern!r} not in:\n{stdout}"
    return float(m.group(1))


def test_01_define(examples_loop):
    warning = "RuntimeWarning: coroutine 'do_some_work' was never awaited"
    out, err = run_example("01_define.py", examples_loop,
                           allowed_stderr=("RuntimeWarning: Enable tracemalloc",))
    check_loop_class(out, examples_loop)
    assert "iscoroutinefunction(do_some_work): True" in out
    assert "iscoroutine(do_some_work(3)): True" in out
    assert warning in err


def test_02_run(examples_loop):
    out, _ = run_example("02_run.py", examples_loop)
    check_loop_class(out, examples_loop)
    assert "Waiting 3s..." in out
    assert seconds(r"returned after ([\d.]+) s", out) >= 3 * SCALE - ROUND  # it blocked


def test_03_chain_result_is_3(examples_loop):
    out, _ = run_example("03_chain.py", examples_loop)
    check_loop_class(out, examples_loop)
    assert out.index("Phase 1") < out.index("Phase 2") < out.index("Result: 3")
    assert re.search(r"^Result: 3$", out, re.M)
    assert seconds(r"took ([\d.]+) s", out) >= (1 + 2) * SCALE - ROUND  # in sequence


def test_04_callback(examples_loop):
    out, _ = run_example("04_callback.py", examples_loop)
    check_loop_class(out, examples_loop)
    assert out.index("Waiting 3s...") < out.index("Done")
    assert "callback got the future: done=True result=3 main thread=True" in out


def test_05_gather_takes_3s_not_4(examples_loop):
    # The real durations: this is the tutorial's point.
    out, _ = run_example("05_gather.py", examples_loop, scale=1)
    check_loop_class(out, examples_loop)
    assert "Waiting 1s..." in out and "Waiting 3s..." in out
    assert "results: [1, 3]" in out
    took = seconds(r"gather took ([\d.]+) s", out)
    assert 2.9 <= took < 3.6


def test_06_run_forever_stopped_from_done_callback(examples_loop):
    out, _ = run_example("06_run_forever_stop.py", examples_loop)
    check_loop_class(out, examples_loop)
    # 1. the first coroutine to finish stopped the loop: the 3 s one is left over
    first = seconds(r"run_forever returned after ([\d.]+) s with 1 coroutine\(s\) unfinished", out)
    assert 1 * SCALE - ROUND <= first < 3 * SCALE
    # 2. gather + done callback: stopped only once both are done
    part2 = out[out.index("-- 2."):]
    assert part2.count("Done") == 2
    assert part2.index("Done") < part2.index("done_callback: stopping the loop")
    second = seconds(r"run_forever stopped by the done callback after ([\d.]+) s; all done: True",
                     part2)
    assert second >= 3 * SCALE - ROUND


def test_07_closed_loop_refuses_to_run(examples_loop):
    out, err = run_example("07_close.py", examples_loop)
    check_loop_class(out, examples_loop)
    assert out.count("Done") == 2  # it ran twice before closing
    assert "closed: True" in out
    assert re.search(r"^RuntimeError: Event loop is closed$", out, re.M)
    # the refused coroutine never started
    assert out.count("Waiting") == 2
    assert "never awaited" not in err


def test_08_gather_vs_wait(examples_loop):
    out, _ = run_example("08_gather_vs_wait.py", examples_loop)
    check_loop_class(out, examples_loop)
    assert re.search(r"FIRST_COMPLETED after [\d.]+ s: done=\['work-1s'\] pending=\['work-3s'\]", out)
    assert re.search(r"timeout=1 after [\d.]+ s: done=\[\] pending=\['work-3s'\]", out)
    assert re.search(r"ALL_COMPLETED after [\d.]+ s: done=\['work-3s'\] pending=\[\]", out)
    first = seconds(r"FIRST_COMPLETED after ([\d.]+) s", out)
    assert 1 * SCALE - ROUND <= first < 3 * SCALE
    assert seconds(r"ALL_COMPLETED after ([\d.]+) s", out) >= 3 * SCALE - ROUND
    assert "wait with a failure: exceptions=[\"ValueError('boom')\"]" in out
    assert "gather(return_exceptions=True): [0, ValueError('boom')]" in out
    assert "gather raised: ValueError('boom')" in out


def test_09_timer(examples_loop):
    scale = 0.2  # the ticker's 0.25 s grid becomes 50 ms: still clear of scheduling noise
    out, _ = run_example("09_timer.py", examples_loop, scale=scale)
    check_loop_class(out, examples_loop)
    tutorial, ours = out.split("-- tideloop.Timer and tideloop.every")
    assert re.search(r"^Done$", tutorial, re.M)  # the tutorial's sleep-based timer
    assert "cancel_one() cancelled 1 waiter" in ours
    assert re.search(r"A: Timer cancelled at \+0\.[45]\d s", ours)
    for name in "BC":
        fired = seconds(rf"{name}: timer fired at \+([\d.]+) s", ours)
        assert 2.0 <= fired < 2.5  # never early, all waiters together
    assert "re-armed: expires_after() cancelled 1 waiter" in ours
    assert "D: Timer cancelled: expiry changed (re-armed)" in ours
    assert 2.75 <= seconds(r"E: timer fired at \+([\d.]+) s", ours) < 3.25
    ticks = [(int(i), float(due), int(missed)) for i, due, missed in
             re.findall(r"tick index=(\d+) due \+([\d.]+) s late=[\d.]+ ms missed=(\d+)", ours)]
    assert len(ticks) == 6
    prev = -1
    for index, due, missed in ticks:
        assert due == pytest.approx(0.25 * (index + 1), abs=0.006)  # on the grid
        assert missed == index - prev - 1
        if prev == 3:  # tick 3's 0.6 s body ran past grid points 4 and 5
            assert missed >= 2
        prev = index


def test_tour_runs_every_example(examples_loop):
    env = dict(os.environ, TIDELOOP_EXAMPLES_LOOP=examples_loop, TIDELOOP_EXAMPLE_SCALE="0.02")
    proc = subprocess.run([sys.executable, str(EXAMPLES / "tour.py")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in sorted(p.name for p in EXAMPLES.glob("0*.py")):
        assert f"== {name}" in proc.stdout
    assert "9 of 9 examples ran cleanly" in proc.stdout
    loops = re.findall(r"^loop: (\S+)$", proc.stdout, re.M)
    assert len(loops) == 9
    prefix = "tideloop." if examples_loop == "tideloop" else "asyncio."
    assert all(name.startswith(prefix) for name in loops)

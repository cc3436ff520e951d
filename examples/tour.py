"""Run the seed tutorial's programs, one after another, with a heading each.

    python examples/tour.py            # what `make demo` runs

Each example runs in its own fresh interpreter, exactly as
``python examples/NN_name.py`` would.  The examples sleep for the tutorial's
own durations (3 s, 1 s + 2 s, ...: about 29 s in all), so the tour runs them
with their sleeps scaled to 0.4x and finishes in about 12 s; set
``TIDELOOP_EXAMPLE_SCALE=1`` for the tutorial's real timings.
``TIDELOOP_EXAMPLES_LOOP=asyncio`` runs them on asyncio's own loop instead.
"""
import os
import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
TOUR_SCALE = "0.4"  # keeps the whole tour near 12 s; the files default to 1

# (file, the seed's section title, what to look for)
SECTIONS = [
    ("01_define.py", "定义协程 / defining a coroutine",
     "a coroutine function makes coroutine objects; one never awaited warns"),
    ("02_run.py", "运行协程 / running a coroutine",
     "run_until_complete blocks until the coroutine is done"),
    ("03_chain.py", "串联 / chaining", "phase 1 then phase 2: Result: 3"),
    ("04_callback.py", "回调 / callbacks", "add_done_callback: 'Done' once the future is done"),
    ("05_gather.py", "多个协程 / many coroutines", "gather of 1 s and 3 s takes 3 s, not 4"),
    ("06_run_forever_stop.py", "run_until_complete 和 run_forever",
     "run_forever until stop(): from a coroutine, then from a done callback"),
    ("07_close.py", "Close Loop", "a closed loop refuses to run: RuntimeError"),
    ("08_gather_vs_wait.py", "gather vs. wait", "wait: (done, pending), FIRST_COMPLETED, timeout"),
    ("09_timer.py", "Timer", "the tutorial's sleep-based timer, then tideloop.Timer and every()"),
]


def main():
    """Run every example; return 0 if all exited cleanly, else 1."""
    env = dict(os.environ)
    env.setdefault("TIDELOOP_EXAMPLE_SCALE", TOUR_SCALE)
    loop_kind = env.get("TIDELOOP_EXAMPLES_LOOP", "tideloop")
    print("tideloop tour: the seed tutorial's programs on the {} loop "
          "(sleeps x{})".format(loop_kind, env["TIDELOOP_EXAMPLE_SCALE"]), flush=True)
    failed = []
    tour_start = time.monotonic()
    for filename, title, gist in SECTIONS:
        print("\n== {}  {}\n   {}".format(filename, title, gist), flush=True)
        started = time.monotonic()
        # stderr joins stdout so a warning shows up where it happens.
        proc = subprocess.run([sys.executable, str(HERE / filename)], env=env,
                              stderr=subprocess.STDOUT)
        print("   ({:.2f} s)".format(time.monotonic() - started), flush=True)
        if proc.returncode != 0:
            failed.append(filename)
            print("   !! exited with status {}".format(proc.returncode), flush=True)
    print("\ntour finished in {:.1f} s: {} of {} examples ran cleanly".format(
        time.monotonic() - tour_start, len(SECTIONS) - len(failed), len(SECTIONS)))
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

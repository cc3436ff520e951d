"""bench/idle_ticks.py: how it reads perf stat's output and names its servers.

The measurement itself needs perf and root; docs/PERFORMANCE.md has its figures.
"""
import importlib.util
import pathlib
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parent.parent / "bench"
pytestmark = pytest.mark.skipif(not (BENCH / "idle_ticks.py").exists(), reason="bench/ is not in this checkout")


@pytest.fixture(scope="module")
def idle_ticks():
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("idle_ticks_under_test", BENCH / "idle_ticks.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


def test_reads_the_tracepoint_counts_of_perf_stat_csv(idle_ticks, tmp_path):
    out = tmp_path / "perf"
    out.write_text("# started on Fri Nov 27 21:55:00 2026\n\n"
                   "27411,,timer:tick_stop,1300112233,100.00,,\n"
                   "55102,,timer:hrtimer_start,1300112233,100.00,,\n"
                   "<not counted>,,timer:other,0,0.00,,\n")
    assert idle_ticks.read_counts(out) == {"timer:tick_stop": 27411.0, "timer:hrtimer_start": 55102.0}


def test_server_specs(idle_ticks):
    build = {"echo_server": "/b/echo_server"}
    assert idle_ticks.server_argv("C", build) == ["/b/echo_server", "0"]
    argv = idle_ticks.server_argv("tideloop:sock:TIDELOOP_KEEP_TICK=0", build)
    assert argv[:2] == ["env", "TIDELOOP_KEEP_TICK=0"]
    assert argv[-6:] == ["--loop", "tideloop", "--mode", "sock", "--port", "0"]
    assert "env" not in idle_ticks.server_argv("uvloop:protocol", build)

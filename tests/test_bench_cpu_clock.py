"""How the network benchmarks read a server's CPU time (bench/netbench_common.py, bench/echo_client.c).

Both read the server process's CPU-time clock, which counts in ns; /proc's
utime+stime, the fallback, count in 10 ms ticks, too coarse for the 2-5%
differences the benchmarks judge on one-second windows.
"""
import importlib.util
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
pytestmark = [
    pytest.mark.skipif(not (BENCH / "netbench_common.py").exists(), reason="bench/ is not in this checkout"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's /proc and process CPU clocks"),
]

BUSY = "import time, sys\nt = time.time()\nwhile time.time() - t < 0.3: pass\nprint('done', flush=True)\nsys.stdin.read()\n"


@pytest.fixture(scope="module")
def common():
    spec = importlib.util.spec_from_file_location("netbench_common_cpu_clock", BENCH / "netbench_common.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def proc_stat_seconds(common, pid):
    stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / common.CLK_TCK


def off_tick(seconds):
    """True when *seconds* is not a whole number of 10 ms ticks."""
    return abs(seconds * 100 - round(seconds * 100)) > 1e-6


def test_cpu_seconds_of_another_process_is_finer_than_a_tick(common):
    child = subprocess.Popen([sys.executable, "-c", BUSY], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        samples = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(samples) < 20:
            samples.append(common.cpu_seconds(child.pid))
            time.sleep(0.01)
        assert child.stdout.readline() == "done\n"
        spent = common.cpu_seconds(child.pid)
        ticks = proc_stat_seconds(common, child.pid)
    finally:
        child.stdin.close()
        child.wait(10)
    assert samples == sorted(samples)
    assert spent >= 0.25
    # The same quantity: /proc's figure is the clock's, rounded down per field.
    assert ticks - 0.001 <= spent <= ticks + 0.03
    assert any(off_tick(s) for s in samples + [spent])


def test_cpu_seconds_of_a_gone_process_raises(common):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(10)
    with pytest.raises(OSError):
        common.cpu_seconds(child.pid)


def test_echo_client_reports_the_servers_cpu_at_ns_resolution(common, tmp_path):
    if shutil.which("gcc") is None and not (REPO / "build" / "bench" / "echo_client").exists():
        pytest.skip("gcc is not installed (the echo client is built from C)")
    client = common.build_c("echo_client")
    server = common.ServerProcess([sys.executable, str(BENCH / "echo_servers.py"), "--loop", "asyncio",
                                   "--mode", "protocol", "--port", "0"])
    server.start()
    try:
        before = common.cpu_seconds(server.pid)
        out = subprocess.run([client, "127.0.0.1", str(server.port), "4", "1024", "0.5", "0.1", str(server.pid)],
                             capture_output=True, text=True, timeout=60)
        after = common.cpu_seconds(server.pid)
    finally:
        server.stop()
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["requests"] > 0
    # The window's CPU: some, within the whole run's, and not a tick count.
    assert 0 < result["server_cpu_s"] <= after - before + 1e-6
    assert result["server_cpu_s"] <= result["seconds"] * 1.05 + 0.01
    assert off_tick(result["server_cpu_s"])

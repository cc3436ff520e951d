"""The ``tideloop`` command: ``python -m tideloop run|info|bench``, in real subprocesses."""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import pytest

tideloop = pytest.importorskip("tideloop", reason="tideloop does not import (core not built)")

REPO = pathlib.Path(__file__).resolve().parents[1]

# A program that reports what python would tell it, and which loop each of
# asyncio's entry points gave it.
PROBE = textwrap.dedent("""\
    import asyncio, json, sys

    def name(loop):
        return type(loop).__module__ + "." + type(loop).__qualname__

    async def running():
        loop = asyncio.get_running_loop()
        return name(loop), loop.get_debug()

    report = {"argv": sys.argv, "path0": sys.path[0], "name": __name__}
    report["asyncio.run"], report["debug"] = asyncio.run(running())
    with asyncio.Runner() as runner:
        report["Runner"] = runner.run(running())[0]
    loop = asyncio.new_event_loop()
    report["new_event_loop"] = name(loop)
    loop.close()
    print(json.dumps(report))
""")


def tideloop_cli(*args, cwd=None, env=None, timeout=60):
    """Run ``python -m tideloop ARGS``; return the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "tideloop", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONASYNCIODEBUG"}
    env.update(extra)
    return env


@pytest.fixture
def probe(tmp_path):
    """A directory holding probe.py and the same code as module probemod / package probepkg."""
    (tmp_path / "probe.py").write_text(PROBE)
    (tmp_path / "probemod.py").write_text(PROBE)
    pkg = tmp_path / "probepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "__main__.py").write_text(PROBE)
    return tmp_path


def report_of(proc):
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def assert_all_tideloop(report):
    for key in ("asyncio.run", "Runner", "new_event_loop"):
        assert report[key].startswith("tideloop."), (key, report[key])


# ---------------------------------------------------------------- run


def test_run_script_gets_tideloop_and_pythons_argv(probe, tmp_path):
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    report = report_of(tideloop_cli("run", str(probe / "probe.py"), "a", "--flag", "-m", "x",
                                    cwd=elsewhere, env=clean_env()))
    assert_all_tideloop(report)
    # exactly as `python probe.py a --flag -m x` would see it
    assert report["argv"] == [str(probe / "probe.py"), "a", "--flag", "-m", "x"]
    assert report["path0"] == str(probe)
    assert report["name"] == "__main__"
    assert report["debug"] is False


def test_run_relative_script(probe):
    report = report_of(tideloop_cli("run", "probe.py", cwd=probe, env=clean_env()))
    assert report["argv"] == ["probe.py"]
    assert report["path0"] == str(probe)
    assert_all_tideloop(report)


def test_plain_python_gives_asyncio_loop(probe):
    # the control: without tideloop run, the same program is on asyncio's loop
    proc = subprocess.run([sys.executable, "probe.py"], cwd=probe, capture_output=True,
                          text=True, timeout=60, env=clean_env())
    assert report_of(proc)["asyncio.run"].startswith("asyncio.")


def test_run_module(probe):
    report = report_of(tideloop_cli("run", "-m", "probemod", "x", "-v", cwd=probe, env=clean_env()))
    assert_all_tideloop(report)
    assert report["argv"] == [str(probe / "probemod.py"), "x", "-v"]  # as python -m sets it
    assert report["path0"] == str(probe)  # python -m puts the cwd first
    assert report["name"] == "__main__"


def test_run_package_main(probe):
    report = report_of(tideloop_cli("run", "-m", "probepkg", cwd=probe, env=clean_env()))
    assert_all_tideloop(report)
    assert report["argv"] == [str(probe / "probepkg" / "__main__.py")]


def test_run_debug_flag(probe):
    report = report_of(tideloop_cli("run", "--debug", "probe.py", cwd=probe, env=clean_env()))
    assert report["debug"] is True
    assert_all_tideloop(report)


def test_run_exit_status_is_the_programs(tmp_path):
    (tmp_path / "exit7.py").write_text("import sys\nsys.exit(7)\n")
    assert tideloop_cli("run", "exit7.py", cwd=tmp_path).returncode == 7


def test_run_uncaught_exception_shows_program_traceback(tmp_path):
    (tmp_path / "boom.py").write_text(textwrap.dedent("""\
        import asyncio

        async def main():
            raise ValueError("boom from the program")

        asyncio.run(main())
    """))
    proc = tideloop_cli("run", "boom.py", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.startswith("Traceback (most recent call last):")
    assert 'File "boom.py", line 4, in main' in proc.stderr
    assert proc.stderr.rstrip().endswith("ValueError: boom from the program")
    # the runner's own frames are not the user's business
    assert "runpy" not in proc.stderr and "__main__.py" not in proc.stderr


def test_run_missing_script(tmp_path):
    proc = tideloop_cli("run", "nope.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert "can't open file 'nope.py'" in proc.stderr


def test_run_missing_module(tmp_path):
    proc = tideloop_cli("run", "-m", "no_such_module_xyz", cwd=tmp_path)
    assert proc.returncode == 1
    assert "No module named no_such_module_xyz" in proc.stderr


@pytest.mark.parametrize("args", [["run"], ["run", "-m"], ["run", "--bogus", "x.py"]])
def test_run_usage_errors(args):
    proc = tideloop_cli(*args)
    assert proc.returncode == 2
    assert "usage: tideloop run" in proc.stderr


def test_run_a_seed_example():
    # an example that uses get_event_loop/run_until_complete, with its own
    # install() switched off: tideloop run alone must make it a tideloop loop
    env = clean_env(TIDELOOP_EXAMPLES_LOOP="asyncio", TIDELOOP_EXAMPLE_SCALE="0.02")
    proc = tideloop_cli("run", str(REPO / "examples" / "03_chain.py"), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "loop: tideloop." in proc.stdout
    assert "Result: 3" in proc.stdout


# ---------------------------------------------------------------- top level


def test_no_command_prints_usage():
    proc = tideloop_cli()
    assert proc.returncode == 2
    assert "usage: tideloop run" in proc.stdout


def test_help_and_version():
    assert tideloop_cli("--help").returncode == 0
    proc = tideloop_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"tideloop {tideloop.__version__}"


def test_unknown_command():
    proc = tideloop_cli("frobnicate")
    assert proc.returncode == 2
    assert "unknown command 'frobnicate'" in proc.stderr


def test_console_script_if_installed(probe):
    script = pathlib.Path(sys.executable).with_name("tideloop")
    if not script.exists():
        pytest.skip("the tideloop console script is not installed in this environment")
    proc = subprocess.run([str(script), "run", "probe.py"], cwd=probe, capture_output=True,
                          text=True, timeout=60, env=clean_env())
    assert_all_tideloop(report_of(proc))


# ---------------------------------------------------------------- info


def test_info_json():
    proc = tideloop_cli("info", "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["tideloop"] == tideloop.__version__
    assert info["python"].endswith("%d.%d.%d" % sys.version_info[:3])
    loop = tideloop.new_event_loop()
    try:
        assert info["loop"] == f"{type(loop).__module__}.{type(loop).__qualname__}"
        backend = getattr(loop, "_backend", None) or "epoll"
        assert info["backend"] == (backend() if callable(backend) else backend)
    finally:
        loop.close()
    assert info["core"].endswith(".so")
    assert info["compiler"] and info["compiler"] != "unknown"
    assert info["free-threaded build"] in ("yes", "no")
    assert info["GIL enabled"] in ("yes", "no")
    assert "cython" in info


def test_info_plain_and_rich():
    plain = tideloop_cli("info", "--plain")
    assert plain.returncode == 0, plain.stderr
    lines = dict(line.split(None, 1) for line in plain.stdout.splitlines()
                 if line and not line.startswith(("free-threaded", "GIL")))
    assert lines["tideloop"].strip() == tideloop.__version__
    assert "backend" in lines
    pretty = tideloop_cli("info")  # rich's table when rich is installed, plain otherwise
    assert pretty.returncode == 0, pretty.stderr
    assert "backend" in pretty.stdout and tideloop.__version__ in pretty.stdout


def test_info_rejects_unknown_option():
    assert tideloop_cli("info", "--nope").returncode == 2


# ---------------------------------------------------------------- bench
#
# Real runs of the suites at --quick scale on asyncio's loop and tideloop:
# smoke tests of the command (tables and JSON have the expected rows), not
# speed targets (no timing is asserted).

BENCH = REPO / "bench"
needs_bench = pytest.mark.skipif(not (BENCH / "suites.py").exists(), reason="bench/ is not in this checkout")
PAIR = "asyncio,tideloop"


def bench_run(tmp_path, *args, env=None):
    """``tideloop bench ARGS --json FILE`` (plain output: no terminal); return (proc, saved JSON)."""
    out = tmp_path / "bench.json"
    args = list(args)
    cut = args.index("--") if "--" in args else len(args)  # after --, options are the script's
    args[cut:cut] = ["--json", str(out)]
    proc = tideloop_cli("bench", *args, env=env or clean_env(), timeout=300)
    saved = json.loads(out.read_text()) if out.exists() else None
    return proc, saved


def suite_tables(saved, name):
    """The tables of suite *name* shown on a terminal (not the long detail ones)."""
    return [t for t in saved["suites"][name]["blocks"]["tables"] if not t["detail"]]


def assert_cells_measured(table, loops=("asyncio", "tideloop")):
    """Every row has a figure (not FAILED / - / error) in each loop's column."""
    for loop in loops:
        col = table["headers"].index(loop)
        for row in table["rows"]:
            assert row[col] not in ("FAILED", "-", "error", "n/a", ""), (loop, row)


@needs_bench
def test_bench_udp_quick(tmp_path):
    proc, saved = bench_run(tmp_path, "udp", "--quick", "--loops", PAIR)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rec = saved["suites"]["udp"]
    assert rec["status"] == "ok"
    (table,) = suite_tables(saved, "udp")
    assert table["headers"][:4] == ["mode", "size", "asyncio us/rt", "tideloop us/rt"]
    assert [r[:2] for r in table["rows"]] == [["pingpong", "64 B"], ["pingpong", "1024 B"],
                                              ["burst", "64 B"], ["burst", "1024 B"]]
    for row in table["rows"]:
        assert all(float(c.replace(",", "")) > 0 for c in row[2:6]), row
    assert proc.stdout.rstrip().endswith("suites: udp ok (%d s)" % round(rec["seconds"]))


@pytest.fixture(scope="module")
def processes_run(tmp_path_factory):
    """One quick run of the processes suite, shared by the report-format tests."""
    return bench_run(tmp_path_factory.mktemp("bench"), "processes", "--quick", "--loops", PAIR)


@needs_bench
def test_bench_processes_quick(processes_run):
    proc, saved = processes_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rec = saved["suites"]["processes"]
    assert rec["status"] == "ok"
    assert rec["argv"][:4] == ["--scale", "0.02", "--repeat", "1"]  # --quick's options
    table, cpu = suite_tables(saved, "processes")
    for t in (table, cpu):
        assert t["headers"] == ["case", "asyncio", "tideloop"]  # no peer asked for: no verdict column
        assert [r[0].split(" [")[0] for r in t["rows"]] == ["spawn", "spawn50", "cat"]
        assert_cells_measured(t)
    assert [r[0].split("] ")[1] for r in cpu["rows"]] == ["us/process", "us/process", "ms/MiB"]
    assert "CPU (user + system)" in cpu["title"]
    assert "== processes:" in proc.stdout and "spawn50 [20 processes]" in proc.stdout
    assert proc.stdout.rstrip().endswith("suites: processes ok (%d s)" % round(rec["seconds"]))
    # plain progress lines on stderr: suite / case / loop / repetition
    assert "[processes 6/6] cat [2 MiB] · tideloop · rep 1/1: " in proc.stderr


@needs_bench
def test_bench_micro_quick(tmp_path):
    proc, saved = bench_run(tmp_path, "micro", "--quick", "--loops", PAIR)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = saved["suites"]["micro"]["data"]
    assert data["meta"]["loops"] == ["asyncio", "tideloop"] and data["meta"]["repeat"] == 1
    wall, cpu = suite_tables(saved, "micro")
    for table in (wall, cpu):
        assert table["headers"] == ["benchmark", "asyncio", "tideloop"]
        assert len(table["rows"]) == len(data["meta"]["bench"]) == 9
        assert_cells_measured(table)
    assert wall["rows"][0][0].startswith("call_soon chain [20k callbacks]")
    assert "ops/s (wall clock)" in proc.stdout and "ops per CPU-second" in proc.stdout


@needs_bench
def test_bench_options_after_double_dash_go_to_the_script(tmp_path):
    proc, saved = bench_run(tmp_path, "micro", "--quick", "--loops", PAIR, "--", "--bench", "chain,timers")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert saved["suites"]["micro"]["argv"][-2:] == ["--bench", "chain,timers"]
    wall, _cpu = suite_tables(saved, "micro")
    assert [r[0].split(" [")[0] for r in wall["rows"]] == ["call_soon chain", "timers (half cancelled)"]


@needs_bench
def test_bench_echo_quick(tmp_path):
    if shutil.which("gcc") is None and not (REPO / "build" / "bench" / "echo_client").exists():
        pytest.skip("gcc is not installed (the echo suite builds its C client)")
    proc, saved = bench_run(tmp_path, "echo", "--quick", "--loops", PAIR)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rec = saved["suites"]["echo"]
    assert rec["status"] == "ok"
    (compact,) = suite_tables(saved, "echo")
    assert compact["headers"][:6] == ["mode", "size", "conns", "asyncio", "tideloop", "C"]
    assert [r[0] for r in compact["rows"]] == ["streams", "Protocol", "BufferedProtocol", "sock_recv/sendall"]
    assert all(r[1:3] == ["1 KiB", "10"] for r in compact["rows"])
    assert_cells_measured(compact, ("asyncio", "tideloop", "C"))
    ok = {(r["loop"], r["mode"]) for r in rec["data"]["results"] if r["status"] == "ok"}
    assert {("tideloop", m) for m in ("streams", "protocol", "buffered", "sock")} <= ok
    # the full table is in the JSON (and --markdown), not on the terminal
    assert any(t["detail"] for t in rec["blocks"]["tables"])
    assert "Server CPU time per request" in proc.stdout and "Echo over TCP loopback" not in proc.stdout
    assert "target (Protocol 1 KiB within 1.15x of the C server" in proc.stdout


@needs_bench
def test_bench_http_quick(tmp_path):
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed")
    pytest.importorskip("httptools", reason="httptools is not installed (the bench extra)")
    proc, saved = bench_run(tmp_path, "http", "--quick", "--loops", PAIR)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (table,) = suite_tables(saved, "http")
    assert [r[0] for r in table["rows"]] == ["asyncio", "tideloop"]
    cpu = table["headers"].index("CPU us/req")
    assert all(float(r[cpu]) > 0 for r in table["rows"])
    assert "wrk -t1 -c100" in proc.stdout


@needs_bench
def test_bench_missing_tool_is_a_clear_skip(tmp_path):
    # No wrk on this PATH (nor anything else): the suite says what to install.
    empty = tmp_path / "empty-path"
    empty.mkdir()
    proc, saved = bench_run(tmp_path, "http", "--quick", "--loops", PAIR, env=clean_env(PATH=str(empty)))
    assert saved["suites"]["http"]["status"] == "skipped"
    assert "wrk is not installed" in saved["suites"]["http"]["reason"]
    assert "skipped: wrk is not installed: apt-get" in proc.stdout
    assert proc.returncode == 1  # a suite named on the command line did not run


@needs_bench
def test_bench_missing_loops_are_skipped_with_a_note(tmp_path):
    # uvloop and rloop are not installed on every Python (3.12/3.13 here):
    # each is either measured or named as skipped, never a crash.
    proc, saved = bench_run(tmp_path, "processes", "--quick", "--loops", "asyncio,uvloop,rloop,tideloop",
                            "--", "--cases", "spawn")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    table, _cpu = suite_tables(saved, "processes")
    for peer in ("uvloop", "rloop"):
        try:
            __import__(peer)
        except ImportError:
            assert peer not in table["headers"]
            assert f"skipped: {peer} (ModuleNotFoundError" in proc.stdout
        else:
            assert peer in table["headers"]
            assert "tideloop vs best peer" in table["headers"]


@needs_bench
def test_bench_report_markdown_and_plain(processes_run, tmp_path):
    _proc, saved = processes_run
    path = tmp_path / "saved.json"
    path.write_text(json.dumps(saved))
    md = tideloop_cli("bench", "--report", str(path), "--markdown")
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith("**tideloop bench, ")
    assert "### processes: " in md.stdout
    assert "| case | asyncio | tideloop |\n|---|---|---|\n| spawn [20 processes] | " in md.stdout
    plain = tideloop_cli("bench", "--report", str(path), "--plain")
    assert plain.returncode == 0, plain.stderr
    assert "case                    asyncio        tideloop" in plain.stdout


@needs_bench
def test_bench_rich_progress_on_a_terminal(tmp_path):
    pytest.importorskip("rich", reason="rich is not installed (the cli extra)")
    # stderr is a terminal (the progress bar), stdout a pipe (plain tables).
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "tideloop", "bench", "processes", "--quick",
                                 "--loops", PAIR, "--", "--cases", "spawn"],
                                stdout=subprocess.PIPE, stderr=slave, text=True, env=clean_env(COLUMNS="120"))
        os.close(slave)
        drawn = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            drawn += chunk
        out = proc.communicate(timeout=120)[0]
    finally:
        os.close(master)
    assert proc.returncode == 0, out + drawn.decode(errors="replace")
    screen = drawn.decode(errors="replace")
    assert "\x1b[" in screen  # drawn with terminal control sequences, not printed as lines
    assert "processes" in screen and "done in" in screen
    assert "[processes 1/2]" not in screen  # not the plain fallback
    assert "spawn [20 processes]" in out and "suites: processes ok" in out


# A suite script in the style of the others but without collect/report_blocks:
# it times call_soon on each loop and prints its own table.
TOY_SUITE = textwrap.dedent("""\
    import argparse, json, os, sys, time
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from micro_loops import new_loop

    p = argparse.ArgumentParser()
    p.add_argument("--loops", default="asyncio,tideloop")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--n", type=int, default=100000)
    p.add_argument("--json")
    p.add_argument("--markdown", action="store_true")
    args = p.parse_args()
    rows = {}
    for name in args.loops.split(","):
        loop = new_loop(name)
        t0 = time.perf_counter()
        for _ in range(args.n):
            loop.call_soon(lambda: None)
        loop.call_soon(loop.stop)
        loop.run_forever()
        loop.close()
        rows[name] = args.n / (time.perf_counter() - t0)
        print(f"toy: {name} done", file=sys.stderr)
    sep = " | " if args.markdown else "  "
    print("toy call_soon" + sep + sep.join(f"{k} {v:.0f}/s" for k, v in rows.items()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"ops_s": rows, "repeat": args.repeat}, f)
""")


def bench_checkout_copy(root):
    """A copy of bench/ in *root* (its own build/, no C binaries yet) and of the package in
    *root*/site, outside the checkout: ``tideloop bench`` run in *root* uses ./bench/."""
    shutil.copytree(BENCH, root / "bench", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(pathlib.Path(tideloop.__file__).parent, root / "site" / "tideloop",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return str(root / "site")


@needs_bench
def test_bench_a_script_without_hooks_is_one_registration_line(tmp_path):
    site = bench_checkout_copy(tmp_path)
    (tmp_path / "bench" / "toy.py").write_text(TOY_SUITE)
    suites = tmp_path / "bench" / "suites.py"
    suites.write_text(suites.read_text().replace(
        "SUITES = (\n", 'SUITES = (\n    Suite("toy", "toy.py", "a toy", quick=("--n", "1000", "--repeat", "1")),\n'))
    proc = subprocess.run([sys.executable, "-m", "tideloop", "bench", "toy", "--quick", "--loops", PAIR,
                           "--json", "run.json"], cwd=tmp_path, env=clean_env(PYTHONPATH=site),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    saved = json.loads((tmp_path / "run.json").read_text())
    rec = saved["suites"]["toy"]
    assert rec["status"] == "ok"
    assert rec["argv"] == ["--n", "1000", "--repeat", "1", "--loops", PAIR]
    assert set(rec["data"]["ops_s"]) == {"asyncio", "tideloop"}  # the script's own --json
    assert "toy call_soon  asyncio " in proc.stdout  # its report, as it printed it
    assert "[toy] toy: tideloop done" in proc.stderr  # its stderr lines are the progress
    assert "suites: toy ok" in proc.stdout


@needs_bench
def test_bench_echo_without_gcc_says_what_to_install(tmp_path):
    # A fresh copy has no built C client; with no gcc on PATH the suite is skipped.
    site = bench_checkout_copy(tmp_path)
    empty = tmp_path / "empty-path"
    empty.mkdir()
    proc = subprocess.run([sys.executable, "-m", "tideloop", "bench", "echo", "--quick", "--loops", PAIR],
                          cwd=tmp_path, env=clean_env(PYTHONPATH=site, PATH=str(empty)),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "skipped: gcc is needed to build the C load generator and server (apt-get install gcc)" in proc.stdout
    assert not (tmp_path / "build" / "bench" / "echo_client").exists()


def test_bench_help_lists_the_suites():
    proc = tideloop_cli("bench", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "usage: tideloop bench [suite ...] [--quick]" in proc.stdout
    if (BENCH / "suites.py").exists():
        for name in ("micro", "processes", "echo", "http", "udp"):
            assert f"\n  {name} " in proc.stdout


@pytest.mark.parametrize("args, message", [
    (["nope"], "unknown suite 'nope'"),
    (["--loops", "asyncio,nope"], "unknown loop 'nope'"),
    (["micro", "echo", "--", "--scale", "1"], "options after -- go to one suite"),
    (["--repeat", "0"], "--repeat must be >= 1"),
])
@needs_bench
def test_bench_usage_errors(args, message):
    proc = tideloop_cli("bench", *args)
    assert proc.returncode == 2
    assert message in proc.stderr


def test_bench_without_source_tree_says_how(tmp_path):
    # A copy of the package outside any checkout, as an installed wheel would be.
    site = tmp_path / "site" / "lib"
    shutil.copytree(pathlib.Path(tideloop.__file__).parent, site / "tideloop",
                    ignore=shutil.ignore_patterns("__pycache__"))
    proc = subprocess.run([sys.executable, "-m", "tideloop", "bench"], cwd=tmp_path,
                          env=clean_env(PYTHONPATH=str(site)), capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1
    assert "bench/micro.py was not found" in proc.stderr
    assert "checkout" in proc.stderr

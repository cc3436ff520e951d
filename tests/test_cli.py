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


def test_bench_runs_micro_from_the_source_tree():
    if not (REPO / "bench" / "micro.py").exists():
        pytest.skip("bench/micro.py is not in this checkout")
    proc = tideloop_cli("bench", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "micro.py" in proc.stdout


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

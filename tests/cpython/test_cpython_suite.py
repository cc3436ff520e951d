"""CPython's own test.test_asyncio, one pytest test per module and loop.

Each case runs ``tests/cpython/run.py --loop <loop> <module>`` in a fresh
interpreter (the CPython tests change global asyncio state: policies,
child watchers, running-loop hooks) and fails if any test in that module
failed or errored, listing each with its one-line symptom.  The [asyncio]
half checks the harness itself: on asyncio's own loop everything must pass.
"""
import ast
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
RUN = os.path.join(HERE, "run.py")


def _modules_in_scope():
    """run.py's MODULES tuple, read without importing run.py into pytest."""
    with open(RUN) as fh:
        tree = ast.parse(fh.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                getattr(t, "id", None) == "MODULES" for t in node.targets):
            return ast.literal_eval(node.value)
    raise LookupError("run.py defines no MODULES")


MODULES = _modules_in_scope()

try:
    import tideloop  # noqa: F401
except ImportError:  # the compiled core is not built: run asyncio's half only
    HAVE_TIDELOOP = False
else:
    HAVE_TIDELOOP = True


@pytest.mark.timeout(300)
@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("loop_name", ["tideloop", "asyncio"])
def test_cpython_module(loop_name, module, tmp_path):
    """Every applicable test of CPython's test_asyncio.<module> passes on the loop."""
    if loop_name == "tideloop" and not HAVE_TIDELOOP:
        pytest.skip("tideloop's compiled core is not built")
    out = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, RUN, "--loop", loop_name,
         "--json", str(out), "--timeout", "120", module],
        capture_output=True, text=True, timeout=290,
    )
    if not out.exists():  # crashed or hung (the per-test guard exits the process)
        pytest.fail(f"run.py exited {proc.returncode} without results\n"
                    f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-8000:]}")
    row = json.loads(out.read_text())["modules"][0]
    problems = "\n".join(f"{p['kind']} {p['id']}: {p['symptom']}" for p in row["problems"])
    details = "\n\n".join(p["traceback"] for p in row["problems"])
    assert not row["problems"], (
        f"{len(row['problems'])} of {row['run']} tests failed on {loop_name}:\n"
        f"{problems}\n\n{details[-8000:]}")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert row["run"] > 0

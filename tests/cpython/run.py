"""Run CPython's own test.test_asyncio modules against tideloop (or asyncio's loop).

    python tests/cpython/run.py [--loop tideloop|asyncio] [-v] [modules...]

Modules are short names (``test_tasks``); the default is every module in
scope (MODULES).  Prints per-module counts and a total, and exits non-zero if
any test failed or errored.  ``--json FILE`` also writes the results, failures
with a one-line symptom each, for tools (tests/cpython/test_cpython_suite.py).

How the loop gets in: harness.py (a policy for everything that asks asyncio
for a loop) and retarget.py (classes that name a loop class).  What is skipped
and why: skips.py.  The "on_loop" column counts tests that ran on a loop
under test; "test_loop" those that ran on asyncio's fake-clock
test_utils.TestLoop (scripted virtual time); the rest exercise asyncio's own
base loop (mocked BaseEventLoop) or loop-independent code (Handle reprs,
policies, task registries).
"""
import argparse
import faulthandler
import fnmatch
import importlib
import json
import os
import signal
import sys
import tempfile
import time
import traceback
import unittest
import warnings

import harness
import retarget
import skips

# Issue 2's scope; network, pipes, subprocess and signal modules come later.
MODULES = (
    "test_tasks",
    "test_futures",
    "test_futures2",
    "test_locks",
    "test_queues",
    "test_timeouts",
    "test_taskgroups",
    "test_waitfor",
    "test_pep492",
    "test_context",
    "test_runners",
    "test_threads",
    "test_sock_lowlevel",
    "test_events",
    "test_base_events",
    # Issue 4: processes, pipes and signals.
    "test_subprocess",
    "test_unix_events",
    # Issue 3: network transports, servers, TLS, sendfile.
    "test_streams",
    "test_server",
    "test_buffered_proto",
    "test_sendfile",
    "test_ssl",
    "test_sslproto",
)

PREFIX = "test.test_asyncio."


def short_id(test):
    """``module.Class.test_name`` for a unittest test (or subtest)."""
    test = getattr(test, "test_case", test)  # a subtest reports as its parent
    tid = test.id()
    return tid[len(PREFIX):] if tid.startswith(PREFIX) else tid


def skip_reason(tid, version=None):
    """The skips.py reason for test id *tid* on this Python, or None."""
    version = version or "%d.%d" % sys.version_info[:2]
    if tid in skips.SKIPS:  # an exact entry wins over patterns (None: run it)
        reason = skips.SKIPS[tid]
    else:
        reason = None
        for pattern, value in skips.SKIPS.items():
            if any(c in pattern for c in "*?[") and fnmatch.fnmatchcase(tid, pattern):
                reason = value
                break
    if isinstance(reason, dict):
        reason = reason.get(version)
    return reason


def iter_tests(suite):
    """Every TestCase instance in *suite*, depth first."""
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from iter_tests(item)
        else:
            yield item


def apply_skips(suite):
    """Mark the tests listed in skips.py as skipped (setUp never runs for them)."""
    for test in iter_tests(suite):
        reason = skip_reason(short_id(test))
        if reason is None:
            continue
        method = getattr(test, test._testMethodName)

        def skipped(*args, _reason=reason, **kwargs):  # pragma: no cover
            raise unittest.SkipTest(_reason)

        skipped.__unittest_skip__ = True
        skipped.__unittest_skip_why__ = reason
        skipped.__name__ = method.__name__
        setattr(test, test._testMethodName, skipped)


def symptom(err):
    """One line saying how a test failed: the exception's last line, shortened."""
    exc_type, exc, tb = err
    lines = traceback.format_exception_only(exc_type, exc)
    line = " ".join(part.strip() for part in "".join(lines).strip().splitlines())
    return line if len(line) <= 300 else line[:297] + "..."


class Result(unittest.TestResult):
    """Collects per-test outcomes, the loops each test made, and symptoms."""

    def __init__(self, stream=None, verbose=False, timeout=None):
        super().__init__()
        self.verbose = verbose
        self.timeout = timeout
        self.outcomes = {}      # test id -> outcome
        self.on_loop = set()    # ids of tests that ran on a loop under test
        self.test_loop = set()  # ids of tests that ran on asyncio's fake-clock TestLoop
        self.problems = []      # (id, 'FAIL'|'ERROR', symptom, traceback)
        self.skip_reasons = {}  # id -> reason
        self._start_loops = 0
        self._start_test_loops = 0
        self._current = None
        self._t0 = 0.0

    def startTest(self, test):
        super().startTest(test)
        self._current = test
        self._start_loops = harness.loops_created()
        self._start_test_loops = harness.test_loops_created()
        self._t0 = time.monotonic()
        if self.timeout:
            # A hang in the loop must not freeze the whole run: dump every
            # thread's stack and exit, so the hang is visible and attributable.
            faulthandler.dump_traceback_later(self.timeout, exit=True)

    def stopTest(self, test):
        if self.timeout:
            faulthandler.cancel_dump_traceback_later()
        tid = short_id(test)
        # 3.12+ calls stopTest (but not startTest) for a skipped test.
        started, self._current = self._current is test, None
        if started and harness.test_loops_created() > self._start_test_loops:
            # Made asyncio's fake-clock TestLoop and ran the test on it (a
            # loop under test made by a shared setUp stays unused).
            self.test_loop.add(tid)
        elif started and harness.loops_created() > self._start_loops:
            self.on_loop.add(tid)
        self.outcomes.setdefault(tid, "pass")
        if self.verbose:
            took = f" ({time.monotonic() - self._t0:.2f}s)" if started else ""
            print(f"  {tid} ... {self.outcomes[tid]}{took}", flush=True)
        super().stopTest(test)

    def _problem(self, test, kind, err):
        tid = short_id(test)
        self.outcomes[tid] = kind.lower()
        self.problems.append((tid, kind, symptom(err), self._exc_info_to_string(err, test)))

    def addError(self, test, err):
        super().addError(test, err)
        self._problem(test, "ERROR", err)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._problem(test, "FAIL", err)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            kind = "FAIL" if issubclass(err[0], test.failureException) else "ERROR"
            self._problem(subtest, kind, err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        tid = short_id(test)
        self.outcomes[tid] = "skip"
        self.skip_reasons[tid] = reason

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        tid = short_id(test)
        self.outcomes[tid] = "error"
        self.problems.append((tid, "ERROR", "unexpected success", ""))


def skip_category(reason):
    """'private', 'later', or 'upstream' (a skip decided by the test itself)."""
    if reason.startswith("private:"):
        return "private"
    if reason.startswith("later issue"):
        return "later"
    return "upstream"


def run_module(name, *, verbose=False, use_skips=True, timeout=None):
    """Run one test_asyncio module; return its counts and problems as a dict."""
    module = importlib.import_module(PREFIX + name)
    retarget.retarget(module)
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    if use_skips:
        apply_skips(suite)
    result = Result(verbose=verbose, timeout=timeout)
    t0 = time.monotonic()
    with warnings.catch_warnings():
        suite.run(result)
    elapsed = time.monotonic() - t0
    outcomes = list(result.outcomes.values())
    cats = {"private": 0, "later": 0, "upstream": 0}
    for reason in result.skip_reasons.values():
        cats[skip_category(reason)] += 1
    return {
        "module": name,
        "run": len(outcomes),
        "passed": outcomes.count("pass"),
        "failed": outcomes.count("fail"),
        "errors": outcomes.count("error"),
        "skipped": outcomes.count("skip"),
        "skipped_private": cats["private"],
        "skipped_later": cats["later"],
        "skipped_upstream": cats["upstream"],
        "on_loop": len(result.on_loop),
        "on_loop_passed": sum(1 for t in result.on_loop if result.outcomes.get(t) == "pass"),
        "on_loop_ids": sorted(result.on_loop),
        "test_loop": len(result.test_loop),
        "test_loop_ids": sorted(result.test_loop),
        "off_loop_ids": sorted(set(result.outcomes) - result.on_loop - result.test_loop),
        "seconds": round(elapsed, 2),
        "problems": [
            {"id": tid, "kind": kind, "symptom": sym, "traceback": tb}
            for tid, kind, sym, tb in result.problems
        ],
        "skips": result.skip_reasons,
        # With --no-skips: skips.py entries whose test passed anyway (stale).
        "skip_listed_passed": sorted(
            tid for tid, outcome in result.outcomes.items()
            if outcome == "pass" and not use_skips and skip_reason(tid) is not None),
    }


COLUMNS = ("run", "passed", "failed", "errors", "skipped", "on_loop", "test_loop", "seconds")


def print_table(rows, loop):
    """Print the per-module counts and the total."""
    head = f"{'module':<20}" + "".join(f"{c:>10}" for c in COLUMNS)
    print(f"\nCPython test_asyncio on {loop} (Python {sys.version.split()[0]})")
    print(head)
    print("-" * len(head))
    total = {c: 0 for c in COLUMNS}
    for row in rows:
        print(f"{row['module']:<20}" + "".join(f"{row[c]:>10}" for c in COLUMNS))
        for c in COLUMNS:
            total[c] += row[c]
    print("-" * len(head))
    total["seconds"] = round(total["seconds"], 1)
    print(f"{'total':<20}" + "".join(f"{total[c]:>10}" for c in COLUMNS))
    private = sum(r["skipped_private"] for r in rows)
    later = sum(r["skipped_later"] for r in rows)
    upstream = sum(r["skipped_upstream"] for r in rows)
    print(f"skipped: {private} private-internals, {later} later issue, "
          f"{upstream} by the test itself (platform/feature)")


def print_stale_skips(rows):
    """With --no-skips: list skips.py entries that passed (candidates to drop)."""
    stale = [t for row in rows for t in row["skip_listed_passed"]]
    if stale:
        print(f"\n{len(stale)} skip-listed test(s) passed (drop their skips.py entry "
              "if that holds on every Python):")
        for tid in stale:
            print(f"  {tid}: {skip_reason(tid)}")


def print_problems(rows, tracebacks):
    """List every failure/error: test id and one-line symptom (and traceback)."""
    problems = [p for row in rows for p in row["problems"]]
    if not problems:
        return
    print(f"\n{len(problems)} problem(s):")
    for p in problems:
        print(f"  {p['kind']:<5} {p['id']}: {p['symptom']}")
        if tracebacks and p["traceback"]:
            print("    " + p["traceback"].rstrip().replace("\n", "\n    "))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help=f"default: all of {', '.join(MODULES)}")
    parser.add_argument("--loop", choices=harness.LOOP_NAMES, default="tideloop")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per test")
    parser.add_argument("--tb", action="store_true", help="print full tracebacks of failures")
    parser.add_argument("--no-skips", action="store_true",
                        help="ignore skips.py (and list skip-listed tests that pass)")
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="per-test hang guard in seconds (0: none); default 120")
    args = parser.parse_args(argv)

    modules = args.modules or list(MODULES)
    for name in modules:
        if name not in MODULES:
            parser.error(f"{name!r} is not in scope; choose from {', '.join(MODULES)}")

    # A shell starts a background job (`cmd &`) with SIGINT ignored, and Python
    # then leaves it ignored.  test_runners' interrupt tests (interrupt_main()
    # inside asyncio.run) would wait forever, on asyncio's loop as on ours.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    harness.install(args.loop)
    rows = []
    # Tests write scratch files (os_helper.TESTFN) into the current directory.
    with tempfile.TemporaryDirectory(prefix="tideloop-cpython-") as scratch:
        cwd = os.getcwd()
        os.chdir(scratch)
        try:
            for name in modules:
                if args.verbose:
                    print(f"{name}:", flush=True)
                rows.append(run_module(name, verbose=args.verbose,
                                       use_skips=not args.no_skips,
                                       timeout=args.timeout or None))
        finally:
            os.chdir(cwd)

    print_table(rows, args.loop)
    print_problems(rows, args.tb)
    print_stale_skips(rows)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"loop": args.loop, "python": sys.version.split()[0], "modules": rows},
                      fh, indent=1)
    bad = sum(r["failed"] + r["errors"] for r in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

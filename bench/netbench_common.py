"""What the network benchmarks share: the loops, server start-up, /proc CPU time, gcc, tables.

The echo driver (bench/echo.py) and the HTTP driver (bench/http.py) both start
one server process per loop pinned to CPU 0, wait for its ``READY <port>``
line (or its ``NA <reason>`` line when the loop lacks what the mode needs),
load it from CPU 1, and bill the server's utime+stime over the measured window
to the requests served in it.
"""
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD_DIR = os.path.join(ROOT, "build", "bench")

# The loops, their order, the peers and how to make one: the micro benchmarks' own.
sys.path.insert(0, HERE)
from micro_loops import LOOP_NAMES, PEERS, loop_version, new_loop  # noqa: E402,F401

SERVER_CPU = "0"  # the server runs here ...
CLIENT_CPU = "1"  # ... and the load generator here

CLK_TCK = os.sysconf("SC_CLK_TCK")

# Variables that would slow one loop down behind the benchmark's back (the
# tick setting too: the benchmark measures tideloop's default).
_DEBUG_VARS = ("PYTHONASYNCIODEBUG", "PYTHONDEVMODE", "PYTHONTRACEMALLOC", "TIDELOOP_KEEP_TICK")


def probe_loops(names):
    """Map each loop name to ``(version, None)`` or ``(None, reason it is unusable)``.

    Each probe runs in a fresh interpreter so a broken build cannot take the
    driver down with it.
    """
    result = {}
    for name in names:
        code = f"import sys; sys.path.insert(0, {HERE!r}); import netbench_common as c; print(c.loop_version({name!r}))"
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=clean_env(), timeout=60)
        if proc.returncode == 0:
            result[name] = (proc.stdout.strip(), None)
        else:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            result[name] = (None, lines[-1] if lines else f"exit status {proc.returncode}")
    return result


# A point counts as won or lost only when a one-sided sign test over the
# paired repetitions says so at this level (5 of 5, 7 of 8, 8 of 9 ...).
SIGN_TEST_ALPHA = 0.05
VERDICT_RULE = ("verdict: tideloop against each peer, repetition by repetition (each pair ran in the same round, seconds apart); "
                "ahead or BEHIND when a one-sided sign test gives p < 0.05 (5 of 5, 7 of 8, 8 of 9), "
                "else tie; ahead of both peers counts for the target; (rloop 5/5) = lower in 5 of 5 pairs; "
                "[0.91, 1.02] = the interval the same test puts around the median of tideloop's CPU over the peer's, "
                "pair by pair: ahead exactly when it lies below 1, so a tie's interval bounds the difference it can hide")


def sign_test_p(wins, n):
    """One-sided sign test: the chance of *wins* or more heads in *n* fair coin flips."""
    return sum(math.comb(n, k) for k in range(wins, n + 1)) / 2 ** n


def _pairs(tide, peer):
    """The repetitions both servers completed, as (tideloop's, the other's) samples."""
    return [(t, p) for t, p in zip(tide, peer) if t is not None and p is not None]


def paired_verdict(tide, peer):
    """"ahead", "BEHIND" or "tie" of tideloop's samples against one peer's (lower is better).

    Repetitions are interleaved, so the i-th sample of every server of a point
    ran seconds apart under the same machine load: the pairs cancel the drift
    between repetitions that makes whole ranges overlap. "ahead" when tideloop
    is lower in so many pairs that a one-sided sign test gives p < 0.05 (an
    equal pair counts for neither); "BEHIND" likewise the other way. Fewer than
    five repetitions can never decide. A repetition that either server
    failed (None) makes no pair.
    Returns (state, wins, pairs).
    """
    pairs = _pairs(tide, peer)
    wins = sum(t < p for t, p in pairs)
    losses = sum(t > p for t, p in pairs)
    if pairs and sign_test_p(wins, len(pairs)) < SIGN_TEST_ALPHA:
        return "ahead", wins, len(pairs)
    if pairs and sign_test_p(losses, len(pairs)) < SIGN_TEST_ALPHA:
        return "BEHIND", wins, len(pairs)
    return "tie", wins, len(pairs)


def paired_ratio_interval(tide, peer):
    """The sign test's interval for the median of tideloop's sample over the peer's, pair by pair: (low, high) or None.

    Distribution-free (order statistics of the ratios): with k the largest
    count for which k - 1 or fewer heads in n fair flips has a chance below
    SIGN_TEST_ALPHA, the interval runs from the k-th smallest ratio to the
    k-th largest. Each bound fails with a chance below SIGN_TEST_ALPHA, and
    the high bound is below 1 exactly when paired_verdict() says "ahead" (the
    low one above 1 exactly when "BEHIND"), so a tie's interval says how large
    a difference the repetitions could not rule out. None with fewer than
    five pairs, which cannot decide.
    """
    ratios = sorted(t / p for t, p in _pairs(tide, peer))
    n = len(ratios)
    k = 0
    # P(k or fewer heads) is P(n - k or more): the very tail paired_verdict() tests.
    while k < n and sign_test_p(n - k, n) < SIGN_TEST_ALPHA:
        k += 1
    if k == 0:
        return None
    return ratios[k - 1], ratios[n - k]


def interval_text(tide, other):
    """paired_ratio_interval() as report text, " [0.81, 0.97]", or "" when it is None."""
    interval = paired_ratio_interval(tide, other)
    return f" [{interval[0]:.2f}, {interval[1]:.2f}]" if interval else ""


def verdict_against(tide, peers):
    """tideloop's verdict against every peer at once: ahead only when ahead of each, BEHIND when behind any.

    *tide* and *peers* are result rows with ``cpu_us_samples`` in repetition
    order. Returns (state, text): text names each peer's wins and the
    interval of the ratio (paired_ratio_interval), "rloop 5/5 [0.81, 0.97]".
    """
    states, parts = [], []
    for peer in peers:
        state, wins, n = paired_verdict(tide["cpu_us_samples"], peer["cpu_us_samples"])
        states.append(state)
        parts.append(f"{peer['loop']} {wins}/{n}{interval_text(tide['cpu_us_samples'], peer['cpu_us_samples'])}")
    if "BEHIND" in states:
        state = "BEHIND"
    elif states and all(s == "ahead" for s in states):
        state = "ahead"
    else:
        state = "tie"
    return state, ", ".join(parts)


def any_failure(results):
    """True when a server failed its check, the run, or any repetition (a result row's ``failures``)."""
    return any(r["status"] == "FAILED" or r.get("failures") for r in results)


def summary_row(row, got, failed, repeat, medians, sums, unavailable):
    """Fill *row* from one server's completed repetitions *got* ({repetition: result}) and return it.

    The median of each key of *medians* and the total of each of *sums*;
    ``cpu_us_samples`` has one entry per repetition, None where the server
    failed it, so the pairs with the other servers stay aligned. *failed*
    (["rep N: error", ...]) goes in as ``failures``. With no repetition
    completed, the row's status and error are *unavailable* (status, why).
    """
    if failed:
        row["failures"] = failed
    if not got:
        row["status"], row["error"] = unavailable
        return row
    row["status"] = "ok"
    for key in medians:
        row[key] = statistics.median(r[key] for r in got.values())
    row["cpu_us_samples"] = [got[i]["cpu_us"] if i in got else None for i in range(repeat)]
    for key in sums:
        row[key] = sum(r[key] for r in got.values())
    return row


def run_order(items, block_of, rng):
    """*items* for one round, each twice: blocks in random order, each block then its mirror.

    A fixed order gives every server the same neighbour every time (tideloop
    always right after rloop, say), and whatever the one before leaves behind
    (a warm or cold cache, the client's wake-up) falls on the same server in
    every pair. Shuffling removes that bias; keeping a block (one mode's
    servers) together keeps the servers compared pair by pair seconds apart.

    Each block runs forward then backward (A B C C B A) and every server's
    figure for the round is the sum of its two half windows: the two halves'
    midpoint is the same instant for every server of the block, so a drift of
    the shared machine's speed over the block's seconds (a neighbour's load
    ramping up or down) cancels instead of landing on whoever ran last. On
    this VM that took the spread of an A/A pair (two identical tideloop
    servers) from 5.8-8.3% to 0.5-2.9% (docs/PERFORMANCE.md, Method).
    """
    blocks = {}
    for item in items:
        blocks.setdefault(block_of(item), []).append(item)
    groups = list(blocks.values())
    rng.shuffle(groups)
    order = []
    for group in groups:
        rng.shuffle(group)
        order += group + group[::-1]
    return order


def merge_halves(first, second, add, weighted):
    """A server's result for one repetition from its two half windows (see ``run_order``).

    The counts and times in *add* (requests, seconds and server CPU among
    them) are summed, so requests/s and CPU/request are those of the whole
    window; a latency percentile in *weighted* is the two halves' mean
    weighted by requests (load generators report percentiles, not their
    histograms). Other keys come from the first half.
    """
    merged = dict(first)
    for key in add:
        merged[key] = first[key] + second[key]
    for key in weighted:
        if first.get(key) is not None and second.get(key) is not None:
            merged[key] = (first[key] * first["requests"] + second[key] * second["requests"]) / merged["requests"]
    merged["rps"] = merged["requests"] / merged["seconds"]
    return merged


def order_note(meta):
    """", servers in random order (seed N)" for a saved run that shuffled its servers."""
    return f", servers in random order (seed {meta['seed']})" if "seed" in meta else ""


def clean_env():
    """The environment for servers: the driver's, without asyncio debug switches or TIDELOOP_KEEP_TICK."""
    env = dict(os.environ)
    for var in _DEBUG_VARS:
        env.pop(var, None)
    return env


def raise_fd_limit(wanted=20000):
    """Raise this process's soft fd limit (children inherit it) for 1,000+ connections."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def can_pin():
    """True when servers and clients can be pinned to CPUs of their own (taskset, 2+ CPUs)."""
    return shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2


def pinned(cpu, argv):
    """Return *argv* run through ``taskset -c CPU`` (unchanged if it cannot pin, see can_pin)."""
    if not can_pin():
        return list(argv)
    return ["taskset", "-c", cpu, *argv]


def cpu_seconds(pid):
    """CPU time of process *pid* (all its threads) in seconds.

    Read from its CPU-time clock, the scheduler's runtime in ns (the kernel's
    utime+stime are this figure split and rounded down to 10 ms ticks, up to
    2% of a busy server's second); utime+stime from /proc/PID/stat where that
    clock cannot be read.
    """
    try:
        return time.clock_gettime(_process_cpu_clock(pid))
    except (OSError, OverflowError):
        pass
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    # Fields are counted from the last ')': the command name may hold spaces.
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _process_cpu_clock(pid):
    # clock_getcpuclockid(3) of another process, which Python does not wrap:
    # Linux encodes it as ~pid << 3 | CPUCLOCK_SCHED (2), as glibc does.
    return (~pid << 3) | 2


def build_c(name):
    """Compile bench/NAME.c with gcc -O2 into build/bench/NAME (when the source is newer)."""
    src = os.path.join(HERE, name + ".c")
    exe = os.path.join(BUILD_DIR, name)
    if os.path.exists(exe) and os.path.getmtime(exe) >= os.path.getmtime(src):
        return exe
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        raise RuntimeError("gcc is needed to build the C load generator and server (apt-get install gcc)")
    os.makedirs(BUILD_DIR, exist_ok=True)
    subprocess.run([gcc, "-O2", "-Wall", "-o", exe, src], check=True)
    return exe


class ServerProcess:
    """A benchmark server in its own process pinned to SERVER_CPU.

    ``start()`` returns the port it listens on, or raises ``NotAvailable``
    with the server's reason (its ``NA ...`` line, or its stderr's last line).
    """

    def __init__(self, argv, ready_timeout=30.0):
        self.argv = pinned(SERVER_CPU, argv)
        self.ready_timeout = ready_timeout
        self.proc = None
        self.port = None

    def start(self):
        """Start the server and wait for its READY line; return the port."""
        import tempfile

        # stderr goes to a file, not a pipe: a server that logs a lot (one
        # warning per reset connection) must never block on a full pipe.
        self.errfile = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=self.errfile, text=True, env=clean_env(), cwd=ROOT
        )
        deadline = time.monotonic() + self.ready_timeout
        # readline blocks, but a server either prints its line quickly or
        # dies (EOF); the deadline guards against one that hangs silently.
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    self.stop()
                    raise NotAvailable(f"server did not start within {self.ready_timeout:.0f} s")
                line = self.proc.stdout.readline()
                if not line:
                    self.proc.wait()
                    raise NotAvailable(self.stderr_tail())
                if line.startswith("READY "):
                    self.port = int(line.split()[1])
                    return self.port
                if line.startswith("NA "):
                    self.stop()
                    raise NotAvailable(line[3:].strip())
        finally:
            sel.close()

    @property
    def pid(self):
        """The server's process id (taskset execs, so it is the server itself)."""
        return self.proc.pid

    def alive(self):
        """True while the server process runs."""
        return self.proc is not None and self.proc.poll() is None

    def stderr_tail(self):
        """The last line of a dead server's stderr (its traceback's last line)."""
        if self.proc is None or self.alive():
            return ""
        self.errfile.seek(0)
        lines = self.errfile.read().strip().splitlines()
        return lines[-1] if lines else f"exit status {self.proc.returncode}"

    def stop(self):
        """Terminate the server (kill after 5 s) and reap it."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.stdout.close()
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class NotAvailable(Exception):
    """A server that cannot run on this loop (a missing feature, import error, crash)."""


def machine_line():
    """One line describing the machine: CPU model, cores, kernel."""
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Linux {platform.release()}"


def git_commit():
    """The repository's short HEAD commit, or '?'."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        return out.stdout.strip() or "?"
    except OSError:
        return "?"


def fmt_rate(x):
    """Requests/s in a short form: 12.3k, 1.05M."""
    if x is None:
        return "-"
    if x >= 1e6:
        return f"{x / 1e6:.3g}M"
    if x >= 1e3:
        return f"{x / 1e3:.3g}k"
    return f"{x:.3g}"


def fmt_us(x):
    """Microseconds with a unit that fits: 45.1us, 1.23ms."""
    if x is None:
        return "-"
    if x >= 1000:
        return f"{x / 1000:.3g}ms"
    return f"{x:.3g}us"


def print_table(title, headers, rows, markdown=False, left=4):
    """Print one table: markdown, rich (if installed) or plain aligned text.

    The first *left* columns are labels (left-aligned), the rest figures.
    """
    if markdown:
        print(f"\n{title}\n")
        print("| " + " | ".join(headers) + " |")
        print("|" + "|".join("---" for _ in headers) + "|")
        for row in rows:
            print("| " + " | ".join(str(c) for c in row) + " |")
        return
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        Console = None
    if Console is not None:
        table = Table(title=title)
        for i, h in enumerate(headers):
            table.add_column(h, justify="left" if i < left else "right")
        for row in rows:
            table.add_row(*(str(c) for c in row))
        console = Console()
        if not console.is_terminal:
            console = Console(width=220)  # piped to a file: do not squeeze to 80 columns
        console.print(table)
        return
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h)) for i, h in enumerate(headers)]
    print(f"\n{title}")
    print("  ".join(str(h).ljust(w) for h, w in zip(headers, widths)))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))

"""TCP echo benchmarks of asyncio's loop, uvloop, rloop and tideloop, with a C epoll server as the limit.

    python bench/echo.py                                  # 4 loops x 4 modes + C; 1/10/100 KiB x 10/100 conns; x3
    python bench/echo.py --sweep                          # ... plus 1 and 1,000 connections at 1 KiB
    python bench/echo.py --loops uvloop,tideloop --modes protocol --sizes 1024 --conns 10
    python bench/echo.py --markdown --json echo.json      # tables for docs/PERFORMANCE.md + raw results
    python bench/echo.py --report echo.json --markdown    # reprint a saved run

Each server (bench/echo_servers.py for a loop and a mode, or the C server
bench/echo_server.c) runs in its own process pinned to CPU 0; the load
generator (bench/echo_client.c, built here with gcc into build/bench/) runs
pinned to CPU 1. A server's echo is first checked byte for byte (1 B to 1 MiB,
several connections at once, EOF handling); then, for each (message size,
connections) point, the client runs closed-loop (one request in flight per
connection, every echoed byte checked) for a warm-up and a measured window.
All servers stay up for the whole run and take turns (repetition, then point,
then server), so a change in the shared machine's load hits every server of a
point alike; the median of the repetitions is reported. Within a repetition
each mode's servers run forward then backward, each for half the window
(A B C C B A), and a server's figure is the sum of its two halves: a drift
of the machine's speed over those seconds cancels out of every pair.
The server's CPU time per request (its process CPU-time clock, utime+stime
at ns resolution, over that window, divided by the requests in it) is the
figure that stays stable on a noisy shared machine; requests/s and the
latency percentiles are reported too.
"""
import argparse
import datetime
import json
import os
import random
import socket
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, HERE)

import netbench_common as common  # noqa: E402
from suite_api import LineProgress, Unavailable, table  # noqa: E402
from echo_servers import MODES  # noqa: E402

C_SERVER = "C epoll"
MODE_LABELS = {
    "streams": "streams",
    "protocol": "Protocol",
    "buffered": "BufferedProtocol",
    "sock": "sock_recv/sendall",
    None: "C epoll",
}
# Sizes checked before timing: tiny, the benchmark sizes, and more than any
# socket buffer holds (the server must keep reading while it writes).
VERIFY_SIZES = (1, 1024, 10 * 1024, 100 * 1024, 1024 * 1024)


# ------------------------------------------------------------ verification


def _exchange(sock, payload):
    """Send *payload* (from a thread, so a big one cannot deadlock) and read its echo."""
    sender = threading.Thread(target=sock.sendall, args=(payload,), daemon=True)
    sender.start()
    got = bytearray()
    while len(got) < len(payload):
        chunk = sock.recv(len(payload) - len(got))
        if not chunk:
            raise AssertionError(f"connection closed after {len(got)} of {len(payload)} echoed bytes")
        got += chunk
    sender.join()
    return bytes(got)


def verify_echo(port):
    """Check the server on *port* echoes byte for byte; raise AssertionError (or OSError) if not.

    Returns a list of notes on behaviour that is odd but does not stop the
    benchmark (a server that ignores the client's EOF).
    """
    rnd = random.Random(1234)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for size in VERIFY_SIZES:
            payload = rnd.randbytes(size)
            echoed = _exchange(sock, payload)
            if echoed != payload:
                first = next(i for i, (a, b) in enumerate(zip(echoed, payload)) if a != b)
                raise AssertionError(f"{size}-byte message: echo differs from byte {first}")
    # Several connections with requests in flight at once: no bytes cross over.
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(5)]
    try:
        payloads = [rnd.randbytes(4096) for _ in socks]
        for sock, payload in zip(socks, payloads):
            sock.sendall(payload)
        for i, (sock, payload) in enumerate(zip(socks, payloads)):
            got = bytearray()
            while len(got) < len(payload):
                chunk = sock.recv(len(payload) - len(got))
                if not chunk:
                    raise AssertionError(f"connection {i} closed early")
                got += chunk
            if bytes(got) != payload:
                raise AssertionError(f"connection {i} got another connection's or wrong bytes")
    finally:
        for sock in socks:
            sock.close()
    # EOF: an echo server closes its side after ours. Not a benchmark
    # requirement (rloop's transports never close here), so only a note.
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.shutdown(socket.SHUT_WR)
        try:
            if sock.recv(1) != b"":
                return ["sent bytes after the client's EOF"]
        except socket.timeout:
            return ["does not close the connection after the client's EOF (waited 2 s)"]
    return []


# ------------------------------------------------------------------- runs


def server_argv(loop, mode, build):
    """The command line of the server for *loop* and *mode* (loop None: the C server)."""
    if loop is None:
        return [build["echo_server"], "0"]
    return [sys.executable, os.path.join(HERE, "echo_servers.py"), "--loop", loop, "--mode", mode, "--port", "0"]


def run_point(client, server, size, conns, duration, warmup, wrap=()):
    """Load *server* with one (size, conns) point; return the client's result dict.

    *wrap* goes before the client's command line (bench/idle_ticks.py runs it under perf stat).
    """
    argv = list(wrap) + common.pinned(
        common.CLIENT_CPU,
        [client, "127.0.0.1", str(server.port), str(conns), str(size), str(duration), str(warmup), str(server.pid)],
    )
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=duration + warmup + 120)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": "load generator timed out (server stuck?)"}
    line = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    try:
        result = json.loads(line)
    except ValueError:
        result = {"ok": False, "error": (proc.stderr.strip() or f"client exit status {proc.returncode}")[-300:]}
    if result.get("ok") and result.get("requests", 0) > 0 and result.get("server_cpu_s", -1) >= 0:
        _derive(result)
    elif result.get("ok"):
        result = {"ok": False, "error": "no request completed in the measured window"}
    if not server.alive():
        result = {"ok": False, "error": "server died: " + server.stderr_tail()}
    return result


def _derive(result):
    """Add the per-request and per-second figures computed from the client's raw counts."""
    result["cpu_us"] = result["server_cpu_s"] / result["requests"] * 1e6
    result["client_cpu_pct"] = 100.0 * result["client_cpu_s"] / result["seconds"]
    result["server_cpu_pct"] = 100.0 * result["server_cpu_s"] / result["seconds"]
    return result


class Contender:
    """One server under test: its process, its status ("ok", "n/a", "FAILED") and why."""

    def __init__(self, loop, mode, build):
        self.loop = loop or "C"
        self.mode = mode or "c"
        self.label = C_SERVER if loop is None else f"{loop} {mode}"
        self.server = common.ServerProcess(server_argv(loop, mode, build))
        self.status = "ok"
        self.error = None
        self.notes = []

    def start(self, progress):
        """Start the server and check its echo; on failure set status and error."""
        try:
            self.server.start()
        except common.NotAvailable as exc:
            self.status, self.error = "n/a", str(exc)
            progress.note(f"{self.label}: n/a ({exc})")
            return
        try:
            self.notes = verify_echo(self.server.port)
        except (AssertionError, OSError) as exc:
            self.status = "FAILED"
            self.error = f"echo check failed: {type(exc).__name__}: {exc}"
            if not self.server.alive():
                self.error += f" (server died: {self.server.stderr_tail()})"
            progress.note(f"{self.label}: FAILED {self.error}")
            self.server.stop()
            return
        for note in self.notes:
            progress.note(f"{self.label}: note: {note}")

    def fail(self, error):
        """Mark the server failed from now on (it died or stopped answering)."""
        self.status, self.error = "FAILED", error
        self.server.stop()

    def restart(self, progress):
        """After a failed point: a fresh process, its echo checked again; False if that fails too."""
        self.server.stop()
        self.start(progress)
        return self.status == "ok"


HALF_SUMS = ("requests", "total_requests", "seconds", "server_cpu_s", "client_cpu_s")  # added over two halves


def run_all(contenders, points, args, build, progress):
    """Load every running server at every point, *args.repeat* times; return (samples, failures).

    The order is repetition, then point, then server: servers wait idle (in
    their poller, no CPU) between their turns, and a change in the shared
    machine's load falls on every server of a point alike. The servers of a
    point run in a new random order each time (``--seed``), one mode's
    servers together (see ``run_order``).

    A server that fails a point (stuck, died, wrong bytes) loses that
    repetition of that point only: the failure is recorded, the server is
    restarted and its echo checked again, and it goes on with the next
    point. Only a server that cannot be restarted is out for the rest of
    the run. Its other figures stand: every one of them came from requests
    whose echo the client checked byte for byte.
    """
    samples = {}  # (label, size, conns) -> {repetition: client result dict}
    failures = {}  # (label, size, conns) -> ["rep N: error", ...]
    rng = random.Random(args.seed)
    progress.total(2 * args.repeat * len(points) * sum(c.status == "ok" for c in contenders))
    for rep in range(args.repeat):
        for size, conns in points:
            halves = {}  # label -> the first half window's result
            lost = set()  # labels whose first half failed: their second half is skipped
            for c in common.run_order(contenders, lambda c: c.mode, rng):
                if c.status != "ok" or c.label in lost:
                    continue
                progress.step(f"{MODE_LABELS[None if c.loop == 'C' else c.mode]} {size_label(size)} x{conns}",
                              c.loop, rep + 1, args.repeat)
                result = run_point(build["echo_client"], c.server, size, conns, args.duration / 2, args.warmup)
                if not result.get("ok"):
                    error = result.get("error")
                    progress.note(f"{c.label} {size_label(size)} x{conns}: FAILED {error} (repetition {rep + 1})")
                    progress.advance()
                    failures.setdefault((c.label, size, conns), []).append(f"rep {rep + 1}: {error}")
                    if c.label in halves:
                        del halves[c.label]
                    else:
                        lost.add(c.label)
                        progress.advance()  # its second half will not run
                    if not c.restart(progress):
                        c.fail(f"{size_label(size)} x{conns}: {error}; restart failed: {c.error}")
                    continue
                if c.label not in halves:
                    halves[c.label] = result
                    progress.advance()
                    continue
                first = halves.pop(c.label)
                merged = common.merge_halves(first, result, HALF_SUMS, ("p50_us", "p99_us", "p999_us"))
                merged["max_us"] = max(first["max_us"], result["max_us"])
                result = _derive(merged)
                samples.setdefault((c.label, size, conns), {})[rep] = result
                progress.advance(f"{common.fmt_rate(result['rps'])} req/s, p50 {common.fmt_us(result['p50_us'])}, "
                                 f"{result['cpu_us']:.2f} us CPU/req (server {result['server_cpu_pct']:.0f}% CPU, "
                                 f"client {result['client_cpu_pct']:.0f}%)")
    return samples, failures


def summarize(contenders, points, samples, failures, repeat):
    """One result row per (server, point): medians of the repetitions it completed, or why it has none.

    ``cpu_us_samples`` has one entry per repetition, None where the server
    failed that point, so pairs with the other servers stay aligned;
    ``failures`` lists what went wrong, a row with any is reported and
    makes the run's exit status 1.
    """
    rows = []
    for c in contenders:
        for size, conns in points:
            failed = failures.get((c.label, size, conns), [])
            rows.append(common.summary_row(
                {"loop": c.loop, "mode": c.mode, "size": size, "conns": conns},
                samples.get((c.label, size, conns), {}), failed, repeat,
                ("rps", "p50_us", "p99_us", "p999_us", "max_us", "cpu_us", "server_cpu_pct", "client_cpu_pct"),
                ("requests",),
                (c.status if c.status != "ok" else "FAILED", c.error or "; ".join(failed))))
    return rows


def size_label(size):
    """1024 -> '1 KiB'."""
    if size % 1024 == 0:
        return f"{size // 1024} KiB"
    return f"{size} B"


# ------------------------------------------------------------------ report


def _find(results, loop, mode, size, conns):
    for r in results:
        if r["loop"] == loop and r["mode"] == mode and r["size"] == size and r["conns"] == conns:
            return r
    return None


def _first_of(results, row):
    """The first result row of *row*'s server (to print its failure once)."""
    return next(r for r in results if r["loop"] == row["loop"] and r["mode"] == row["mode"] and r["status"] != "ok")


def _cell(row, key, fmt):
    if row is None:
        return "-"
    if row["status"] != "ok":
        return row["status"]
    return fmt(row[key])


def _peers(results, mode, size, conns):
    """The peers' result rows that ran at this point."""
    return [r for r in (_find(results, p, mode, size, conns) for p in common.PEERS) if r and r["status"] == "ok"]


def _best_peer(results, mode, size, conns):
    peers = _peers(results, mode, size, conns)
    return min(peers, key=lambda r: r["cpu_us"]) if peers else None


def _verdict(results, tide, mode, size, conns):
    """(state, text): tideloop against both peers, paired repetition by repetition (netbench_common)."""
    return common.verdict_against(tide, _peers(results, mode, size, conns))


def _ratio_cells(results, mode, size, conns):
    """tideloop's CPU/request against the best peer's and the C server's, as table cells."""
    tide = _find(results, "tideloop", mode, size, conns)
    if tide is None or tide["status"] != "ok":
        return "-", "-"
    best = _best_peer(results, mode, size, conns)
    vs_peer = "-"
    if best:
        state, wins = _verdict(results, tide, mode, size, conns)
        vs_peer = f"{tide['cpu_us'] / best['cpu_us']:.2f}x {best['loop']} {state} ({wins})"
    c = _find(results, "C", "c", size, conns)
    vs_c = f"{tide['cpu_us'] / c['cpu_us']:.2f}x" if c and c["status"] == "ok" else "-"
    return vs_peer, vs_c


def report_blocks(data):
    """The report of a run as header lines, tables (the full one marked detail) and target lines."""
    meta, results = data["meta"], data["results"]
    header = [
        f"command: {meta['command']}",
        f"machine: {meta['machine']}; server pinned to CPU {common.SERVER_CPU}, client to CPU {common.CLIENT_CPU}",
        f"python: {meta['python']}",
        "loops: " + ", ".join(f"{n} {v}" for n, v in meta["loops"].items()),
    ]
    for name, why in meta.get("skipped", {}).items():
        header.append(f"{name}: n/a ({why})")
    for note in meta.get("notes", []):
        header.append(f"note: {note}")
    for r in results:  # why each n/a or failed server is so, once per server (a skipped loop: above)
        if r["loop"] in meta.get("skipped", {}):
            continue
        if r["status"] != "ok" and r.get("error") and r is _first_of(results, r):
            header.append(f"{r['loop']} {r['mode']}: {r['status']} ({r['error']})")
        elif r["status"] == "ok" and r.get("failures"):
            header.append(f"{r['loop']} {r['mode']} {size_label(r['size'])} x{r['conns']}: FAILED in "
                          f"{len(r['failures'])} of {meta.get('repeat', 1)} repetitions, restarted "
                          f"({'; '.join(r['failures'])}); its figures are the other repetitions'")
    if meta.get("halves"):
        window = (f"{meta['duration']} s measured as two half windows, each after a {meta['warmup']} s warm-up, "
                  "one mode's servers forward then backward")
    else:
        window = f"{meta['warmup']} s warm-up, then {meta['duration']} s measured"
    header.append(f"each point: {window}, "
                  f"median of {meta.get('repeat', 1)} interleaved repetitions{common.order_note(meta)}; "
                  "CPU = server CPU time over the measured window / requests")
    header.append(common.VERDICT_RULE)
    modes = [m for m in meta["modes"]]
    points = [tuple(p) for p in meta["points"]]
    loops = [l for l in common.LOOP_NAMES if l in meta["loops"] or l in meta.get("skipped", {})]

    headers = ["mode", "size", "conns", "server", "req/s", "p50", "p99", "CPU us/req",
               "tideloop vs best peer (CPU)", "tideloop vs C (CPU)"]
    if not meta.get("c_server"):
        headers.pop()
    rows = []
    for mode in modes:
        for size, conns in points:
            for loop in loops:
                r = _find(results, loop, mode, size, conns)
                extra = _ratio_cells(results, mode, size, conns) if loop == "tideloop" else ("", "")
                extra = extra if meta.get("c_server") else extra[:1]
                rows.append([MODE_LABELS[mode], size_label(size), conns, loop,
                             _cell(r, "rps", common.fmt_rate), _cell(r, "p50_us", common.fmt_us),
                             _cell(r, "p99_us", common.fmt_us), _cell(r, "cpu_us", lambda v: f"{v:.2f}"), *extra])
    if meta.get("c_server"):
        for size, conns in points:
            r = _find(results, "C", "c", size, conns)
            rows.append([MODE_LABELS[None], size_label(size), conns, "C",
                         _cell(r, "rps", common.fmt_rate), _cell(r, "p50_us", common.fmt_us),
                         _cell(r, "p99_us", common.fmt_us), _cell(r, "cpu_us", lambda v: f"{v:.2f}"), "", ""])
    full = table("Echo over TCP loopback (closed loop, one request in flight per connection)",
                 headers, rows, left=4, detail=True)

    # The compact view: server CPU per request, every server side by side.
    with_c = bool(meta.get("c_server"))
    headers = ["mode", "size", "conns", *loops] + (["C"] if with_c else []) + [
        "tideloop vs best peer"] + (["tideloop vs C"] if with_c else [])
    rows = []
    for mode in modes:
        for size, conns in points:
            cells = [_cell(_find(results, l, mode, size, conns), "cpu_us", lambda v: f"{v:.2f}") for l in loops]
            if meta.get("c_server"):
                cells.append(_cell(_find(results, "C", "c", size, conns), "cpu_us", lambda v: f"{v:.2f}"))
            ratios = _ratio_cells(results, mode, size, conns)
            rows.append([MODE_LABELS[mode], size_label(size), conns, *cells, *(ratios if with_c else ratios[:1])])
    compact = table("Server CPU time per request (us; lower is better)", headers, rows, left=3)
    return {"header": header, "tables": [full, compact], "footer": target_lines(results, modes, points),
            "failed": common.any_failure(results)}


def report(data, markdown=False):
    """Print the run's header, the full table, the CPU/request summary and the target lines."""
    meta = data["meta"]
    blocks = report_blocks(data)
    print(f"echo benchmark, {meta['date']}, tideloop commit {meta['commit']}")
    for line in blocks["header"]:
        print("- " + line)
    for t in blocks["tables"]:
        common.print_table(t["title"], t["headers"], t["rows"], markdown, left=t["left"])
    print()
    for line in blocks["footer"]:
        print(line)


def target_lines(results, modes, points):
    """The issue's targets, checked against this run."""
    if not any(r["loop"] == "tideloop" for r in results):
        return []
    verdicts, missing = {"ahead": [], "tie": [], "BEHIND": []}, []
    for mode in modes:
        for size, conns in points:
            tide = _find(results, "tideloop", mode, size, conns)
            best = _best_peer(results, mode, size, conns)
            where = f"{MODE_LABELS[mode]} {size_label(size)} x{conns}"
            if not tide or tide["status"] != "ok" or not best:
                missing.append(where)
                continue
            if tide.get("failures"):
                missing.append(f"{where} (tideloop failed {len(tide['failures'])} repetition(s))")
                continue
            state, wins = _verdict(results, tide, mode, size, conns)
            verdicts[state].append(f"{where} ({tide['cpu_us'] / best['cpu_us']:.2f}x {best['loop']}; won {wins})")
    n = sum(len(v) for v in verdicts.values())
    if n == 0:
        lines = ["target (tideloop's CPU/request below both uvloop's and rloop's): not comparable in this run "
                 "(tideloop or both peers n/a, failed or not asked for)"]
        missing = []
    else:
        lines = [f"target (tideloop's CPU/request below both uvloop's and rloop's): ahead on "
                 f"{len(verdicts['ahead'])} of {n} points"]
    for verdict in ("tie", "BEHIND"):
        if verdicts[verdict]:
            lines.append(f"  {verdict} ({'not decided by the paired repetitions' if verdict == 'tie' else 'above a peer'}) "
                         f"on {len(verdicts[verdict])}: " + "; ".join(verdicts[verdict]))
    if missing:
        lines.append(f"  not comparable (tideloop or both peers n/a/failed): {'; '.join(missing)}")
    for size, conns in points:
        tide = _find(results, "tideloop", "protocol", size, conns)
        c = _find(results, "C", "c", size, conns)
        if size == 1024 and tide and c and tide["status"] == c["status"] == "ok":
            ratio = tide["cpu_us"] / c["cpu_us"]
            bounds = common.interval_text(tide["cpu_us_samples"], c["cpu_us_samples"])
            bounds = f" (pairs{bounds})" if bounds else ""
            lines.append(f"target (Protocol 1 KiB within 1.15x of the C server's CPU/request), x{conns}: "
                         f"{ratio:.2f}x{bounds} -> {'met' if ratio <= 1.15 else 'NOT met'}")
    return lines


# -------------------------------------------------------------------- main


def parse_list(text, kind=str):
    """'a,b,c' -> [a, b, c] converted with *kind*."""
    return [kind(x.strip()) for x in text.split(",") if x.strip()]


def parser():
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--loops", default=",".join(common.LOOP_NAMES), help="comma-separated loops (default: all four)")
    p.add_argument("--modes", default=",".join(MODES), help="comma-separated modes: " + ",".join(MODES))
    p.add_argument("--sizes", default="1024,10240,102400", help="message sizes in bytes (default 1 KiB, 10 KiB, 100 KiB)")
    p.add_argument("--conns", default="10,100", help="concurrent connections (default 10,100)")
    p.add_argument("--sweep", action="store_true", help="add the 1/10/100/1000-connection sweep at 1 KiB")
    p.add_argument("--duration", type=float, default=1.0,
                   help="measured seconds per point and repetition, in two half windows (default 1)")
    p.add_argument("--warmup", type=float, default=0.2, help="warm-up seconds before each half window (default 0.2)")
    p.add_argument("--repeat", type=int, default=3, help="repetitions, interleaved; medians are reported (default 3)")
    p.add_argument("--seed", type=int, default=1, help="seed of the servers' random order within a point (default 1)")
    p.add_argument("--no-c", action="store_true", help="leave out the C epoll server")
    p.add_argument("--json", metavar="FILE", help="write the raw results and the run's metadata")
    p.add_argument("--markdown", action="store_true", help="print markdown tables")
    p.add_argument("--report", metavar="FILE", help="only reprint the report of a run saved with --json")
    return p


def collect(argv, progress):
    """Run the echo benchmarks *argv* asks for; return ``{"meta", "results"}`` (what --json writes).

    The programmatic entry point (``tideloop bench``); *progress* gets the
    events of bench/suite_api.py. Raises ``Unavailable`` without gcc.
    """
    import platform

    p = parser()
    args = p.parse_args(argv)
    loops = parse_list(args.loops)
    modes = parse_list(args.modes)
    for name in loops:
        if name not in common.LOOP_NAMES:
            p.error(f"unknown loop {name!r}")
    for mode in modes:
        if mode not in MODES:
            p.error(f"unknown mode {mode!r}")
    points = [(s, c) for s in parse_list(args.sizes, int) for c in parse_list(args.conns, int)]
    if args.sweep:
        points += [(1024, c) for c in (1, 10, 100, 1000) if (1024, c) not in points]
    points.sort()

    fd_limit = common.raise_fd_limit(max(4096, 2 * args.repeat * sum(c for _, c in points) + 1024))
    progress.status("building the C client and server")
    try:
        build = {name: common.build_c(name) for name in ("echo_client", "echo_server")}
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        raise Unavailable(str(exc)) from None
    run_notes = []
    if not common.can_pin():
        run_notes.append("taskset is missing (util-linux) or there is one CPU: server and client are not pinned")
        progress.note("note: " + run_notes[-1])
    progress.status("probing the loops")
    probed = common.probe_loops(loops)
    versions = {n: v for n, (v, _) in probed.items() if v}
    skipped = {n: why for n, (_, why) in probed.items() if why}

    for name, why in skipped.items():
        progress.note(f"{name}: n/a ({why})")
    contenders = ([Contender(None, None, build)] if not args.no_c else []) + [
        Contender(l, m, build) for m in modes for l in loops if l in versions]
    try:
        for c in contenders:
            progress.status(f"starting and checking the {c.label} server")
            c.start(progress)
        running = sum(c.status == "ok" for c in contenders)
        progress.note(f"{running} servers x {len(points)} points x {args.repeat} repetitions, about "
                      f"{running * len(points) * args.repeat * (args.duration + 2 * (args.warmup + 0.15)) / 60:.1f} min "
                      f"(fd limit {fd_limit})")
        samples, failures = run_all(contenders, points, args, build, progress)
    finally:
        for c in contenders:
            c.server.stop()
    results = summarize(contenders, points, samples, failures, args.repeat)
    notes = run_notes + [f"{c.label}: {note}" for c in contenders for note in c.notes]
    for name in skipped:
        for mode in modes:
            results += [{"loop": name, "mode": mode, "size": s, "conns": c, "status": "n/a", "error": skipped[name]}
                        for s, c in points]

    return {
        "meta": {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": "python bench/echo.py " + " ".join(argv),
            "commit": common.git_commit(),
            "machine": common.machine_line(),
            "python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
            "loops": versions,
            "skipped": skipped,
            "modes": modes,
            "points": points,
            "duration": args.duration,
            "warmup": args.warmup,
            "halves": True,
            "repeat": args.repeat,
            "seed": args.seed,
            "c_server": not args.no_c,
            "notes": notes,
        },
        "results": results,
    }


def main(argv=None):
    """Run the echo benchmarks (or reprint a saved run) and print the report."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(argv)
    if args.report:
        with open(args.report) as f:
            report(json.load(f), args.markdown)
        return 0
    try:
        data = collect(argv, LineProgress())
    except Unavailable as exc:
        print(f"echo benchmark: {exc}", file=sys.stderr)
        return 2
    if args.json:
        with open(args.json, "w") as f:
            json.dump(data, f, indent=1)
    report(data, args.markdown)
    return 1 if common.any_failure(data["results"]) else 0


if __name__ == "__main__":
    sys.exit(main())

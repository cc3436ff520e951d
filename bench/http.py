"""HTTP/1.1 keep-alive benchmark of asyncio's loop, uvloop, rloop and tideloop, loaded with wrk.

    python bench/http.py                              # all four loops, 3 interleaved repetitions of 2 x 2 s
    python bench/http.py --loops uvloop,tideloop --duration 6 --repeat 1
    python bench/http.py --markdown --json http.json
    python bench/http.py --report http.json --markdown

The server is bench/http_server.py (asyncio.Protocol + httptools, "Hello,
World!" with Content-Length), one process per loop pinned to CPU 0; wrk
(``apt-get install wrk``) runs pinned to CPU 1 as ``wrk -t1 -c100 -dNs
--latency``. Each server's answers are checked first (status, body,
keep-alive, pipelining). The server's CPU time per request (its process CPU-time
clock over wrk's run divided by wrk's request count) is the stable figure;
requests/s and wrk's latency percentiles are reported too. Each repetition
runs the servers forward then backward (A B C C B A), each for half the
measured seconds, and sums a server's two runs: a drift of the shared
machine's speed over the repetition cancels out of every pair.

A server whose wrk run fails (wrk errors out or completes nothing, or the
server dies) loses that repetition only: the failure is recorded and
reported, a fresh server is started, checked and warmed up, and it goes on
with the next repetition; its other repetitions stand and the pairs with the
other servers stay aligned. Any failure makes the exit status 1, and a
tideloop that failed a repetition does not count for the target.
"""
import argparse
import datetime
import json
import os
import platform
import random
import re
import shutil
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, HERE)

import netbench_common as common  # noqa: E402
from suite_api import LineProgress, Unavailable, table  # noqa: E402

# This directory holds http.py, which would shadow the standard library's
# http package for anything imported from here on: take it off the path.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE]

EXPECTED_BODY = b"Hello, World!"


# ------------------------------------------------------------ verification


def _read_response(sock, buf):
    """Read one HTTP response with Content-Length from *sock*; return (head, body, rest)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("connection closed before a full response")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    match = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    if not match:
        raise AssertionError("response without Content-Length")
    length = int(match.group(1))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("connection closed inside a response body")
        rest += chunk
    return head, rest[:length], rest[length:]


def verify_http(port):
    """Check the server answers correctly, keeps connections alive and handles pipelining."""
    request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        buf = b""
        for _ in range(3):  # keep-alive: three requests one after the other
            sock.sendall(request)
            head, body, buf = _read_response(sock, buf)
            if not head.startswith(b"HTTP/1.1 200") or body != EXPECTED_BODY:
                raise AssertionError(f"unexpected response {head[:40]!r} {body!r}")
        sock.sendall(request * 10)  # pipelined: ten answers, in order
        for _ in range(10):
            head, body, buf = _read_response(sock, buf)
            if body != EXPECTED_BODY:
                raise AssertionError(f"pipelined request answered with {body!r}")
        if buf:
            raise AssertionError(f"{len(buf)} bytes more than the responses")


# ------------------------------------------------------------------- wrk

_UNITS = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6}


def _to_us(text):
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(out):
    """Pull requests, seconds, requests/s, p50/p99 (us) and error counts out of wrk --latency output."""
    result = {}
    match = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    if not match:
        raise ValueError("no request count in wrk's output")
    result["requests"] = int(match.group(1))
    result["seconds"] = _to_us(match.group(2) + match.group(3)) / 1e6
    result["rps"] = float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1))
    for pct, key in (("50", "p50_us"), ("99", "p99_us")):
        m = re.search(rf"^\s*{pct}%\s+([\d.]+(?:us|ms|s|m))\s*$", out, re.M)
        result[key] = _to_us(m.group(1)) if m else None
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["socket_errors"] = sum(int(x) for x in errors.groups()) if errors else 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    return result


def run_wrk(server, conns, duration, threads=1):
    """Run wrk against *server* (pinned to the client CPU); return the parsed result with server CPU."""
    argv = common.pinned(common.CLIENT_CPU, [
        "wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--latency", f"http://127.0.0.1:{server.port}/"])
    cpu0 = common.cpu_seconds(server.pid)
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 120)
    cpu1 = common.cpu_seconds(server.pid)
    if proc.returncode != 0:
        return {"ok": False, "error": (proc.stderr.strip() or f"wrk exit status {proc.returncode}")[-300:]}
    try:
        result = parse_wrk(proc.stdout)
    except (ValueError, AttributeError) as exc:
        return {"ok": False, "error": f"cannot read wrk's output ({exc}): {proc.stdout[-300:]!r}"}
    if result["requests"] == 0:
        return {"ok": False, "error": "wrk completed no request"}
    result["ok"] = True
    result["server_cpu_s"] = cpu1 - cpu0
    return _derive(result)


def _derive(result):
    """Add CPU/request and the server's CPU share computed from the raw counts."""
    result["cpu_us"] = result["server_cpu_s"] / result["requests"] * 1e6
    result["server_cpu_pct"] = 100.0 * result["server_cpu_s"] / result["seconds"]
    return result


# ------------------------------------------------------------------ report


def report_blocks(data):
    """The report of a run as header lines, the table and the target line."""
    meta, results = data["meta"], data["results"]
    header = [
        f"command: {meta['command']}",
        f"machine: {meta['machine']}; server pinned to CPU {common.SERVER_CPU}, wrk to CPU {common.CLIENT_CPU}",
        f"python: {meta['python']}; httptools {meta['httptools']}; {meta['wrk']}",
        "loops: " + ", ".join(f"{n} {v}" for n, v in meta["loops"].items()),
    ]
    header += [f"note: {n}" for n in meta.get("notes", [])]
    for r in results:
        if r["status"] == "ok" and r.get("failures"):
            header.append(f"{r['loop']}: FAILED in {len(r['failures'])} of {meta['repeat']} repetitions, restarted "
                          f"({'; '.join(r['failures'])}); its figures are the other repetitions'")
    header.append(common.VERDICT_RULE)
    warmup = f"after a {meta['warmup']} s warm-up" if meta["warmup"] > 0 else "no warm-up"
    runs = (f"two runs of wrk -t1 -c{meta['conns']} -d{meta['duration'] // 2}s --latency per repetition, "
            "servers forward then backward" if meta.get("halves") else
            f"wrk -t1 -c{meta['conns']} -d{meta['duration']}s --latency")
    header.append(f"load: {runs}, {warmup}, "
                  f"median of {meta['repeat']} interleaved repetitions{common.order_note(meta)}; CPU = server CPU time over wrk's run / requests")
    by_loop = {r["loop"]: r for r in results}
    asyncio_row = by_loop.get("asyncio")
    peers = [by_loop[p] for p in common.PEERS if p in by_loop and by_loop[p]["status"] == "ok"]
    best = min(peers, key=lambda r: r["cpu_us"]) if peers else None
    headers = ["loop", "req/s", "p50", "p99", "CPU us/req", "CPU vs asyncio", "tideloop vs best peer (CPU)"]
    rows = []
    for r in results:
        if r["status"] != "ok":
            rows.append([r["loop"], r["status"], "-", "-", "-", "-", r.get("error", "")[:60]])
            continue
        vs_asyncio = (f"{r['cpu_us'] / asyncio_row['cpu_us']:.2f}x"
                      if asyncio_row and asyncio_row["status"] == "ok" else "-")
        vs_peer = ""
        if r["loop"] == "tideloop" and best:
            state, wins = common.verdict_against(r, peers)
            vs_peer = f"{r['cpu_us'] / best['cpu_us']:.2f}x {best['loop']} {state} ({wins})"
        rows.append([r["loop"], common.fmt_rate(r["rps"]), common.fmt_us(r["p50_us"]), common.fmt_us(r["p99_us"]),
                     f"{r['cpu_us']:.2f}", vs_asyncio, vs_peer])
    footer = []
    tide = by_loop.get("tideloop")
    if tide and tide["status"] == "ok" and best:
        target = "target (tideloop's CPU/request below both uvloop's and rloop's): "
        if tide.get("failures"):
            footer.append(target + f"not comparable (tideloop failed {len(tide['failures'])} repetition(s))")
        else:
            footer.append(target + f"{tide['cpu_us'] / best['cpu_us']:.2f}x {best['loop']} -> "
                          "{} (won {})".format(*common.verdict_against(tide, peers)))
    title = f"HTTP/1.1 keep-alive, \"Hello, World!\", wrk -t1 -c{meta['conns']}"
    return {"header": header, "tables": [table(title, headers, rows, left=1)], "footer": footer,
            "failed": common.any_failure(results)}


def report(data, markdown=False):
    """Print the run's header, the table and the target line."""
    meta = data["meta"]
    blocks = report_blocks(data)
    print(f"HTTP benchmark, {meta['date']}, tideloop commit {meta['commit']}")
    for line in blocks["header"]:
        print("- " + line)
    for t in blocks["tables"]:
        common.print_table(t["title"], t["headers"], t["rows"], markdown, left=t["left"])
    for line in blocks["footer"]:
        print("\n" + line)


# -------------------------------------------------------------------- main


def parser():
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--loops", default=",".join(common.LOOP_NAMES), help="comma-separated loops (default: all four)")
    p.add_argument("--conns", type=int, default=100, help="wrk connections (default 100)")
    p.add_argument("--duration", type=int, default=4,
                   help="measured seconds per server and repetition, as two wrk runs of half as long; even (default 4)")
    p.add_argument("--warmup", type=int, default=1, help="seconds of an unmeasured wrk run first; 0: none (default 1)")
    p.add_argument("--repeat", type=int, default=3, help="repetitions, interleaved; medians reported (default 3)")
    p.add_argument("--seed", type=int, default=1, help="seed of the servers' random order in each repetition (default 1)")
    p.add_argument("--json", metavar="FILE", help="write the raw results and the run's metadata")
    p.add_argument("--markdown", action="store_true", help="print a markdown table")
    p.add_argument("--report", metavar="FILE", help="only reprint the report of a run saved with --json")
    return p


def bring_up(name, args, progress):
    """Start *name*'s server, check its answers and warm it up: (server, None), or (None, (status, why))."""
    progress.status(f"starting and checking the {name} server")
    server = common.ServerProcess([sys.executable, os.path.join(HERE, "http_server.py"), "--loop", name])
    try:
        server.start()
        verify_http(server.port)
    except common.NotAvailable as exc:
        server.stop()
        return None, ("n/a", str(exc))
    except (AssertionError, OSError) as exc:
        why = f"response check failed: {type(exc).__name__}: {exc}"
        if not server.alive():
            why += f" (server died: {server.stderr_tail()})"
        server.stop()
        return None, ("FAILED", why)
    if args.warmup > 0:
        progress.status(f"warming up the {name} server ({args.warmup} s)")
        run_wrk(server, args.conns, args.warmup)  # not measured
    return server, None


def summarize(loops, status, samples, failures, repeat):
    """One result row per loop: medians of the repetitions it completed, or why it has none.

    ``cpu_us_samples`` has one entry per repetition, None where the server
    failed it, so the pairs with the other servers stay aligned; a row with
    ``failures`` is reported and makes the exit status 1.
    """
    return [common.summary_row({"loop": name}, samples.get(name, {}), failures.get(name, []), repeat,
                               ("rps", "p50_us", "p99_us", "cpu_us", "server_cpu_pct"), ("socket_errors", "non_2xx"),
                               status.get(name, ("FAILED", "; ".join(failures.get(name, [])))))
            for name in loops]


def collect(argv, progress):
    """Run the HTTP benchmark *argv* asks for; return ``{"meta", "results"}`` (what --json writes).

    The programmatic entry point (``tideloop bench``); *progress* gets the
    events of bench/suite_api.py. Raises ``Unavailable`` without wrk or httptools.
    """
    p = parser()
    args = p.parse_args(argv)
    loops = [l.strip() for l in args.loops.split(",") if l.strip()]
    for name in loops:
        if name not in common.LOOP_NAMES:
            p.error(f"unknown loop {name!r}")
    if args.duration < 2 or args.duration % 2:
        p.error("--duration must be even (two wrk runs of half as long; wrk takes whole seconds)")
    if shutil.which("wrk") is None:
        raise Unavailable("wrk is not installed: apt-get update && apt-get install -y wrk")
    try:
        import httptools
    except ImportError:
        raise Unavailable("httptools is not installed: pip install httptools (the bench extra)") from None
    notes = []
    if not common.can_pin():
        notes.append("taskset is missing (util-linux) or there is one CPU: server and wrk are not pinned")
        progress.note("note: " + notes[-1])

    common.raise_fd_limit(4096)
    progress.status("probing the loops")
    probed = common.probe_loops(loops)
    versions = {n: v for n, (v, _) in probed.items() if v}
    status = {n: ("n/a", why) for n, (_, why) in probed.items() if why}
    for name, (_, why) in status.items():
        progress.note(f"{name}: n/a ({why})")
    servers = {}
    try:
        for name in versions:
            server, problem = bring_up(name, args, progress)
            if problem:
                status[name] = problem
                progress.note(f"{name}: {problem[0]} ({problem[1]})")
            else:
                servers[name] = server
        samples = {name: {} for name in servers}  # name -> {repetition: merged result}
        failures = {}  # name -> ["rep N: error", ...]
        progress.total(2 * args.repeat * len(servers))
        rng = random.Random(args.seed)
        half = args.duration // 2
        for rep in range(args.repeat):
            # A new random order each repetition, forward then backward (see run_order).
            halves = {}  # name -> its first run of this repetition
            lost = set()  # names whose first run failed: their second is skipped
            for name in common.run_order(list(servers), lambda name: 0, rng):
                if name in lost:
                    continue
                progress.step(f"wrk -c{args.conns} -d{half}s", name, rep + 1, args.repeat)
                if name in status:
                    progress.advance()
                    continue
                server = servers[name]
                result = run_wrk(server, args.conns, half)
                if not server.alive():
                    result = {"ok": False, "error": "server died: " + server.stderr_tail()}
                if not result["ok"]:
                    # This repetition is lost for this server only: a fresh
                    # process, checked and warmed, goes on with the next.
                    error = result["error"]
                    failures.setdefault(name, []).append(f"rep {rep + 1}: {error}")
                    progress.note(f"[{rep + 1}/{args.repeat}] {name}: FAILED {error}; restarting it")
                    progress.advance()
                    if halves.pop(name, None) is None:
                        lost.add(name)
                        progress.advance()  # its second run will not happen
                    server.stop()
                    servers[name], problem = bring_up(name, args, progress)
                    if problem:
                        status[name] = ("FAILED", f"{error}; restart failed: {problem[1]}")
                        progress.note(f"{name}: FAILED ({status[name][1]})")
                    continue
                if result["socket_errors"] or result["non_2xx"]:
                    progress.note(f"{name}: wrk saw {result['socket_errors']} socket errors, "
                                  f"{result['non_2xx']} non-2xx")
                if name not in halves:
                    halves[name] = result
                    progress.advance()
                    continue
                result = _derive(common.merge_halves(
                    halves.pop(name), result, ("requests", "seconds", "server_cpu_s", "socket_errors", "non_2xx"),
                    ("p50_us", "p99_us")))
                samples[name][rep] = result
                progress.advance(f"{common.fmt_rate(result['rps'])} req/s, "
                                 f"p50 {common.fmt_us(result['p50_us'])}, p99 {common.fmt_us(result['p99_us'])}, "
                                 f"{result['cpu_us']:.2f} us CPU/req (server {result['server_cpu_pct']:.0f}% CPU)")
    finally:
        for server in servers.values():
            if server is not None:
                server.stop()

    results = summarize(loops, status, samples, failures, args.repeat)
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return {
        "meta": {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": "python bench/http.py " + " ".join(argv),
            "commit": common.git_commit(),
            "machine": common.machine_line(),
            "python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
            "httptools": httptools.__version__,
            "wrk": "wrk " + ((wrk_version.stdout or wrk_version.stderr).split() or ["?", "?"])[1],
            "loops": versions,
            "conns": args.conns,
            "duration": args.duration,
            "warmup": args.warmup,
            "halves": True,
            "repeat": args.repeat,
            "seed": args.seed,
            "notes": notes,
        },
        "results": results,
    }


def main(argv=None):
    """Run the HTTP benchmark (or reprint a saved run) and print the report."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(argv)
    if args.report:
        with open(args.report) as f:
            report(json.load(f), args.markdown)
        return 0
    try:
        data = collect(argv, LineProgress())
    except Unavailable as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.json:
        with open(args.json, "w") as f:
            json.dump(data, f, indent=1)
    report(data, args.markdown)
    return 1 if common.any_failure(data["results"]) else 0


if __name__ == "__main__":
    sys.exit(main())

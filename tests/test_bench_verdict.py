"""The network benchmarks' verdict rule (bench/netbench_common.py): a paired sign test.

Pure arithmetic on made-up samples, and how echo.py and http.py keep a restarted
server's other repetitions; the benchmarks themselves run in test_cli.py.
"""
import importlib.util
import math
import pathlib

import pytest

BENCH = pathlib.Path(__file__).resolve().parent.parent / "bench"
pytestmark = pytest.mark.skipif(not (BENCH / "netbench_common.py").exists(), reason="bench/ is not in this checkout")


@pytest.fixture(scope="module")
def common():
    spec = importlib.util.spec_from_file_location("netbench_common_under_test", BENCH / "netbench_common.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bench_script(name):
    spec = importlib.util.spec_from_file_location(f"{name}_bench_under_test", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sign_test_p_is_the_binomial_tail(common):
    assert common.sign_test_p(5, 5) == 1 / 32
    assert common.sign_test_p(0, 5) == 1.0
    assert common.sign_test_p(7, 8) == pytest.approx(9 / 256)
    for n in range(1, 12):
        for k in range(n + 1):
            tail = sum(math.comb(n, j) for j in range(k, n + 1)) / 2 ** n
            assert common.sign_test_p(k, n) == pytest.approx(tail)


@pytest.mark.parametrize("wins, n, state", [
    (5, 5, "ahead"), (4, 5, "tie"), (7, 8, "ahead"), (6, 8, "tie"), (8, 9, "ahead"), (7, 9, "tie"),
    (4, 4, "tie"),  # four repetitions cannot decide: 1/16 > 0.05
    (0, 5, "BEHIND"), (1, 8, "BEHIND"), (2, 8, "tie"),
])
def test_paired_verdict_thresholds(common, wins, n, state):
    tide = [1.0] * n
    peer = [2.0] * wins + [0.5] * (n - wins)
    assert common.paired_verdict(tide, peer) == (state, wins, n)


def test_pairs_not_ranges_decide(common):
    # The machine's load drifts between repetitions, so the two loops' ranges
    # overlap widely, yet tideloop is lower in every back-to-back pair.
    peer = [10.0, 14.0, 11.0, 16.0, 12.0]
    tide = [9.5, 13.0, 10.8, 15.0, 11.5]
    assert max(tide) > min(peer)
    assert common.paired_verdict(tide, peer)[0] == "ahead"
    assert common.paired_verdict(peer, tide)[0] == "BEHIND"


def test_equal_pairs_count_for_neither(common):
    assert common.paired_verdict([1.0] * 5, [1.0] * 5) == ("tie", 0, 5)
    assert common.paired_verdict([1.0] * 4 + [2.0], [2.0] * 4 + [2.0]) == ("tie", 4, 5)


def test_verdict_against_both_peers(common):
    def row(loop, samples):
        return {"loop": loop, "cpu_us_samples": samples}
    tide = row("tideloop", [1.0] * 5)
    fast, slow = row("rloop", [2.0] * 5), row("uvloop", [3.0] * 5)
    assert common.verdict_against(tide, [slow, fast]) == ("ahead", "uvloop 5/5 [0.33, 0.33], rloop 5/5 [0.50, 0.50]")
    mixed = row("rloop", [2.0] * 4 + [0.5])
    assert common.verdict_against(tide, [slow, mixed])[0] == "tie"
    lower = row("rloop", [0.5] * 5)
    assert common.verdict_against(tide, [slow, lower]) == ("BEHIND", "uvloop 5/5 [0.33, 0.33], rloop 0/5 [2.00, 2.00]")
    assert common.verdict_against(tide, [])[0] == "tie"


def test_ratio_interval_is_order_statistics(common):
    # Five pairs: only 0 of 5 heads is rarer than 5%, so the interval is the
    # whole range of the ratios; twelve pairs: 2 or fewer heads (p = 0.019),
    # so it runs from the third smallest ratio to the third largest.
    assert common.paired_ratio_interval([1, 2, 3, 4, 5], [2, 2, 2, 2, 2]) == (0.5, 2.5)
    ratios = [0.80 + 0.02 * i for i in range(12)]
    tide = [r * 10.0 for r in ratios]
    low, high = common.paired_ratio_interval(tide, [10.0] * 12)
    assert (low, high) == (pytest.approx(0.84), pytest.approx(0.98))
    assert common.paired_ratio_interval([1.0] * 4, [2.0] * 4) is None   # four pairs cannot decide
    assert common.paired_ratio_interval([None, 1.0, 1.0, 1.0, 1.0, 1.0], [2.0] * 6) == (0.5, 0.5)


def test_ratio_interval_agrees_with_the_verdict(common):
    # The interval and the sign test are one test: high < 1 exactly when
    # "ahead", low > 1 exactly when "BEHIND", at every count of pairs.
    import random
    rng = random.Random(7)
    for _ in range(3000):
        n = rng.randint(5, 40)
        shift = rng.uniform(-0.3, 0.3)
        tide = [1.0 + shift + rng.gauss(0, 0.2) for _ in range(n)]
        peer = [1.0 + rng.gauss(0, 0.05) for _ in range(n)]
        state = common.paired_verdict(tide, peer)[0]
        low, high = common.paired_ratio_interval(tide, peer)
        assert (high < 1) == (state == "ahead")
        assert (low > 1) == (state == "BEHIND")


def test_run_order_shuffles_and_keeps_blocks_together(common):
    import random
    items = [(mode, loop) for mode in "abcd" for loop in ("uvloop", "rloop", "tideloop")] + [("C", "C")]
    rng = random.Random(1)
    orders = [common.run_order(items, lambda it: it[0], rng) for _ in range(40)]
    for order in orders:
        assert sorted(order) == sorted(items * 2)
        modes = [mode for mode, _ in order]
        # each block is contiguous: a mode never reappears after another began
        assert len([m for i, m in enumerate(modes) if i == 0 or modes[i - 1] != m]) == 5
        # ... and runs forward then backward: every item's two turns share one midpoint
        for mode in "abcdC":
            block = [it for it in order if it[0] == mode]
            assert block == block[::-1]
    # the order changes from round to round, inside blocks and between them
    assert len({tuple(o) for o in orders}) > 30
    assert len({o[0][0] for o in orders}) > 1
    assert len({tuple(l for m, l in o if m == "a") for o in orders}) == 6
    # the same seed gives the same rounds
    again = random.Random(1)
    assert [common.run_order(items, lambda it: it[0], again) for _ in range(40)] == orders


def test_merge_halves_adds_counts_and_weights_percentiles(common):
    first = {"requests": 100, "seconds": 0.5, "server_cpu_s": 0.001, "p50_us": 10.0, "label": "x"}
    second = {"requests": 300, "seconds": 0.5, "server_cpu_s": 0.002, "p50_us": 20.0, "label": "y"}
    merged = common.merge_halves(first, second, ("requests", "seconds", "server_cpu_s"), ("p50_us",))
    assert merged["requests"] == 400 and merged["seconds"] == 1.0
    assert merged["server_cpu_s"] == 0.003
    assert merged["rps"] == 400.0
    assert merged["p50_us"] == 17.5  # (10 * 100 + 20 * 300) / 400
    assert merged["label"] == "x"
    assert first["requests"] == 100  # the halves are left as they were


def test_failed_repetition_makes_no_pair(common):
    # rloop failed repetitions 2 and 5 (None): the other pairs stay aligned
    tide = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    peer = [2.0, None, 2.0, 2.0, None, 2.0, 2.0]
    assert common.paired_verdict(tide, peer) == ("ahead", 5, 5)
    assert common.paired_verdict(peer, tide) == ("BEHIND", 0, 5)
    assert common.paired_verdict([None] * 4 + [1.0], [2.0] * 5) == ("tie", 1, 1)


def test_summarize_keeps_a_restarted_servers_other_repetitions():
    import types
    echo = _bench_script("echo")
    c = types.SimpleNamespace(label="rloop protocol", loop="rloop", mode="protocol", status="ok", error=None)
    points = [(1024, 10), (1024, 1000)]
    run = lambda cpu: {"rps": 1.0, "p50_us": 1.0, "p99_us": 1.0, "p999_us": 1.0, "max_us": 1.0,
                       "cpu_us": cpu, "server_cpu_pct": 1.0, "client_cpu_pct": 1.0, "requests": 10}
    samples = {("rloop protocol", 1024, 10): {0: run(5.0), 1: run(6.0), 2: run(7.0)},
               ("rloop protocol", 1024, 1000): {0: run(8.0), 2: run(9.0)}}
    failures = {("rloop protocol", 1024, 1000): ["rep 2: load generator timed out (server stuck?)"]}
    rows = echo.summarize([c], points, samples, failures, 3)
    assert rows[0]["status"] == "ok" and rows[0]["cpu_us_samples"] == [5.0, 6.0, 7.0] and "failures" not in rows[0]
    assert rows[1]["status"] == "ok" and rows[1]["cpu_us_samples"] == [8.0, None, 9.0]
    assert rows[1]["cpu_us"] == 8.5 and rows[1]["failures"] == failures[("rloop protocol", 1024, 1000)]
    # a point with no completed repetition is FAILED with the reason
    rows = echo.summarize([c], points, {}, failures, 3)
    assert rows[1]["status"] == "FAILED" and "timed out" in rows[1]["error"]


def _http_run(cpu):
    return {"rps": 1.0, "p50_us": 1.0, "p99_us": 1.0, "cpu_us": cpu, "server_cpu_pct": 1.0,
            "socket_errors": 0, "non_2xx": 0}


def _http_data(http, samples, failures, status, repeat=6):
    loops = ["asyncio", "uvloop", "rloop", "tideloop"]
    meta = {"command": "python bench/http.py", "machine": "m", "python": "p", "httptools": "h", "wrk": "wrk 4",
            "loops": {n: "1" for n in loops}, "notes": [], "warmup": 1, "halves": True, "duration": 4,
            "conns": 100, "repeat": repeat, "seed": 1}
    return {"meta": meta, "results": http.summarize(loops, status, samples, failures, repeat)}


def test_http_keeps_a_restarted_servers_other_repetitions():
    http = _bench_script("http")
    samples = {"tideloop": {i: _http_run(5.0) for i in range(6)},
               "rloop": {i: _http_run(8.0) for i in (0, 2, 3, 4, 5)},
               "uvloop": {i: _http_run(9.0) for i in range(6)}}
    failures = {"rloop": ["rep 2: wrk completed no request"]}
    data = _http_data(http, samples, failures, {"asyncio": ("n/a", "not asked")})
    rows = {r["loop"]: r for r in data["results"]}
    assert rows["rloop"]["status"] == "ok" and rows["rloop"]["cpu_us_samples"] == [8.0, None, 8.0, 8.0, 8.0, 8.0]
    assert rows["rloop"]["failures"] == failures["rloop"] and "failures" not in rows["tideloop"]
    assert rows["asyncio"]["status"] == "n/a"
    blocks = http.report_blocks(data)
    assert blocks["failed"]  # a lost repetition is reported and makes the exit status 1
    assert any(line.startswith("rloop: FAILED in 1 of 6 repetitions") for line in blocks["header"])
    # rloop's lost repetition makes no pair: 5 of 5 against rloop, 6 of 6 against uvloop
    assert blocks["footer"] == ["target (tideloop's CPU/request below both uvloop's and rloop's): "
                                "0.62x rloop -> ahead (won uvloop 6/6 [0.56, 0.56], rloop 5/5 [0.62, 0.62])"]


def test_http_tideloop_failure_never_counts_for_the_target():
    http = _bench_script("http")
    samples = {"tideloop": {i: _http_run(5.0) for i in range(1, 6)},
               "rloop": {i: _http_run(8.0) for i in range(6)},
               "uvloop": {i: _http_run(9.0) for i in range(6)}}
    data = _http_data(http, samples, {"tideloop": ["rep 1: server died: "]}, {"asyncio": ("n/a", "not asked")})
    assert http.report_blocks(data)["footer"] == [
        "target (tideloop's CPU/request below both uvloop's and rloop's): not comparable "
        "(tideloop failed 1 repetition(s))"]
    # no repetition completed at all: FAILED with the reasons
    data = _http_data(http, {}, {"rloop": ["rep 1: x", "rep 2: y"]}, {})
    rloop = next(r for r in data["results"] if r["loop"] == "rloop")
    assert rloop["status"] == "FAILED" and rloop["error"] == "rep 1: x; rep 2: y"

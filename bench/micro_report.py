"""Turn the micro benchmarks' raw samples into medians, ratios and tables.

Tables come in three shapes: rich (when rich is installed, on a terminal
report), plain text (fallback) and markdown (for docs/PERFORMANCE.md).
"""
import statistics

from micro_cases import BENCHMARKS, count_for
from micro_loops import PEERS
from suite_api import table

METRICS = (
    ("ops_s", "ops/s (wall clock)"),
    ("ops_cpu", "ops per CPU-second (time.process_time)"),
)


def summarize(samples):
    """Median ops/s and ops/CPU-s of one (loop, benchmark)'s samples, or None.

    *samples* is a list of child results; any failed repetition makes the
    whole cell a failure (a wrong result is never averaged away).
    """
    if not samples or any(not s.get("ok") for s in samples):
        return None
    ops_s = [s["n"] / s["wall"] for s in samples]
    ops_cpu = [s["n"] / s["cpu"] if s["cpu"] > 0 else float("inf") for s in samples]
    return {
        "ops_s": statistics.median(ops_s),
        "ops_cpu": statistics.median(ops_cpu),
        "ops_s_min": min(ops_s),
        "ops_s_max": max(ops_s),
        "ops_cpu_min": min(ops_cpu),
        "ops_cpu_max": max(ops_cpu),
        "n": samples[0]["n"],
        "reps": len(samples),
    }


def human(x):
    """1234567 -> '1.23M', 394000 -> '394k'."""
    if x == float("inf"):
        return "inf"
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if x >= div:
            v = x / div
            return f"{v:.3g}{suffix}" if v < 100 else f"{v:.0f}{suffix}"
    return f"{x:.3g}"


def verdict(summary, metric):
    """tideloop against the best peer on one benchmark: (ratio, peer, state) or None.

    *ratio* is tideloop's median over the faster peer's median. *state* is
    "ahead" or "BEHIND", or "tie" when the two loops' repetitions overlap
    (min..max ranges intersect): the difference is then within this run's noise.
    """
    tide = summary.get("tideloop")
    peers = [(summary[p][metric], p) for p in PEERS if summary.get(p)]
    if not tide or not peers:
        return None
    best, who = max(peers)
    ratio = tide[metric] / best
    peer = summary[who]
    lo, hi = f"{metric}_min", f"{metric}_max"
    if lo in tide and lo in peer and tide[lo] <= peer[hi] and peer[lo] <= tide[hi]:
        state = "tie"
    else:
        state = "ahead" if ratio > 1 else "BEHIND"
    return ratio, who, state


def rows(summaries, loops, metric):
    """Table rows (list of str lists) for *metric*; header row first."""
    has_verdict = "tideloop" in loops and any(p in loops for p in PEERS)
    header = ["benchmark"] + list(loops)
    if has_verdict:
        header.append("tideloop vs best peer")
    out = [header]
    for label, summary in summaries:
        base = summary.get("asyncio")
        row = [label]
        for loop in loops:
            cell = summary.get(loop)
            if cell is None:
                row.append("FAILED" if loop in summary else "-")
                continue
            text = human(cell[metric])
            if loop != "asyncio" and base:
                text += f" ({cell[metric] / base[metric]:.2f}x)"
            row.append(text)
        if has_verdict:
            v = verdict(summary, metric)
            if v is None:
                row.append("-")
            else:
                ratio, who, state = v
                row.append(f"{ratio:.2f}x vs {who} {state}")
        out.append(row)
    return out


def markdown(table):
    """A markdown table from rows()."""
    lines = ["| " + " | ".join(table[0]) + " |", "|" + "|".join("---" for _ in table[0]) + "|"]
    for row in table[1:]:
        lines.append("| " + " | ".join(c.replace("BEHIND", "**BEHIND**") for c in row) + " |")
    return "\n".join(lines)


def plain(table):
    """A fixed-width text table from rows()."""
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    fmt = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    lines = [fmt(table[0]), "  ".join("-" * w for w in widths)]
    lines += [fmt(r) for r in table[1:]]
    return "\n".join(lines)


def print_table(table, title, use_rich):
    """Print one table with rich if asked and available, else as plain text."""
    if use_rich:
        try:
            from rich.console import Console
            from rich.table import Table
        except ImportError:
            use_rich = False
    if not use_rich:
        print(title)
        print(plain(table))
        print()
        return
    t = Table(title=title, title_justify="left")
    for i, h in enumerate(table[0]):
        t.add_column(h, justify="left" if i == 0 else "right")
    for r in table[1:]:
        styled = [
            f"[bold red]{c}[/]"
            if "BEHIND" in c or c == "FAILED"
            else f"[green]{c}[/]"
            if c.endswith("ahead")
            else f"[yellow]{c}[/]"
            if c.endswith("tie")
            else c
            for c in r
        ]
        t.add_row(*styled)
    console = Console()
    if not console.is_terminal:  # piped or redirected: rich would wrap at 80 columns
        console = Console(width=200)
    console.print(t)


def header_lines(meta):
    """The report's header: when, where, with what."""
    lines = [
        f"tideloop micro benchmarks, {meta['date']}",
        f"command: {meta['command']}",
        f"machine: {meta['machine']}",
        f"python:  {meta['python']}",
        "loops:   " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()),
    ]
    for name, why in meta["skipped"].items():
        lines.append(f"skipped: {name} ({why})")
    lines.append(
        f"method:  fresh process per (loop, benchmark, repetition); median of {meta['repeat']}; "
        f"counts x {meta['scale']:g}"
    )
    return lines


def target_line(summaries):
    """One line on the project's target: tideloop ahead of the faster peer on every line."""
    ahead, ties, behind = [], [], []
    for label, summary in summaries:
        v = verdict(summary, "ops_s")
        short = label.split(" [")[0]
        if v is None:
            behind.append(f"{short} (failed)")
        else:
            {"ahead": ahead, "tie": ties, "BEHIND": behind}[v[2]].append(f"{short} ({v[0]:.2f}x {v[1]})")
    text = (
        "target (tideloop ahead of the faster of uvloop and rloop, wall ops/s): "
        f"ahead on {len(ahead)} of {len(summaries)}"
    )
    if ties:
        text += f"; tie (repetitions overlap) on {len(ties)}: " + "; ".join(ties)
    if behind:
        text += f"; BEHIND on {len(behind)}: " + "; ".join(behind)
    return text + ("; met on every line" if len(ahead) == len(summaries) else "")


def human_count(n):
    """1000000 -> '1M', 100000 -> '100k' (exact counts in the table labels)."""
    for div, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= div and n % div == 0:
            return f"{n // div}{suffix}"
    return f"{n:,}"


def summaries_of(meta, samples):
    """(row label, {loop: summary}) for each benchmark of the run, in its order."""
    loops, scale = meta["loops"], meta["scale"]
    summaries = []
    for bench in meta["bench"]:
        label, _base, _case, unit = BENCHMARKS[bench]
        summary = {name: summarize(samples[bench][name]) for name in loops}
        summaries.append((f"{label} [{human_count(count_for(bench, scale))} {unit}]", summary))
    return summaries


def blocks(meta, samples, failures):
    """The report as data for ``tideloop bench``: header lines, the two tables, footer lines."""
    loops, repeat = meta["loops"], meta["repeat"]
    summaries = summaries_of(meta, samples)
    tables = []
    for metric, title in METRICS:
        t = rows(summaries, loops, metric)
        tables.append(table(f"{title}, median of {repeat} (ratio to asyncio in parentheses)", t[0], t[1:]))
    footer = []
    if "tideloop" in loops and any(p in loops for p in PEERS):
        footer.append(target_line(summaries))
    if failures:
        footer.append(f"{len(failures)} FAILED run(s):")
        footer += ["  " + f.splitlines()[0] for f in failures]
    return {"header": header_lines(meta)[1:], "tables": tables, "footer": footer, "failed": bool(failures)}


def print_report(meta, samples, failures, as_markdown):
    """Print the whole report of a run: header, both tables, target line, failures."""
    loops, repeat = meta["loops"], meta["repeat"]
    summaries = summaries_of(meta, samples)

    head = header_lines(meta)
    print()
    if as_markdown:
        print(f"**{head[0]}**\n")
        print("\n".join("- " + ": ".join(part.strip() for part in ln.split(":", 1)) for ln in head[1:]))
    else:
        print("\n".join(head))
    print()
    for metric, title in METRICS:
        table = rows(summaries, loops, metric)
        if as_markdown:
            print(f"{title}, median of {repeat} (ratio to asyncio in parentheses):\n")
            print(markdown(table))
            print()
        else:
            print_table(table, f"{title}, median of {repeat}", use_rich=True)

    if "tideloop" in loops and any(p in loops for p in PEERS):
        print(target_line(summaries))
    if failures:
        print(f"\n{len(failures)} FAILED run(s):")
        for f in failures:
            print("  " + f)

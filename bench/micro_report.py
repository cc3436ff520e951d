"""Turn the micro benchmarks' raw samples into medians, ratios and tables.

Tables come in three shapes: rich (when rich is installed, on a terminal
report), plain text (fallback) and markdown (for docs/PERFORMANCE.md).
"""
import statistics

from micro_loops import PEERS

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
    """tideloop / best of the peers for one benchmark: (ratio, best peer) or None."""
    tide = summary.get("tideloop")
    peers = [(summary[p][metric], p) for p in PEERS if summary.get(p)]
    if not tide or not peers:
        return None
    best, who = max(peers)
    return tide[metric] / best, who


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
                ratio, who = v
                row.append(f"{ratio:.2f}x vs {who} " + ("ahead" if ratio > 1 else "BEHIND"))
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
            f"[bold red]{c}[/]" if "BEHIND" in c or c == "FAILED" else f"[green]{c}[/]" if c.endswith("ahead") else c
            for c in r
        ]
        t.add_row(*styled)
    console = Console()
    if not console.is_terminal:  # piped or redirected: rich would wrap at 80 columns
        console = Console(width=200)
    console.print(t)

"""What ``tideloop bench`` shows: the progress display (stderr) and the result tables (stdout).

Progress goes to stderr so that stdout holds only the report (``tideloop bench
--markdown > run.md`` works while the bar runs). It is a rich progress bar
when rich is installed and stderr is a terminal, plain lines otherwise.
Tables are rich tables on a terminal, plain text when stdout is a file or a
pipe (or rich is missing), markdown with ``--markdown``.
"""
import sys
import time


def rich_available():
    """True when rich imports."""
    try:
        import rich.progress  # noqa: F401
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------- progress


class _PlainSuite:
    """Progress events of one suite as lines: ``[echo 3/17] Protocol 1 KiB x10 · tideloop · rep 1/1: ...``."""

    def __init__(self, name, stream):
        self.name, self.stream = name, stream
        self.n = self.done = 0
        self.where = ""

    def _print(self, text):
        print(text, file=self.stream, flush=True)

    def total(self, n):
        self.n = n

    def status(self, text):
        self._print(f"[{self.name}] {text}")

    def step(self, case, loop, rep, reps):
        self.where = f"{case} · {loop} · rep {rep}/{reps}"

    def advance(self, text=None):
        self.done += 1
        self._print(f"[{self.name} {self.done}/{self.n or '?'}] {self.where}" + (f": {text}" if text else ""))

    def note(self, text):
        self._print(f"[{self.name}] {text}")


class PlainDisplay:
    """The progress of a whole run as plain lines on *stream* (stderr)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.count = self.index = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def start(self, count):
        """*count* suites will run."""
        self.count = count

    def begin(self, name, about):
        """Suite *name* starts; return the object its script reports progress to."""
        self.index += 1
        print(f"[{name}] suite {self.index}/{self.count}: {about}", file=self.stream, flush=True)
        return _PlainSuite(name, self.stream)

    def end(self, name, outcome):
        """Suite *name* ended with *outcome* (a few words)."""
        print(f"[{name}] {outcome}", file=self.stream, flush=True)


class _RichSuite:
    """Progress events of one suite, drawn as one task of a rich Progress."""

    def __init__(self, progress, task, name):
        self.progress, self.task, self.name = progress, task, name
        self.where = ""

    def total(self, n):
        self.progress.update(self.task, total=n)

    def status(self, text):
        self.progress.update(self.task, description=_escape(text))

    def step(self, case, loop, rep, reps):
        self.where = f"{_escape(case)} · [bold]{_escape(loop)}[/] · rep {rep}/{reps}"
        self.progress.update(self.task, description=self.where)

    def advance(self, text=None):
        desc = self.where + (f": [dim]{_escape(text)}[/]" if text else "")
        self.progress.update(self.task, advance=1, description=desc)

    def note(self, text):
        self.progress.console.print(f"[dim]{self.name}:[/] {_escape(text)}", highlight=False)


def _escape(text):
    from rich.markup import escape

    return escape(str(text))


class RichDisplay:
    """The progress of a whole run as a rich progress bar on stderr: one line per suite."""

    def __init__(self):
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                                   TimeElapsedColumn)

        self.progress = Progress(
            SpinnerColumn(finished_text="[green]✓[/]"),
            TextColumn("[bold cyan]{task.fields[suite]:<9}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=Console(stderr=True),
            # Lines a script or a child prints to stderr go above the bar.
            redirect_stderr=True,
            redirect_stdout=False,
        )
        self.tasks = {}
        self.overall = None

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()
        return False

    def start(self, count):
        self.overall = self.progress.add_task("", total=count, suite="all")

    def begin(self, name, about):
        self.progress.update(self.overall, description=f"[bold]{name}[/]: {_escape(about)}")
        task = self.progress.add_task("starting", total=None, suite=name)
        self.tasks[name] = (task, time.monotonic())
        return _RichSuite(self.progress, task, name)

    def end(self, name, outcome):
        task, _t0 = self.tasks[name]
        total = self.progress.tasks[[t.id for t in self.progress.tasks].index(task)].total
        self.progress.update(task, total=total or 1, completed=total or 1, description=_escape(outcome))
        self.progress.advance(self.overall)


def display(plain=False):
    """The progress display for this run: rich on a terminal with rich installed, else plain lines."""
    if not plain and rich_available() and sys.stderr.isatty():
        return RichDisplay()
    return PlainDisplay()


# ---------------------------------------------------------------- tables


def _style(cell):
    """rich markup for one table cell: verdicts and failures stand out."""
    from rich.markup import escape

    text = escape(cell)
    if "BEHIND" in cell or "NOT met" in cell or cell in ("FAILED", "error"):
        return f"[bold red]{text}[/]"
    if cell.endswith("ahead") or cell.endswith(" met"):
        return f"[green]{text}[/]"
    if cell.endswith("tie"):
        return f"[yellow]{text}[/]"
    return text


def plain_table(t):
    """A result table (bench/suite_api.table) as aligned text."""
    rows = [t["headers"]] + t["rows"]
    widths = [max(len(r[i]) if i < len(r) else 0 for r in rows) for i in range(len(t["headers"]))]

    def fmt(row):
        return "  ".join(c.ljust(w) if i < t["left"] else c.rjust(w)
                         for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    return "\n".join([t["title"], fmt(t["headers"]), "  ".join("-" * w for w in widths)] + [fmt(r) for r in t["rows"]])


def markdown_table(t):
    """A result table as markdown, BEHIND in bold."""
    lines = ["| " + " | ".join(t["headers"]) + " |", "|" + "|".join("---" for _ in t["headers"]) + "|"]
    for row in t["rows"]:
        lines.append("| " + " | ".join(c.replace("BEHIND", "**BEHIND**") for c in row) + " |")
    return "\n".join(lines)


class Report:
    """Writes the report on stdout in one of three styles: "rich", "plain" or "markdown"."""

    def __init__(self, style):
        self.style = style
        self.console = None
        if style == "rich":
            from rich.console import Console

            self.console = Console()

    @classmethod
    def choose(cls, markdown=False, plain=False):
        """markdown if asked; rich on a terminal with rich installed; else plain."""
        if markdown:
            return cls("markdown")
        if not plain and rich_available() and sys.stdout.isatty():
            return cls("rich")
        return cls("plain")

    def line(self, text="", dim=False):
        if self.console is not None:
            from rich.markup import escape

            self.console.print(f"[dim]{escape(text)}[/]" if dim else escape(text), highlight=False)
        else:
            print(text)

    def heading(self, text):
        if self.style == "markdown":
            print(f"\n### {text}\n")
        elif self.console is not None:
            from rich.markup import escape
            from rich.rule import Rule

            self.console.print()
            self.console.print(Rule(f"[bold]{escape(text)}[/]", align="left"))
        else:
            print(f"\n== {text} ==")

    def lines(self, lines, bullets=True):
        """Header lines: a bullet list in markdown, dim lines on a terminal."""
        for ln in lines:
            if self.style == "markdown":
                print(f"- {ln}" if bullets else ln)
            else:
                self.line(ln, dim=True)

    def table(self, t):
        if self.style == "markdown":
            if t.get("detail"):
                print(f"\n<details><summary>{t['title']}</summary>\n")
                print(markdown_table(t))
                print("\n</details>")
            else:
                print(f"\n{t['title']}:\n")
                print(markdown_table(t))
            return
        if t.get("detail"):
            return  # long tables: --json keeps them, --markdown prints them folded
        if self.console is None:
            print()
            print(plain_table(t))
            return
        from rich.markup import escape
        from rich.table import Table

        table = Table(title=escape(t["title"]), title_justify="left")
        for i, h in enumerate(t["headers"]):
            table.add_column(escape(h), justify="left" if i < t["left"] else "right")
        for row in t["rows"]:
            table.add_row(*(_style(c) for c in row))
        self.console.print(table)

    def footer(self, lines):
        if not lines:
            return
        print()
        for ln in lines:
            if self.console is not None:
                self.console.print(_style(ln), highlight=False)
            else:
                print(ln)

    def raw(self, text):
        """Output of a script without report hooks, as it printed it."""
        if self.style == "markdown":
            print("\n```\n" + text.rstrip() + "\n```")
        else:
            print(text.rstrip())

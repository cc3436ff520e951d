"""What a benchmark script offers ``tideloop bench``: progress events, result tables, "cannot run".

A script of bench/ becomes a suite of ``tideloop bench`` with one line in
bench/suites.py. If it also defines these two functions, the command shows a
progress bar for it and prints its tables in the common format:

``collect(argv, progress) -> data``
    Run the benchmark with the script's own command-line options *argv* (its
    argparse parser, so ``--loops``, ``--repeat`` ... mean what they mean on
    its command line) and return the JSON-able result, the same dict its
    ``--json FILE`` writes. Report progress through *progress* (see
    :class:`LineProgress` for the methods). Raise :class:`Unavailable` when a
    tool it needs is missing (gcc, wrk, httptools): the suite is then skipped
    with that reason instead of failing.

``report_blocks(data) -> dict``
    The report of *data*: ``{"header": [str], "tables": [table], "footer":
    [str], "failed": bool}`` where a table is made by :func:`table`.

A script without them still runs: its ``main(argv)`` is called and whatever
it prints is shown as its report.
"""
import sys


class Unavailable(Exception):
    """The suite cannot run here (a tool or package is missing); the message says what to install."""


def table(title, headers, rows, left=1, detail=False):
    """One result table: *left* label columns, then figures.

    *detail* marks a long table that the terminal report leaves out (``--json``
    keeps the data; ``--markdown`` prints it folded in ``<details>``).
    """
    return {"title": title, "headers": [str(h) for h in headers],
            "rows": [[str(c) for c in row] for row in rows], "left": left, "detail": detail}


def probe_loops(names, progress):
    """The loops of *names* that import, in order: ``(loops, versions, skipped)``.

    A loop that does not import (not installed, not built) is reported through
    *progress* and left out; :class:`Unavailable` when none is left.
    """
    from micro_loops import loop_version
    loops, versions, skipped = [], {}, {}
    for name in names:
        progress.status(f"probing {name}")
        try:
            versions[name] = loop_version(name)
        except Exception as exc:  # not installed / not built: report and go on
            skipped[name] = f"{type(exc).__name__}: {exc}"
            progress.note(f"skipping {name}: {skipped[name]}")
        else:
            loops.append(name)
    if not loops:
        raise Unavailable("no loop could be imported: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
    return loops, versions, skipped


class LineProgress:
    """Progress as lines on stderr: what a script prints when run on its own.

    The methods are the whole protocol; ``tideloop bench`` passes an object
    with the same methods that draws a progress bar instead.
    """

    def __init__(self, stream=None):
        self.stream = stream
        self.done = 0
        self.n = 0
        self.where = ""

    def _print(self, text):
        print(text, file=self.stream or sys.stderr, flush=True)

    def total(self, n):
        """The number of steps this run takes (may be called again when it changes)."""
        self.n = n

    def status(self, text):
        """What the run is doing between steps (probing loops, starting servers)."""

    def step(self, case, loop, rep, reps):
        """A counted step starts: *case* on *loop*, repetition *rep* of *reps*."""
        self.where = f"rep {rep}/{reps} {case} {loop}"

    def advance(self, text=None):
        """The current step ended; *text* is its result in a few words."""
        self.done += 1
        if text:
            self._print(f"[{self.done}/{self.n}] {self.where}: {text}")

    def note(self, text):
        """A message to keep: a loop skipped, a server n/a, a failure."""
        self._print(text)

"""The suites ``tideloop bench`` runs: which script, what it measures, its quick and full options.

Adding a suite is one line in SUITES. The script must take ``--loops`` and
``--repeat`` like the others. With ``collect``/``report_blocks`` (see
bench/suite_api.py) it gets a progress bar and tables. Without them,
``tideloop bench`` runs ``python bench/SCRIPT <options> --json FILE`` (plus
``--markdown`` when asked), shows its stderr lines as progress and prints what
the script prints.
"""
from collections import namedtuple

#: name: the suite's name on the command line; script: its file in bench/;
#: about: one line for --help and the report; quick: options of a smoke run
#: (``--quick``, seconds); full: options added to a full run.
Suite = namedtuple("Suite", "name script about quick full", defaults=((), ()))

SUITES = (
    Suite("micro", "micro.py", "loop primitives: callbacks, timers, tasks, futures, queues, executor",
          quick=("--scale", "0.02", "--repeat", "1")),
    Suite("processes", "processes.py", "subprocesses: spawn-and-wait, 100 MB through cat",
          quick=("--scale", "0.02", "--repeat", "1")),
    Suite("echo", "echo.py", "TCP echo servers in four modes and a C server; server CPU per request",
          quick=("--sizes", "1024", "--conns", "10", "--duration", "0.2", "--warmup", "0.1", "--repeat", "1"),
          full=("--sweep",)),
    Suite("http", "http.py", "HTTP/1.1 keep-alive (Protocol + httptools) loaded by wrk; server CPU per request",
          quick=("--duration", "2", "--warmup", "0", "--repeat", "1")),
    Suite("udp", "udp.py", "UDP echo endpoints, one and 64 datagrams in flight; CPU per round trip",
          quick=("--scale", "0.05", "--repeat", "1")),
)


def by_name():
    """The suites as a dict, in their run order."""
    return {s.name: s for s in SUITES}

"""The event loops the micro benchmarks compare: how to make one and how to name it.

Each loop is imported only inside the child process that benchmarks it, so a
loop that fails to import (tideloop mid-rebuild, uvloop not installed) is
skipped with a note instead of breaking the whole run.
"""
import asyncio
import importlib

# Report order; "asyncio" is the reference every ratio is taken against.
LOOP_NAMES = ("asyncio", "uvloop", "rloop", "tideloop")

# The peers tideloop must beat: its target is to be ahead of the faster of them.
PEERS = ("uvloop", "rloop")


def new_loop(name):
    """Return a new, not yet running event loop of the loop named *name*."""
    if name == "asyncio":
        # The selector loop explicitly: asyncio.new_event_loop() could pick up
        # an installed policy (uvloop's, tideloop's) and measure the wrong loop.
        return asyncio.SelectorEventLoop()
    if name not in LOOP_NAMES:
        raise ValueError(f"unknown loop {name!r}; choose from {', '.join(LOOP_NAMES)}")
    return importlib.import_module(name).new_event_loop()


def loop_version(name):
    """Return the version string of loop *name* (the Python version for asyncio).

    Raises ImportError (or whatever the import raises) when the loop is not
    importable; the driver turns that into a "skipped" note.
    """
    if name == "asyncio":
        import platform

        return "stdlib " + platform.python_version()
    module = importlib.import_module(name)
    version = getattr(module, "__version__", None)
    if version is None:
        from importlib import metadata

        version = metadata.version(name)
    # Building a loop proves the compiled core really works, not just that the
    # package directory exists.
    loop = module.new_event_loop()
    loop.close()
    return str(version)

"""The C allocator's give-back policy (src/tideloop/_core/allocator.pxi).

tideloop's first loop in a process raises glibc's dynamic mmap/trim thresholds
to 1 MiB / 2 MiB, so a server moving 100 KiB messages keeps its heap instead
of returning pages to the kernel and faulting them back in per message. These
tests run in a fresh interpreter each (the thresholds are process state) and
read where malloc puts a block: below the program break is the brk heap,
elsewhere an mmap of its own.
"""
import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"),
    reason="the tuning is glibc's dynamic threshold")

PROBE = textwrap.dedent("""
    import asyncio, ctypes, json
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.sbrk.restype = ctypes.c_void_p
    libc.sbrk.argtypes = [ctypes.c_ssize_t]

    def from_heap(size):
        # Kept, not freed: freeing an mmap()ed block is what moves the thresholds.
        block = libc.malloc(size)
        return block < libc.sbrk(0)

    def where():
        return {{"900K": from_heap(900 * 1024), "2M": from_heap(2 * 1024 * 1024)}}

    before = where()
    import {module}
    loop = {module}.new_event_loop()
    loop.close()
    print(json.dumps({{"before": before, "after": where()}}))
""")


def probe(module, **env):
    out = subprocess.run([sys.executable, "-c", PROBE.format(module=module)], capture_output=True, text=True,
                         env={**os.environ, **env}, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_first_loop_keeps_blocks_under_1_mib_on_the_heap():
    got = probe("tideloop")
    assert got["before"]["900K"] is False, "this interpreter raised the threshold itself; nothing to observe"
    assert got["after"] == {"900K": True, "2M": False}


def test_asyncio_loop_leaves_the_thresholds_alone():
    # The reference: asyncio's loop does not touch the allocator.
    got = probe("asyncio")
    assert got["before"]["900K"] is False
    assert got["after"] == got["before"]


def test_the_applications_own_thresholds_win():
    # Setting glibc's tunables turns the dynamic thresholds off; tideloop's
    # free() of its warm block then changes nothing.
    got = probe("tideloop", MALLOC_TRIM_THRESHOLD_="131072", MALLOC_MMAP_THRESHOLD_="131072")
    assert got["after"] == got["before"] == {"900K": False, "2M": False}

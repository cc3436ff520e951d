"""Build the private compiled core, ``tideloop._core.core``.

The core is ONE Cython compilation unit (``src/tideloop/_core/core.pyx``) that
textually ``include``s its parts.  Parts that differ per Python version are
rendered from Tempita templates (``*.pxi.in``) into a per-version build
directory, so one source tree can be built for 3.11, 3.12 and 3.13 side by side
without one build's generated C leaking into another's.
"""
import os
import sys

from Cython.Build import cythonize
from Cython import Tempita
from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
CORE = os.path.join("src", "tideloop", "_core")
TAG = "cp%d%d" % sys.version_info[:2]
GEN = os.path.join("build", "cython-" + TAG)


def render_templates():
    """Render every ``*.pxi.in`` of the core for the running Python."""
    os.makedirs(os.path.join(HERE, GEN), exist_ok=True)
    for name in os.listdir(os.path.join(HERE, CORE)):
        if not name.endswith(".pxi.in"):
            continue
        with open(os.path.join(HERE, CORE, name)) as f:
            text = Tempita.sub(f.read(), PY=sys.version_info[:2])
        out = os.path.join(HERE, GEN, name[:-3])
        old = None
        if os.path.exists(out):
            with open(out) as f:
                old = f.read()
        if old != text:  # keep mtimes stable so Cython does not rebuild needlessly
            with open(out, "w") as f:
                f.write(text)


render_templates()

debug = os.environ.get("TIDELOOP_DEBUG_BUILD") == "1"
extensions = [
    Extension(
        "tideloop._core.core",
        [os.path.join(CORE, "core.pyx")],
        extra_compile_args=["-O2", "-fno-strict-aliasing"] + (["-O0", "-g"] if debug else []),
        define_macros=[("CYTHON_TRACE_NOGIL", "0")],
    )
]

setup(
    ext_modules=cythonize(
        extensions,
        build_dir=GEN,
        include_path=[GEN, CORE],
        language_level=3,
        compiler_directives={
            "freethreading_compatible": True,
            "embedsignature": True,
        },
        force=os.environ.get("TIDELOOP_FORCE_CYTHON") == "1",
    ),
)

# tideloop: two commands on a fresh machine —
#   make demo   set up .venv, build, run the seed tutorial's tour on tideloop and a short timing table
#   make test   set up .venv, build, run the whole test suite
PY ?= python3
VENV ?= .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.tideloop-installed

.PHONY: demo test build venv clean bench cpython

$(VPY):
	$(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip

$(STAMP): $(VPY) pyproject.toml setup.py
	$(VPY) -m pip install -q "Cython>=3.1" setuptools wheel
	$(VPY) -m pip install -q -e ".[test]" --no-build-isolation
	touch $(STAMP)

venv: $(STAMP)

# Rebuild the compiled core in place (after editing src/tideloop/_core).
build: $(STAMP)
	$(VPY) setup.py -q build_ext --inplace

demo: build
	$(VPY) examples/tour.py
	$(VPY) bench/micro.py --loops asyncio,tideloop --scale 0.1 --repeat 1

test: build
	$(VPY) -m pytest -q -p no:cacheprovider tests

cpython: build
	$(VPY) tests/cpython/run.py --loop tideloop

# Every benchmark suite (about 20 minutes); `make bench BENCH_ARGS=--quick` for a smoke run.
bench: build
	$(VPY) -m pip install -q -e ".[bench]" --no-build-isolation
	$(VPY) -m tideloop bench $(BENCH_ARGS)

clean:
	rm -rf build $(VENV) src/*.egg-info
	find src -name '*.so' -delete

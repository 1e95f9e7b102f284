# Every target creates (or reuses) the project's virtualenv and installs what it needs.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-dev

.PHONY: venv test test-fast lint experiments experiments-quick bench example real-series clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check jaxseq tests experiments benchmarks
	$(VENV)/bin/ruff format --check jaxseq tests experiments benchmarks
	$(VENV)/bin/mypy jaxseq

experiments: $(STAMP)
	$(PY) -m jaxseq experiments

experiments-quick: $(STAMP)
	$(PY) -m jaxseq experiments --quick

bench: $(STAMP)
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) -m jaxseq bench --workloads W1,W2,W3,W4,W5,W6,S8,E1,B1,P1 $(BENCH_ARGS)

example: $(STAMP)
	$(PY) -m pip install -q -e '.[example]'
	$(PY) experiments/real_series.py --series co2

real-series: $(STAMP)
	$(PY) -m pip install -q -e '.[example]'
	$(PY) experiments/real_series.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache *.egg-info

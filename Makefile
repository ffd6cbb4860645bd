# graphexp-db: the two commands of the README.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DB ?= data/catalogue.sqlite

.PHONY: run test peer clean bench

$(BIN)/python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "python3.11 not found; set PY=/path/to/python3.11"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(MAKE) --no-print-directory peer
	touch $@ $(VENV)/.installed

# neural-tangents for the parity tests and benchmarks: its jax pin via the `peer` extra, the package
# itself without its declared (tensorflow) dependencies.  A failure here only skips the peer tests.
peer: | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[peer]' && $(BIN)/python -m pip install -q --no-deps neural-tangents==0.6.5 \
		|| echo "warning: neural-tangents could not be installed; the peer tests will skip with a reason"

$(DB): | $(VENV)/.installed
	$(BIN)/graphexp build --preset core

run: $(VENV)/.installed $(DB)
	$(BIN)/graphexp serve

# lint (ruff: pyflakes, isort, bugbear, complexity <= 15) and types (mypy on the modules listed in
# pyproject.toml) first: both take seconds, the tests take minutes
test: $(VENV)/.installed-dev
	$(BIN)/python -m ruff check .
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -q

# Every row of issue 12's table, each with its peer/baseline measured in the same run.
# `make bench BENCH_ENGINE_ARGS=--order10` adds the order-10 GUE and Ginibre expansions (minutes).
BENCH_ENGINE_ARGS ?=
bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/bench_engine.py $(BENCH_ENGINE_ARGS)
	$(BIN)/python -W ignore::UserWarning benchmarks/bench_limits.py
	$(BIN)/python benchmarks/bench_montecarlo.py
	$(BIN)/python benchmarks/bench_finite.py
	$(BIN)/python benchmarks/bench_size_estimate.py
	$(BIN)/python benchmarks/bench_hardening.py

clean:
	rm -rf $(VENV) $(DB) $(DB)-wal $(DB)-shm

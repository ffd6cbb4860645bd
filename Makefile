# graphexp-db: the two commands of the README.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DB ?= data/catalogue.sqlite

.PHONY: run test venv build-catalogue clean bench

$(BIN)/python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "python3.11 not found; set PY=/path/to/python3.11"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

$(DB): | $(VENV)/.installed
	$(BIN)/graphexp build --preset core

run: $(VENV)/.installed $(DB)
	$(BIN)/graphexp serve

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(DB) $(DB)-wal $(DB)-shm

# The two commands: `make demo` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: demo test check install install-dev bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

## Run the end-to-end demo offline on generated sample data (workspace: ./.monogram).
demo: $(STAMP)
	$(BIN)/monogram demo

## Run the whole suite. PostgreSQL tests start a throwaway server on localhost (see tests/pg.py).
test: $(DEV_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Lint, format check and type check.
check: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

## Benchmarks (not tests): print figures quoted in the README.
bench: $(DEV_STAMP)
	$(BIN)/python bench/ingest_bulk.py
	$(BIN)/python bench/ingest_http.py
	$(BIN)/python bench/identity_rebuild.py
	$(BIN)/python bench/context_latency.py

clean:
	rm -rf $(VENV) .monogram .pytest_cache .mypy_cache .ruff_cache

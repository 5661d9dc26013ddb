# The two commands: `make demo` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# Build llama.cpp for any x86-64 with AVX2 rather than for this exact CPU: "native" builds
# have crashed on machines that report AMX/AVX-512 (see docs/generation.md, "Choosing a production model").
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF

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
	$(BIN)/python bench/generation.py
	$(BIN)/python bench/openai_backend.py
	$(BIN)/python bench/quality.py
	$(BIN)/python bench/campaign.py
	$(BIN)/python bench/learning.py
	$(BIN)/python bench/sentiment.py

clean:
	rm -rf $(VENV) .monogram .pytest_cache .mypy_cache .ruff_cache

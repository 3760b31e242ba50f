# sigcc — two commands: `make run` and `make test`. Everything else: `sigcc --help`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
BENCH_ARGS  ?=

.PHONY: run test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: build the environment, compile the sample rules, scan the sample logs, print matches
run: $(STAMP)
	$(BIN)/sigcc build examples/rules -o out/detections.py
	$(BIN)/sigcc scan --rules out/detections.py examples/logs

## test: build the environment and run the test suite
test: $(STAMP)
	$(BIN)/python -m pytest -q

## bench: install the bench extra (pySigma baselines) and run the ruleset-scale benchmark;
##        BENCH_ARGS=--quick for a fast check, BENCH_ARGS='--markdown out/bench.md' for tables
bench: $(BENCH_STAMP)
	$(BIN)/python bench/scan.py $(BENCH_ARGS)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

clean:
	rm -rf $(VENV) out .pytest_cache

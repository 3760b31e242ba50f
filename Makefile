# sigcc — two commands: `make run` and `make test`. Everything else: `sigcc --help`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
BENCH_STAMP := $(VENV)/.installed-bench
BENCH_ARGS  ?=
FUZZ_STAMP  := $(VENV)/.installed-fuzz
FUZZ_TARGETS ?= rule condition jsonl json evtx
FUZZ_SECONDS ?= 60

.PHONY: run test bench fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# `make run` installs only what running needs; `make test` adds the dev extra (pytest, hypothesis,
# duckdb, psycopg, pyspark, ...). A dev install also satisfies `run`.
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP) $(RUN_STAMP)

## run: build the environment, compile the sample rules and correlations, scan the sample
##      logs, print matches and correlation firings as a table, the summary, and write the
##      HTML report out/report.html
run: $(RUN_STAMP)
	$(BIN)/sigcc build examples/rules examples/correlations -o out/detections.py
	$(BIN)/sigcc scan --rules out/detections.py examples/logs --format table --html out/report.html
	@echo "make run: the HTML report is out/report.html; JSONL matches: $(BIN)/sigcc scan --rules out/detections.py examples/logs"

## test: build the environment and run the test suite; prints the failures (with their
##       tracebacks) and one summary line, not every skip reason or warning
##       (`.venv/bin/python -m pytest -ra` lists the skips and why)
test: $(STAMP)
	$(BIN)/python -m pytest -q -rfE --disable-warnings

## bench: install the bench extra (pySigma baselines) and run the ruleset-scale benchmark;
##        BENCH_ARGS=--quick for a fast check, BENCH_ARGS='--markdown out/bench.md' for tables
bench: $(BENCH_STAMP)
	$(BIN)/python bench/scan.py $(BENCH_ARGS)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

## fuzz: install atheris and fuzz each target for FUZZ_SECONDS (corpus in out/fuzz/TARGET);
##       FUZZ_TARGETS='rule evtx' FUZZ_SECONDS=600 for a longer run of some targets
fuzz: $(FUZZ_STAMP)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p out/fuzz/$$t && echo "== fuzz $$t for $(FUZZ_SECONDS)s" && \
	  $(BIN)/python -m tests.fuzz.run_atheris $$t -max_total_time=$(FUZZ_SECONDS) -timeout=20 \
	    -rss_limit_mb=4096 -artifact_prefix=out/fuzz/$$t- out/fuzz/$$t || exit 1; \
	done

$(FUZZ_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,fuzz]'
	touch $(FUZZ_STAMP)

clean:
	rm -rf $(VENV) out .pytest_cache

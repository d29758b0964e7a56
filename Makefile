# The two commands of the README, and their set-up. Everything installs into ./.venv.
VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin

.PHONY: demo test lint setup test-setup bench clean

$(BIN)/feedpipe: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

setup: $(BIN)/feedpipe

# The demo's clock: Thursday evening of the bundled samples' week (2026-W48), so the demo shows the same
# digest on any date. `make demo DEMO_NOW=` runs it on the real clock instead.
DEMO_NOW ?= 2026-11-26T20:00:00+01:00

## demo: set up, run one full cycle on the embedded default (SQLite, bundled samples), and write the
## samples' week digest email to ./outbox as a subscriber would get it
demo: setup
	FEEDPIPE_NOW=$(DEMO_NOW) $(BIN)/feedpipe run
	FEEDPIPE_NOW=$(DEMO_NOW) $(BIN)/feedpipe digest preview --no-open --out outbox

## test-setup: node packages for the second feed reader and the Nu HTML checker (skipped tests without them)
test-setup: setup
	@if command -v npm >/dev/null; then \
	  for d in tests/node tests/vnu tests/axe; do [ -f $$d/package.json ] && npm ci --silent --no-audit --no-fund --prefix $$d || true; done; \
	else echo "npm not found: the second-reader and HTML-checker tests will be skipped"; fi

## test: lint and run the test suite
test: test-setup
	$(BIN)/ruff check feedpipe tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -q

## bench: every benchmark, one report (benchmarks/out/report.md, PNG plots, JSON); `make bench QUICK=--quick`
bench: setup
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/run.py $(QUICK) --json benchmarks/out/bench.json

clean:
	rm -rf var public outbox .pytest_cache

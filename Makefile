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

## demo: set up, run one full cycle on the embedded default (SQLite, bundled samples), and write this
## week's digest email to ./outbox as a subscriber would get it
demo: setup
	$(BIN)/feedpipe run
	$(BIN)/feedpipe digest preview --no-open --out outbox

## test-setup: node packages for the second feed reader and the Nu HTML checker (skipped tests without them)
test-setup: setup
	@if command -v npm >/dev/null; then \
	  for d in tests/node tests/vnu; do [ -f $$d/package.json ] && npm ci --silent --no-audit --no-fund --prefix $$d || true; done; \
	else echo "npm not found: the second-reader and HTML-checker tests will be skipped"; fi

## test: lint and run the test suite
test: test-setup
	$(BIN)/ruff check feedpipe tests benchmarks
	$(BIN)/pytest -q

bench: setup
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b; done

clean:
	rm -rf var public outbox .pytest_cache

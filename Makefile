# Two commands for a fresh machine with Python ≥ 3.11: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The tests run the semantic embedder end to end, so the default install includes it (CPU torch; ~8 min here under load).
EXTRAS ?= test,semantic

.PHONY: run test install bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Batchery needs Python >= 3.11 (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]"
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)  ## install, then run API + worker + beat (+ a private Redis when REDIS_URL is unset)
	$(BIN)/batchery up

test: $(STAMP)  ## install, then run every test (unit, API, integration with real Redis/worker/databases)
	$(BIN)/python -m pytest -q -ra $(PYTEST_ARGS)

bench: $(STAMP)  ## run every benchmark script (each prints its numbers and ratios)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python -m benchmarks.$$(basename $$f .py) || exit 1; done

clean:
	rm -rf $(VENV) var

# Two commands for a fresh machine with Python ≥ 3.11: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SEMANTIC := $(VENV)/.semantic

.PHONY: run test install bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Batchery needs Python >= 3.11 (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $(STAMP)

# The tests run the semantic embedder (minilm-l6) end to end, so they also install `batchery[semantic]`
# (torch 2.13.0 and sentence-transformers); `make run` does not, and the stack runs without it.
$(SEMANTIC): $(STAMP)
	$(BIN)/pip install --quiet -e ".[test,semantic]"
	@touch $(SEMANTIC)

install: $(STAMP)

run: $(STAMP)  ## install, then run API + worker + beat (+ a private Redis when REDIS_URL is unset)
	$(BIN)/batchery up

test: $(SEMANTIC)  ## install, then run every test (unit, API, integration with real Redis/worker/databases)
	$(BIN)/python -m pytest -q -ra $(PYTEST_ARGS)

bench: $(STAMP)  ## run every benchmark script (each prints its numbers and ratios)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python -m benchmarks.$$(basename $$f .py) || exit 1; done

clean:
	rm -rf $(VENV) var

# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HASH := $(shell cat pyproject.toml | sha1sum | cut -c1-12)
# the demo needs tierkit alone; the tests add Spark and the dev tools (a larger, slower install)
BASE := $(VENV)/.installed-base-$(HASH)
STAMP := $(VENV)/.installed-all-$(HASH)

.PHONY: install demo test lint bench clean

$(BASE): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	rm -f $(VENV)/.installed-base-*
	touch $(BASE)

$(STAMP): $(BASE)
	$(BIN)/python -m pip install -q -e ".[spark,dev]"
	rm -f $(VENV)/.installed-all-*
	touch $(STAMP)

install: $(STAMP)

demo: $(BASE)
	$(BIN)/tierkit demo --workspace demo-workspace

test: $(STAMP)
	$(BIN)/ruff check tierkit tests benchmarks
	$(BIN)/mypy tierkit
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

bench: $(STAMP)
	$(BIN)/python benchmarks/grade.py

clean:
	rm -rf $(VENV) demo-workspace .pytest_cache .mypy_cache .ruff_cache

# Two commands set everything up: `make demo` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,spark]'
	touch $(STAMP)

DEMO_HOME := $(VENV)/demo-home

# The demo world lives in its own store: its invented range files must never mix with real ones.
# `analyze` exits 1 when it finds violations, as it does here on purpose.
demo: $(STAMP)
	RESIDENCY_HOME=$(DEMO_HOME) $(BIN)/residency ranges import pcaps/demo-world/demo-* rules/sites.yaml >/dev/null
	RESIDENCY_HOME=$(DEMO_HOME) $(BIN)/residency analyze pcaps/demo.pcapng --policy rules/policy.yaml; \
	  test $$? -le 1

test: $(STAMP)
	$(BIN)/ruff check agent tests bench pcaps
	$(BIN)/mypy
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/bench_flows.py

clean:
	rm -rf $(VENV) build *.egg-info

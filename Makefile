PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SPEC ?= datasets_spec/compas.yaml
export FAIRLEDGER_MIRROR ?= $(abspath ../shared/data)
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_HOME ?= $(abspath .prefect)

.PHONY: run test install install-dev lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/fairledger run $(SPEC)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

test: install-dev lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) ledger .prefect .pytest_cache .mypy_cache .ruff_cache

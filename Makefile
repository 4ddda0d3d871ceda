# maillage — make run: install and serve the demo instance; make test: install and run the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run test lint format bench

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "maillage demande Python 3.11 ou plus récent")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/maillage init --with-demo
	$(BIN)/maillage serve

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy maillage

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

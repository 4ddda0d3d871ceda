# maillage — make run: install and serve the demo instance; make test: install and run the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install install-test run test test-fast lint format

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "maillage demande Python 3.11 ou plus récent")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Two markers: serving needs only the runtime dependencies, while the test tools (Playwright,
# Schemathesis, mypy…) are installed by the targets that use them. The test extra includes the
# runtime, so installing it marks both.
$(BIN)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(BIN)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $@ $(BIN)/.installed-run

install: $(BIN)/.installed-run

install-test: $(BIN)/.installed-test

# make run PORT=8080: the links written in mails follow the port unless MAILLAGE_BASE_URL is set.
PORT ?= 8000

run: install
	$(BIN)/maillage init --with-demo
	MAILLAGE_BASE_URL="$${MAILLAGE_BASE_URL:-http://127.0.0.1:$(PORT)}" $(BIN)/maillage serve --port $(PORT)

# Every test on every core (pytest-xdist: each worker has its own SQLite file or PostgreSQL
# database): on CI's two cores the PostgreSQL half takes 10 minutes instead of 31 to 45.
test: install-test
	$(BIN)/pytest -n auto

# The fast loop: everything but the tests marked « slow » (browser, whole demo, load), on every
# core (pytest-xdist: each worker has its own SQLite file or PostgreSQL database).
test-fast: install-test
	$(BIN)/pytest -m "not slow" -n auto

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy maillage
	$(BIN)/lint-imports --no-cache

format: install-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

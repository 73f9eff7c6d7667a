# The two commands: `make run` (the demo) and `make test` (lint + the whole suite).
# Both create .venv and install what they need on a fresh machine with Python 3.11 and make.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: run test lint e2e install translations schema clean help

help:
	@echo "make run   - install, migrate, seed the demo and serve it on http://127.0.0.1:$${PORT:-5000}/"
	@echo "make test  - install, lint (ruff) and run the whole test suite"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	@$(BIN)/pybabel compile -d translations --statistics

run: install
	$(BIN)/python app.py

lint: install
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

e2e: install
	$(BIN)/python -m pytest -q -m e2e $(PYTEST_ARGS)

# Before the first release only: rebuild the initial migration from the models (no deployed
# database exists yet). After the first release, add revisions with `flask db revision`.
schema: install
	@tmp=$$(mktemp -d); rm -f migrations/versions/0001_initial_schema.py; \
	RAYONNE_ENV=development DATABASE_URL=sqlite:///$$tmp/schema.db $(BIN)/flask --app app db revision \
	  -m "initial schema" --rev-id 0001 >/dev/null && rm -rf $$tmp && echo "migrations/versions/0001_initial_schema.py rebuilt"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# The two commands: `make run` (the demo) and `make test` (lint + the whole suite).
# Both create .venv and install what they need on a fresh machine with Python 3.11 and make.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: run test lint e2e install system-deps translations messages schema clean help

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

install: system-deps $(STAMP) translations

# WeasyPrint (the weekly PDF) loads Pango at run time; its pip wheel does not ship it. Installed here
# when missing and possible (root on Debian/Ubuntu); otherwise make stops with the command to run.
PANGO_APT := apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
system-deps:
	@if $(PYTHON) -c 'import ctypes.util as u, sys; sys.exit(not all(map(u.find_library, ("pango-1.0", "pangoft2-1.0", "harfbuzz-subset"))))'; then :; \
	elif [ "$$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null; then \
	  echo "Installing Pango for WeasyPrint: $(PANGO_APT)"; \
	  DEBIAN_FRONTEND=noninteractive $(PANGO_APT) >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(PANGO_APT); }; \
	else \
	  echo "WeasyPrint (the weekly PDF report) needs Pango, which is missing. As root, run:"; \
	  echo "  $(PANGO_APT)"; \
	  echo "(other systems: install Pango >= 1.44 with your package manager), then run make again."; \
	  exit 1; \
	fi

translations: $(STAMP)
	@$(BIN)/pybabel compile -d translations --statistics

# Re-extract the French source strings and merge them into the English catalog (new entries come out
# empty: translate them, then `make translations`). The keywords are every marker the code uses:
# `_l` for lazy strings, and pgettext for a French word with two meanings ("Engagement": money set
# aside vs. reactions to a post). Lines wrap at 120, as in the catalog.
BABEL_KEYWORDS := -k _l -k lazy_gettext -k ngettext:1,2 -k lazy_ngettext:1,2 -k pgettext:1c,2 -k lazy_pgettext:1c,2
messages: $(STAMP)
	@tmp=$$(mktemp); $(BIN)/pybabel -q extract -F babel.cfg $(BABEL_KEYWORDS) -w 120 \
	  --ignore-dirs='.venv node_modules tests bench migrations instance' -o $$tmp . && \
	$(BIN)/pybabel -q update -i $$tmp -d translations --no-fuzzy-matching -w 120; rc=$$?; rm -f $$tmp; exit $$rc

run: install
	$(BIN)/python app.py

lint: install
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest -q -n 2 $(PYTEST_ARGS)

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

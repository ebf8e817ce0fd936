# Two commands for a fresh machine: `make run` and `make test` (see README.md).
VENV ?= .venv
PORT ?= 5000
PYTHON ?= python3
BIN = $(VENV)/bin

.PHONY: run test lint bench clean translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.app: pyproject.toml setup.py | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test: pyproject.toml $(VENV)/.app
	$(BIN)/pip install -q -e '.[test]'
	touch $@

run: $(VENV)/.app
	$(BIN)/tracker bootstrap --dev
	$(BIN)/tracker serve --host 127.0.0.1 --port $(PORT)

# Lint, then the whole suite on SQLite (with the browser and production tests), then on PostgreSQL.
test: $(VENV)/.test
	$(BIN)/ruff check tracker tests migrations bench
	$(BIN)/pytest $(PYTEST_ARGS)
	TRACKER_TEST_DB=postgresql $(BIN)/pytest --ignore=tests/browser --ignore=tests/production $(PYTEST_ARGS)

lint: $(VENV)/.test
	$(BIN)/ruff check tracker tests migrations bench
	$(BIN)/ruff format --check tracker tests bench

# Benchmarks against a bare Flask page and a same-SQL baseline (README.md, "Benchmarks"); not in `make test`.
# BENCH_ARGS="--quick" for a short run, "--only pages" (scale, weekly, load) for one step.
bench: $(VENV)/.test
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache

# Refresh the translation catalogues after changing user-facing strings, then translate what is new
# in tracker/translations/en/LC_MESSAGES/messages.po and run this again to compile.
translations: $(VENV)/.test
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 -k gettext_once -k ngettext_once:1,2 -k lazy_ngettext:1,2 --sort-by-file --omit-header -o tracker/translations/messages.pot .
	$(BIN)/pybabel update -i tracker/translations/messages.pot -d tracker/translations -l en --no-fuzzy-matching
	$(BIN)/pybabel compile -d tracker/translations -l en --statistics

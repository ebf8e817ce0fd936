# Two commands for a fresh machine: `make run` and `make test` (see README.md).
VENV ?= .venv
PORT ?= 5000
PYTHON ?= python3
BIN = $(VENV)/bin

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.app: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test: pyproject.toml $(VENV)/.app
	$(BIN)/pip install -q -e '.[test]'
	touch $@

run: $(VENV)/.app
	$(BIN)/tracker bootstrap --dev
	$(BIN)/tracker serve --host 127.0.0.1 --port $(PORT)

test: $(VENV)/.test
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.test
	$(BIN)/ruff check tracker tests migrations bench
	$(BIN)/ruff format --check tracker tests bench

clean:
	rm -rf $(VENV) instance .pytest_cache

# The two commands of the quick start: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run lint test bench clean

$(BIN)/shelfcast: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

## setup: create .venv, install the project, fetch the Kafka/mongo-java-server jars
setup: $(BIN)/shelfcast
	$(BIN)/shelfcast stack fetch

## run: embedded Kafka + Mongo-protocol server + every service + the generator; Ctrl-C stops all
run: setup
	$(BIN)/shelfcast up

## lint: ruff (lint and format check, line length 120; settings in pyproject.toml)
lint: $(BIN)/shelfcast
	$(BIN)/ruff check services tests
	$(BIN)/ruff format --check services tests

## test: lint, then the whole suite against real servers started once per session
test: export OMP_WAIT_POLICY := PASSIVE
test: setup lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## bench: the ingest benchmark whose figures are in the README
bench: setup
	$(BIN)/shelfcast bench ingest --events 50000 --json

clean:
	rm -rf $(VENV) .shelfcast .pytest_cache

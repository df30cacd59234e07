# Otklik: the README's commands. Everything runs from the project's own virtual environment.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
export OTKLIK_DATA_DIR ?= $(CURDIR)/var

.PHONY: install run test lint bench messages clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	touch $@

## make run: migrate, load demo data, serve http://127.0.0.1:8000 with an in-process job consumer.
run: install
	$(BIN)/otklik migrate --no-input
	$(BIN)/otklik demo
	$(BIN)/otklik start

## make test: the whole suite (SQLite by default; set OTKLIK_DATABASE_URL for PostgreSQL).
test: install
	OTKLIK_DATA_DIR=$(CURDIR)/var/test $(BIN)/pytest -n 2 --dist loadgroup

lint: install
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench.run_all

messages: install
	cd src/otklik && ../../$(BIN)/otklik makemessages -l ru -l en --no-obsolete && ../../$(BIN)/otklik compilemessages

clean:
	rm -rf $(VENV) var

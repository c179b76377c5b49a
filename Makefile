# The whole set-up is two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PYTEST_ARGS ?=

.PHONY: run test install assets lint format clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# Re-installs only when the dependency files change.
$(VENV)/.installed: $(BIN)/activate pyproject.toml constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed

assets: node_modules/.installed

# SQLite needs nothing. On PostgreSQL with two roles (README "Database roles"): DATABASE_URL is the
# application role, MIGRATION_DATABASE_URL the owner, who migrates; DATABASE_SUPERUSER_URL, if set,
# creates both roles and the database first. The app itself never sees the owner's or superuser's login.
APP_ENV := env -u MIGRATION_DATABASE_URL -u DATABASE_SUPERUSER_URL
run: install assets
	$(if $(DATABASE_SUPERUSER_URL),$(PY) manage.py db_roles_create)
	$(PY) manage.py migrate --noinput $(if $(MIGRATION_DATABASE_URL),--database owner)
	$(APP_ENV) $(PY) manage.py seed_demo
	$(APP_ENV) $(BIN)/python bin/run_dev.py

test: install assets
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) node_modules staticfiles var

# The whole set-up is two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PYTEST_ARGS ?=

.PHONY: run test install assets lint format clean bench bench-install bench-setup bench-pages bench-sizes bench-ledger bench-sweeps bench-memory bench-report

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

# --- Benchmarks (README: Benchmarks): each figure a ratio to a baseline measured in the same run ---
# The bench is deployed as production is (README "Database roles"): the superuser creates the two roles and
# the databases, the owner migrates, the application role serves and writes (gunicorn refuses anything else).
BENCH_SUPERUSER_URL ?= postgres://postgres@127.0.0.1:5432/postgres
BENCH_DATABASE_URL ?= postgres://milestone_bench_app:bench-app@127.0.0.1:5432/milestone_bench
BENCH_MIGRATION_URL ?= postgres://milestone_bench_owner:bench-owner@127.0.0.1:5432/milestone_bench
# No Celery worker runs: emails queued by the services stay in an in-memory broker.
BENCH_ENV := DATABASE_URL=$(BENCH_DATABASE_URL) MIGRATION_DATABASE_URL=$(BENCH_MIGRATION_URL) \
	DATABASE_SUPERUSER_URL=$(BENCH_SUPERUSER_URL) CELERY_BROKER_URL=memory://
BENCH := $(BENCH_ENV) $(PY) bench/run.py

$(VENV)/.bench-installed: $(VENV)/.installed pyproject.toml constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,bench]'
	touch $@

bench-install: $(VENV)/.bench-installed
	@command -v wrk >/dev/null || apt-get install -y wrk || { echo "bench needs wrk (apt-get install wrk)"; exit 1; }

bench-setup: bench-install
	$(BENCH) setup

bench-pages: bench-setup
	$(BENCH) pages

bench-sizes: bench-setup
	$(BENCH) sizes

bench-ledger: bench-setup
	$(BENCH) ledger

# The sweeps get a database of their own, so "1,000 among 1,000" holds nothing else.
bench-sweeps: bench-install
	$(subst milestone_bench,milestone_bench_sweeps,$(BENCH)) sweeps

bench-memory: bench-setup
	$(BENCH) memory

bench-report: bench-install
	$(BENCH) report

bench: bench-setup
	$(MAKE) bench-pages bench-sizes bench-ledger bench-sweeps bench-memory
	$(MAKE) bench-report

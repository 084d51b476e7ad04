# Two commands on a fresh machine: `make run` and `make test` (see README.md).
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-deep lint format bench clean

install: $(STAMP)

$(VENV)/bin/python:
	@interp=$$(scripts/find-python) || exit 1; \
	echo "Creating $(VENV) with $$interp"; \
	"$$interp" -m venv $(VENV)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	@scripts/phase "install into $(VENV)" sh -c '$(PY) -m pip install --quiet --upgrade pip && $(PY) -m pip install --quiet -e ".[dev]"'
	@touch $(STAMP)

run: $(STAMP)
	DJANGO_DEBUG=1 $(PY) manage.py migrate --no-input
	DJANGO_DEBUG=1 $(PY) manage.py seed_demo --if-empty
	DJANGO_DEBUG=1 $(PY) manage.py demo_users
	@# The notifications worker (webhooks, digests) runs beside the server and stops with it.
	DJANGO_DEBUG=1 $(PY) manage.py db_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	DJANGO_DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

test: $(STAMP)
	@scripts/phase "browser and client tools" sh -c 'scripts/ensure-chromium && scripts/ensure-axe && scripts/ensure-otlp-js'
	@scripts/phase lint sh -c '$(PY) -m ruff check . && $(PY) -m ruff format --check .'
	@DJANGO_DEBUG=1 scripts/phase "migrations check" $(PY) manage.py makemigrations --check --dry-run --no-input
	@scripts/phase "TypeScript store" scripts/test-store-ts
	@# The suite on PostgreSQL (a throw-away cluster) and on SQLite, side by side, one per
	@# core; without a PostgreSQL here (scripts/with-postgres says why) the SQLite half alone.
	@scripts/phase "both engines, side by side" scripts/test-engines $(PY)

# The property tests searched long (HYPOTHESIS_PROFILE=thorough: 500 examples each), on
# SQLite; make test runs them at the size its 10 minutes allow (the ci profile).
test-deep: $(STAMP)
	@HYPOTHESIS_PROFILE=thorough scripts/phase "suite on SQLite, thorough" $(PY) -m pytest

format: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache runtime-store-ts/node_modules runtime-store-ts/dist runtime-store-ts/.node

# One way to run things: the README's commands, used by CI (.ci/run calls `make test`).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1:8000
# Local runs (the demo, the tests) use a key kept beside the code, readable by its owner only;
# production sets SECRET_KEY itself, and the server refuses to start without one.
export SECRET_KEY ?= $(shell test -s .secret_key || $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > .secret_key; chmod 600 .secret_key; cat .secret_key)
# The production configuration the suite also runs against (CI starts both services).
PG_URL ?= postgres://postgres@127.0.0.1:5432/cmp
REDIS ?= redis://127.0.0.1:6379/1
# The Redis database the PostgreSQL pass's deployments (gunicorn servers the tests start) use; the
# SQLite pass's use db 3 (tests/deployment.py), so that the two passes can run side by side.
PG_DEPLOYMENT_REDIS ?= redis://127.0.0.1:6379/4
# A second PostgreSQL database, a data region for tests/test_residency*.py (as test_cmp_us).
PG_REGION_URL ?= postgres://postgres@127.0.0.1:5432/cmp_us

.PHONY: demo test stress lint test-js test-sqlite test-postgres test-deps services widget bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	touch $@

## demo: install, migrate, create the demo site and serve it on http://$(HOST)/
demo: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py demo --host $(HOST)
	$(PY) manage.py runserver $(HOST)

## test: install what the tests need, lint, and run the suite on SQLite and on PostgreSQL + Redis
# The two passes run side by side (their output kept apart): much of each is waiting on servers and
# browsers they start, and they share no database, Redis database or port.
test: test-deps lint test-js
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

## stress: `make test` 5 times in a row (RUNS=N for more) while stress-ng keeps every core busy
stress:
	bash scripts/stress.sh

test-deps: $(VENV)/.installed
	bash scripts/test-deps.sh

services:
	bash scripts/services.sh

## widget: rebuild static/cmp/cmp.js from static/cmp/src/ (esbuild from npm); commit the result
widget:
	bash scripts/build-widget.sh

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	[ -x node_modules/.bin/eslint ] || npm ci --silent --no-audit --no-fund
	node_modules/.bin/eslint static/cmp/src static/consent tests/js eslint.config.js

## test-js: the widget's modules, unit by unit, with Node's own test runner
test-js:
	node --test tests/js/

test-sqlite: $(VENV)/.installed services
	$(VENV)/bin/pytest -q

# The browser tests (tests/browser, and the scanner's, marked `browser`) run once, in the SQLite pass:
# what they check does not depend on the database.
test-postgres: $(VENV)/.installed services
	DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS) DEPLOYMENT_REDIS_URL=$(PG_DEPLOYMENT_REDIS) \
		DATABASE_URLS_BY_REGION=us=$(PG_REGION_URL) $(VENV)/bin/pytest -q --ignore=tests/browser -m "not browser"

## bench: the API benchmark (docs/performance.md): gunicorn on PostgreSQL + Redis, measured with wrk
bench: $(VENV)/.installed services
	command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)
	$(PY) bench/check_api.py

clean:
	rm -rf $(VENV) node_modules staticfiles db.sqlite3

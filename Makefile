# Two commands do everything on a fresh machine: `make run` and `make test`.
# Python packages come from uv.lock (exact versions with hashes), installed by a pinned uv;
# `make lock` refreshes the lock after pyproject.toml changes.
PYTHON     ?= python3
VENV       ?= .venv
PY         := $(VENV)/bin/python
STAMP      := $(VENV)/.installed
TOOLS      := .tools
UV_VERSION := 0.13.9
UV         := $(TOOLS)/bin/uv
# uv uses this machine's Python, never a downloaded one, and installs into ./.venv.
UV_ENV     := UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=$(VENV)

.PHONY: run test test-slow bench install lock system-packages clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --locked: install exactly uv.lock, and stop if it is stale against pyproject.toml.
$(STAMP): pyproject.toml uv.lock $(UV)
	$(UV_ENV) $(UV) sync --locked --extra dev --python $(PYTHON) --quiet
	touch $(STAMP)

install: $(STAMP)

## Refresh uv.lock from pyproject.toml (then commit it).
lock: $(UV)
	$(UV_ENV) $(UV) lock --python $(PYTHON)

## Debian packages the suite needs (redis-server, chromium, fonts): installed as root, else the command to run.
system-packages:
	@scripts/system-packages

## Serve on 127.0.0.1:8000 with demo data on the embedded PostgreSQL (unless DATABASE_URL is set).
run: $(STAMP)
	$(VENV)/bin/auction serve --demo

## The whole suite (unit, storage, end-to-end, browser, Locust smoke run), one worker per core:
## most tests wait on a server of their own (own database, ports, folders), so they run side by side.
## A file's tests stay on one worker (its module fixtures, e.g. the browser, start once).
## `make test TEST_WORKERS=0` runs in one process.
TEST_WORKERS ?= auto
test: system-packages $(STAMP)
	$(PY) -m pytest -m "not slow" -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test-slow: system-packages $(STAMP)
	$(PY) -m pytest -m slow $(PYTEST_ARGS)

## Benchmark: starts its own server on the embedded database and prints the figures.
bench: system-packages $(STAMP)
	$(PY) -m loadtests.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) var .pytest_cache

# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-slow bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Serve on 127.0.0.1:8000 with demo data on the embedded PostgreSQL (unless DATABASE_URL is set).
run: $(STAMP)
	$(VENV)/bin/auction serve --demo

## The whole suite (unit, storage, end-to-end, Locust smoke run).
test: $(STAMP)
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(PY) -m pytest -m slow $(PYTEST_ARGS)

## Benchmark: starts its own server on the embedded database and prints the figures.
bench: $(STAMP)
	$(PY) -m loadtests.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache

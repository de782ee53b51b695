# finlineage: two commands. `make run` serves on http://127.0.0.1:8000; `make test` runs everything.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test bench lint typecheck pytest setup setup-dev dbt-env system-deps screenshots clean demo-data cluster cluster-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Re-install only when pyproject.toml changes (a second `make run` reuses what is there).
$(VENV)/.installed-runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[embeddings,postgres]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[embeddings,postgres,dev]'
	touch $@ $(VENV)/.installed-runtime

setup: $(VENV)/.installed-runtime
setup-dev: $(VENV)/.installed-dev

# dbt for the dbt-manifest tests, in its own venv (dbt-core 1.x pins pathspec<0.13; mypy needs >=1.0).
# dbt-core 1.12+ downloads a parser binary at install time, hence <1.12.
.venv-dbt/bin/dbt:
	$(PYTHON) -m venv .venv-dbt
	.venv-dbt/bin/pip install --quiet 'dbt-core>=1.9,<1.12' 'dbt-duckdb>=1.9,<1.12'
dbt-env: .venv-dbt/bin/dbt

# Debian packages the tests need, installed only when missing.
system-deps:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	command -v git >/dev/null || missing="$$missing git"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# The bundled demo warehouse; unchanged files are skipped, so a second `make run` is quick.
# FINLINEAGE_LOAD_DEMO=false skips it.
demo-data: setup
	@if [ "$${FINLINEAGE_LOAD_DEMO:-true}" != "false" ]; then \
	  $(BIN)/finlineage ingest demo --project demo --create-project --repository demo-warehouse --allow-errors; \
	fi

run: setup demo-data
	$(BIN)/finlineage serve --host $(HOST) --port $(PORT)

lint: setup-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: setup-dev
	$(BIN)/mypy

pytest: setup-dev system-deps dbt-env
	$(BIN)/pytest -q -p no:cacheprovider --durations=25 --cov=finlineage --cov-report=term:skip-covered --cov-report=xml

test: lint typecheck pytest

# The docker-compose topology on loopback, without Docker (deploy/cluster.py): embedded PostgreSQL,
# redis-server, two `finlineage serve`, workers, nginx on :8080. Ctrl-C stops everything it started.
CLUSTER_ARGS ?=
cluster: setup-dev system-deps
	$(BIN)/python deploy/cluster.py $(CLUSTER_ARGS)

# Tests against that topology (own free ports). `make test` runs them too: `pytest` covers tests/deploy.
cluster-test: setup-dev system-deps
	$(BIN)/pytest -q -p no:cacheprovider -m cluster tests/deploy

bench: setup-dev system-deps
	mkdir -p bench/results
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# One PNG per dashboard view (demo data, real server, headless Chromium) → bench/results/screenshots/
screenshots: setup-dev system-deps
	mkdir -p bench/results/screenshots
	$(BIN)/python bench/screenshots.py

clean:
	rm -rf $(VENV) data logs .pytest_cache .mypy_cache .ruff_cache coverage.xml .coverage

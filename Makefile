# The two commands of the README, plus lint. Each creates the environment first if needed.
# Only Python 3.11 and make are assumed; uv is bootstrapped with pip when it is missing.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
UV := $(PYTHON) -m uv
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export GX_ANALYTICS_ENABLED := false

.PHONY: env demo test lint bench clean

$(VENV)/.synced: pyproject.toml uv.lock
	$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	$(UV) sync --frozen --python $(PYTHON) --compile-bytecode
	touch $@

env: $(VENV)/.synced

demo: env
	$(VENV)/bin/o2c demo

test: env
	$(VENV)/bin/pytest -q

lint: env
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy tasks rules

bench: env
	$(VENV)/bin/o2c bench --invoices 10000

clean:
	rm -rf $(VENV) var

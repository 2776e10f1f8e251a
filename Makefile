# The two commands of the README, plus lint. Each creates the environment first if needed.
# Only Python 3.11 and make are assumed; uv is bootstrapped with pip when it is missing.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
UV := $(PYTHON) -m uv
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export GX_ANALYTICS_ENABLED := false

.PHONY: env demo test test-postgres lint bench soak clean

$(VENV)/.synced: pyproject.toml uv.lock
	$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	$(UV) sync --frozen --python $(PYTHON) --compile-bytecode
	touch $@

env: $(VENV)/.synced

demo: env
	$(VENV)/bin/o2c demo

# Three workers on two cores: many integration tests wait on a Prefect server, a subprocess or a
# browser, and a third worker fills that wait (1,846 tests: 8 min 35 s against 9 min 41 s to 9 min 54 s).
test: env
	$(VENV)/bin/pytest -q -n 3 --dist loadfile

# The integration suite again with every workspace's ledger in PostgreSQL (127.0.0.1:5432, trust auth;
# a database per test, dropped afterwards): the same tests, the same results, on the other store.
test-postgres: env
	O2C_TEST_LEDGER=postgres $(VENV)/bin/pytest -q -n 2 --dist loadfile tests/integration

lint: env
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy rules tasks flows tools cli

# The long proofs: every crash point of three books and 50 double starts (tests/crash/harness.py),
# then the money invariants at 20,000 Hypothesis examples. Prints what it tried and how long it took.
soak: env
	@began=$$(date +%s); status=0; \
	$(VENV)/bin/python -m tests.crash.harness --books 3 --pairs 50 || status=1; \
	HYPOTHESIS_PROFILE=soak $(VENV)/bin/pytest -q -p no:cacheprovider --hypothesis-show-statistics \
		tests/unit/test_money_properties.py || status=1; \
	echo "make soak: $$(( ($$(date +%s) - began) / 60 )) min, $$([ $$status = 0 ] && echo passed || echo FAILED)"; \
	exit $$status

bench: env
	$(VENV)/bin/o2c bench --invoices 10000

clean:
	rm -rf $(VENV) var

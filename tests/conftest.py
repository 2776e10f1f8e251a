"""Shared fixtures: a workspace per test and the real datasets folder beside the project."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

PROJECT = Path(__file__).resolve().parent.parent
DATASETS = PROJECT.parent / "shared" / "datasets"


# `O2C_TEST_LEDGER=postgres` (`make test-postgres`) runs every test that takes the `home` workspace
# with its ledger in PostgreSQL: a database of its own on 127.0.0.1:5432 per test, with the newest
# schema, dropped afterwards.
LEDGER_BACKEND = os.environ.get("O2C_TEST_LEDGER", "duckdb")
POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Path:
    """An empty workspace (`O2C_HOME`) with the file mailer; its ledger in PostgreSQL with
    `O2C_TEST_LEDGER=postgres`."""
    workspace = tmp_path / "home"
    monkeypatch.setenv("O2C_HOME", str(workspace))
    monkeypatch.setenv("O2C_MAILER", "file")
    if LEDGER_BACKEND == "postgres":
        monkeypatch.setenv("O2C_LEDGER_URL", request.getfixturevalue("postgres_ledger"))
    return workspace


@pytest.fixture
def postgres_ledger() -> Iterator[str]:
    """A database of its own on the PostgreSQL server with the ledger's newest schema, dropped
    afterwards."""
    import uuid

    import psycopg

    from tasks.platform.ledger.postgres import migrate_postgres

    name = f"o2c_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as con:
        con.execute(f'create database "{name}"')
    try:
        migrate_postgres(f"{POSTGRES_SERVER}/{name}")
        yield f"{POSTGRES_SERVER}/{name}"
    finally:
        with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as con:
            con.execute(f'drop database if exists "{name}" with (force)')


# Hypothesis profiles for the property tests (tests/unit/test_money_properties.py), chosen with
# HYPOTHESIS_PROFILE: "dev" (default) is quick and reproducible (derandomized: the same examples
# every run); "soak" runs 2,250 examples per property from a fresh random seed, and prints the
# blob that reproduces a failure (no example database is written into the project).
settings.register_profile("dev", max_examples=25, deadline=None, derandomize=True, print_blob=True)
# soak: 20,250 examples in all, 2,250 for each of the nine properties (the heavy ones, a reconcile per
# example, cost 0.1-0.3 s each: about 40 min on this 2-core machine).
settings.register_profile("soak", max_examples=2_250, deadline=None, database=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

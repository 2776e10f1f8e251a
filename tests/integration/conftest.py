"""Integration fixtures: flows run through a real Prefect API (the test harness, started once)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from tools.generate import generate_book, write_book

AS_OF = date(2026, 11, 20)
POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"
# the longer PostgreSQL tests run in the PostgreSQL pass (`make test-postgres`, which CI runs after
# `make test`), so that `make test` stays within its ten minutes
in_postgres_pass = pytest.mark.skipif(
    os.environ.get("O2C_TEST_LEDGER") != "postgres", reason="runs in make test-postgres"
)
DATASETS_FOLDER = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


@pytest.fixture(scope="session", autouse=True)
def prefect_api() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def book_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated book of 40 customers and 400 invoices as canonical CSV files."""
    folder = tmp_path_factory.mktemp("book")
    write_book(generate_book(customers=40, invoices=400, seed=11, as_of=AS_OF), folder)
    return folder


def book_files(folder: Path) -> list[str]:
    return [
        str(folder / f"{name}.csv") for name in ("customers", "orders", "order_lines", "invoices", "payments")
    ]


@contextmanager
def new_database() -> Iterator[str]:
    """An empty database of its own on the PostgreSQL server on 127.0.0.1:5432, dropped afterwards."""
    import uuid

    import psycopg

    name = f"o2c_ledger_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as con:
        con.execute(f'create database "{name}"')
    try:
        yield f"{POSTGRES_SERVER}/{name}"
    finally:
        with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as con:
            con.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def database() -> Iterator[str]:
    """An empty database of its own on the PostgreSQL server on 127.0.0.1:5432, dropped afterwards."""
    with new_database() as url:
        yield url

"""Moving a ledger between a workspace's file and PostgreSQL (`o2c ledger migrate --to`, `o2c ledger
copy`): the schema made from the same migrations, every row copied in one transaction and checked
table by table, the views giving the same answers, and back; a database that holds tables is
refused, a copy that does not check out keeps nothing, a ledger at an older schema is refused by
the commands and copied up to a new database, a store out of reach or a URL that is not
PostgreSQL's is one line, and a password in the URL is never shown. Against the PostgreSQL server
on 127.0.0.1:5432, a database of its own per test, dropped afterwards."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from cli import app
from flows.reconcile import reconcile_flow
from tasks.platform.config import PROJECT_ROOT, SettingsError, load_settings
from tasks.platform.ledger import open_ledger
from tasks.platform.ledger import postgres as pg_ledger
from tests.integration.conftest import in_postgres_pass, new_database
from tests.integration.ledger_builder import load

AS_OF = date(2026, 11, 20)
CUSTOMERS = 'K1,"Acme ""Quotes"", Ltd",ap@acme.example,DE,EUR,30,,,standard,en,\nK2,Bolt,ap@bolt.example,US,USD,30,,,standard,en,\n'
INVOICES = """
X-1,K1,2026-08-01,2026-08-31,EUR,700.00,
X-2,K1,2026-10-25,2026-11-24,EUR,300.00,
Y-1,K2,2026-09-15,2026-10-15,USD,120.00,
"""
PAYMENTS = (
    "P-1,2026-11-02,700.00,EUR,Acme,DE89370400440532013000,X-1 thanks\nP-2,2026-11-03,20.00,USD,Bolt,,\n"
)
runner = CliRunner()


def status(home: Path, ledger_url: str) -> subprocess.CompletedProcess[str]:
    """`o2c status` in a process of its own, on the PostgreSQL ledger `ledger_url`."""
    return subprocess.run(
        [sys.executable, "-m", "cli", "status"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "O2C_HOME": str(home), "O2C_LEDGER_URL": ledger_url},
        capture_output=True,
        text=True,
        timeout=120,
    )


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as con:
        return con.execute(sql).fetchall()


def test_a_workspace_is_copied_to_postgresql_and_reads_the_same(
    home: Path, tmp_path: Path, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("O2C_LEDGER_URL", raising=False)  # the workspace's file is what is copied
    load(home, tmp_path / "in", AS_OF, customers=CUSTOMERS, invoices=INVOICES, payments=PAYMENTS)
    reconcile_flow(as_of=AS_OF, home=str(home))
    target = database.replace("postgresql://postgres@", "postgresql+psycopg://postgres:canary-pw@")
    done = runner.invoke(app, ["ledger", "copy", "--to", target, "--home", str(home), "--json"])
    assert done.exit_code == 0, done.output
    assert "canary-pw" not in done.output and "postgres:***@" in done.output
    copied = {t["table"]: t for t in json.loads(done.output)["tables"]}
    with open_ledger(home / "ledger.duckdb") as ledger:
        con = ledger.con
        tables = [r[0] for r in con.execute("select table_name from duckdb_tables() order by 1").fetchall()]
        assert sorted(copied) == tables
        for table in tables:
            (count,) = con.execute(f"select count(*) from {table}").fetchone() or (0,)
            assert copied[table]["rows"] == count == rows(database, f"select count(*) from {table}")[0][0]
        balances = con.execute("select invoice_id, open_minor from invoice_balances order by 1").fetchall()
        customers = con.execute("select customer_id, name from customers order by 1").fetchall()
        evidence = con.execute("select sha256 from evidence_files order by 1").fetchall()
        (audit_last,) = con.execute(
            "select last_value from duckdb_sequences() where sequence_name = 'audit_seq'"
        ).fetchone() or (0,)
    assert rows(database, "select invoice_id, open_minor from invoice_balances order by 1") == balances
    assert ("X-1", 0) in balances and ("Y-1", 120_00) in balances
    assert rows(database, "select customer_id, name from customers order by 1") == customers
    assert customers[0][1] == 'Acme "Quotes", Ltd'
    copied_files = rows(database, "select sha256, content from evidence_files order by 1")
    assert [(s,) for s, _ in copied_files] == evidence
    assert all(hashlib.sha256(bytes(content)).hexdigest() == s for s, content in copied_files)
    assert rows(database, "select last_value from audit_seq")[0][0] == audit_last
    assert copied["allocations"]["totals"]["amount_minor"] == 700_00

    again = runner.invoke(app, ["ledger", "copy", "--to", database, "--home", str(home)])
    assert again.exit_code == 2 and "holds tables already" in again.output

    # and back: PostgreSQL into a new file, and into another PostgreSQL database, the same rows
    back = tmp_path / "back" / "ledger.duckdb"
    done = runner.invoke(app, ["ledger", "copy", "--from", target, "--to", str(back), "--json"])
    assert done.exit_code == 0, done.output
    assert {t["table"]: t for t in json.loads(done.output)["tables"]} == copied
    with open_ledger(back) as ledger:
        assert (
            ledger.con.execute("select invoice_id, open_minor from invoice_balances order by 1").fetchall()
            == balances
        )
        assert (
            ledger.con.execute("select customer_id, name from customers order by 1").fetchall() == customers
        )
        files = ledger.con.execute("select sha256, content from evidence_files order by 1").fetchall()
        assert [(s, bytes(c)) for s, c in files] == [(s, bytes(c)) for s, c in copied_files]
    refused = runner.invoke(app, ["ledger", "copy", "--from", database, "--to", str(back)])
    assert refused.exit_code == 2 and "exists already" in refused.output
    with new_database() as second:
        done = runner.invoke(app, ["ledger", "copy", "--from", database, "--to", second, "--json"])
        assert done.exit_code == 0, done.output
        assert rows(second, "select invoice_id, open_minor from invoice_balances order by 1") == balances


def test_a_copy_that_does_not_check_out_keeps_nothing(
    home: Path, tmp_path: Path, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("O2C_LEDGER_URL", raising=False)  # the workspace's file is what is copied
    load(home, tmp_path / "in", AS_OF, customers=CUSTOMERS, invoices=INVOICES)
    counted = pg_ledger._totals_postgres

    def one_row_short(pg: Any, table: str, numbers: list[str]) -> pg_ledger.TableCopy:
        found = counted(pg, table, numbers)
        return pg_ledger.TableCopy(table, found.rows - 1, found.totals) if table == "invoices" else found

    monkeypatch.setattr(pg_ledger, "_totals_postgres", one_row_short)
    done = runner.invoke(app, ["ledger", "copy", "--to", database, "--home", str(home)])
    assert done.exit_code == 2 and "invoices:" in done.output and "nothing kept" in done.output
    assert rows(database, "select count(*) from information_schema.tables where table_schema = 'public'") == [
        (0,)
    ]


def test_migrate_creates_the_newest_schema_in_an_empty_database(database: str, home: Path) -> None:
    done = runner.invoke(app, ["ledger", "migrate", "--to", database, "--json"])
    assert done.exit_code == 0, done.output
    with open_ledger(home / "ledger.duckdb") as ledger:
        versions = ledger.con.execute("select version from schema_migrations order by 1").fetchall()
        tables = ledger.con.execute("select count(*) from duckdb_tables()").fetchone()
    assert json.loads(done.output)["tables"] == tables[0] if tables else 0
    assert rows(database, "select version from schema_migrations order by 1") == versions
    assert rows(database, "select count(*) from invoices") == [(0,)]
    refused = runner.invoke(app, ["ledger", "migrate", "--to", database])
    assert refused.exit_code == 2 and "holds tables already" in refused.output
    unreachable = runner.invoke(app, ["ledger", "migrate", "--to", "postgresql://postgres:pw@127.0.0.1:1/x"])
    assert (
        unreachable.exit_code == 2
        and "cannot connect to postgresql://postgres:***@127.0.0.1:1/x" in unreachable.output
    )


@in_postgres_pass
def test_a_ledger_at_an_older_schema_is_refused_and_copied_up_to_a_new_database(
    tmp_path: Path, database: str
) -> None:
    from tasks.platform.ledger.connection import _connect, _migrate
    from tasks.platform.ledger.postgres import copy_to_postgres

    newest = len(list((PROJECT_ROOT / "sql" / "schema").glob("*.sql")))
    older = _connect(tmp_path / "older.duckdb")  # a ledger the version before the newest wrote
    try:
        _migrate(older, only=set(range(1, newest)))
        older.execute(
            "insert into customers (customer_id, name, currency, payment_terms_days, dunning_profile,"
            " language, batch_id, run_id) values ('K1', 'Acme', 'EUR', 30, 'standard', 'en', 'b', 'r')"
        )
        copy_to_postgres(older, database)
    finally:
        older.close()
    refused = status(tmp_path / "home", database)
    assert refused.returncode == 2 and f"is at schema {newest - 1}, this code at {newest}" in refused.stderr
    assert "o2c ledger copy --from URL --to NEW_URL" in refused.stderr
    with new_database() as upgraded:
        done = runner.invoke(app, ["ledger", "copy", "--from", database, "--to", upgraded])
        assert done.exit_code == 0, done.output
        with psycopg.connect(upgraded) as pg:
            assert pg.execute("select count(*) from schema_migrations").fetchone() == (newest,)
            assert pg.execute("select customer_id, name from customers").fetchall() == [("K1", "Acme")]
        ok = status(tmp_path / "home", upgraded)
        assert ok.returncode == 0, ok.stderr


def test_a_store_out_of_reach_is_one_line_naming_it(tmp_path: Path, database: str) -> None:
    for url, said in (
        (
            "postgresql://postgres:secret-pw@127.0.0.1:1/x",
            "cannot connect to postgresql://postgres:***@127.0.0.1:1/x",
        ),
        (database, "holds no ledger: create it with `o2c ledger migrate --to URL`"),
    ):
        done = status(tmp_path / "home", url)
        assert done.returncode == 2 and said in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and "secret-pw" not in done.stderr + done.stdout


def test_the_ledger_url_must_name_a_postgresql_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("O2C_LEDGER_URL", "mysql://o2c:secret-pw@db/o2c")
    with pytest.raises(SettingsError) as refused:
        load_settings("/tmp/o2c-home")
    assert "not a PostgreSQL URL" in str(refused.value) and "secret-pw" not in str(refused.value)
    monkeypatch.setenv("O2C_LEDGER_URL", "postgresql://o2c@db.example.com:5432/books")
    assert load_settings("/tmp/o2c-home").ledger_path.name.startswith("books-")

"""The stages on a PostgreSQL ledger (`O2C_LEDGER_URL`): the same book gives the same ledger as in
the embedded file, row for row; running again changes nothing; a crash between PostgreSQL's commit
and the working copy's leaves PostgreSQL whole and the working copy made again; a person's command
during a run lands at once and the run starts again on it; a second writer waits for the advisory
lock; a pg_dump backup restores. Against the PostgreSQL server on 127.0.0.1:5432, a database of its
own per test, dropped afterwards; the longer tests run in `make test-postgres`."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from cli import app
from flows.order_to_cash import order_to_cash
from tasks.platform.config import PROJECT_ROOT, load_settings
from tasks.platform.crash import CRASH_EXIT_CODE
from tasks.platform.ledger import LedgerBusy, hold_ledger, open_ledger
from tasks.platform.ledger.postgres import tables_of
from tasks.platform.ledger.tables import LEDGER_TABLES
from tests.integration.conftest import in_postgres_pass, new_database
from tools.generate import generate_book, write_book

AS_OF = date(2026, 11, 20)
RUN_LOGS = {"stage_runs", "checkpoint_runs", "audit_log", "evidence_files", "ingest_batches", "quarantine"}
# what differs between two runs of the same book by nature: the run's id and the wall clock
VOLATILE = {"run_id", "first_run_id", "batch_id", "after", "before", "counts", "evidence", "details"}
runner = CliRunner()


def fingerprint(path: Path, home: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted, without its run ids and timestamps, the workspace's folder
    in file paths written `<home>`."""
    found = {}
    with open_ledger(path) as ledger:
        con = ledger.con
        for table in tables_of(con):
            columns = [
                name
                for name, kind in con.execute(
                    "select column_name, data_type from duckdb_columns() where table_name = ?"
                    " order by column_index",
                    [table],
                ).fetchall()
                if kind != "TIMESTAMP" and name not in VOLATILE
            ]
            rows = con.execute(f"select {', '.join(columns)} from {table}").fetchall()
            found[table] = sorted(
                (
                    tuple(v.replace(str(home), "<home>") if isinstance(v, str) else v for v in row)
                    for row in rows
                ),
                key=repr,
            )
    return found


@contextmanager
def paused_at(point: str, args: list[str], home: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`o2c ARGS` on `home` in a process of its own, held at crash point `point` until the test
    removes the flag file `<log>.paused` (it is there when this yields); killed if still running."""
    from prefect.settings import PREFECT_API_URL

    paused = log.with_suffix(".paused")
    env = {
        **os.environ,
        "O2C_HOME": str(home),
        "O2C_PAUSE_AT": point,
        "O2C_PAUSE_FILE": str(paused),
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),  # the harness's server: none left behind
    }
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", *args, "--as-of", AS_OF.isoformat()],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 180
        while not paused.exists():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.kill()


def dispute(book: Path, amount: str, desk: Path) -> list[str]:
    """`o2c case open` of a dispute on the book's first invoice, by ana at her own desk."""
    invoice, customer = (book / "invoices.csv").read_text().splitlines()[1].split(",")[:2]
    return [
        *("case", "open", "--kind", "dispute", "--customer", customer, "--invoice", invoice),
        *("--amount", amount, "--reason", "quality", "--by", "ana", "--home", str(desk)),
    ]


@pytest.fixture
def book(tmp_path: Path) -> Path:
    folder = tmp_path / "book"
    write_book(generate_book(customers=12, invoices=90, seed=5, as_of=AS_OF), folder)
    return folder


def _inbox(home: Path, book: Path) -> None:
    (home / "inbox").mkdir(parents=True, exist_ok=True)
    for source in book.glob("*.csv"):
        (home / "inbox" / source.name).write_bytes(source.read_bytes())


def _on_postgres(database: str, home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    done = runner.invoke(app, ["ledger", "migrate", "--to", database])
    assert done.exit_code == 0, done.output
    monkeypatch.setenv("O2C_LEDGER_URL", database.replace("postgresql://", "postgresql+psycopg://"))
    return load_settings(home).ledger_path


@in_postgres_pass
def test_the_stages_on_postgresql_give_the_ledger_the_file_gives_and_a_rerun_changes_nothing(
    tmp_path: Path, book: Path, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_file, in_postgres = tmp_path / "file", tmp_path / "postgres"
    _inbox(in_file, book)
    order_to_cash(as_of=AS_OF, home=str(in_file))
    expected = fingerprint(in_file / "ledger.duckdb", in_file)
    kept = json.loads(runner.invoke(app, ["status", "--json", "--home", str(in_file)]).output)["ledger"]
    assert kept == "the workspace's DuckDB file"
    assert len(expected["allocations"]) > 20 and len(expected["reminders"]) > 0

    working = _on_postgres(database, in_postgres, monkeypatch)
    _inbox(in_postgres, book)
    order_to_cash(as_of=AS_OF, home=str(in_postgres))
    assert working.parent == in_postgres / "ledger-postgres" and not (in_postgres / "ledger.duckdb").exists()
    with psycopg.connect(database) as pg:
        for table in ("invoices", "allocations", "reminders", "audit_log"):
            (count,) = pg.execute(f"select count(*) from {table}").fetchone() or (0,)
            assert count == len(expected[table]), table

    where = json.loads(runner.invoke(app, ["status", "--json", "--home", str(in_postgres)]).output)["ledger"]
    assert where.startswith(database) and "(PostgreSQL, change " in where
    # PostgreSQL's rows, read into a working copy made afresh, are the file's rows
    working.unlink()
    assert fingerprint(working, in_postgres) == expected

    business = set(LEDGER_TABLES) - RUN_LOGS
    order_to_cash(as_of=AS_OF, home=str(in_postgres))
    again = fingerprint(working, in_postgres)
    assert {t: again[t] for t in business} == {t: expected[t] for t in business}
    assert len(again["stage_runs"]) > len(expected["stage_runs"])  # the second run is on record


@in_postgres_pass
def test_a_crash_after_postgresql_committed_leaves_the_working_copy_to_be_made_again(
    tmp_path: Path, book: Path, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    working = _on_postgres(database, home, monkeypatch)
    _inbox(home, book)
    order_to_cash(as_of=AS_OF, home=str(home), stages=["ingest", "invoice"])
    from prefect.settings import PREFECT_API_URL

    env = {
        **os.environ,
        "O2C_HOME": str(home),
        "O2C_CRASH_AT": "commit reconcile: publish: stored",
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),  # the harness's server: none left behind
    }
    crashed = subprocess.run(
        [sys.executable, "-m", "cli", "run", "reconcile", "--as-of", AS_OF.isoformat()],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert crashed.returncode == CRASH_EXIT_CODE, crashed.stdout + crashed.stderr
    with psycopg.connect(database) as pg:
        (stored,) = pg.execute("select count(*) from allocations").fetchone() or (0,)
    assert stored > 20  # PostgreSQL committed the reconciliation whole
    with open_ledger(working) as ledger:  # the working copy lags, and is made again on opening
        (held,) = ledger.con.execute("select count(*) from allocations").fetchone() or (0,)
    assert held == stored
    order_to_cash(as_of=AS_OF, home=str(home), stages=["reconcile"])
    with psycopg.connect(database) as pg:
        assert (pg.execute("select count(*) from allocations").fetchone() or (0,))[0] == stored


@in_postgres_pass
def test_a_persons_command_during_a_run_lands_at_once_and_the_run_starts_again_on_it(
    tmp_path: Path, book: Path, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    _on_postgres(database, home, monkeypatch)
    _inbox(home, book)
    order_to_cash(as_of=AS_OF, home=str(home), stages=["ingest", "invoice"])
    log = tmp_path / "reconcile.log"
    # held when it has decided and is about to write
    with paused_at("commit reconcile: publish: before", ["run", "reconcile"], home, log) as run:
        began = time.monotonic()  # ana, at her own desk on the same ledger
        done = runner.invoke(app, dispute(book, "12.50", tmp_path / "desk"))
        took = time.monotonic() - began
        assert done.exit_code == 0, done.output
        print(f"case open during the run: {took:.2f} s")
        # it did not wait for the run, which is still held where it stopped (a command waiting on
        # the run would sit out O2C_LOCK_TIMEOUT, 600 s; 0.39 s to 1.1 s measured on this machine)
        assert run.poll() is None and took < 30
        with psycopg.connect(database) as pg:
            assert pg.execute("select count(*) from allocations").fetchone() == (0,)  # the run waits
            assert pg.execute("select count(*) from cases where owner = 'ana'").fetchone() == (1,)
        log.with_suffix(".paused").unlink()  # the run goes on: its write is refused, it runs again
        assert run.wait(timeout=300) == 0, log.read_text()
    said = log.read_text()
    assert "changed while this ran" in said and "running again on what the ledger holds now" in said
    with psycopg.connect(database) as pg:
        assert (pg.execute("select count(*) from allocations").fetchone() or (0,))[0] > 20
        assert pg.execute("select count(*) from cases where owner = 'ana'").fetchone() == (1,)
        outcome = pg.execute("select outcome from stage_runs where stage = 'reconcile'").fetchall()
        cases = [r[0] for r in pg.execute("select case_id from cases order by case_id").fetchall()]
    assert outcome == [("completed",)]
    # the numbers drawn on two working copies never meet: each starts where PostgreSQL's stands
    assert len(cases) == len(set(cases)) > 1


@in_postgres_pass
def test_a_persons_command_during_a_delivery_leaves_every_message_sent_once(
    tmp_path: Path, book: Path, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    _on_postgres(database, home, monkeypatch)
    _inbox(home, book)
    order_to_cash(as_of=AS_OF, home=str(home), stages=["ingest", "invoice", "reconcile"])
    queued = runner.invoke(
        app, ["run", "remind", "--no-deliver", "--as-of", AS_OF.isoformat(), "--home", str(home)]
    )
    assert queued.exit_code == 0, queued.output
    log = tmp_path / "deliver.log"
    point = "reminders: the mailer took a message, its state not yet written"
    with paused_at(point, ["deliver"], home, log) as deliver:
        done = runner.invoke(app, dispute(book, "3.00", tmp_path / "desk"))
        assert done.exit_code == 0, done.output
        log.with_suffix(".paused").unlink()  # the mailer took the message: its state lands beside the case
        assert deliver.wait(timeout=300) == 0, log.read_text()
    with psycopg.connect(database) as pg:
        states = dict(pg.execute("select status, count(*) from reminders group by 1").fetchall())
        assert pg.execute("select count(*) from cases where owner = 'ana'").fetchone() == (1,)
    assert set(states) == {"sent"} and states["sent"] > 0, states  # none in doubt
    assert len(list((home / "outbox").glob("R-*.eml"))) == states["sent"]  # each sent once


def test_a_writer_on_another_machine_waits_for_the_advisory_lock(
    tmp_path: Path, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"  # two workspaces: no shared file lock
    _on_postgres(database, home, monkeypatch)
    working = load_settings(elsewhere).ledger_path
    script = (
        "import sys, time\n"
        "from tasks.platform.config import load_settings\n"
        "from tasks.platform.ledger import hold_ledger\n"
        "with hold_ledger(load_settings(sys.argv[1]).ledger_path):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(30)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(home)],
        cwd=PROJECT_ROOT,
        env={**os.environ},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(
                LedgerBusy, match=r"postgresql://postgres@127\.0\.0\.1:5432/o2c_ledger_\w+ stayed busy"
            ),
            hold_ledger(working, lock_timeout=1),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()
    with hold_ledger(working, lock_timeout=30):  # the holder's session ended with its process
        pass


@in_postgres_pass
def test_a_pg_dump_backup_restores_into_a_ledger_the_report_runs_on_again(
    tmp_path: Path, book: Path, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    _on_postgres(database, home, monkeypatch)
    _inbox(home, book)
    order_to_cash(as_of=AS_OF, home=str(home), stages=["ingest", "invoice", "reconcile", "report"])
    report = ["report", "--as-of", AS_OF.isoformat(), "--json"]
    before = runner.invoke(app, [*report, "--home", str(home)])
    assert before.exit_code == 0, before.output
    backup = tmp_path / "ledger.dump"
    subprocess.run(["pg_dump", "--format=custom", f"--file={backup}", database], check=True, timeout=120)
    with new_database() as restored:
        subprocess.run(
            ["pg_restore", "--no-owner", f"--dbname={restored}", str(backup)], check=True, timeout=120
        )
        monkeypatch.setenv("O2C_LEDGER_URL", restored)
        elsewhere = tmp_path / "restored-home"  # a machine that never saw the ledger
        after = runner.invoke(app, [*report, "--home", str(elsewhere)])
        assert after.exit_code == 0, after.output
        assert json.loads(after.output) == json.loads(before.output)
        assert json.loads(after.output)["currencies"]
        again = order_to_cash(as_of=AS_OF, home=str(elsewhere), stages=["report"])
        assert "report" in str(again)
        with psycopg.connect(restored) as pg:
            (runs,) = pg.execute("select count(*) from stage_runs where stage = 'report'").fetchone() or (0,)
        assert runs == 2  # the restored ledger took the new run


@in_postgres_pass
def test_a_working_copy_is_made_from_postgresql_with_an_evidence_file_larger_than_a_block(
    tmp_path: Path, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    working = _on_postgres(database, tmp_path / "home", monkeypatch)
    content = os.urandom(24 << 20)  # 48 MB in hex: wider than Arrow's 16 MB block
    digest = hashlib.sha256(content).hexdigest()
    with psycopg.connect(database) as pg:
        pg.execute(
            "insert into evidence_files (sha256, size, content, first_run_id, stored_at)"
            " values (%s, %s, %s, 'r', now())",
            [digest, len(content), content],
        )
    with open_ledger(working) as ledger:
        ((held,),) = ledger.con.execute("select content from evidence_files").fetchall()
    assert hashlib.sha256(bytes(held)).hexdigest() == digest

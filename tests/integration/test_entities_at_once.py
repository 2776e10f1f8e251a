"""Runs of two legal entities on one PostgreSQL ledger go at once, from two machines (two
workspaces), and land side by side: a stage run of DE01 holds its entity's lock and a run of FR01
goes meanwhile instead of waiting; when the first writes after the other, its write lands beside
the other's, unless both touched the same payment (a payment paying invoices of both entities),
when it is refused and the run starts again on what the ledger then holds. Either way the ledger
ends as the same runs one after the other leave it. Real processes against the PostgreSQL server
on 127.0.0.1:5432, in `make test-postgres`."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from cli import app
from tasks.platform.config import PROJECT_ROOT, load_settings
from tasks.platform.ledger.tables import LEDGER_TABLES
from tests.integration.conftest import in_postgres_pass, new_database
from tests.integration.test_ledger_on_postgres import (
    AS_OF,
    RUN_LOGS,
    _inbox,
    _on_postgres,
    fingerprint,
    paused_at,
)
from tools.generate import generate_book, write_book

runner = CliRunner()
SHARED = "P-BOTH"  # pays one invoice of each entity


@pytest.fixture
def two_entities(tmp_path: Path) -> Path:
    return two_entity_book(tmp_path / "book")


def two_entity_book(folder: Path, customers: int = 12, invoices: int = 90) -> Path:
    """The generator's book, its customers taking turns between DE01 and FR01, and one payment that
    names an open invoice of each (for their sum)."""
    write_book(generate_book(customers=customers, invoices=invoices, seed=5, as_of=AS_OF), folder)
    with (folder / "customers.csv").open(newline="") as handle:
        customers = list(csv.DictReader(handle))
    entity = {}
    for n, row in enumerate(customers):
        row["legal_entity"] = entity[row["customer_id"]] = "DE01" if n % 2 == 0 else "FR01"
    _write(folder / "customers.csv", customers)
    with (folder / "invoices.csv").open(newline="") as handle:
        invoices = [r for r in csv.DictReader(handle) if r["currency"] == "EUR"]
    paid = {r["reference"] for r in csv.DictReader((folder / "payments.csv").open(newline=""))}
    pair = [
        next(r for r in reversed(invoices) if entity[r["customer_id"]] == e and r["invoice_id"] not in paid)
        for e in ("DE01", "FR01")
    ]
    total = sum(int(r["amount"].replace(".", "")) for r in pair)
    with (folder / "payments.csv").open("a", newline="") as handle:
        handle.write(
            f"{SHARED},2026-11-19,{total // 100}.{total % 100:02d},EUR,,,"
            f"{pair[0]['invoice_id']} {pair[1]['invoice_id']}\n"
        )
    return folder


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _run(stage: str, entity: str, home: Path) -> None:
    args = ["run", stage, "--entity", entity, "--as-of", AS_OF.isoformat(), "--home", str(home)]
    done = runner.invoke(app, [*args, "--no-deliver"] if stage != "reconcile" else args)
    assert done.exit_code == 0, done.output


@in_postgres_pass
def test_runs_of_two_entities_go_at_once_and_leave_the_ledger_the_runs_in_turn_leave(
    tmp_path: Path, two_entities: Path, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, there = tmp_path / "machine-1", tmp_path / "machine-2"
    working = _on_postgres(database, here, monkeypatch)
    _inbox(here, two_entities)
    done = runner.invoke(app, ["run", "ingest", "--as-of", AS_OF.isoformat(), "--home", str(here)])
    assert done.exit_code == 0, done.output
    # a run of FR01 that waited for DE01's would give up after 20 s and fail
    monkeypatch.setenv("O2C_LOCK_TIMEOUT", "20")
    said = {}
    for stage in ("invoice", "reconcile", "remind"):
        log = tmp_path / f"{stage}-DE01.log"
        args = ["run", stage, "--entity", "DE01"] + (["--no-deliver"] if stage != "reconcile" else [])
        # DE01 has read and decided, and is held just before it writes
        with paused_at(f"commit {stage}: publish: before", args, here, log) as de01:
            began = time.monotonic()
            _run(stage, "FR01", there)  # meanwhile, on the other machine
            print(f"{stage} of FR01 while DE01's waited to write: {time.monotonic() - began:.1f} s")
            assert de01.poll() is None  # still held: FR01 did not wait for it
            log.with_suffix(".paused").unlink()
            assert de01.wait(timeout=300) == 0, log.read_text()
        said[stage] = log.read_text()
    # invoices and reminders of two entities share nothing: DE01's lands beside FR01's at once
    assert "running again" not in said["invoice"] + said["remind"], said
    # both applied cash from the payment naming an invoice of each: DE01's run started again
    assert f"touched payment {SHARED} too" in said["reconcile"], said["reconcile"]
    assert "running again on what the ledger holds now" in said["reconcile"]
    with psycopg.connect(database) as pg:
        writers = pg.execute(
            "select writer, entity, count(*) from o2c_store_changes group by 1, 2"
        ).fetchall()
        over = pg.execute(
            "select p.payment_id from payments p join allocations a using (payment_id)"
            " group by p.payment_id, p.amount_minor having sum(a.amount_minor) > p.amount_minor"
        ).fetchall()
        shared = pg.execute(
            "select count(distinct i.customer_id) from allocations a join invoices i using (invoice_id)"
            " where a.payment_id = %s",
            [SHARED],
        ).fetchone()
    assert {(w, e) for w, e, _ in writers} >= {("entity", "DE01"), ("entity", "FR01"), ("run", None)}
    assert over == [] and shared == (2,)
    parallel = fingerprint(working, here)
    assert load_settings(there).ledger_path.exists()  # the other machine worked on its own copy

    # the same runs one after the other, in the order they landed (FR01 first), on another ledger
    with new_database() as serial_db:
        alone = tmp_path / "alone"
        serial_working = _on_postgres(serial_db, alone, monkeypatch)
        _inbox(alone, two_entities)
        done = runner.invoke(app, ["run", "ingest", "--as-of", AS_OF.isoformat(), "--home", str(alone)])
        assert done.exit_code == 0, done.output
        for stage in ("invoice", "reconcile", "remind"):
            _run(stage, "FR01", alone)
            _run(stage, "DE01", alone)
        serial = fingerprint(serial_working, alone)
    business = set(LEDGER_TABLES) - RUN_LOGS
    assert {t: parallel[t] for t in business} == {t: serial[t] for t in business}
    assert len(parallel["allocations"]) > 20 and len(parallel["reminders"]) > 0


@in_postgres_pass
def test_deliveries_on_two_machines_take_turns_and_send_each_message_once(
    tmp_path: Path, two_entities: Path, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, there = tmp_path / "machine-1", tmp_path / "machine-2"
    _on_postgres(database, here, monkeypatch)
    _inbox(here, two_entities)
    for stage in ("ingest", "invoice", "reconcile", "remind"):
        args = ["run", stage, "--as-of", AS_OF.isoformat(), "--home", str(here)]
        done = runner.invoke(app, [*args, "--no-deliver"] if stage in ("invoice", "remind") else args)
        assert done.exit_code == 0, done.output
    log = tmp_path / "deliver-1.log"
    point = "reminders: the mailer took a message, its state not yet written"
    from prefect.settings import PREFECT_API_URL

    with paused_at(point, ["deliver"], here, log) as first:
        second = subprocess.Popen(
            [sys.executable, "-m", "cli", "deliver", "--as-of", AS_OF.isoformat()],
            cwd=PROJECT_ROOT,
            env={**os.environ, "O2C_HOME": str(there), "PREFECT_API_URL": str(PREFECT_API_URL.value())},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            time.sleep(15)  # time enough to start and reach the outbox
            assert second.poll() is None  # waiting for the first machine's delivery
            log.with_suffix(".paused").unlink()
            assert first.wait(timeout=300) == 0, log.read_text()
            output, _ = second.communicate(timeout=300)
            assert second.returncode == 0, output
        finally:
            if second.poll() is None:
                second.kill()
    with psycopg.connect(database) as pg:
        states = dict(pg.execute("select status, count(*) from reminders group by 1").fetchall())
        mails = dict(pg.execute("select status, count(*) from invoice_mails group by 1").fetchall())
    # none taken for an interrupted delivery's by the other machine, none sent twice
    assert set(states) == {"sent"} and set(mails) == {"sent"}, (states, mails)
    sent = [p.name for home in (here, there) for p in (home / "outbox").glob("R-*.eml")]
    assert len(sent) == len(set(sent)) == states["sent"]

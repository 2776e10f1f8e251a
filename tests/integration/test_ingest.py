"""Ingest through the `o2c` command: bad rows quarantined, unreadable files rejected, SQL sources."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli import app
from tasks.platform.config import load_settings
from tasks.platform.ledger import open_ledger

runner = CliRunner()

CUSTOMERS = """customer_id,name,email,country,currency,payment_terms_days,credit_limit,segment,dunning_profile,language,bank_accounts
C1,Acme GmbH,ap@acme.example,DE,EUR,30,10000.00,enterprise,standard,de,DE89370400440532013000
C2,Globex Ltd,ap@globex.example,GB,GBP,14,5000.00,mid-market,standard,en,
"""
INVOICES = """invoice_id,customer_id,issue_date,due_date,currency,amount,order_id
I-1,C1,2026-10-01,2026-10-31,EUR,100.50,
I-2,C1,2026-10-01,2026-10-31,EUR,-5.00,
I-3,C1,2026-10-01,2026-10-31,EUR,1.005,
I-4,C1,2026-10-01,2026-10-31,XYZ,10.00,
I-5,C9,2026-10-01,2026-10-31,EUR,10.00,
I-6,C1,2026-10-01,2026-09-30,EUR,10.00,
I-7,C2,2026-10-01,2026-10-15,GBP,abc,
I-8,C2,2026-10-01,2026-10-15,GBP,20.00,
I-8,C2,2026-10-02,2026-10-16,GBP,21.00,
I-9,C2,2026-10-01,2026-10-15,GBP,30.00,
I-10,C2,2026-10-01,2026-10-15,GBP,40.00,
I-11,C2,2026-10-01,2026-10-15,GBP,50.00,
I-12,C2,2026-10-01,2026-10-15,GBP,60.00,
I-13,C2,2026-10-01,2026-10-15,GBP,70.00,
I-14,C2,2026-10-01,2026-10-15,GBP,80.00,
I-15,C1,2026-10-01,2026-10-31,EUR,90.00,
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def counts(home: Path) -> dict[str, int]:
    with open_ledger(load_settings(home).ledger_path) as ledger:
        return ledger.counts()


def test_bad_rows_are_quarantined_with_every_reason_and_the_rest_loaded(home: Path, tmp_path: Path) -> None:
    files = tmp_path / "in"
    result = runner.invoke(
        app,
        [
            "ingest",
            str(write(files, "customers.csv", CUSTOMERS)),
            str(write(files, "invoices.csv", INVOICES)),
            "--home",
            str(home),
            "--as-of",
            "2026-11-20",
        ],
    )
    assert result.exit_code == 0, result.output
    out = tmp_path / "quarantine.csv"
    assert runner.invoke(app, ["export", "quarantine", "--out", str(out), "--home", str(home)]).exit_code == 0
    quarantine = pd.read_csv(out, dtype=str).set_index("key")
    reasons = quarantine["reasons"].to_dict()
    assert "amount: must be >= 0" in reasons["I-2"]
    assert "amount: '1.005' has more than the currency's decimals" in reasons["I-3"]
    assert "currency: 'XYZ' is not an ISO 4217 currency" in reasons["I-4"]
    assert "customer_id: unknown customer" in reasons["I-5"]
    assert "due_date: must be >= issue_date" in reasons["I-6"]
    assert "amount: 'abc' is not a decimal number" in reasons["I-7"]
    assert quarantine.loc["I-8", "reasons"].tolist() == ["invoice_id: duplicate key in this batch"] * 2
    assert quarantine.loc["I-3", "row_number"] == "4"  # the header is row 1
    assert quarantine.loc["I-3", "source"].endswith("invoices.csv")
    with open_ledger(load_settings(home).ledger_path) as ledger:
        loaded = sorted(ledger.table("invoices")["invoice_id"])
    assert loaded == ["I-1", "I-10", "I-11", "I-12", "I-13", "I-14", "I-15", "I-9"]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "invoices.csv",
            "invoice_id,customer_id,issue_date,currency,amount\nI-1,C1,2026-10-01,EUR,1.00\n",
            "invoices.csv: missing required column(s) due_date for dataset invoices",
        ),
        (
            "payments.csv",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe",
            "payments.csv row 1, the header (column 1): byte 0x89 is not UTF-8",
        ),
        ("mystery.csv", "a,b\n1,2\n", "mystery.csv: cannot tell which dataset this file is"),
    ],
)
def test_an_unreadable_file_stops_with_one_line_and_writes_nothing(
    home: Path, tmp_path: Path, name: str, content: str | bytes, expected: str
) -> None:
    good = write(tmp_path / "in", "customers.csv", CUSTOMERS)
    bad = tmp_path / "in" / name
    bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = runner.invoke(app, ["ingest", str(good), str(bad), "--home", str(home)])
    assert result.exit_code == 2
    assert expected in result.output
    assert "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("error:")]) == 1
    assert counts(home)["customers"] == 0  # the good file beside it was not loaded either


def test_inbox_files_are_read_with_their_mapping(home: Path) -> None:
    inbox = load_settings(home).inbox
    write(inbox, "customers.csv", CUSTOMERS)
    write(
        inbox,
        "legacy_export.csv",
        "invoiceNumber,customerID,InvoiceDate,DueDate,InvoiceAmount\n0042,C1,10/01/2026,10/31/2026,38.0\n",
    )
    write(
        inbox,
        "legacy_export.csv.mapping.yaml",
        """dataset: invoices
date_format: "%m/%d/%Y"
default_currency: EUR
columns:
  invoice_id: invoiceNumber
  customer_id: customerID
  issue_date: InvoiceDate
  due_date: DueDate
  amount: InvoiceAmount
""",
    )
    result = runner.invoke(app, ["run", "ingest", "--home", str(home), "--as-of", "2026-11-20", "--json"])
    assert result.exit_code == 0, result.output
    with open_ledger(load_settings(home).ledger_path) as ledger:
        invoice = ledger.table("invoices").iloc[0]
    assert (invoice["invoice_id"], invoice["amount_minor"], invoice["currency"]) == ("0042", 3800, "EUR")
    assert str(invoice["due_date"])[:10] == "2026-10-31"


SQL_MAPPING = """dataset: customers
table: crm_customers
columns:
  customer_id: id
  name: company
  currency: ccy
"""


def _sql_ingest(home: Path, tmp_path: Path, url: str) -> None:
    mapping = write(home / "mappings", "crm.mapping.yaml", SQL_MAPPING)  # a mapping lies in the workspace
    result = runner.invoke(
        app, ["ingest", "--sql", url, "--mapping", str(mapping), "--home", str(home), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary[0]["counts"] == {"rows_read": 3, "rows_quarantined": 1, "rows_checked_ok": 2}
    again = runner.invoke(
        app, ["ingest", "--sql", url, "--mapping", str(mapping), "--home", str(home), "--json"]
    )
    assert json.loads(again.output)[0]["outcome"] == "already ingested"
    with open_ledger(load_settings(home).ledger_path) as ledger:
        assert sorted(ledger.table("customers")["customer_id"]) == ["K1", "K2"]


CRM_ROWS = [("K1", "Initech", "USD"), ("K2", "Umbrella", "EUR"), ("K3", "Hooli", "???")]


def test_sql_source_sqlite(home: Path, tmp_path: Path) -> None:
    db = tmp_path / "crm.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("create table crm_customers (id text, company text, ccy text)")
        con.executemany("insert into crm_customers values (?, ?, ?)", CRM_ROWS)
    _sql_ingest(home, tmp_path, f"sqlite:///{db}")


def test_sql_source_postgresql(home: Path, tmp_path: Path) -> None:
    admin = sa.create_engine(
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT"
    )
    name = f"o2c_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as con:
            con.execute(sa.text(f'create database "{name}"'))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is needed for this test: {exc}")
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        engine = sa.create_engine(url)
        with engine.begin() as con:
            con.execute(sa.text("create table crm_customers (id text, company text, ccy text)"))
            for row in CRM_ROWS:
                con.execute(
                    sa.text("insert into crm_customers values (:a, :b, :c)"),
                    dict(zip("abc", row, strict=True)),
                )
        engine.dispose()
        _sql_ingest(home, tmp_path, url)
    finally:
        with admin.connect() as con:
            con.execute(sa.text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


def test_a_known_key_with_different_values_is_quarantined_not_dropped(home: Path, tmp_path: Path) -> None:
    files = tmp_path / "in"
    first = runner.invoke(
        app,
        [
            "ingest",
            str(write(files, "customers.csv", CUSTOMERS)),
            str(write(files, "invoices_1.csv", INVOICES.split("I-2,")[0])),
            "--home",
            str(home),
        ],
    )
    assert first.exit_code == 0, first.output
    changed = (
        "invoice_id,customer_id,issue_date,due_date,currency,amount,order_id\n"
        "I-1,C1,2026-10-01,2026-10-31,EUR,100.50,\n"
        "I-1B,C1,2026-10-01,2026-10-31,EUR,7.00,\n"
    )
    changed_amount = changed.replace(
        "I-1,C1,2026-10-01,2026-10-31,EUR,100.50", "I-1,C1,2026-10-01,2026-10-31,EUR,999.00"
    )
    second = runner.invoke(
        app, ["ingest", str(write(files, "invoices_2.csv", changed_amount)), "--home", str(home), "--json"]
    )
    assert second.exit_code == 0, second.output
    with open_ledger(load_settings(home).ledger_path) as ledger:
        invoices = ledger.table("invoices").set_index("invoice_id")
        reasons = ledger.table("quarantine").set_index("key")["reasons"].to_dict()
    assert invoices.loc["I-1", "amount_minor"] == 10050  # the ledger keeps what it had
    assert "I-1B" in invoices.index
    assert reasons["I-1"] == "invoice_id: already in the ledger with a different amount"
    # The same row again (identical values) is simply already present.
    third = runner.invoke(
        app, ["ingest", str(write(files, "invoices_3.csv", changed)), "--home", str(home), "--json"]
    )
    assert json.loads(third.output)[0]["counts"]["rows_quarantined"] == 0


def test_payment_terms_that_cannot_be_read_quarantine_their_customer(home: Path, tmp_path: Path) -> None:
    customers = (
        CUSTOMERS.replace(
            "customer_id,name,email,country,currency,payment_terms_days,credit_limit,segment,dunning_profile,language,bank_accounts",
            "customer_id,name,email,country,currency,payment_terms_days,credit_limit,segment,dunning_profile,language,bank_accounts,payment_terms",
        )
        .replace("DE89370400440532013000\n", "DE89370400440532013000,2% 10 net 30\n")
        .replace(",en,\n", ",en,,3 weeks\n")
    )
    path = write(tmp_path / "in", "customers.csv", customers)
    result = runner.invoke(app, ["ingest", str(path), "--home", str(home), "--as-of", "2026-11-20"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "quarantine.csv"
    assert runner.invoke(app, ["export", "quarantine", "--out", str(out), "--home", str(home)]).exit_code == 0
    quarantine = pd.read_csv(out, dtype=str)
    assert quarantine["key"].tolist() == ["C2"]
    assert "payment_terms: payment terms '3 weeks' are not understood" in quarantine.loc[0, "reasons"]
    assert "customers.csv" in quarantine.loc[0, "source"] and quarantine.loc[0, "row_number"] == "3"
    with open_ledger(load_settings(home).ledger_path) as ledger:
        assert ledger.table("customers")["payment_terms"].tolist() == ["2% 10 net 30"]


def test_a_halted_ingest_says_which_rows_to_fix_and_loads_nothing(home: Path, tmp_path: Path) -> None:
    good = "".join(f"I-{n},C1,2026-10-01,2026-10-31,EUR,10.00,\n" for n in range(1, 5))
    bad = "".join(f"I-{n},C1,2026-10-01,2026-10-31,EUr,1e{n},\n" for n in range(5, 16))
    files = tmp_path / "in"
    customers = write(files, "customers.csv", CUSTOMERS)
    invoices = write(files, "invoices.csv", INVOICES.splitlines()[0] + "\n" + good + bad)
    result = runner.invoke(app, ["ingest", str(customers), str(invoices), "--home", str(home)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("error:")]
    assert len(errors) == 1
    assert lines[errors[0]] == (
        f"error: ingest halted, nothing published: invoices ({invoices}): 73% of rows break the contract,"
        " above the ceiling of 50%"
    )
    listing = lines[errors[0] + 1 :]
    assert listing[:2] == [
        "  invoices.csv row 6: currency: 'EUr' is not an ISO 4217 currency (codes are written in capitals, as EUR)",
        "  invoices.csv row 6: amount: '1e5' is not a decimal number",
    ]
    assert len(listing) == 10
    assert (
        listing[-1] == "  ... and 13 more reason(s) in 7 row(s) (every row and reason: o2c export quarantine)"
    )
    assert counts(home)["invoices"] == 0
    assert counts(home)["customers"] == 2  # the file before it was loaded in its own run step

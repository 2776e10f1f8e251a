"""Reminder charges through the real flows: a reminder's fee and interest are booked as open items
once, the final notice's total paid naming only the invoice pays that notice's fee and interest
with the rest, and the journal books them as fee and interest income."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from cli import app
from flows.remind import remind_flow
from tasks.platform.config import load_settings
from tasks.platform.ledger import open_ledger
from tests.integration.ledger_builder import load

CUSTOMER = "K1,Acme,ap@acme.example,DE,EUR,30,,,standard,en,\n"
INVOICE = "X-1,K1,2026-10-01,2026-10-31,EUR,100.00,\n"


def _charges(home: Path) -> list[tuple[str, str, int, str, str]]:
    with open_ledger(load_settings(home).ledger_path) as ledger:
        return [
            tuple(r)
            for r in ledger.con.execute(
                "select invoice_id, kind, amount_minor, cast(due_date as varchar), charged_by from invoices"
                " where origin = 'charge' order by issue_date, invoice_id"
            ).fetchall()
        ]


def _run(home: Path, *args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--home", str(home)])
    assert result.exit_code == 0, result.output
    return result.output


def test_fees_and_interest_are_booked_once_paid_by_cash_and_journaled(home: Path, tmp_path: Path) -> None:
    load(home, tmp_path / "in", date(2026, 11, 21), customers=CUSTOMER, invoices=INVOICE)
    # 21 days overdue: the second reminder (first contact by age), fee 5.00, no interest
    first = remind_flow(as_of=date(2026, 11, 21), home=str(home))
    assert first["counts"]["fees_charged"] == 1 and first["counts"]["interest_charged"] == 0
    again = remind_flow(as_of=date(2026, 11, 21), home=str(home))
    assert again["counts"]["customers_reminded"] == 0 and again["counts"]["fees_charged"] == 0
    (fee,) = _charges(home)
    assert fee[1:4] == ("fee", 5_00, "2026-12-01")
    # 35 days overdue: the final notice, fee 10.00 and 8 % interest from the due date
    remind_flow(as_of=date(2026, 12, 5), home=str(home))
    charges = _charges(home)
    assert [(c[1], c[2]) for c in charges] == [
        ("fee", 5_00),
        ("fee", 10_00),
        ("interest", 77),
    ]  # 100.00 x 8 % x 35 / 365
    with open_ledger(load_settings(home).ledger_path) as ledger:
        final = ledger.con.execute(
            "select invoice_ids, totals from reminders where as_of = date '2026-12-05'"
        ).fetchone()
        interest_from = ledger.con.execute(
            "select cast(interest_from as varchar) from reminder_items where invoice_id = 'X-1' and interest_minor > 0"
        ).fetchall()
    assert final[0] == "X-1"  # the earlier fee is not dunned itself
    assert '"total_minor": 11077' in final[1]
    assert interest_from == [("2026-10-31",)]
    # the customer pays what the final notice asked for, 110.77, naming only the invoice: X-1 takes
    # 100.00 and the rest, 10.77, is exactly the final notice's fee and interest, which it pays
    load(
        home, tmp_path / "cash", date(2026, 12, 10), payments="P-1,2026-12-10,110.77,EUR,Acme,,Invoice X-1\n"
    )
    _run(home, "run", "reconcile", "--as-of", "2026-12-10")
    with open_ledger(load_settings(home).ledger_path) as ledger:
        open_now = dict(ledger.con.execute("select invoice_id, open_minor from invoice_balances").fetchall())
        rules = ledger.con.execute(
            "select invoice_id, amount_minor, rule from allocations order by allocation_id"
        ).fetchall()
        waiting = ledger.con.execute("select count(*) from payment_exceptions").fetchone()[0]
    first_fee, final_fee, interest = (c[0] for c in charges)
    assert open_now == {"X-1": 0, first_fee: 5_00, final_fee: 0, interest: 0}
    assert sorted(rules) == sorted(
        [
            ("X-1", 100_00, "invoice_number"),
            (final_fee, 10_00, "reminder_charges"),
            (interest, 77, "reminder_charges"),
        ]
    )
    assert waiting == 0
    again = _run(home, "run", "reconcile", "--as-of", "2026-12-10")
    with open_ledger(load_settings(home).ledger_path) as ledger:
        assert ledger.con.execute("select count(*) from allocations").fetchone()[0] == 3, again
    # the journal: fee and interest income as charged; the receivable credited 110.77 by the cash
    out = tmp_path / "journal.csv"
    _run(home, "journal", "--from", "2026-11-01", "--to", "2026-12-31", "--out", str(out))
    rows = list(csv.DictReader(out.open()))
    income = sorted((r["account"], r["role"], r["credit"]) for r in rows if r["role"].endswith("_income"))
    assert income == [
        ("4830", "fee_income", "10.00"),
        ("4830", "fee_income", "5.00"),
        ("7100", "interest_income", "0.77"),
    ]
    receivable = [r for r in rows if r["role"] == "receivable"]
    # X-1 issued in October: in the window the charges' 15.77 debited, the cash's 110.77 credited,
    # -100.00 + 5.00 = -95.00 (the first reminder's fee still open)
    assert (
        sum(_minor(r["debit"]) - _minor(r["credit"]) for r in receivable) == 15_77 - 110_77 == -100_00 + 5_00
    )


def _minor(text: str) -> int:
    return int(Decimal(text or "0") * 100)

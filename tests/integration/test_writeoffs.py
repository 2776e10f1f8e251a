"""Write-offs through the `o2c writeoff` commands: proposed, listed, approved by another person
within their limit, and the approved amount closes that much of the invoice; every refusal exits
non-zero with one line and changes nothing."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from tasks.platform.config import load_settings
from tasks.platform.ledger import open_ledger
from tests.integration.ledger_builder import load

AS_OF = date(2026, 11, 20)
CUSTOMERS = "K1,Acme,ap@acme.example,DE,EUR,30,,,standard,en,\n"
INVOICES = """
X-1,K1,2026-09-01,2026-10-01,EUR,100.00,
X-2,K1,2026-09-01,2026-10-01,EUR,5000.00,
"""


@pytest.fixture
def book(home: Path, tmp_path: Path) -> Path:
    load(home, tmp_path / "in", AS_OF, customers=CUSTOMERS, invoices=INVOICES)
    return home


def cli(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--home", str(home)])
    return result.exit_code, result.output.strip()


def state(home: Path) -> dict[str, object]:
    with open_ledger(load_settings(home).ledger_path) as ledger:
        balances = ledger.con.execute(
            "select invoice_id, open_minor from invoice_balances order by 1"
        ).fetchall()
        offs = ledger.table("write_offs")[["write_off_id", "status", "decided_by"]].values.tolist()
        audit = ledger.con.execute("select count(*) from audit_log where entity = 'write_offs'").fetchone()
    return {"open": balances, "write_offs": offs, "audit": audit[0] if audit else 0}


def test_propose_then_another_person_approves_and_the_invoice_closes(book: Path) -> None:
    code, out = cli(
        book,
        "writeoff",
        "propose",
        "--invoice",
        "X-1",
        "--amount",
        "100.00",
        "--reason",
        "insolvent",
        "--by",
        "anna",
    )
    assert (code, out) == (0, "WO-000001")
    code, out = cli(book, "writeoff", "approve", "WO-000001", "--by", "ar.lead")
    assert code == 0, out
    assert out == "WO-000001 approved by ar.lead: 100.00 EUR on X-1"
    after = state(book)
    assert after["open"] == [("X-1", 0), ("X-2", 500000)]
    assert after["write_offs"] == [["WO-000001", "approved", "ar.lead"]]
    assert after["audit"] == 2  # proposed, approved
    with open_ledger(load_settings(book).ledger_path) as ledger:
        adjustment = ledger.table("invoice_adjustments")
    assert adjustment[["adjustment_id", "invoice_id", "kind", "amount_minor"]].values.tolist() == [
        ["WO-000001", "X-1", "write_off", 10000]
    ]
    assert "approved by ar.lead: insolvent" in adjustment.at[0, "reason"]
    code, out = cli(book, "writeoff", "list", "--json")
    listed = json.loads(out)
    assert [
        (r["write_off_id"], r["status"], r["proposed_by"], r["decided_by"], r["amount"], r["open_now"])
        for r in listed
    ] == [("WO-000001", "approved", "anna", "ar.lead", "100.00", "0.00")]


@pytest.mark.parametrize(
    ("amount", "approver", "message"),
    [
        ("100.00", "anna", "anna proposed write-off WO-000001 and cannot approve it: another person must"),
        ("100.00", "bob", "bob may not approve write-offs in EUR (see rules/writeoffs.yaml)"),
        ("1000.01", "ar.lead", "ar.lead may approve write-offs up to 1000.00 EUR; WO-000001 is 1000.01 EUR"),
    ],
)
def test_an_approval_outside_the_rules_is_refused_and_changes_nothing(
    book: Path, amount: str, approver: str, message: str
) -> None:
    invoice = "X-1" if amount == "100.00" else "X-2"
    assert (
        cli(
            book,
            "writeoff",
            "propose",
            "--invoice",
            invoice,
            "--amount",
            amount,
            "--reason",
            "r",
            "--by",
            "anna",
        )[0]
        == 0
    )
    before = state(book)
    code, out = cli(book, "writeoff", "approve", "WO-000001", "--by", approver)
    assert code == 2
    assert out == f"error: {message}"
    assert state(book) == before


def test_the_limit_is_per_currency_and_inclusive(book: Path) -> None:
    cli(
        book,
        "writeoff",
        "propose",
        "--invoice",
        "X-2",
        "--amount",
        "1000.00",
        "--reason",
        "r",
        "--by",
        "anna",
    )
    assert cli(book, "writeoff", "approve", "WO-000001", "--by", "ar.lead")[0] == 0  # exactly the limit


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (
            "100.01",
            "invoice X-1 has 100.00 EUR open and not already proposed for write-off; 100.01 EUR is more",
        ),
        ("0", "--amount must be more than 0 EUR"),
        ("1.234", "--amount '1.234'"),
    ],
)
def test_a_proposal_must_fit_what_is_open(book: Path, amount: str, message: str) -> None:
    code, out = cli(
        book, "writeoff", "propose", "--invoice", "X-1", "--amount", amount, "--reason", "r", "--by", "anna"
    )
    assert code == 2 and out.startswith(f"error: {message}")
    assert state(book)["write_offs"] == []


def test_open_proposals_hold_their_amount_and_a_decision_is_made_once(book: Path) -> None:
    cli(book, "writeoff", "propose", "--invoice", "X-1", "--amount", "60.00", "--reason", "r", "--by", "anna")
    code, out = cli(
        book, "writeoff", "propose", "--invoice", "X-1", "--amount", "50.00", "--reason", "r", "--by", "anna"
    )
    assert code == 2 and "has 40.00 EUR open and not already proposed" in out
    code, out = cli(book, "writeoff", "reject", "WO-000001", "--by", "ar.lead", "--reason", "customer paid")
    assert (code, out) == (0, "WO-000001 rejected by ar.lead: 60.00 EUR on X-1")
    assert state(book)["open"][0] == ("X-1", 10000)  # a rejection closes nothing
    code, out = cli(book, "writeoff", "approve", "WO-000001", "--by", "controller")
    assert (code, out) == (2, "error: write-off WO-000001 is already rejected (by ar.lead)")


def test_cash_that_came_in_after_the_proposal_stops_its_approval(book: Path, tmp_path: Path) -> None:
    cli(
        book, "writeoff", "propose", "--invoice", "X-1", "--amount", "100.00", "--reason", "r", "--by", "anna"
    )
    load(book, tmp_path / "cash", AS_OF, payments="P-1,2026-11-21,30.00,EUR,Acme,,X-1")
    assert cli(book, "apply", "--payment", "P-1", "--invoice", "X-1", "--by", "anna")[0] == 0
    code, out = cli(book, "writeoff", "approve", "WO-000001", "--by", "ar.lead")
    assert code == 2
    assert "has only 70.00 EUR open now; write-off WO-000001 of 100.00 EUR no longer fits" in out

"""Cases through `o2c case` and the escalate stage: a dispute resolved with a credit note, refusals
that change nothing, promises kept and broken by the cash that comes in, and cases.csv."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from flows.escalate import escalate_flow
from flows.ingest import ingest_flow
from tasks.platform.config import load_settings
from tasks.platform.ledger import open_ledger
from tests.integration.ledger_builder import load

TODAY = date.today()
CUSTOMERS = (
    "K1,Acme,ap@acme.example,DE,EUR,30,,,standard,en,\nK2,Other,ap@other.example,DE,EUR,30,,,standard,en,\n"
)
INVOICES = f"""
X-1,K1,{TODAY - timedelta(days=40)},{TODAY - timedelta(days=10)},EUR,119.00,
X-2,K1,{TODAY - timedelta(days=40)},{TODAY - timedelta(days=10)},EUR,50.00,
Y-1,K2,{TODAY - timedelta(days=40)},{TODAY - timedelta(days=10)},EUR,10.00,
"""


@pytest.fixture
def book(home: Path, tmp_path: Path) -> Path:
    load(home, tmp_path / "in", TODAY, customers=CUSTOMERS, invoices=INVOICES)
    return home


def cli(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app_(), [*args, "--home", str(home)])
    return result.exit_code, result.output.strip()


def app_():  # noqa: ANN202
    from cli import app

    return app


def open_of(home: Path) -> dict[str, int]:
    with open_ledger(load_settings(home).ledger_path) as ledger:
        return dict(ledger.con.execute("select invoice_id, open_minor from invoice_balances").fetchall())


def test_a_dispute_resolved_with_a_credit_note(book: Path) -> None:
    code, case_id = cli(
        book,
        "case",
        "open",
        "--kind",
        "dispute",
        "--customer",
        "K1",
        "--invoice",
        "X-1",
        "--amount",
        "119.00",
        "--reason",
        "quality",
        "--text",
        "two units broken",
        "--by",
        "anna",
    )
    assert (code, case_id) == (0, "CASE-000001")
    listed = json.loads(cli(book, "case", "list", "--status", "open", "--json")[1])
    assert [(c["case_id"], c["kind"], c["invoices"], c["amount"], c["owner"]) for c in listed] == [
        ("CASE-000001", "dispute", ["X-1"], "119.00", "anna")
    ]
    code, out = cli(
        book,
        "case",
        "resolve",
        "CASE-000001",
        "--by",
        "bert",
        "--credit-note",
        "23.80",
        "--note",
        "2 of 10 broken",
    )
    year = TODAY.year
    assert (code, out) == (0, f"CASE-000001 resolved by bert, credit note O2C-CN-{year}-000001")
    assert open_of(book)["X-1"] == 119_00 - 23_80
    assert open_of(book)[f"O2C-CN-{year}-000001"] == 0  # the note is settled against its invoice
    with open_ledger(load_settings(book).ledger_path) as ledger:
        note = ledger.table("invoices").set_index("invoice_id").loc[f"O2C-CN-{year}-000001"]
        assert (note["kind"], note["credit_for_invoice"], int(note["amount_minor"])) == (
            "credit_note",
            "X-1",
            -23_80,
        )
        assert ledger.query("invoice/sequences").values.tolist() == [["O2C-CN", year, 1]]
        buyer = ledger.con.execute(
            "select customer_id, name from invoice_buyers where invoice_id = ?", [f"O2C-CN-{year}-000001"]
        ).fetchall()
        assert buyer == [("K1", "Acme")]  # made out to its invoice's buyer, kept with the note
    text = "".join(
        p.extract_text() for p in PdfReader(book / "documents" / f"O2C-CN-{year}-000001.pdf").pages
    )
    assert "Credit note" in text and "X-1" in text
    closed = json.loads(cli(book, "case", "list", "--json")[1])[0]
    assert (closed["status"], closed["resolved_by"], closed["resolution"]) == (
        "resolved",
        "bert",
        "2 of 10 broken",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--kind", "dispute", "--customer", "K1", "--amount", "5", "--reason", "q"],
            "a dispute names the invoice(s) it is about (--invoice)",
        ),
        (
            ["--kind", "dispute", "--customer", "K1", "--invoice", "Y-1", "--amount", "5", "--reason", "q"],
            "invoice(s) Y-1 belong to another customer",
        ),
        (
            ["--kind", "promise", "--customer", "K1", "--amount", "5", "--reason", "cash"],
            "a promise needs --due",
        ),
        (
            ["--kind", "claim", "--customer", "K1", "--amount", "5", "--reason", "q"],
            "--kind must be one of dispute, deduction, promise",
        ),
        (
            ["--kind", "dispute", "--customer", "K9", "--invoice", "X-1", "--amount", "5", "--reason", "q"],
            "customer 'K9' does not exist",
        ),
    ],
)
def test_a_case_that_cannot_be_opened_is_refused(book: Path, args: list[str], message: str) -> None:
    code, out = cli(book, "case", "open", *args, "--by", "anna")
    assert code == 2 and out.startswith(f"error: {message}")
    assert cli(book, "case", "list")[1] == "no cases"


def test_closing_rules(book: Path) -> None:
    cli(
        book,
        "case",
        "open",
        "--kind",
        "dispute",
        "--customer",
        "K1",
        "--invoice",
        "X-1",
        "--invoice",
        "X-2",
        "--amount",
        "20",
        "--reason",
        "pricing",
        "--by",
        "anna",
    )
    code, out = cli(book, "case", "resolve", "CASE-000001", "--by", "bert", "--credit-note", "5")
    assert (code, out) == (2, "error: case CASE-000001 names 2 invoices; a credit note credits one")
    cli(
        book,
        "case",
        "open",
        "--kind",
        "dispute",
        "--customer",
        "K1",
        "--invoice",
        "X-2",
        "--amount",
        "20",
        "--reason",
        "pricing",
        "--by",
        "anna",
    )
    code, out = cli(book, "case", "resolve", "CASE-000002", "--by", "bert", "--credit-note", "50.01")
    assert code == 2 and "at most what is open on X-2 (50.00 EUR)" in out
    assert (
        cli(book, "case", "resolve", "CASE-000001", "--by", "bert", "--rejected", "--note", "price agreed")[0]
        == 0
    )
    code, out = cli(book, "case", "resolve", "CASE-000001", "--by", "bert")
    assert (code, out) == (2, "error: case CASE-000001 is already rejected")
    assert open_of(book)["X-1"] == 119_00 and open_of(book)["X-2"] == 50_00


def test_promises_are_kept_or_broken_by_the_cash_that_comes_in(book: Path, tmp_path: Path) -> None:
    due = TODAY + timedelta(days=5)
    assert (
        cli(
            book,
            "case",
            "open",
            "--kind",
            "promise",
            "--customer",
            "K1",
            "--invoice",
            "X-1",
            "--amount",
            "119.00",
            "--reason",
            "will_pay",
            "--due",
            str(due),
            "--by",
            "anna",
        )[0]
        == 0
    )
    assert (
        cli(
            book,
            "case",
            "open",
            "--kind",
            "promise",
            "--customer",
            "K2",
            "--amount",
            "10.00",
            "--reason",
            "will_pay",
            "--due",
            str(due),
            "--by",
            "anna",
        )[0]
        == 0
    )
    code, out = cli(book, "case", "resolve", "CASE-000001", "--by", "bert")
    assert code == 2 and "is a promise: it is kept or broken by the cash that comes in" in out
    load(book, tmp_path / "cash", TODAY, payments=f"P-1,{TODAY + timedelta(days=2)},119.00,EUR,Acme,,X-1")
    assert cli(book, "apply", "--payment", "P-1", "--invoice", "X-1", "--by", "anna")[0] == 0
    summary = escalate_flow(as_of=due + timedelta(days=1), home=str(book))
    assert (summary["counts"]["promises_kept"], summary["counts"]["promises_broken"]) == (1, 1)
    cases = {c["case_id"]: c for c in json.loads(cli(book, "case", "list", "--json")[1])}
    assert cases["CASE-000001"]["status"] == "kept"
    assert cases["CASE-000001"]["resolved_on"] == str(TODAY + timedelta(days=2))
    assert cases["CASE-000002"]["status"] == "broken"
    assert cases["CASE-000002"]["resolution"] == f"broken: 0.00 of 10.00 EUR paid by {due}"
    again = escalate_flow(as_of=due + timedelta(days=2), home=str(book))
    assert (again["counts"]["promises_kept"], again["counts"]["promises_broken"]) == (0, 0)
    with open_ledger(load_settings(book).ledger_path) as ledger:
        audited = ledger.con.execute(
            "select key, action from audit_log where entity = 'cases' and stage = 'cases' and action in ('kept', 'broken') order by key"
        ).fetchall()
    assert audited == [("CASE-000001", "kept"), ("CASE-000002", "broken")]


def test_a_decision_is_dated_by_the_business_date_it_is_made_for(book: Path) -> None:
    # Re-working March in the autumn: a promise for 10 July made as of 30 June is accepted and dated
    # 30 June; without --as-of the same promise is refused against today.
    args = ("case", "open", "--kind", "promise", "--customer", "K2", "--amount", "10.00")
    args += ("--reason", "will_pay", "--due", "2026-07-10", "--by", "anna")
    if date(2026, 7, 10) < TODAY:
        code, out = cli(book, *args)
        assert code == 2 and "--due 2026-07-10 is before the business date" in out
    code, case_id = cli(book, *args, "--as-of", "2026-06-30")
    assert code == 0, case_id
    cases = {c["case_id"]: c for c in json.loads(cli(book, "case", "list", "--json")[1])}
    assert (cases[case_id]["opened_on"], cases[case_id]["due_on"]) == ("2026-06-30", "2026-07-10")
    code, hold_id = cli(
        book, "hold", "place", "--customer", "K2", "--reason", "slow", "--by", "anna", "--as-of", "2026-06-30"
    )
    assert code == 0, hold_id
    with open_ledger(load_settings(book).ledger_path) as ledger:
        placed = ledger.con.execute(
            "select cast(placed_on as date) from credit_holds where hold_id = ?", [hold_id]
        ).fetchone()
    assert placed == (date(2026, 6, 30),)


def test_cases_load_from_csv_with_bad_rows_quarantined(book: Path, tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    path.write_text(
        "case_id,kind,customer_id,invoice_id,amount,currency,reason_code,reason_text,owner,opened_on,due_on,status\n"
        f"C-1,dispute,K1,X-2;X-1,20.00,EUR,pricing,,carla,{TODAY},,\n"
        f"C-2,complaint,K1,X-1,5.00,EUR,pricing,,carla,{TODAY},,\n"
        f"C-3,promise,K1,,5.00,EUR,will_pay,,carla,{TODAY},{TODAY - timedelta(days=1)},\n"
        f"C-4,promise,K2,,5.00,EUR,will_pay,,carla,{TODAY},{TODAY + timedelta(days=9)},\n"
        f"C-5,deduction,K2,Y-1,1.00,EUR,freight,,,{TODAY},,resolved\n"
    )
    (result,) = ingest_flow(paths=[str(path)], as_of=TODAY, home=str(book))
    assert result["counts"] == {
        "rows_read": 5,
        "rows_quarantined": 2,
        "rows_checked_ok": 3,
        "cases_amount_minor_EUR": 3600,  # the control total as read: 20 + 5 + 5 + 5 + 1
    }
    with open_ledger(load_settings(book).ledger_path) as ledger:
        loaded = ledger.table("cases")
        reasons = ledger.table("quarantine").set_index("row_number")["reasons"]
    assert loaded.sort_values("case_id")[
        ["case_id", "invoice_id", "status", "amount_minor"]
    ].values.tolist() == [
        ["C-1", "X-1;X-2", "open", 20_00],
        ["C-4", None, "open", 5_00],
        ["C-5", "Y-1", "resolved", 1_00],
    ]
    assert reasons[3] == "kind: not one of dispute, deduction, promise"
    assert "due_on_or_after_opened" in reasons[4]

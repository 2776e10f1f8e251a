"""Reconcile through Prefect on a generated book: quality against the truth, and the exception queue."""

from __future__ import annotations

import json
from pathlib import Path

from tasks.platform.config import load_settings
from tasks.platform.ledger import open_ledger
from tools.bench import run_match_benchmark


def test_bench_match_measures_against_the_truth(tmp_path: Path) -> None:
    home = tmp_path / "bench"
    lines = list(run_match_benchmark(invoices=800, customers=20, seed=3, home=str(home)))
    figures = dict(
        line.split(maxsplit=1)
        for line in lines
        if line.split()[0].endswith(("count", "value", "correct", "share"))
    )
    assert float(figures["invoice_level_correct"].rstrip("%")) >= 85.0
    assert float(figures["false_allocation_share"].rstrip("%")) <= 0.5
    with open_ledger(load_settings(home).ledger_path) as ledger:
        exceptions = ledger.table("payment_exceptions")
        allocations = ledger.table("allocations")
    assert len(exceptions) > 0  # the generator's messiness leaves work for people
    for suggestions in exceptions["suggestions"]:
        assert len(json.loads(suggestions)) <= 3
    assert set(allocations["rule"]) <= {
        "structured_reference",
        "invoice_number",
        "exact_amount",
        "amount_combination",
        "amount_within_tolerance",
        "early_payment_discount",
        "overpayment",
    }
    assert (allocations["score"] >= 0.8).all()


def test_a_short_payment_opens_a_deduction_case_that_the_rest_of_the_cash_resolves(
    home: Path, tmp_path: Path
) -> None:
    from datetime import date

    from flows.ingest import ingest_flow
    from flows.reconcile import reconcile_flow
    from tests.integration.ledger_builder import PAYMENT_HEADER, load_one_invoice

    load_one_invoice(
        home,
        tmp_path / "in",
        date(2026, 11, 20),
        payments="Q-1,2026-11-10,60.00,EUR,Acme,,X-1 damaged goods\n",
    )
    first = reconcile_flow(as_of=date(2026, 11, 20), home=str(home))
    assert first["counts"]["deduction_cases_opened"] == 1
    with open_ledger(load_settings(home).ledger_path) as ledger:
        case = ledger.table("cases").iloc[0]
    assert (case["case_id"], case["amount_minor"], case["reason_code"], case["status"]) == (
        "D-Q-1/X-1",
        4000,
        "damaged_goods",
        "open",
    )
    rest = tmp_path / "in" / "payments_2.csv"
    rest.write_text(PAYMENT_HEADER + "Q-2,2026-11-21,40.00,EUR,Acme,,X-1 rest\n")
    ingest_flow(paths=[str(rest)], as_of=date(2026, 11, 22), home=str(home))
    reconcile_flow(as_of=date(2026, 11, 22), home=str(home))
    with open_ledger(load_settings(home).ledger_path) as ledger:
        assert ledger.table("cases")["status"].tolist() == ["resolved"]
        audit = ledger.con.execute(
            "select action from audit_log where entity = 'cases' order by audit_id"
        ).fetchall()
    assert audit == [("insert",), ("resolve",)]


def test_instalments_paid_whole_are_allocated_and_only_a_due_part_short_paid_opens_a_case(
    home: Path, tmp_path: Path
) -> None:
    """Issue 19: 360.00 GBP billed in three parts of 120.00 (due 20 Dec, 19 Jan, 18 Feb); the
    reconcile read gives the parts, so the first part paid exactly is no short payment, and a
    payment 20.00 short of the second part, once due, opens a case for those 20.00 only."""
    from datetime import date

    from flows.ingest import ingest_flow
    from flows.invoice import invoice_flow
    from flows.reconcile import reconcile_flow
    from tests.integration.ledger_builder import PAYMENT_HEADER

    folder = tmp_path / "in"
    folder.mkdir()
    files = {
        "customers.csv": "customer_id,name,email,country,currency,payment_terms_days,language,payment_terms\n"
        'K1,Kunde Ltd,ap@kunde.example,GB,GBP,30,en,"net 30, 3 instalments every 30 days"\n',
        "orders.csv": "order_id,customer_id,order_date,currency,status,fulfilled_date,credit_for\n"
        "SO-1,K1,2026-11-01,GBP,fulfilled,2026-11-02,\n",
        "order_lines.csv": "order_id,line_no,sku,description,quantity,unit_price,tax_rate\n"
        "SO-1,1,A-1,Widget,3,100.00,0.20\n",
    }
    for name, text in files.items():
        (folder / name).write_text(text)
    ingest_flow(paths=[str(folder / n) for n in files], as_of=date(2026, 11, 20), home=str(home))
    invoice_flow(as_of=date(2026, 11, 20), home=str(home))

    def pay(name: str, rows: str, day: date) -> dict:
        path = folder / name
        path.write_text(PAYMENT_HEADER + rows)
        ingest_flow(paths=[str(path)], as_of=day, home=str(home))
        return reconcile_flow(as_of=day, home=str(home))

    first = pay(
        "payments_1.csv", "Q-1,2026-12-21,120.00,GBP,Kunde Ltd,,O2C-2026-000001\n", date(2026, 12, 22)
    )
    assert first["counts"]["deduction_cases_opened"] == 0
    assert first["counts"]["small_differences_written_off"] == 0
    with open_ledger(load_settings(home).ledger_path) as ledger:
        parts = ledger.query("reconcile/invoices", as_of=date(2026, 12, 22))
        assert list(parts.loc[0, "instalment_amounts_minor"]) == [120_00, 120_00, 120_00]
        assert parts.loc[0, "open_minor"] == 240_00
        assert ledger.table("allocations")[["payment_id", "amount_minor"]].values.tolist() == [
            ["Q-1", 120_00]
        ]
    second = pay(
        "payments_2.csv", "Q-2,2027-01-25,100.00,GBP,Kunde Ltd,,O2C-2026-000001\n", date(2027, 1, 26)
    )
    assert second["counts"]["deduction_cases_opened"] == 1
    with open_ledger(load_settings(home).ledger_path) as ledger:
        cases = ledger.table("cases")
        balance = ledger.con.execute(
            "select open_minor from invoice_balances where invoice_id = 'O2C-2026-000001'"
        ).fetchone()
    assert cases[["case_id", "amount_minor", "reason_code"]].values.tolist() == [
        ["D-Q-2/O2C-2026-000001", 20_00, "unexplained_short_payment"]
    ]
    assert balance == (140_00,)  # 20.00 of part 2 and part 3, not yet due


def test_an_advance_is_held_on_account_and_pays_the_next_invoice(home: Path, tmp_path: Path) -> None:
    # 500.00 from Acme's account with no invoice open: held on its account, not queued, shown in
    # the report and on the statement; the next invoice (300.00) takes 300.00, 200.00 stays held
    from datetime import date

    from flows.reconcile import reconcile_flow
    from flows.report import report_flow
    from tests.integration.ledger_builder import load

    account = "DE89370400440532013000"
    load(
        home,
        tmp_path / "in",
        date(2026, 11, 20),
        customers=f"K1,Acme,ap@acme.example,DE,EUR,30,,,standard,en,{account}\n",
        payments=f"A-1,2026-11-02,500.00,EUR,Acme GmbH,{account},advance for the winter order\n",
    )
    first = reconcile_flow(as_of=date(2026, 11, 20), home=str(home))
    assert (first["counts"]["held_on_account"], first["counts"]["exceptions"]) == (1, 0)
    with open_ledger(load_settings(home).ledger_path) as ledger:
        held = ledger.table("cash_on_account")
        assert ledger.table("payment_exceptions").empty
    assert held[["payment_id", "customer_id", "unapplied_minor"]].values.tolist() == [["A-1", "K1", 500_00]]
    report = report_flow(as_of=date(2026, 11, 20), home=str(home))["report"]
    assert report["currencies"]["EUR"]["cash_on_account"] == "500.00"

    load(home, tmp_path / "next", date(2026, 11, 25), invoices="X-9,K1,2026-11-24,2026-12-24,EUR,300.00,\n")
    second = reconcile_flow(as_of=date(2026, 11, 25), home=str(home))
    assert second["counts"]["payments_by_on_account"] == 1
    with open_ledger(load_settings(home).ledger_path) as ledger:
        allocation = ledger.table("allocations").iloc[0]
        held = ledger.table("cash_on_account")
    assert (allocation["invoice_id"], allocation["amount_minor"], allocation["rule"]) == (
        "X-9",
        300_00,
        "on_account",
    )
    assert held[["payment_id", "unapplied_minor"]].values.tolist() == [["A-1", 200_00]]
    again = reconcile_flow(as_of=date(2026, 11, 25), home=str(home))
    assert again["counts"]["allocations"] == 0 and again["counts"]["held_on_account"] == 1

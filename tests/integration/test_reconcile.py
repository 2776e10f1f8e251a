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

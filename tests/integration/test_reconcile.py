"""Reconcile through Prefect on a generated book: quality against the truth, and the exception queue."""

from __future__ import annotations

import json
from pathlib import Path

from tasks.bench import run_match_benchmark
from tasks.config import load_settings
from tasks.ledger import open_ledger


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
        "overpayment",
    }
    assert (allocations["score"] >= 0.8).all()

"""The escalate stage through Prefect: the collector worklist follows the facts, both ways."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from cli import app
from flows.escalate import escalate_flow
from flows.ingest import ingest_flow
from flows.reconcile import reconcile_flow
from tasks.platform.config import load_settings
from tasks.platform.ledger import open_ledger
from tests.integration.ledger_builder import PAYMENT_HEADER, load

AS_OF = date(2026, 11, 20)
CUSTOMERS = """
K1,Old Debt AG,ap@old.example,DE,EUR,30,,,standard,de,
K2,Young Debt Ltd,ap@young.example,GB,EUR,30,,,standard,en,
K3,Small Debt SA,ap@small.example,FR,EUR,30,,,standard,fr,
"""
# K1: 46 days past due and over 500.00 EUR: worklist. K2: exactly 45 days: not over 45.
# K3: 60 days past due but only 500.00 (not over 500.00): not on the list.
INVOICES = """
X-1,K1,2026-09-05,2026-10-05,EUR,700.00,
X-2,K2,2026-09-06,2026-10-06,EUR,900.00,
X-3,K3,2026-08-22,2026-09-21,EUR,500.00,
"""


def test_worklist_boundaries_export_and_clearing(home: Path, tmp_path: Path) -> None:
    load(home, tmp_path / "in", AS_OF, customers=CUSTOMERS, invoices=INVOICES)
    first = escalate_flow(as_of=AS_OF, home=str(home))
    assert first["counts"]["worklist"] == 1
    out = tmp_path / "worklist.csv"
    result = CliRunner().invoke(app, ["export", "worklist", "--out", str(out), "--home", str(home)])
    assert result.exit_code == 0, result.output
    worklist = pd.read_csv(out, dtype=str)
    assert list(worklist.columns[:5]) == [
        "collector_group",
        "customer_id",
        "reason",
        "open_amount",
        "currency",
    ]
    assert worklist.loc[0, "collector_group"] == "default"
    assert worklist[["customer_id", "open_amount", "currency"]].values.tolist() == [["K1", "700.00", "EUR"]]
    assert "45 days" in worklist.loc[0, "reason"]

    # A day later K2 is 46 days past due too; running twice on one day records the change once.
    escalate_flow(as_of=date(2026, 11, 21), home=str(home))
    escalate_flow(as_of=date(2026, 11, 21), home=str(home))
    with open_ledger(load_settings(home).ledger_path) as ledger:
        entered = ledger.table("escalations")
        assert sorted(ledger.table("worklist")["customer_id"]) == ["K1", "K2"]
    assert sorted(entered["customer_id"]) == ["K1", "K2"]

    # K1 pays: once reconcile applies the cash, K1 leaves the list and its clear state is recorded.
    payments = tmp_path / "in" / "payments.csv"
    payments.write_text(PAYMENT_HEADER + "Q-1,2026-11-21,700.00,EUR,Old Debt AG,,Rechnung X-1\n")
    ingest_flow(paths=[str(payments)], as_of=date(2026, 11, 22), home=str(home))
    reconcile_flow(as_of=date(2026, 11, 22), home=str(home))
    escalate_flow(as_of=date(2026, 11, 22), home=str(home))
    with open_ledger(load_settings(home).ledger_path) as ledger:
        assert sorted(ledger.table("worklist")["customer_id"]) == ["K2"]
        k1 = ledger.table("escalations").query("customer_id == 'K1'").sort_values("entered_on")
    assert k1["state"].tolist() == ["collector_worklist", "clear"]

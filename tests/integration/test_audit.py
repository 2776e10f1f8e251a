"""For auditors: `o2c audit runs` lists every run with who or what started it, its outcome, counts
and the versions of its rules and contracts; `o2c audit show` lists what one run changed."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from flows.order_to_cash import order_to_cash
from tests.integration.ledger_builder import load

AS_OF = date(2026, 11, 20)
CUSTOMERS = "K1,Acme,ap@acme.example,DE,EUR,30,,,standard,en,\n"
INVOICES = "X-1,K1,2026-10-01,2026-10-31,EUR,100.00,\n"
PAYMENTS = "P-1,2026-11-05,100.00,EUR,Acme,,X-1\n"


def test_every_run_says_who_started_it_and_what_it_changed(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(home, tmp_path / "in", AS_OF, customers=CUSTOMERS, invoices=INVOICES, payments=PAYMENTS)
    runner = CliRunner()
    assert (
        runner.invoke(app, ["run", "reconcile", "--as-of", "2026-11-20", "--home", str(home)]).exit_code == 0
    )
    order_to_cash(as_of=date(2026, 11, 21), home=str(home))

    listed = runner.invoke(app, ["audit", "runs", "--json", "--home", str(home)])
    assert listed.exit_code == 0, listed.output
    runs = json.loads(listed.stdout)
    by_stage = [(r["stage"], r["as_of"], r["started_by"]) for r in runs]
    assert by_stage[:2] == [("ingest", "2026-11-20", "python"), ("reconcile", "2026-11-20", "cli")]
    assert ("escalate", "2026-11-21", "order_to_cash run") in by_stage
    reconcile = next(r for r in runs if r["stage"] == "reconcile")
    assert reconcile["outcome"] == "completed" and reconcile["counts"]["allocations"] == 1
    assert reconcile["rule_version"].startswith("v")
    assert "allocations=" in reconcile["contracts"]
    escalate = next(r for r in runs if r["stage"] == "escalate")
    assert escalate["rule_version"].startswith("v2-")

    shown = runner.invoke(app, ["audit", "show", reconcile["run_id"], "--json", "--home", str(home)])
    assert shown.exit_code == 0, shown.output
    changes = json.loads(shown.stdout)
    allocation = next(c for c in changes if c["entity"] == "allocations")
    assert (allocation["key"], allocation["action"]) == ("P-1/X-1", "insert")
    assert json.loads(allocation["after"])["amount_minor"] == 10000

    later = runner.invoke(app, ["audit", "runs", "--since", "2999-01-01", "--json", "--home", str(home)])
    assert json.loads(later.stdout) == []
    missing = runner.invoke(app, ["audit", "show", "no-such-run", "--home", str(home)])
    assert missing.exit_code == 2 and "no changes recorded for run 'no-such-run'" in missing.output

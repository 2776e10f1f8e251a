"""The IBM accounts-receivable sample, through the mapping shipped in `data_contracts/mappings/`:
customers, invoices and the payments that settled them, applied by reconcile on the invoice number,
and the published figures hold: mean days to settle 26.44, mean days late 3.44, 35.56 % paid late.
As of a past date, an invoice settled later was open then."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli import app
from tests.integration.conftest import DATASETS_FOLDER

FILE = DATASETS_FOLDER / "ibm_ar" / "WA_Fn-UseC_-Accounts-Receivable.csv"
MAPPING = Path(__file__).resolve().parents[2] / "data_contracts" / "mappings" / "ibm_ar.yaml"


def test_the_ibm_sample_gives_its_published_figures(home: Path) -> None:
    if not FILE.exists():
        pytest.skip(f"the IBM accounts-receivable sample is not beside the project ({FILE})")
    runner = CliRunner()

    def ok(*args: str) -> str:
        result = runner.invoke(app, [*args, "--home", str(home)])
        assert result.exit_code == 0, result.output
        return result.stdout  # warnings a first import logs go to stderr

    batches = json.loads(
        ok("ingest", str(FILE), "--mapping", str(MAPPING), "--as-of", "2014-01-31", "--json")
    )
    assert [(b["dataset"], b["counts"]["rows_checked_ok"]) for b in batches] == [
        ("customers", 100),
        ("invoices", 2466),
        ("payments", 2466),
    ]
    ok("run", "reconcile", "--as-of", "2014-01-31")
    usd = json.loads(ok("report", "--as-of", "2014-01-31", "--json"))["currencies"]["USD"]
    assert usd["invoices_settled"] == 2466
    assert (usd["average_days_to_settle"], usd["average_days_late"], usd["share_paid_late"]) == (
        26.44,
        3.44,
        35.56,
    )
    assert usd["open_amount"] == "0.00"

    # As of 30 June 2013 the ledger is recomputed: what was issued by then and not yet settled.
    source = pd.read_csv(FILE, dtype=str)
    day = datetime(2013, 6, 30)
    issued = pd.to_datetime(source["InvoiceDate"], format="%m/%d/%Y") <= day
    unsettled = pd.to_datetime(source["SettledDate"], format="%m/%d/%Y") > day
    expected = sum(Decimal(a) for a in source.loc[issued & unsettled, "InvoiceAmount"])
    then = json.loads(ok("report", "--as-of", "2013-06-30", "--json"))["currencies"]["USD"]
    assert Decimal(then["open_amount"]) == expected > 0
    assert then["invoices_settled"] == int((issued & ~unsettled).sum())

"""The UCI Online Retail file, end to end through Prefect: ingested as an order book through the
mapping shipped in `data_contracts/mappings/`, invoiced (cancellations as credit notes on account),
and accounted for line by line and penny by penny by `o2c summary`."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli import app
from flows.invoice import invoice_flow
from tests.integration.conftest import DATASETS_FOLDER, in_postgres_pass

FILE = DATASETS_FOLDER / "online_retail" / "online_retail_uci_541909.csv.gz"
MAPPING = Path(__file__).resolve().parents[2] / "data_contracts" / "mappings" / "online_retail.yaml"


@in_postgres_pass  # a longer one: in make test-postgres, so that make test keeps its ten minutes
def test_online_retail_ingests_invoices_and_balances(home: Path, tmp_path: Path) -> None:
    if not FILE.exists():
        pytest.skip(f"the Online Retail file is not beside the project ({FILE})")
    runner = CliRunner()
    ingest = ["ingest", str(FILE), "--mapping", str(MAPPING), "--as-of", "2011-12-31", "--home", str(home)]
    first = runner.invoke(app, [*ingest, "--json"])
    assert first.exit_code == 0, first.output
    batches = {b["dataset"]: b for b in json.loads(first.stdout)}
    assert batches["customers"]["counts"]["rows_checked_ok"] == 4372
    assert batches["orders"]["counts"]["rows_quarantined"] == 3710  # invoices without a customer
    # No customer, exact duplicates of a line with one, and four prices in thousandths of a penny.
    assert batches["order_lines"]["counts"]["rows_quarantined"] == 135_080 + 5_225 + 4

    summary = invoice_flow(as_of="2011-12-31", home=str(home), documents=False)
    assert summary["counts"]["orders_billed"] == 18_536
    assert summary["counts"]["credit_notes"] == 3_654
    assert summary["counts"]["orders_skipped"] == 0

    report = runner.invoke(
        app, ["summary", str(FILE), "--mapping", str(MAPPING), "--json", "--home", str(home)]
    )
    assert report.exit_code == 0, report.output
    result = json.loads(report.stdout)
    figures = {f["what"]: (f["rows"], f["amount"]) for f in result["figures"]}
    assert result["currency"] == "GBP"
    assert figures["order lines in the file"] == (541_909, "9747747.934")
    assert figures[
        "order lines quarantined: CustomerID is blank: a line without a customer cannot be billed"
    ] == (
        135_080,
        "1447682.12",
    )
    assert figures["order lines quarantined: exact duplicate of row N (every column the same)"] == (
        5_225,
        "21546.39",
    )
    assert figures["order lines loaded"] == (401_600, "8278519.42")
    assert figures["order lines on invoices"] == (392_728, "8887208.89")
    assert figures["order lines on credit notes"] == (8_872, "-608689.47")
    assert figures["order lines loaded, not billed"] == (0, "0.00")
    assert all(result["controls"].values())

    out = tmp_path / "invoices.csv"
    assert runner.invoke(app, ["export", "invoices", "--out", str(out), "--home", str(home)]).exit_code == 0
    invoices = pd.read_csv(out, dtype=str)
    assert (invoices["kind"] == "credit_note").sum() == 3_654
    assert invoices["invoice_id"].str.startswith("O2C-2011-").sum() == 18_536

    again = runner.invoke(app, [*ingest, "--json"])  # the same file again changes nothing
    assert again.exit_code == 0, again.output
    assert [b["outcome"] for b in json.loads(again.stdout)] == ["already ingested"] * 3

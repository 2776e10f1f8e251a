"""The report of one legal entity, as a command and as a run: `o2c report --entity E` computes every
figure from E's rows alone, an unknown entity is refused in one line; a report run for E keeps its
KPI snapshot beside the whole book's (schema 030) and writes its own files."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from cli import app
from flows.ingest import ingest_flow
from flows.report import report_flow
from tasks.platform.config import load_settings
from tasks.platform.ledger import open_ledger
from tasks.report.figures import read_inputs
from tests.integration.conftest import in_postgres_pass

AS_OF = date(2026, 11, 20)
BOOK = {
    "customers.csv": """customer_id,name,email,country,currency,payment_terms_days,language,legal_entity
K1,Alpha GmbH,ap@alpha.example,DE,EUR,30,de,DE01
K2,Beta SARL,ap@beta.example,FR,EUR,30,fr,FR01
K3,Gamma Ltd,ap@gamma.example,GB,EUR,30,en,
""",
    "invoices.csv": """invoice_id,customer_id,issue_date,due_date,currency,amount,order_id
A-1,K1,2026-08-01,2026-09-01,EUR,100.00,
B-1,K2,2026-10-01,2026-10-31,EUR,200.00,
C-1,K3,2026-11-01,2026-12-01,EUR,300.00,
""",
}


def _book(home: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in BOOK.items():
        (folder / name).write_text(text)
    ingest_flow(paths=[str(folder / n) for n in BOOK], as_of=AS_OF, home=str(home))


def _report(home: Path, *options: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["report", "--as-of", AS_OF.isoformat(), *options, "--home", str(home)])
    return result.exit_code, result.output


@in_postgres_pass  # a longer one: in make test-postgres, so that make test keeps its ten minutes
def test_o2c_report_of_one_entity_and_an_unknown_one(home: Path, tmp_path: Path) -> None:
    _book(home, tmp_path / "in")
    code, out = _report(home, "--json")
    assert code == 0, out
    whole = json.loads(out)["currencies"]["EUR"]
    parts = {}
    for entity in ("DE01", "FR01", "default"):
        code, out = _report(home, "--entity", entity, "--json", "--html", str(tmp_path / f"{entity}.html"))
        assert code == 0, out
        document = json.loads(out)
        assert document["entity"] == entity
        parts[entity] = document["currencies"]["EUR"]
    assert [parts[e]["open_amount"] for e in ("DE01", "FR01", "default")] == ["100.00", "200.00", "300.00"]
    assert sum(Decimal(p["open_amount"]) for p in parts.values()) == Decimal(whole["open_amount"])
    assert "<h1>Receivables of FR01 as of 2026-11-20</h1>" in (tmp_path / "FR01.html").read_text()

    code, out = _report(home, "--entity", "XX99")
    assert code != 0
    assert "unknown legal entity 'XX99'; the known ones: DE01, FR01, default" in out
    assert "Traceback" not in out


@in_postgres_pass  # a longer one: in make test-postgres, so that make test keeps its ten minutes
def test_a_report_run_of_one_entity_keeps_its_snapshot_beside_the_whole_books(
    home: Path, tmp_path: Path
) -> None:
    _book(home, tmp_path / "in")
    whole = report_flow(as_of=AS_OF, home=str(home))["report"]
    mine = report_flow(as_of=AS_OF, home=str(home), entity="DE01")
    assert mine["report"]["entity"] == "DE01"
    assert mine["report"]["currencies"]["EUR"]["open_amount"] == "100.00"
    reports = load_settings(home).reports
    assert {p.name for p in reports.glob("report-*")} == {
        f"report-{AS_OF}.{ext}" for ext in ("json", "md", "html")
    } | {f"report-{AS_OF}-DE01.{ext}" for ext in ("json", "md", "html")}
    assert json.loads((reports / f"report-{AS_OF}.json").read_text()) == whole
    report_flow(as_of=AS_OF, home=str(home), entity="DE01")  # again: replaces DE01's, nothing else
    with open_ledger(load_settings(home).ledger_path) as ledger:
        kept = ledger.table("kpi_snapshots").sort_values("entity")
        history = read_inputs(ledger, AS_OF, 90, "DE01", {})["history"]  # DE01's DSO trend: its own
    assert kept[["entity", "currency"]].values.tolist() == [["", "EUR"], ["DE01", "EUR"]]
    figures = {r.entity: json.loads(r.figures) for r in kept.itertuples()}
    assert (figures[""]["open_amount"], figures["DE01"]["open_amount"]) == ("600.00", "100.00")
    assert [json.loads(f)["open_amount"] for f in history["figures"]] == ["100.00"]

    refused = report_flow(as_of=AS_OF, home=str(home), entity="XX99", return_state=True)
    assert refused.is_failed()
    assert "unknown legal entity 'XX99'; the known ones: DE01, FR01, default" in str(refused.message)

"""Exchange rates through `o2c rates load` (the ECB's file, loaded once, a conflicting file refused
whole) and the report's receivables in one reporting currency, on the page and in the JSON."""

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

ECB = Path(__file__).resolve().parents[1] / "fixtures" / "rates" / "eurofxref-hist.csv"


def o2c(*args: str) -> tuple[int, str]:
    done = CliRunner().invoke(app, list(args))
    return done.exit_code, done.output


def test_rates_are_loaded_once_and_the_report_totals_in_one_currency(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(
        home,
        tmp_path / "in",
        date(2014, 8, 25),
        customers="K1,Acme,ap@acme.example,US,USD,30,,,standard,en,\nK2,Brit,ap@brit.example,GB,GBP,30,,,standard,en,\n",
        invoices="U-1,K1,2014-08-21,2014-09-20,USD,1000.00,\nG-1,K2,2014-08-22,2014-09-21,GBP,500.00,\n",
    )
    code, out = o2c("rates", "load", str(ECB), "--home", str(home))
    assert code == 0, out
    assert "24 rate(s) of 8 currencies, 2014-08-21 to 2014-08-25; 24 new, 0 already known" in out
    code, out = o2c("rates", "load", str(ECB), "--home", str(home))
    assert code == 0 and "0 new, 24 already known" in out
    other = tmp_path / "other.csv"
    other.write_text(
        "rate_date,base_currency,currency,rate\n2014-08-25,EUR,USD,1.40\n2014-08-26,EUR,USD,1.31\n"
    )
    code, out = o2c("rates", "load", str(other), "--home", str(home))
    assert code == 2 and "(USD per EUR on 2014-08-25: 1.40, already 1.32); nothing loaded" in out
    with open_ledger(load_settings(home).ledger_path) as ledger:
        assert ledger.con.execute("select count(*) from exchange_rates").fetchone() == (24,)
        assert ledger.con.execute("select count(*) from stage_runs where stage = 'rates'").fetchone() == (2,)

    monkeypatch.setenv("O2C_REPORTING_CURRENCY", "EUR")
    page = tmp_path / "report.html"
    code, out = o2c("report", "--as-of", "2014-08-25", "--json", "--html", str(page), "--home", str(home))
    assert code == 0, out
    across = json.loads(out)["across_currencies"]
    # USD 1,000.00: 757.58 EUR now, 754.03 when billed; GBP 500.00: 628.40 now, 624.77 when billed
    assert (across["open_amount"], across["open_at_booking_rates"], across["unrealised_fx"]) == (
        "1385.98",
        "1378.80",
        "7.18",
    )
    text = page.read_text(encoding="utf-8")
    assert (
        "Open, all currencies in EUR" in text
        and "€1,385.98" in text
        and "€7.18 unrealised exchange gain" in text
    )

    monkeypatch.setenv("O2C_REPORTING_CURRENCY", "euro")  # the console script prints it as one line
    done = CliRunner().invoke(app, ["report", "--as-of", "2014-08-25", "--home", str(home)])
    assert "O2C_REPORTING_CURRENCY='EURO' is not an ISO 4217 currency code" in str(done.exception)

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
from tests.integration.conftest import in_postgres_pass
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


@in_postgres_pass  # a longer one: in make test-postgres, so that make test keeps its ten minutes
def test_a_eur_payment_pays_a_usd_invoice_at_the_ecbs_rate_of_its_value_date(
    home: Path, tmp_path: Path
) -> None:
    # the ECB's file: 1.3267 USD per EUR on Friday 2014-08-22. 1,000.00 EUR paid on Saturday the
    # 23rd naming U-1 is 1,326.70 USD at Friday's rate: U-1 (1,326.70 USD) is paid in full. Before
    # the rates are loaded it waits in the queue saying which rate is missing; a second run changes
    # nothing; the export shows both sides
    from flows.reconcile import reconcile_flow

    load(
        home,
        tmp_path / "in",
        date(2014, 8, 25),
        customers="K1,Acme,ap@acme.example,US,USD,30,,,standard,en,\n",
        invoices="U-1,K1,2014-08-21,2014-09-20,USD,1326.70,\nU-2,K1,2014-08-21,2014-09-20,USD,500.00,\n",
        payments="E-1,2014-08-23,1000.00,EUR,Acme Inc,,Invoice U-1\n",
    )
    waiting = reconcile_flow(as_of=date(2014, 8, 25), home=str(home))
    assert (waiting["counts"]["allocations"], waiting["counts"]["held_on_account"]) == (0, 1)
    with open_ledger(load_settings(home).ledger_path) as ledger:
        reason = ledger.table("cash_on_account")["reason"].tolist()
    assert reason == [  # Acme's by its name: its cash, held on its account until the rate is known
        "no open EUR invoice of K1: held on its account; names USD invoice(s) U-1;"
        " no EUR->USD rate on or before 2014-08-23 (o2c rates load)"
    ]

    assert o2c("rates", "load", str(ECB), "--home", str(home))[0] == 0
    first = reconcile_flow(as_of=date(2014, 8, 25), home=str(home))
    assert first["counts"]["payments_by_cross_currency"] == 1
    again = reconcile_flow(as_of=date(2014, 8, 25), home=str(home))
    assert again["counts"]["allocations"] == 0
    with open_ledger(load_settings(home).ledger_path) as ledger:
        rows = ledger.query("report/export/allocations")
        assert ledger.table("payment_exceptions").empty and ledger.table("cash_on_account").empty
        balances = dict(ledger.con.execute("select invoice_id, open_minor from invoice_balances").fetchall())
    got = rows[["invoice_id", "amount_minor", "currency", "payment_amount_minor", "payment_currency"]]
    assert got.values.tolist() == [["U-1", 1326_70, "USD", 1000_00, "EUR"]]
    assert (rows["exchange_rate"].iloc[0], str(rows["rate_date"].iloc[0])[:10]) == ("1.3267", "2014-08-22")
    assert balances == {"U-1": 0, "U-2": 500_00}
    code, out = o2c("export", "allocations", "--out", str(tmp_path / "a.csv"), "--home", str(home))
    assert code == 0, out
    exported = (tmp_path / "a.csv").read_text().splitlines()
    assert exported[0].startswith(
        "allocation_id,payment_id,invoice_id,amount,currency,payment_amount,payment_currency,exchange_rate,rate_date"
    )
    assert exported[1].startswith("E-1/U-1,E-1,U-1,1326.70,USD,1000.00,EUR,1.3267,2014-08-22,cross_currency")

"""Exchange rates from the ECB's file and conversions worked by hand; the receivables of every
currency revalued in one reporting currency, the unrealised difference shown apart."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from tasks.platform.fx import Rates, RatesProblem, conflicts, convert_minor, read_rates
from tasks.report.revaluation import across_currencies

ECB = Path(__file__).resolve().parents[1] / "fixtures" / "rates" / "eurofxref-hist.csv"


def rates() -> Rates:
    return Rates.of(read_rates(ECB))


def test_the_ecb_file_is_read_as_published() -> None:
    rows = read_rates(ECB)
    # 3 days x 8 currencies; CYP (replaced by the euro) is skipped, N/A is no quote
    assert len(rows) == 24 and rows.attrs["skipped"] == ["CYP"]
    first = rows.iloc[0].to_dict()
    assert first == {
        "rate_date": date(2014, 8, 25),
        "base_currency": "EUR",
        "currency": "USD",
        "rate": "1.32",
    }
    assert set(rows["base_currency"]) == {"EUR"}


def test_conversions_worked_by_hand() -> None:
    r = rates()
    # 1,000.00 USD at 1.32 USD per EUR = 757.5757... -> 757.58 EUR
    assert r.convert(1000_00, "USD", "EUR", date(2014, 8, 25)) == 757_58
    # 100.00 EUR at 137.7 = 13,770 JPY
    assert r.convert(100_00, "EUR", "JPY", date(2014, 8, 22)) == 13_770
    # crossed through the euro: 1,000.00 GBP x 1.3262 / 0.79925 = 1,659.3056 -> 1,659.31 USD
    assert r.convert(1000_00, "GBP", "USD", date(2014, 8, 21)) == 1659_31
    # a Sunday takes Friday's quote: 250.00 / 1.3267 = 188.4375 -> 188.44
    assert r.convert(250_00, "USD", "EUR", date(2014, 8, 24)) == 188_44
    # no quote of the last ten days, no conversion; none before the first either
    assert r.convert(1_00, "USD", "EUR", date(2014, 9, 10)) is None
    assert r.convert(1_00, "USD", "EUR", date(2014, 8, 1)) is None
    assert r.convert(5_00, "EUR", "EUR", date(2030, 1, 1)) == 5_00
    # rounded once, half up, away from zero
    assert convert_minor(50, "EUR", "JPY", Decimal(1)) == 1
    assert convert_minor(-50, "EUR", "JPY", Decimal(1)) == -1
    assert convert_minor(49, "EUR", "JPY", Decimal(1)) == 0
    # three decimals: 10.00 EUR at 0.4 BHD per EUR = 4.000 BHD
    assert convert_minor(10_00, "EUR", "BHD", Decimal("0.4")) == 4_000


def test_a_plain_rates_file_and_its_mistakes(tmp_path: Path) -> None:
    path = tmp_path / "rates.csv"
    path.write_text("rate_date,base_currency,currency,rate\n2026-11-20,USD,CHF,0.8812\n")
    assert read_rates(path).to_dict("records") == [
        {"rate_date": date(2026, 11, 20), "base_currency": "USD", "currency": "CHF", "rate": "0.8812"}
    ]
    cases = {
        "rate_date,base_currency,currency,rate\n2026-11-20,USD,XYZ,1\n": "row 2, column currency: 'XYZ'",
        "rate_date,base_currency,currency,rate\n20.11.2026,USD,CHF,1\n": "row 2, column rate_date: '20.11.2026' is not a date",
        "rate_date,base_currency,currency,rate\n2026-11-20,USD,CHF,0,88\n": "row 2, column rate: '0' is not a positive rate",
        "rate_date,base_currency,currency,rate\n2026-11-20,USD,CHF,1.12345678901\n": "has more than 10 decimals",
        "Date,USD,\n2026-11-20,abc,\n": "row 2, column USD: 'abc' is not a decimal rate",
        "Date,usd,\n2026-11-20,1.1,\n": "row 1, column 2: 'usd' is not a currency code",
        "when,what\n": "not a rates file",
    }
    for text, problem in cases.items():
        path.write_text(text)
        with pytest.raises(RatesProblem, match="rates.csv") as caught:
            read_rates(path)
        assert problem in str(caught.value), text


def test_a_day_already_known_with_another_rate_is_named() -> None:
    known = read_rates(ECB)
    same = known.assign(
        rate=known["rate"].where(known["currency"] != "USD", known["rate"] + "0")
    )  # 1.32 = 1.320
    assert conflicts(same, known) == []
    other = known.assign(rate=known["rate"].where(known["currency"] != "GBP", "0.9"))
    assert conflicts(other, known)[0] == "GBP per EUR on 2014-08-25: 0.9, already 0.79567"


def test_receivables_in_one_currency_with_the_unrealised_difference_apart() -> None:
    items = pd.DataFrame(
        {
            "currency": ["USD", "GBP", "EUR", "JPY", "ZAR", "USD"],
            "issue_date": [date(2014, 8, 21), date(2014, 8, 22), date(2014, 8, 21), date(2014, 7, 1),
                           date(2014, 8, 21), date(2014, 8, 21)],
            "open_minor": [1000_00, 500_00, 200_00, 10_000, 99_00, -5_00],
        }
    )  # fmt: skip
    got = across_currencies(items, rates(), "EUR", date(2014, 8, 25))
    # USD 1,000.00: 757.58 now (1.32), 754.03 when billed (1.3262); GBP 500.00: 628.40 (0.79567),
    # 624.77 (0.8003); EUR 200.00 both; JPY 10,000 billed before the first quote: 72.92 both sides;
    # ZAR has no rate; the credit of -5.00 USD is no receivable
    assert got == {
        "currency": "EUR",
        "open_amount": "1658.90",
        "open_at_booking_rates": "1651.72",
        "unrealised_fx": "7.18",
        "rates": {
            "EUR": {"rate": "1", "quoted_on": "2014-08-25"},
            "GBP": {"rate": "1.2568024432", "quoted_on": "2014-08-25"},
            "JPY": {"rate": "0.0072923503", "quoted_on": "2014-08-25"},
            "USD": {"rate": "0.7575757576", "quoted_on": "2014-08-25"},
        },
        "without_rate": ["ZAR"],
        "booking_rate_missing": ["JPY"],
    }

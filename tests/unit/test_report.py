"""Report: open amount, ageing buckets and DSO per currency as of a date; the public JSON."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from tasks.report.ageing import BUCKETS, ageing_check_frame, bucket_of, figures
from tasks.report.figures import as_json, as_markdown

from .tables import table

AS_OF = date(2026, 3, 31)
BUCKET_NAMES = ["not_due", "1-30", "31-60", "61-90", "91-120", "120+"]


# days past due  bucket
BOUNDARIES = [
    (-30, "not_due"),
    (-1, "not_due"),
    (0, "not_due"),  # due today is not past due
    (1, "1-30"),
    (30, "1-30"),
    (31, "31-60"),
    (60, "31-60"),
    (61, "61-90"),
    (90, "61-90"),
    (91, "91-120"),
    (120, "91-120"),
    (121, "120+"),
    (1000, "120+"),
]


def test_bucket_names_in_order() -> None:
    assert [name for name, _low, _high in BUCKETS] == BUCKET_NAMES


@pytest.mark.parametrize(("days", "bucket"), BOUNDARIES)
def test_bucket_boundaries(days: int, bucket: str) -> None:
    assert bucket_of(pd.Series([days])).tolist() == [bucket]


def test_buckets_from_due_dates_as_of_the_report_date() -> None:
    items = pd.DataFrame(
        {
            "invoice_id": [f"I{d}" for d, _b in BOUNDARIES],
            "currency": "EUR",
            "issue_date": AS_OF - timedelta(days=200),
            "due_date": [AS_OF - timedelta(days=d) for d, _b in BOUNDARIES],
            "amount_minor": 1_00,
            "open_minor": 1_00,
        }
    )
    ageing = figures(items, as_of=AS_OF)["EUR"]["ageing_minor"]
    assert ageing == {
        "not_due": 3_00,
        "1-30": 2_00,
        "31-60": 2_00,
        "61-90": 2_00,
        "91-120": 2_00,
        "120+": 2_00,
    }


ITEMS = table("""
    | invoice_id | currency | issue_date | due_date   | amount_minor | open_minor |
    | I-1        | EUR      | 2026-03-15 | 2026-04-14 | 1000_00      | 1000_00    |
    | I-2        | EUR      | 2026-02-01 | 2026-03-03 | 500_00       | 200_00     |
    | I-3        | EUR      | 2026-01-05 | 2026-02-04 | 300_00       | 0          |
    | I-4        | EUR      | 2025-12-01 | 2025-12-31 | 400_00       | 400_00     |
    | I-5        | EUR      | 2025-10-01 | 2025-10-31 | 250_00       | 250_00     |
    | Y-1        | JPY      | 2026-03-01 | 2026-03-31 | 150000       | 100000     |
    | Y-2        | JPY      | 2025-12-01 | 2026-01-01 | 50000        | 0          |
    | K-1        | KWD      | 2026-03-01 | 2026-03-11 | 1_234        | 1_234      |
""")
#   I-1  not due             1000.00 open, issued in the period
#   I-2  28 days past due     200.00 open, issued in the period (500.00 of sales)
#   I-3  paid                   0.00 open, issued in the period (300.00 of sales)
#   I-4  90 days past due     400.00 open, issued 120 days ago: outside the 90-day period
#   I-5  151 days past due    250.00 open


@pytest.fixture(scope="module")
def report() -> dict:
    return figures(ITEMS, as_of=AS_OF)


def test_open_amount_and_buckets_per_currency(report: dict) -> None:
    eur = report["EUR"]
    assert eur["open_amount_minor"] == 1850_00
    assert eur["open_invoices"] == 4  # I-3 is paid
    assert eur["ageing_minor"] == {
        "not_due": 1000_00,
        "1-30": 200_00,
        "31-60": 0,
        "61-90": 400_00,
        "91-120": 0,
        "120+": 250_00,
    }


@pytest.mark.parametrize("currency", ["EUR", "JPY", "KWD"])
def test_buckets_sum_to_the_open_amount(report: dict, currency: str) -> None:
    assert sum(report[currency]["ageing_minor"].values()) == report[currency]["open_amount_minor"]


def test_dso_is_open_over_credit_sales_of_the_period_times_its_days(report: dict) -> None:
    eur = report["EUR"]
    # sales issued in the 90 days to 2026-03-31: I-1 1000.00 + I-2 500.00 + I-3 300.00
    assert eur["credit_sales_minor"] == 1800_00
    assert eur["period_days"] == 90
    # 1850.00 / 1800.00 x 90 = 92.5
    assert eur["dso"] == 92.5
    # JPY: 100000 / 150000 x 90 = 60
    assert report["JPY"]["dso"] == 60.0
    assert report["JPY"]["credit_sales_minor"] == 150000


def dso_of(open_minor: int, sales_minor: int, period_days: int = 90) -> float | None:
    items = pd.DataFrame(
        {
            "invoice_id": ["I-1"],
            "currency": ["EUR"],
            "issue_date": [AS_OF],
            "due_date": [AS_OF],
            "amount_minor": [sales_minor],
            "open_minor": [open_minor],
        }
    )
    return figures(items, as_of=AS_OF, period_days=period_days)["EUR"]["dso"]


@pytest.mark.parametrize(
    ("open_minor", "sales_minor", "period_days", "dso"),
    [
        (100_00, 700_00, 90, 12.86),  # 12.857142...
        (200_00, 700_00, 90, 25.71),  # 25.714285...
        (100_00, 300_00, 90, 30.0),
        (100_00, 800_00, 30, 3.75),
        (1_00, 800_00, 30, 0.04),  # 0.0375
        (7200_00, 7200_00, 365, 365.0),
        (1000_00, 7200_00, 90, 12.5),
    ],
)
def test_dso_is_rounded_to_hundredths(
    open_minor: int, sales_minor: int, period_days: int, dso: float
) -> None:
    assert dso_of(open_minor, sales_minor, period_days) == dso


@pytest.mark.parametrize(
    ("open_minor", "sales_minor", "period_days", "dso"),
    [(4900_00, 4800_00, 90, 91.88), (100_00, 4800_00, 30, 0.63)],
)
def test_dso_exactly_half_a_hundredth_rounds_up(
    open_minor: int, sales_minor: int, period_days: int, dso: float
) -> None:
    assert dso_of(open_minor, sales_minor, period_days) == dso


def test_the_period_starts_the_day_after_as_of_minus_its_days() -> None:
    items = table("""
        | invoice_id | currency | issue_date | due_date   | amount_minor | open_minor |
        | OUT        | EUR      | 2025-12-31 | 2026-01-30 | 100_00       | 100_00     |
        | IN         | EUR      | 2026-01-01 | 2026-01-31 | 200_00       | 0          |
        | LAST       | EUR      | 2026-03-31 | 2026-04-30 | 300_00       | 0          |
    """)
    # 90 days before 2026-03-31 is 2025-12-31: that day is outside, the next day inside
    assert figures(items, as_of=AS_OF)["EUR"]["credit_sales_minor"] == 500_00


def test_no_sales_in_the_period_means_no_dso() -> None:
    items = table("""
        | invoice_id | currency | issue_date | due_date   | amount_minor | open_minor |
        | I-1        | EUR      | 2025-06-01 | 2025-07-01 | 100_00     | 100_00       |
    """)
    eur = figures(items, as_of=AS_OF)["EUR"]
    assert (eur["credit_sales_minor"], eur["dso"]) == (0, None)


def test_as_of_a_past_date_ages_the_open_amounts_given() -> None:
    # The caller passes what was open on 2026-02-15; I-2 was paid later but was open then.
    then = date(2026, 2, 15)
    items = table("""
        | invoice_id | currency | issue_date | due_date   | amount_minor | open_minor |
        | I-1        | EUR      | 2026-01-01 | 2026-01-31 | 100_00       | 100_00     |
        | I-2        | EUR      | 2026-02-01 | 2026-03-03 | 50_00        | 50_00      |
        | I-3        | EUR      | 2025-10-01 | 2025-10-31 | 80_00        | 30_00      |
    """)
    eur = figures(items, as_of=then)["EUR"]
    assert eur["open_amount_minor"] == 180_00
    assert eur["ageing_minor"] == {
        "not_due": 50_00,
        "1-30": 100_00,
        "31-60": 0,
        "61-90": 0,
        "91-120": 30_00,
        "120+": 0,
    }
    assert eur["credit_sales_minor"] == 150_00  # issued after 2025-11-17
    assert eur["dso"] == 108.0  # 180 / 150 x 90


def test_nothing_to_report() -> None:
    assert figures(ITEMS.iloc[0:0], as_of=AS_OF) == {}
    assert as_json({}, AS_OF) == {"as_of": "2026-03-31", "currencies": {}}


def test_as_json_amounts_are_strings_with_the_currencys_decimals(report: dict) -> None:
    public = as_json(report, AS_OF)
    assert public["as_of"] == "2026-03-31"
    assert list(public["currencies"]) == ["EUR", "JPY", "KWD"]
    assert public["currencies"]["EUR"] == {
        "open_amount": "1850.00",
        "ageing": {
            "not_due": "1000.00",
            "1-30": "200.00",
            "31-60": "0.00",
            "61-90": "400.00",
            "91-120": "0.00",
            "120+": "250.00",
        },
        "dso": 92.5,
        "credit_sales": "1800.00",
        "period_days": 90,
        "open_invoices": 4,
        "invoices_settled": 0,  # nothing settled: the payment figures are empty, not zero
        "average_days_to_settle": None,
        "average_days_late": None,
        "share_paid_late": None,
        "average_payment_delay": None,
    }
    jpy = public["currencies"]["JPY"]
    assert (jpy["open_amount"], jpy["ageing"]["not_due"], jpy["ageing"]["1-30"], jpy["credit_sales"]) == (
        "100000",
        "100000",
        "0",
        "150000",
    )
    kwd = public["currencies"]["KWD"]
    assert (kwd["open_amount"], kwd["ageing"]["1-30"], kwd["ageing"]["not_due"]) == (
        "1.234",
        "1.234",
        "0.000",
    )


def test_ageing_check_frame(report: dict) -> None:
    frame = ageing_check_frame(report)
    assert frame.values.tolist() == [
        ["EUR", 1850_00, 1850_00],
        ["JPY", 100000, 100000],
        ["KWD", 1_234, 1_234],
    ]


def test_as_markdown(report: dict) -> None:
    markdown = as_markdown(as_json(report, AS_OF))
    assert markdown.startswith("# Receivables as of 2026-03-31\n")
    assert "| EUR | 1850.00 | 1000.00 | 200.00 | 0.00 | 400.00 | 0.00 | 250.00 | 92.50 |" in markdown
    assert "| JPY | 100000 | 100000 | 0 | 0 | 0 | 0 | 0 | 60.00 |" in markdown
    assert "n/a" in as_markdown(as_json(figures(ITEMS[ITEMS["invoice_id"] == "I-5"], as_of=AS_OF), AS_OF))


SETTLED = """
    | invoice_id | currency | issue_date | due_date   | amount_minor | settled_on |
    | A          | EUR      | 2026-01-01 | 2026-01-31 | 100_00       | 2026-01-15 |
    | B          | EUR      | 2026-01-01 | 2026-01-31 | 300_00       | 2026-02-10 |
    | C          | EUR      | 2026-02-01 | 2026-03-03 | 100_00       | 2026-03-13 |
    | D          | USD      | 2026-02-01 | 2026-03-03 | 5_00         | 2026-03-03 |
"""


def test_payment_behaviour_worked_by_hand() -> None:
    from tasks.report.kpis import payment_behaviour

    got = payment_behaviour(table(SETTLED))
    # EUR: days to settle 14, 40, 40 -> 94 / 3 = 31.333 -> 31.33; days late 0, 10, 10 -> 20 / 3 = 6.67;
    # paid late 2 of 3 -> 66.67 %; amount-weighted delay (100 x 0 + 300 x 10 + 100 x 10) / 500 = 8.00
    assert got["EUR"] == {
        "invoices_settled": 3,
        "average_days_to_settle": 31.33,
        "average_days_late": 6.67,
        "share_paid_late": 66.67,
        "average_payment_delay": 8.0,
    }
    # USD: paid on its due date: not late
    assert got["USD"]["share_paid_late"] == 0.0 and got["USD"]["average_days_late"] == 0.0
    assert payment_behaviour(table(SETTLED).iloc[0:0]) == {}


NOW = """
    | invoice_id | currency | issue_date | due_date   | amount_minor | open_minor |
    | I1         | EUR      | 2026-01-10 | 2026-02-09 | 300_00       | 100_00     |
    | I2         | EUR      | 2026-03-15 | 2026-04-14 | 200_00       | 200_00     |
    | I3         | EUR      | 2026-02-20 | 2026-03-22 | 100_00       | 0          |
    | I4         | EUR      | 2025-12-01 | 2025-12-31 | 50_00        | 50_00      |
"""
THEN = """
    | invoice_id | currency | issue_date | due_date   | amount_minor | open_minor |
    | I4         | EUR      | 2025-12-01 | 2025-12-31 | 50_00        | 50_00      |
"""


def test_collection_indicators_worked_by_hand() -> None:
    from tasks.report.kpis import indicators

    got = indicators(table(NOW), table(THEN), as_of=AS_OF, period_days=90)["EUR"]
    # Receivables 350.00 (I1 100, I2 200, I4 50), current 200.00 (I2), sales of the period 600.00
    # (issued after 31 Dec: I1, I2, I3), opening receivables 50.00 (I4 on 31 Dec).
    # DSO 350 x 90 / 600 = 52.50; best possible 200 x 90 / 600 = 30.00; delinquent 22.50.
    assert got["best_possible_dso"] == 30.0
    assert got["average_days_delinquent"] == 22.5
    # Countback: March's 200 used up (31 days, 150 left), February's 100 (28 days, 50 left), then
    # 50 of January's 300: 50/300 x 31 = 5.17 days; 64.17 in all.
    assert got["dso_countback"] == 64.17
    # CEI = (50 + 600 - 350) / (50 + 600 - 200) x 100 = 66.67; with the average month's sales
    # (600 x 30 / 90 = 200): (50 + 200 - 350) / (50 + 200 - 200) x 100 = -200.00.
    assert got["cei_period_total"] == 66.67
    assert got["cei_monthly_average"] == -200.0
    # By invoice date: I2 16 days, I1 80 days, I4 120 days old.
    assert got["ageing_by_invoice_date_minor"] == {
        "not_due": 0, "1-30": 200_00, "31-60": 0, "61-90": 100_00, "91-120": 50_00, "120+": 0,
    }  # fmt: skip
    assert sum(got["ageing_by_invoice_date_minor"].values()) == 350_00


def test_over_a_thirty_day_period_both_cei_variants_agree() -> None:
    from tasks.report.kpis import indicators

    got = indicators(table(NOW), table(THEN), as_of=AS_OF, period_days=30)["EUR"]
    assert got["cei_period_total"] == got["cei_monthly_average"]


def test_countback_edges() -> None:
    from tasks.report.kpis import countback

    items = table(NOW)
    assert countback(0, items, AS_OF) == 0
    assert countback(100_00, items, AS_OF) == Decimal(100_00) / 200_00 * 31  # half of March's sales
    # More than every sale since the first invoice: all the history's days (a floor).
    assert countback(10_000_00, items, AS_OF) == (AS_OF - date(2025, 12, 1)).days + 1


HISTORY = """
    | invoice_id | customer_id | currency | issue_date | due_date   | amount_minor | settled_on |
    | H1         | C1          | EUR      | 2025-12-05 | 2026-01-04 | 100_00       | 2026-01-14 |
    | H2         | C1          | EUR      | 2025-12-10 | 2026-01-09 | 300_00       | 2026-01-11 |
    | H3         | C3          | EUR      | 2025-12-20 | 2026-01-19 | 100_00       | 2026-02-08 |
"""
OPEN_NOW = """
    | invoice_id | customer_id | currency | issue_date | due_date   | amount_minor | open_minor |
    | O1         | C1          | EUR      | 2026-03-02 | 2026-04-01 | 50_00        | 50_00      |
    | O2         | C1          | EUR      | 2026-03-11 | 2026-04-10 | 70_00        | 70_00      |
    | O3         | C2          | EUR      | 2026-03-02 | 2026-04-01 | 30_00        | 30_00      |
    | O4         | C1          | EUR      | 2026-01-30 | 2026-03-01 | 20_00        | 20_00      |
    | O5         | C1          | EUR      | 2026-06-01 | 2026-07-01 | 40_00        | 40_00      |
"""


def test_the_forecast_follows_each_customers_habit() -> None:
    from tasks.report.kpis import forecast

    got = forecast(table(OPEN_NOW), table(HISTORY), AS_OF)["EUR"]
    # C1 pays (100 x 10 + 300 x 2) / 400 = 4 days late; C2 has no history and takes the currency's
    # (100 x 10 + 300 x 2 + 100 x 20) / 500 = 7.2, 7 days. Week 1 is 1-7 April, week 2 8-14 April.
    # O1 due 1 Apr + 4 = 5 Apr: week 1; O4 due 1 Mar + 4, already past: week 1 (tomorrow);
    # O2 10 Apr + 4 = 14 Apr and O3 1 Apr + 7 = 8 Apr: week 2; O5 1 Jul + 4 = 5 Jul: beyond 13 weeks.
    assert got["forecast_minor"] == [70_00, 100_00] + [0] * 11
    assert got["forecast_beyond_minor"] == 40_00


def test_the_at_risk_rate_of_the_month_ninety_days_back() -> None:
    from tasks.report.kpis import at_risk

    billed = """
        | invoice_id | customer_id | currency | issue_date | due_date   | amount_minor | open_minor |
        | A          | C1          | EUR      | 2025-12-05 | 2026-01-04 | 10_00        | 0          |
        | B          | C1          | EUR      | 2025-12-10 | 2026-01-09 | 10_00        | 0          |
        | C          | C1          | EUR      | 2025-12-20 | 2026-01-19 | 10_00        | 10_00      |
        | D          | C1          | EUR      | 2025-11-30 | 2025-12-30 | 10_00        | 10_00      |
    """
    paid = """
        | invoice_id | customer_id | currency | issue_date | due_date   | amount_minor | settled_on |
        | A          | C1          | EUR      | 2025-12-05 | 2026-01-04 | 10_00        | 2026-03-05 |
        | B          | C1          | EUR      | 2025-12-10 | 2026-01-09 | 10_00        | 2026-03-20 |
    """
    # 31 March - 90 days = 31 December, a month's end: December. A paid 90 days after its date (in
    # time), B after 100 days, C not at all: 2 of 3 at risk. D was billed in November.
    got = at_risk(table(billed), table(paid), AS_OF)["EUR"]
    assert got == {"at_risk_rate": 66.67, "at_risk_month": "2025-12"}
    # A day earlier, 90 days back is 30 December: December has not ended 90 days ago yet: November.
    assert at_risk(table(billed), table(paid), date(2026, 3, 30))["EUR"] == {
        "at_risk_rate": 100.0,
        "at_risk_month": "2025-11",
    }


def test_operations_as_the_cases_stood_on_the_date() -> None:
    from tasks.report.operations import operations

    cases = table("""
        | case_id | kind      | opened_on  | status_then | resolved_on | amount_minor | currency |
        | D1      | dispute   | 2026-03-30 | open        |             | 10_00        | EUR      |
        | D2      | dispute   | 2026-01-30 | open        |             | 10_00        | EUR      |
        | D3      | dispute   | 2025-12-01 | open        |             | 10_00        | EUR      |
        | X1      | deduction | 2026-03-01 | open        |             | 5_00         | EUR      |
        | P1      | promise   | 2026-02-01 | kept        | 2026-02-10  | 50_00        | EUR      |
        | P2      | promise   | 2026-02-01 | broken      | 2026-03-01  | 50_00        | EUR      |
        | P3      | promise   | 2025-10-01 | kept        | 2025-10-05  | 50_00        | EUR      |
        | R1      | dispute   | 2026-01-01 | resolved    | 2026-02-01  | 10_00        | EUR      |
    """)
    allocations = table("""
        | rule             | amount_minor | currency |
        | invoice_number   | 300_00       | EUR      |
        | exact_amount     | 100_00       | EUR      |
        | manual           | 100_00       | EUR      |
        | manual           | 1000         | JPY      |
    """)
    reminders = table("""
        | reminder_id | level |
        | R-1         | 1     |
        | R-2         | 2     |
    """)
    got = operations(cases, allocations, reminders, as_of=AS_OF, period_days=90)
    # D1 1 day, D2 60 days, D3 120 days old; R1 ended before the date; P3 ended before the period.
    assert got["disputes_open"] == 3
    assert got["disputes_ageing"] == {"0-30": 1, "31-60": 1, "61-90": 0, "91+": 1}
    assert got["deductions_open"] == 1
    # 2 of 4 allocations by a rule; EUR 400.00 of 500.00 by amount; JPY all by a person.
    assert got["auto_match_rate_by_count"] == 50.0
    assert got["auto_match_rate_by_amount"] == {"EUR": 80.0, "JPY": 0.0}
    assert got["reminders_sent"] == 2
    assert (got["promises_kept"], got["promises_broken"], got["promises_kept_rate"]) == (1, 1, 50.0)


def test_the_charts_figures_as_markdown() -> None:
    from tasks.report.html import charts_markdown

    document = {
        "as_of": "2026-03-31",
        "currencies": {
            "EUR": {"dso": 41.5, "forecast": ["10.00", "0.00", "5.50"], "forecast_beyond": "7.00"},
            "JPY": {"dso": None, "forecast": []},
        },
    }
    history = pd.DataFrame(
        {
            "as_of": ["2026-01-31", "2026-02-28", "2026-03-31"],
            "currency": ["EUR", "EUR", "EUR"],
            "figures": ['{"dso": 38.25}', '{"dso": null}', '{"dso": 99}'],  # today's comes from the run
        }
    )
    markdown = charts_markdown(document, history)
    assert "## DSO trend (EUR)\n\n| as of | DSO (days) |\n|---|---:|\n" in markdown
    assert "| 2026-01-31 | 38.25 |\n| 2026-03-31 | 41.50 |\n" in markdown
    assert "| 2026-04-01 to 2026-04-07 | 10.00 |\n| 2026-04-08 to 2026-04-14 | 0.00 |" in markdown
    assert "| 2026-04-15 to 2026-04-21 | 5.50 |\n| after 2026-04-21 | 7.00 |" in markdown
    assert "JPY" not in markdown  # nothing to draw, nothing to list
    assert charts_markdown({"as_of": "2026-03-31", "currencies": {}}) == ""

"""The report page: self-contained (nothing fetched), three charts per currency, escaped text."""

from __future__ import annotations

import json
import re

import pandas as pd

from tasks.report.html import bar_chart, dso_trend, render

DOCUMENT = {
    "as_of": "2026-03-31",
    "currencies": {
        "EUR": {
            "open_amount": "350.00",
            "ageing": {"not_due": "200.00", "1-30": "0.00", "31-60": "100.00", "61-90": "0.00", "91-120": "50.00", "120+": "0.00"},
            "ageing_by_invoice_date": {"not_due": "0.00", "1-30": "200.00", "31-60": "0.00", "61-90": "100.00", "91-120": "50.00", "120+": "0.00"},
            "dso": 52.5,
            "period_days": 90,
            "open_invoices": 3,
            "dso_countback": 64.17,
            "best_possible_dso": 30.0,
            "average_days_delinquent": 22.5,
            "cei_period_total": 66.67,
            "cei_monthly_average": -200.0,
            "average_payment_delay": 8.0,
            "share_paid_late": 66.67,
            "at_risk_rate": 50.0,
            "at_risk_month": "2025-12",
            "forecast": ["70.00", "100.00"] + ["0.00"] * 11,
        }
    },
    "operations": {"disputes_open": 2, "deductions_open": 1, "auto_match_rate_by_count": 80.0, "reminders_sent": 4,
                   "promises_kept": 1, "promises_broken": 1},
}  # fmt: skip
HISTORY = pd.DataFrame(
    {
        "as_of": ["2026-01-31", "2026-02-28", "2026-03-31"],
        "currency": ["EUR"] * 3,
        "figures": [json.dumps({"dso": 40.0}), json.dumps({"dso": 45.5}), json.dumps({"dso": 1.0})],
    }
)


def test_the_page_is_self_contained_with_three_charts_per_currency() -> None:
    page = render(DOCUMENT, HISTORY)
    assert page.count("<svg") == 3
    assert not re.search(r"(src|href)=\"https?://", page)  # nothing to fetch: it opens offline
    assert "<script" not in page
    assert "Receivables as of 2026-03-31" in page
    assert "64.17" in page and "-200.0" in page and "2025-12" in page


def test_the_dso_trend_takes_history_and_this_report_last() -> None:
    # A snapshot of the report's own date is replaced by this report's figure.
    assert dso_trend(HISTORY, DOCUMENT) == {
        "EUR": [("2026-01-31", 40.0), ("2026-02-28", 45.5), ("2026-03-31", 52.5)]
    }


def test_chart_labels_are_escaped() -> None:
    from decimal import Decimal

    svg = bar_chart("<b>x</b>", [("<i>", Decimal("1.00"))])
    assert "<b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg and "&lt;i&gt;" in svg


def test_the_page_reads_at_a_glance() -> None:
    """A headline per currency and across them, amounts with symbol and thousands separators, the
    CEI variants explained, and charts with axes, values and dates."""
    big = {
        **DOCUMENT,
        "currencies": {
            "EUR": DOCUMENT["currencies"]["EUR"] | {"open_amount": "1234567.80"},
            "JPY": DOCUMENT["currencies"]["EUR"] | {"open_amount": "98000", "ageing": {k: "0" for k in DOCUMENT["currencies"]["EUR"]["ageing"]}},
        },
    }  # fmt: skip
    page = render(big, HISTORY)
    assert page.count('class="card"') == 2 + 1 + 4 * 2  # across: two currencies and the work; four each
    assert "€1,234,567.80" in page and "¥98,000" in page and "€150.00 overdue" in page
    assert "<dt>CEI, monthly average</dt>" in page and "<dt>CEI, period total</dt>" in page
    assert ">01 Apr</text>" in page and ">08 Apr</text>" in page  # the forecast's weeks by their start dates
    assert ">31 Jan 26</text>" in page and ">52.5</text>" in page  # DSO points dated and valued
    assert "@media print" in page


def test_an_axis_covers_every_value_with_round_ticks() -> None:
    from tasks.report.html import _axis_values

    assert _axis_values(0, 52.5) == [0, 20, 40, 60]
    assert _axis_values(-200, 66.67) == [-200, -100, 0, 100]
    assert _axis_values(0, 1_234_567) == [0, 500_000, 1_000_000, 1_500_000]

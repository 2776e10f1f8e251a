"""Ageing and DSO: the open items as of a date in; per currency the open amount, its ageing buckets
by days past due and the days sales outstanding over the period out, in minor units.

Pure. The buckets (`BUCKETS`) are shared by every figure that ages an amount (the KPIs age by invoice
date with the same ones, the page and the Markdown table show them in this order), and
`ageing_check_frame` is what the report stage's checkpoint reads: each currency's open amount beside
the sum of its buckets.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

# Buckets by days past due; "not_due" holds everything not yet due (days past due <= 0).
BUCKETS: tuple[tuple[str, int | None, int | None], ...] = (
    ("not_due", None, 0),
    ("1-30", 1, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("91-120", 91, 120),
    ("120+", 121, None),
)
DEFAULT_PERIOD_DAYS = 90


def bucket_of(days_past_due: pd.Series) -> pd.Series:
    labels = pd.Series("not_due", index=days_past_due.index, dtype="object")
    for name, low, _high in BUCKETS[1:]:
        labels = labels.mask(days_past_due >= low, name)  # type: ignore[operator]
    return labels


def figures(
    items: pd.DataFrame, *, as_of: date, period_days: int = DEFAULT_PERIOD_DAYS
) -> dict[str, dict[str, Any]]:
    """Per currency: open amount, ageing buckets (minor units) and DSO over the period.

    items: invoice_id, currency, issue_date, due_date, amount_minor, open_minor (as of `as_of`).
    DSO = open receivables / credit sales of the period x days in the period; None without sales.
    """
    frame = items.copy()
    frame["days_past_due"] = (pd.Timestamp(as_of) - pd.to_datetime(frame["due_date"])).dt.days
    frame["bucket"] = bucket_of(frame["days_past_due"])
    period_start = pd.Timestamp(as_of - timedelta(days=period_days))
    in_period = pd.to_datetime(frame["issue_date"]) > period_start
    result: dict[str, dict[str, Any]] = {}
    for currency, group in frame.groupby("currency", sort=True):
        open_items = group[group["open_minor"] > 0]
        by_bucket = open_items.groupby("bucket")["open_minor"].sum()
        ageing = {name: int(by_bucket.get(name, 0)) for name, _low, _high in BUCKETS}
        open_amount = int(open_items["open_minor"].sum())
        credit_sales = int(group.loc[in_period.loc[group.index], "amount_minor"].sum())
        dso = None
        if credit_sales > 0:
            exact = Decimal(open_amount) * period_days / Decimal(credit_sales)
            dso = float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
        result[str(currency)] = {
            "open_amount_minor": open_amount,
            "ageing_minor": ageing,
            "credit_sales_minor": credit_sales,
            "period_days": period_days,
            "open_invoices": int(open_items["invoice_id"].nunique()),
            "dso": dso,
        }
    return result


def ageing_check_frame(report: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per currency with the open amount and the sum of its buckets, for the checkpoint."""
    return pd.DataFrame(
        [
            {
                "currency": c,
                "open_amount_minor": f["open_amount_minor"],
                "buckets_total_minor": sum(f["ageing_minor"].values()),
            }
            for c, f in report.items()
        ],
        columns=["currency", "open_amount_minor", "buckets_total_minor"],
    )

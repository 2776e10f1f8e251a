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

from tasks.report.facts import Facts, engine_with, rows

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


def bucket_name(days_past_due: int) -> str:
    """The bucket of one number of days (as `bucket_of` names it)."""
    name = BUCKETS[0][0]
    for bucket, low, _high in BUCKETS[1:]:
        if low is not None and days_past_due >= low:
            name = bucket
    return name


def bucketed(day_rows: list[dict[str, Any]], kind: str) -> dict[str, dict[str, int]]:
    """Per currency, the amounts of `day_rows` (kind, currency, days, open_minor) of `kind` summed
    into the buckets, every bucket present."""
    out: dict[str, dict[str, int]] = {}
    for row in day_rows:
        if row["kind"] == kind:
            buckets = out.setdefault(row["currency"], {name: 0 for name, _l, _h in BUCKETS})
            buckets[bucket_name(row["days"])] += row["open_minor"]
    return out


def figures(
    items: Facts, *, as_of: date, period_days: int = DEFAULT_PERIOD_DAYS
) -> dict[str, dict[str, Any]]:
    """Per currency: open amount, ageing buckets (minor units) and DSO over the period.

    items: invoice_id, currency, issue_date, due_date, amount_minor, open_minor (as of `as_of`; a
    frame or an Arrow table, summed in the compute engine).
    DSO = open receivables / credit sales of the period x days in the period; None without sales.
    """
    period_start = as_of - timedelta(days=period_days)
    with engine_with(items) as engine:
        totals = rows(engine, "by_currency", as_of=as_of, period_start=period_start)
        ageing = bucketed(rows(engine, "by_days", as_of=as_of), "due")
    result: dict[str, dict[str, Any]] = {}
    for row in totals:
        open_amount, credit_sales = row["open_minor"], row["sales_minor"]
        dso = None
        if credit_sales > 0:
            exact = Decimal(open_amount) * period_days / Decimal(credit_sales)
            dso = float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
        result[str(row["currency"])] = {
            "open_amount_minor": open_amount,
            "ageing_minor": ageing.get(row["currency"], {name: 0 for name, _l, _h in BUCKETS}),
            "credit_sales_minor": credit_sales,
            "period_days": period_days,
            "open_invoices": int(row["open_invoices"]),
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

"""How the collection work went, as of a date and over the period: open disputes and deductions,
disputes by age, the auto-match rate of applied cash, reminders sent and promises kept or broken.

Pure: the cases as they stood on the date, the period's allocations and the period's reminders (less
those whose delivery failed for good) in; one dictionary (the `operations` section of the report's JSON) out.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd

from tasks.report.kpis import ratio

CASE_BUCKETS = (("0-30", 0, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("91+", 91, None))


def operations(
    cases: pd.DataFrame, allocations: pd.DataFrame, reminders: pd.DataFrame, *, as_of: date, period_days: int
) -> dict[str, Any]:
    """How the collection work went, as of the date (cases as they stood then) and over the period:

    - disputes_open, deductions_open: cases open on the date; disputes_ageing: open disputes by
      days since they were opened (0-30, 31-60, 61-90, 91+);
    - auto_match_rate: of the cash applied from payments received in the period, the percentage
      applied by a rule rather than by a person, by count (`..._by_count`) and, per currency, by
      amount (`auto_match_rate_by_amount`);
    - reminders_sent: reminders of the period (by their business date), less those whose delivery
      failed for good;
    - promises_kept, promises_broken: promises that ended in the period; promises_kept_rate their
      percentage kept.
    """
    start = as_of - timedelta(days=period_days)
    open_then = cases[cases["status_then"] == "open"] if len(cases) else cases
    disputes = open_then[open_then["kind"] == "dispute"] if len(open_then) else open_then
    age = (
        (pd.Timestamp(as_of) - pd.to_datetime(disputes["opened_on"])).dt.days
        if len(disputes)
        else pd.Series(dtype="int64")
    )
    ageing = {
        name: int(((age >= low) & ((age <= high) if high is not None else True)).sum())
        for name, low, high in CASE_BUCKETS
    }
    ended = cases[cases["resolved_on"].notna()] if len(cases) else cases
    if len(ended):
        when = pd.to_datetime(ended["resolved_on"]).dt.date
        ended = ended[(when > start) & (when <= as_of) & (ended["kind"] == "promise")]
    kept = int((ended["status_then"] == "kept").sum()) if len(ended) else 0
    broken = int((ended["status_then"] == "broken").sum()) if len(ended) else 0
    auto = allocations[allocations["rule"] != "manual"] if len(allocations) else allocations
    by_amount = {}
    for currency, group in allocations.groupby("currency", sort=True) if len(allocations) else []:
        mine = auto[auto["currency"] == currency]
        by_amount[str(currency)] = ratio(
            100 * int(mine["amount_minor"].sum()), int(group["amount_minor"].sum())
        )
    return {
        "period_days": period_days,
        "disputes_open": len(disputes),
        "disputes_ageing": ageing,
        "deductions_open": int((open_then["kind"] == "deduction").sum()) if len(open_then) else 0,
        "auto_match_rate_by_count": ratio(100 * len(auto), len(allocations)),
        "auto_match_rate_by_amount": by_amount,
        "reminders_sent": len(reminders),
        "promises_kept": kept,
        "promises_broken": broken,
        "promises_kept_rate": ratio(100 * kept, kept + broken),
    }

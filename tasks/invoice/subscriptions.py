"""Subscriptions: which periods are due for billing on a date.

Pure. A subscription bills in advance: each period is billed once it has begun (its start on or
before `as_of`), from the start date on, monthly, quarterly or yearly, until the end date (the
last day a billed period may start). A run that is late catches up every period begun since; a
period already billed is never billed again. Periods keep the start date's day of the month where
the month has it (a subscription starting 31 January renews 28 February, then 31 March).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pandas as pd

MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}
PERIOD_COLUMNS = [
    "subscription_id",
    "customer_id",
    "currency",
    "plan",
    "amount_minor",
    "tax_rate_ppm",
    "period_start",
    "period_end",
]


def shift(start: date, months: int) -> date:
    """`start` moved on by `months`, on the same day of the month or the month's last day."""
    year, month = divmod(start.month - 1 + months, 12)
    year += start.year
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day)


def periods_due(subscriptions: pd.DataFrame, billed: set[tuple[str, date]], as_of: date) -> pd.DataFrame:
    """Every period begun by `as_of` and not yet billed, per subscription, oldest first.

    subscriptions: subscription_id, customer_id, currency, plan, amount_minor, tax_rate_ppm, interval,
    start_date, end_date (may be empty). billed: (subscription_id, period_start) already billed.
    """
    rows = []
    for sub in subscriptions.itertuples(index=False):
        step = MONTHS[sub.interval]
        first = pd.Timestamp(sub.start_date).date()
        last = pd.Timestamp(sub.end_date).date() if pd.notna(sub.end_date) else None
        n = 0
        while True:
            start = shift(first, n * step)
            if start > as_of or (last is not None and start > last):
                break
            n += 1
            if (sub.subscription_id, start) in billed:
                continue
            rows.append(
                {
                    "subscription_id": sub.subscription_id,
                    "customer_id": sub.customer_id,
                    "currency": sub.currency,
                    "plan": sub.plan if isinstance(sub.plan, str) else "",
                    "amount_minor": int(sub.amount_minor),
                    "tax_rate_ppm": int(sub.tax_rate_ppm),
                    "period_start": start,
                    "period_end": shift(first, n * step) - timedelta(days=1),
                }
            )
    return pd.DataFrame(rows, columns=PERIOD_COLUMNS)


def periods_to_bill(subscriptions: pd.DataFrame, billed_periods: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """The periods due (`periods_due`) given the ledger's billed periods (subscription_id,
    period_start), each with its customer's payment_terms_days, payment_terms and legal_entity
    (columns of `subscriptions`), as the invoice stage bills them."""
    billed = {
        (s, pd.Timestamp(d).date())
        for s, d in zip(billed_periods["subscription_id"], billed_periods["period_start"], strict=True)
    }
    due = periods_due(subscriptions, billed, as_of)
    terms = subscriptions.drop_duplicates("subscription_id").set_index("subscription_id")
    entity = terms["legal_entity"] if "legal_entity" in terms else pd.Series("", index=terms.index)
    return due.assign(
        payment_terms_days=due["subscription_id"].map(terms["payment_terms_days"]),
        payment_terms=due["subscription_id"].map(terms["payment_terms"]),
        legal_entity=due["subscription_id"].map(entity).fillna(""),
    )

"""Escalation facts: what the escalation policy looks at, per customer and currency, as of a date.

Pure: from the open items, the exposure (open and overdue amount, the oldest overdue item, the
number of overdue invoices); from the invoices settled in the last 12 months, each customer's
rating; and from what else is known (reminder levels, broken promises, open cases, orders not yet
billed, the customer master) the columns `rules/escalation.py` reads.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from rules.escalation import Rating

FACT_COLUMNS = [
    "customer_id",
    "currency",
    "open_amount_minor",
    "overdue_amount_minor",
    "oldest_days_past_due",
    "overdue_invoices",
]


def exposure(open_items: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Open and overdue amount, the oldest overdue item and the number of overdue invoices per
    customer and currency."""
    items = open_items[open_items["open_minor"] > 0].copy()
    items["days_past_due"] = (pd.Timestamp(as_of) - pd.to_datetime(items["due_date"])).dt.days
    items["overdue_minor"] = items["open_minor"].where(items["days_past_due"] > 0, 0)
    items["overdue_days"] = items["days_past_due"].where(items["days_past_due"] > 0, 0)
    items["overdue_invoice"] = items["invoice_id"].where(items["days_past_due"] > 0)
    facts = items.groupby(["customer_id", "currency"], as_index=False).agg(
        open_amount_minor=("open_minor", "sum"),
        overdue_amount_minor=("overdue_minor", "sum"),
        oldest_days_past_due=("overdue_days", "max"),
        overdue_invoices=("overdue_invoice", "nunique"),
    )
    return facts.astype(
        {
            "open_amount_minor": "int64",
            "overdue_amount_minor": "int64",
            "oldest_days_past_due": "int64",
            "overdue_invoices": "int64",
        }
    )[FACT_COLUMNS]


def ratings(settled: pd.DataFrame, rating: Rating, as_of: date | None = None) -> pd.DataFrame:
    """Each customer's rating from the invoices settled in the 12 months before `as_of` (all given
    when None; customer_id, amount_minor, due_date, settled_on): the amount-weighted average of
    the days each was paid late (paid early or on time counts as 0)."""
    columns = ["customer_id", "rating", "average_delay_days", "settled_invoices"]
    if settled is not None and as_of is not None and len(settled):
        settled = settled[
            pd.to_datetime(settled["settled_on"]) > pd.Timestamp(as_of) - pd.Timedelta(days=365)
        ]
    if settled is None or settled.empty:
        return pd.DataFrame(columns=columns)
    frame = settled.copy()
    late = (pd.to_datetime(frame["settled_on"]) - pd.to_datetime(frame["due_date"])).dt.days.clip(lower=0)
    frame["weighted"] = late * frame["amount_minor"].astype("float64")
    grouped = frame.groupby("customer_id").agg(
        weighted=("weighted", "sum"), amount=("amount_minor", "sum"), settled_invoices=("invoice_id", "size")
    )
    grouped["average_delay_days"] = (grouped["weighted"] / grouped["amount"].astype("float64")).round(2)
    grouped["rating"] = grouped["average_delay_days"].map(rating.of)
    return grouped.reset_index()[columns]


def customer_facts(
    facts: pd.DataFrame,
    *,
    customers: pd.DataFrame | None = None,
    dunning_levels: pd.DataFrame | None = None,
    broken_promises: pd.DataFrame | None = None,
    open_cases: pd.DataFrame | None = None,
    rated: pd.DataFrame | None = None,
    unbilled: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The exposure facts with what is known of each customer added (absent: 0, unrated, no tags).
    Credit exposure = open receivables + orders not yet billed, per currency; `over_credit_limit`
    compares it with the customer's credit limit, which is in the customer's own currency."""
    frame = _with_unbilled(facts.copy(), unbilled)
    for source, column, default in (
        (dunning_levels, "dunning_level", 0),
        (broken_promises, "broken_promises", 0),
        (open_cases, "open_cases", 0),
    ):
        values = (
            source.set_index("customer_id")[column]
            if source is not None and len(source)
            else pd.Series(dtype="int64")
        )
        frame[column] = frame["customer_id"].map(values).fillna(default).astype("int64")
    by_rating = (
        rated.set_index("customer_id")["rating"]
        if rated is not None and len(rated)
        else pd.Series(dtype=object)
    )
    frame["rating"] = frame["customer_id"].map(by_rating).fillna("")
    master = (
        customers.set_index("customer_id") if customers is not None and len(customers) else pd.DataFrame()
    )
    return _with_credit_limit(_with_master_texts(frame, master), master)


def _with_unbilled(frame: pd.DataFrame, unbilled: pd.DataFrame | None) -> pd.DataFrame:
    """The orders not yet billed added per customer and currency (a line of its own where nothing
    is open), and the credit exposure: open + unbilled."""
    if unbilled is not None and len(unbilled):
        frame = frame.merge(
            unbilled[["customer_id", "currency", "unbilled_minor"]],
            on=["customer_id", "currency"],
            how="outer",
        )
        for column in (
            "open_amount_minor",
            "overdue_amount_minor",
            "oldest_days_past_due",
            "overdue_invoices",
        ):
            frame[column] = frame[column].fillna(0).astype("int64")
    frame["unbilled_minor"] = (
        (frame["unbilled_minor"] if "unbilled_minor" in frame else pd.Series(0, index=frame.index))
        .fillna(0)
        .astype("int64")
    )
    frame["exposure_minor"] = frame["open_amount_minor"] + frame["unbilled_minor"]
    return frame


def _with_master_texts(frame: pd.DataFrame, master: pd.DataFrame) -> pd.DataFrame:
    """Tags, collector group, account owner and name from the customer master."""
    texts: tuple[tuple[str, str | None], ...] = (
        ("tags", ""),
        ("collector_group", "default"),
        ("account_owner", None),
        ("name", None),
    )
    for column, text_default in texts:
        values = master[column] if column in master else pd.Series(dtype=object)
        frame[column] = frame["customer_id"].map(values)
        if text_default is not None:
            frame[column] = frame[column].fillna(text_default)
    return frame


def _with_credit_limit(frame: pd.DataFrame, master: pd.DataFrame) -> pd.DataFrame:
    """The credit limit (on the line of the customer's own currency only) and whether the
    exposure is over it."""
    limit = (
        pd.to_numeric(master["credit_limit_minor"], errors="coerce")
        if "credit_limit_minor" in master
        else pd.Series(dtype="float64")
    )
    own = master["customer_currency"] if "customer_currency" in master else pd.Series(dtype=object)
    frame["credit_limit_minor"] = (
        frame["customer_id"].map(limit).where(frame["currency"] == frame["customer_id"].map(own))
    )
    frame["over_credit_limit"] = (
        (frame["exposure_minor"] > frame["credit_limit_minor"]).fillna(False).astype(bool)
    )
    return frame

"""Escalation facts: what the escalation policy looks at, per customer and currency, as of a date.

Pure: from the open items, the exposure (open and overdue amount, the oldest overdue item, the
number of overdue invoices); from the invoices settled in the last 12 months, each customer's
rating; and from what else is known (reminder levels, broken promises, open cases, orders not yet
billed, the customer master) the columns `rules/escalation.py` reads.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pyarrow as pa

from rules.escalation import Rating
from tasks.platform.ledger import compute

FACT_COLUMNS = [
    "customer_id",
    "currency",
    "open_amount_minor",
    "overdue_amount_minor",
    "oldest_days_past_due",
    "overdue_invoices",
]


def exposure(open_items: pd.DataFrame | pa.Table, as_of: date) -> pd.DataFrame:
    """Open and overdue amount, the oldest overdue item and the number of overdue invoices per
    customer and currency (`sql/escalate/exposure.sql`, in the compute engine)."""
    with compute() as engine:
        engine.register("open_items", _arrow(open_items, ITEM_TYPES))
        return engine.named("escalate/exposure", as_of=as_of).to_pandas()[FACT_COLUMNS]


def ratings(
    settled: pd.DataFrame | pa.Table | None, rating: Rating, as_of: date | None = None
) -> pd.DataFrame:
    """Each customer's rating from the invoices settled in the 12 months before `as_of` (all given
    when None; customer_id, amount_minor, due_date, settled_on): the amount-weighted average of
    the days each was paid late (paid early or on time counts as 0)."""
    columns = ["customer_id", "rating", "average_delay_days", "settled_invoices"]
    if settled is None or not len(settled):
        return pd.DataFrame(columns=columns)
    since = as_of - timedelta(days=365) if as_of is not None else None
    with compute() as engine:
        engine.register("settled", _arrow(settled, SETTLED_TYPES))
        grouped = engine.named("escalate/ratings", since=since).to_pandas()
    if grouped.empty:
        return pd.DataFrame(columns=columns)
    grouped["average_delay_days"] = (grouped["weighted"] / grouped["amount"]).round(2)
    grouped["rating"] = grouped["average_delay_days"].map(rating.of)
    return grouped[columns]


ITEM_TYPES = {
    "invoice_id": pa.string(),
    "customer_id": pa.string(),
    "currency": pa.string(),
    "due_date": pa.date32(),
    "open_minor": pa.int64(),
}
SETTLED_TYPES = {
    "customer_id": pa.string(),
    "invoice_id": pa.string(),
    "amount_minor": pa.int64(),
    "due_date": pa.date32(),
    "settled_on": pa.date32(),
}


def _arrow(facts: pd.DataFrame | pa.Table, types: dict[str, pa.DataType]) -> pa.Table:
    """The columns the SQL reads, as Arrow with one type each (a frame's dates may be objects or
    timestamps, its text may be missing)."""
    if isinstance(facts, pa.Table):
        return facts.select(list(types))
    arrays = []
    for column, kind in types.items():
        values = facts[column] if column in facts else pd.Series([None] * len(facts), dtype=object)
        if pa.types.is_date32(kind):
            values = pd.to_datetime(values).dt.date
        arrays.append(
            pa.array(values.astype(object).where(values.notna(), None), type=kind, from_pandas=True)
        )
    return pa.Table.from_arrays(arrays, names=list(types))


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

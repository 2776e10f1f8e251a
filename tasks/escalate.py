"""Escalate: open items in; escalation states and the collector worklist out.

Pure: facts per customer and currency are computed here from the open items as of the date, the
policy decides the state, and only state changes are recorded as new escalation rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from rules.escalation import EscalationPolicy, evaluate

FACT_COLUMNS = [
    "customer_id",
    "currency",
    "open_amount_minor",
    "overdue_amount_minor",
    "oldest_days_past_due",
]


@dataclass
class Escalation:
    states: pd.DataFrame  # every customer and currency with an open amount, with its state
    entered: pd.DataFrame  # rows for the escalations table: states entered on this date
    worklist: pd.DataFrame
    counts: dict[str, int]


def exposure(open_items: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Open and overdue amount and the oldest overdue item per customer and currency."""
    items = open_items[open_items["open_minor"] > 0].copy()
    items["days_past_due"] = (pd.Timestamp(as_of) - pd.to_datetime(items["due_date"])).dt.days
    items["overdue_minor"] = items["open_minor"].where(items["days_past_due"] > 0, 0)
    items["overdue_days"] = items["days_past_due"].where(items["days_past_due"] > 0, 0)
    facts = items.groupby(["customer_id", "currency"], as_index=False).agg(
        open_amount_minor=("open_minor", "sum"),
        overdue_amount_minor=("overdue_minor", "sum"),
        oldest_days_past_due=("overdue_days", "max"),
    )
    return facts.astype(
        {"open_amount_minor": "int64", "overdue_amount_minor": "int64", "oldest_days_past_due": "int64"}
    )[FACT_COLUMNS]


def escalate(
    open_items: pd.DataFrame,
    current: pd.DataFrame,
    policy: EscalationPolicy,
    *,
    as_of: date,
    rule_version: str,
) -> Escalation:
    """States for everyone with an open amount; `current` (customer_id, currency, state) is the last
    recorded state, so that only changes become new escalation rows."""
    states = evaluate(exposure(open_items, as_of), policy)
    previous = (
        current.set_index(["customer_id", "currency"])["state"] if len(current) else pd.Series(dtype=str)
    )
    keys = list(zip(states["customer_id"], states["currency"], strict=True))
    before = pd.Series([previous.get(k, "clear") for k in keys], index=states.index)
    changed = states[states["state"] != before]
    # Customers who had a state but no longer have an open amount are cleared explicitly.
    open_keys = set(keys)
    gone = [k for k, s in previous.items() if s != "clear" and k not in open_keys]
    cleared = pd.DataFrame(gone, columns=["customer_id", "currency"]).assign(
        state="clear", reason="nothing open"
    )
    entered = pd.concat([changed[["customer_id", "currency", "state", "reason"]], cleared], ignore_index=True)
    entered = entered.assign(entered_on=as_of, rule="escalation", rule_version=rule_version)
    on_list = states[states["actions"].str.contains("worklist")]
    worklist = (
        on_list.assign(as_of=as_of, rule=on_list["state"])[
            [
                "customer_id",
                "currency",
                "reason",
                "open_amount_minor",
                "overdue_amount_minor",
                "oldest_days_past_due",
                "as_of",
                "rule",
            ]
        ]
        .sort_values(["overdue_amount_minor", "customer_id"], ascending=[False, True])
        .reset_index(drop=True)
    )
    counts = {
        "customers_with_open_items": len(states),
        "state_changes": len(entered),
        "worklist": len(worklist),
    }
    return Escalation(states, entered, worklist, counts)

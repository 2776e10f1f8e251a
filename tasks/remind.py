"""Remind: open items and reminder history in; consolidated reminder messages (the outbox) out.

Pure: the levels come from `rules/dunning.py`; this module groups each customer's invoices into one
message, renders it and keys it by (customer, level, invoice set), so the same message is never
queued twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from rules.dunning import DunningPolicy, due_messages, reached_levels
from tasks.money import to_major_str
from tasks.notify import render_reminder

PAY_WITHIN_DAYS = 10


@dataclass
class Dunning:
    reminders: pd.DataFrame
    items: pd.DataFrame
    counts: dict[str, int]


def plan_reminders(
    open_items: pd.DataFrame,
    customers: pd.DataFrame,
    history: pd.DataFrame,
    policy: DunningPolicy,
    *,
    as_of: date,
    rule_version: str,
) -> Dunning:
    """Who gets which reminder on `as_of`: one message per customer, every invoice at its level."""
    profiles = customers.set_index("customer_id")["dunning_profile"]
    reached = reached_levels(open_items, profiles, policy, as_of)
    due = due_messages(reached, history)
    by_id = customers.set_index("customer_id")
    reminders: list[dict[str, object]] = []
    items: list[dict[str, object]] = []
    for customer_id, group in due.groupby("customer_id", sort=True):
        customer = by_id.loc[customer_id]
        invoice_ids = ";".join(sorted(group["invoice_id"]))
        level = int(group["level"].max())
        reminder_id = "R-" + hashlib.sha256(f"{customer_id}|{level}|{invoice_ids}".encode()).hexdigest()[:16]
        message = render_reminder(
            customer={"customer_id": customer_id, "name": customer["name"]},
            language=str(customer["language"] or "en"),
            items=[_item_view(row) for row in group.itertuples(index=False)],
            totals={
                cur: to_major_str(int(amt), cur)
                for cur, amt in group.groupby("currency")["open_minor"].sum().items()
            },
            max_level=level,
            level_name=str(group.loc[group["level"].idxmax(), "level_name"]),
            as_of=as_of,
            pay_by=as_of + timedelta(days=PAY_WITHIN_DAYS),
        )
        reminders.append(
            {
                "reminder_id": reminder_id,
                "customer_id": customer_id,
                "level": level,
                "level_name": message.level_name,
                "invoice_ids": invoice_ids,
                "as_of": as_of,
                "language": message.language,
                "recipient": customer["email"],
                "subject": message.subject,
                "body_text": message.text,
                "body_html": message.html,
                "status": "queued",
                "rule_version": rule_version,
            }
        )
        items.extend(
            {
                "reminder_id": reminder_id,
                "invoice_id": row.invoice_id,
                "level": int(row.level),
                "open_amount_minor": int(row.open_minor),
                "currency": row.currency,
                "days_past_due": int(row.days_past_due),
            }
            for row in group.itertuples(index=False)
        )
    counts = {
        "invoices_at_a_level": len(reached),
        "customers_reminded": len(reminders),
        "invoices_in_messages": len(items),
    }
    return Dunning(
        pd.DataFrame(reminders, columns=REMINDER_COLUMNS), pd.DataFrame(items, columns=ITEM_COLUMNS), counts
    )


def _item_view(row: object) -> dict[str, object]:
    return {
        "invoice_id": row.invoice_id,  # type: ignore[attr-defined]
        "issue_date": pd.Timestamp(row.issue_date).date().isoformat(),  # type: ignore[attr-defined]
        "due_date": pd.Timestamp(row.due_date).date().isoformat(),  # type: ignore[attr-defined]
        "days_past_due": int(row.days_past_due),  # type: ignore[attr-defined]
        "open_amount": to_major_str(int(row.open_minor), row.currency),  # type: ignore[attr-defined]
        "currency": row.currency,  # type: ignore[attr-defined]
        "level_name": row.level_name,  # type: ignore[attr-defined]
    }


REMINDER_COLUMNS = [
    "reminder_id",
    "customer_id",
    "level",
    "level_name",
    "invoice_ids",
    "as_of",
    "language",
    "recipient",
    "subject",
    "body_text",
    "body_html",
    "status",
    "rule_version",
]
ITEM_COLUMNS = ["reminder_id", "invoice_id", "level", "open_amount_minor", "currency", "days_past_due"]

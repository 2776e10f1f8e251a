"""Reminder charges: the fee and the interest a queued reminder charges, booked as open items of
the customer (`rules/dunning.yaml`, `book_charges`). Pure: the queued reminders in, `invoices` rows
out, keyed by the reminder so the same reminder never charges twice."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rules.dunning_policy import DunningPolicy

CHARGE_COLUMNS = [
    "invoice_id",
    "customer_id",
    "issue_date",
    "due_date",
    "currency",
    "net_minor",
    "tax_minor",
    "amount_minor",
    "origin",
    "kind",
    "legal_entity",
    "charged_by",
]


def charges_of(
    reminders: list[dict[str, object]], as_of: date, policy: DunningPolicy
) -> list[dict[str, object]]:
    """The charges the queued reminders book: per reminder and currency its fee and the interest it
    charges, each an open item of the customer (an `invoices` row of kind 'fee' or 'interest', origin
    'charge', no VAT: a reminder fee and default interest are damages, not supplies), issued on the
    reminder's date and due when the reminder asks to be paid. Keyed by the reminder, so the same
    reminder never charges twice."""
    due = as_of + timedelta(days=policy.pay_within_days)
    rows: list[dict[str, object]] = []
    for reminder in reminders:
        totals = json.loads(str(reminder["totals"]))
        for currency in sorted(totals):
            for kind, tag, part in (("fee", "FEE", "fee_minor"), ("interest", "INT", "interest_minor")):
                amount = int(totals[currency][part])
                if amount <= 0:
                    continue
                rows.append(
                    {
                        "invoice_id": f"{reminder['reminder_id']}-{tag}-{currency}",
                        "customer_id": reminder["customer_id"],
                        "issue_date": as_of,
                        "due_date": due,
                        "currency": currency,
                        "net_minor": amount,
                        "tax_minor": 0,
                        "amount_minor": amount,
                        "origin": "charge",
                        "kind": kind,
                        "legal_entity": reminder.get("legal_entity") or None,
                        "charged_by": reminder["reminder_id"],
                    }
                )
    return rows


def charge_counts(charges: list[dict[str, object]]) -> dict[str, int]:
    """How many fees and interest charges the run books."""
    kinds = [str(c["kind"]) for c in charges]
    return {"fees_charged": kinds.count("fee"), "interest_charged": kinds.count("interest")}


STATEMENT_COLUMNS = ["customer_id", "invoice_id", "issue_date", "due_date", "currency", "open_minor"]


def statement_items(
    items: pd.DataFrame | pa.Table, charges: list[dict[str, object]], wanting: set[str]
) -> pd.DataFrame:
    """The open items of the customers in `wanting` (as read before the run) with the charges the
    run books for them, open in full: what their statements of account list."""
    table = items if isinstance(items, pa.Table) else pa.Table.from_pandas(items, preserve_index=False)
    table = table.filter(pc.is_in(table["customer_id"], pa.array(sorted(wanting))))
    frame = table.select(STATEMENT_COLUMNS).to_pandas()
    mine = [c | {"open_minor": c["amount_minor"]} for c in charges if c["customer_id"] in wanting]
    if not mine:
        return frame
    return pd.concat([frame, pd.DataFrame(mine)[STATEMENT_COLUMNS]], ignore_index=True)

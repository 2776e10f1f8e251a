"""Credit notes: an order that cancels or returns another, billed as a negative invoice against
the invoice of the order it credits (or, naming no order, as credit on the customer's account),
numbered in `<series>-CN`, and settled on that invoice as far as it is still open.

Pure: the billable orders and what was billed before in; credit notes and their adjustments out.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from tasks.invoice.issue import last_number
from tasks.reconcile.short_payments import ADJUSTMENT_COLUMNS


def billed_so_far(billed: pd.DataFrame | None, invoices: pd.DataFrame) -> pd.DataFrame:
    """order_id -> invoice_id, customer_id, currency, open_minor: before this run and in it."""
    columns = ["order_id", "invoice_id", "customer_id", "currency", "open_minor"]
    now = invoices.assign(open_minor=invoices["amount_minor"])[columns]
    before = billed[columns] if billed is not None and len(billed) else pd.DataFrame(columns=columns)
    return (
        pd.concat([before, now], ignore_index=True)
        .drop_duplicates("order_id")
        .set_index("order_id", drop=False)
    )


def credit_notes(
    credits: pd.DataFrame, originals: pd.Series, as_of: date, series: str, sequences: pd.DataFrame
) -> pd.DataFrame:
    """Credit notes (negative amounts, due on issue) numbered in `<series>-CN`."""
    cn_series = f"{series}-CN"
    last = last_number(sequences, cn_series, as_of.year)
    notes = pd.DataFrame(
        {
            "invoice_id": [
                f"{cn_series}-{as_of.year}-{n:06d}" for n in range(last + 1, last + 1 + len(credits))
            ],
            "customer_id": credits["customer_id"].to_numpy(),
            "order_id": credits["order_id"].to_numpy(),
            "issue_date": as_of,
            "due_date": as_of,
            "currency": credits["currency"].to_numpy(),
            "net_minor": credits["net_minor"].astype("int64").to_numpy(),
            "tax_minor": credits["tax_minor"].astype("int64").to_numpy(),
            "discount_date": pd.Series([None] * len(credits), dtype=object),
            "discount_amount_minor": pd.Series([None] * len(credits), dtype="Int64"),
        }
    )
    notes["amount_minor"] = notes["net_minor"] + notes["tax_minor"]
    notes["origin"] = "billed"
    notes["kind"] = "credit_note"
    notes["credit_for_invoice"] = [o if isinstance(o, str) else None for o in originals]
    return notes


def settle_credits(notes: pd.DataFrame, open_of: pd.Series, as_of: date) -> pd.DataFrame:
    """Each credit note takes what it credits off its invoice's open amount, at most what is open
    there; what the invoice no longer owes (it was paid) stays open on the credit note as the
    customer's credit. Two rows per credit note: one on the invoice, one settling the note."""
    rows: list[dict[str, object]] = []
    left = {k: int(v) for k, v in open_of.items()}
    for note in notes.itertuples(index=False):
        credited = -int(note.amount_minor)
        applied = max(0, min(credited, left.get(note.credit_for_invoice, 0)))
        if applied <= 0:
            continue
        left[note.credit_for_invoice] = left.get(note.credit_for_invoice, 0) - applied
        base = {"currency": note.currency, "rule_version": "invoice", "as_of": as_of, "payment_id": None}
        rows.append(
            base
            | {
                "adjustment_id": f"{note.invoice_id}/{note.credit_for_invoice}",
                "invoice_id": note.credit_for_invoice,
                "kind": "credit_note",
                "amount_minor": applied,
                "reason": f"credit note {note.invoice_id}",
            }
        )
        rows.append(
            base
            | {
                "adjustment_id": f"{note.invoice_id}/applied",
                "invoice_id": note.invoice_id,
                "kind": "credit_note",
                "amount_minor": -applied,
                "reason": f"applied to invoice {note.credit_for_invoice}",
            }
        )
    return pd.DataFrame(rows, columns=ADJUSTMENT_COLUMNS)


def credits_to_issue(
    credits: pd.DataFrame, on_account: pd.DataFrame, known: pd.DataFrame
) -> tuple[pd.DataFrame, pd.Series]:
    """The credit notes to issue, in billing order: each cancellation or return whose order was
    billed to the same customer in the same currency, and each return naming no order (credit on
    the customer's account); and why each other credit is refused, by its row."""
    original = credits["credit_for"].map(known["invoice_id"])
    same = (credits["currency"] == credits["credit_for"].map(known["currency"])) & (
        credits["customer_id"] == credits["credit_for"].map(known["customer_id"])
    )
    unbilled, wrong = credits[original.isna()], credits[original.notna() & ~same]
    refused = pd.concat(
        [
            pd.Series(
                [f"credits order {o}, which no invoice bills" for o in unbilled["credit_for"]],
                index=unbilled.index,
                dtype=object,
            ),
            pd.Series("credits an order of another customer or currency", index=wrong.index, dtype=object),
        ]
    )
    issued = pd.concat([credits[original.notna() & same], on_account]).sort_values(
        ["fulfilled_date", "order_id"]
    )
    return issued, refused

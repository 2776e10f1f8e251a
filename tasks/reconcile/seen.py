"""What one round of cash application decided when, and what each decision looked at: the
bookkeeping by which `apply._apply_in_rounds` knows which payments the next round must decide
again (those whose decision could now differ) and which it may leave as they stand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.reconcile.book import OpenBook
from tasks.reconcile.decisions import Decision

# What a decision looked at: the invoices named, the (customer, currency) whose invoices it looked
# through, the (currency, amount) of invoices open for exactly that amount.
View = tuple[tuple[str, ...], tuple[str, str] | None, tuple[str, int] | None]


class Seen:
    """What one round decided when: the moment each payment was decided (0 for the certain case,
    decided at once before the rest, then 1, 2, ... in the order of the passes), the last moment
    each invoice's open amount changed, and what each decision looked at."""

    def __init__(self) -> None:
        self.decided_at: dict[str, int] = {}
        self.touched_at: dict[str, int] = {}
        self.views: dict[str, View] = {}


def changed_since_decided(
    with_cash: pd.DataFrame,
    views: dict[str, View],
    seen: Seen,
    start: OpenBook,
    book: OpenBook,
    allocated: set[str],
) -> np.ndarray:
    """Which payments with cash left the next round must decide again: those this round applied
    cash from, and those that looked at an invoice whose open amount changed after they were
    decided (a payment the round did not decide: changed at all). The rest would be decided exactly
    as before (a decision depends only on what it looked at), so their exceptions stand as they are.

    What a decision looks at: the invoices the payment names; the invoices of its currency of the
    customer who paid, when known (for a payment naming invoices: by its account); and, for a
    payment naming invoices or from an unknown payer, the invoices open for exactly its amount (an
    amount that does not fit the invoices named is compared with them), which the round lists as
    they stood at its start (so a change to or from that amount anywhere in the round counts)."""
    waiting = with_cash["payment_id"].tolist()
    # only what the waiting payments looked at is worth working out: the (customer, currency)
    # pairs and (currency, amount) pairs of their views, against every invoice the round touched
    looked_at = [views[p] for p in waiting if p not in allocated]
    customers = {view[1] for view in looked_at if view[1] is not None}
    amounts = {view[2] for view in looked_at if view[2] is not None}
    by_customer: dict[tuple[str, str], int] = {}
    at_amount: set[tuple[str, int]] = set()
    for invoice_id, moment in seen.touched_at.items():
        currency = book.currency[invoice_id]
        pair = (book.customer[invoice_id], currency)
        if pair in customers and by_customer.get(pair, -1) < moment:
            by_customer[pair] = moment
        for amount in (start.open_left[invoice_id], book.open_left[invoice_id]):
            if (currency, amount) in amounts:
                at_amount.add((currency, amount))
    out = np.zeros(len(with_cash), dtype=bool)
    for n, payment_id in enumerate(waiting):
        if payment_id in allocated:
            out[n] = True
            continue
        decided_at = seen.decided_at.get(payment_id, -1)
        named, customer, amount = views[payment_id]
        out[n] = (
            any(seen.touched_at.get(i, -1) > decided_at for i in named)
            or (customer is not None and by_customer.get(customer, -1) > decided_at)
            or (amount is not None and amount in at_amount)
        )
    return out


def marked(sure: pd.DataFrame, book: OpenBook, seen: Seen, moment: int) -> pd.DataFrame:
    """Apply matches decided for the batch at once (`certain.CERTAIN_COLUMNS`) to the open book:
    each invoice left with its `open_after`, changed at `moment`."""
    for invoice_id, after in zip(sure["invoice_id"].tolist(), sure["open_after"].tolist(), strict=True):
        book.open_left[invoice_id] = after
        seen.touched_at[invoice_id] = moment
    return sure


def seen_decided(seen: Seen, payment_id: str, moment: int, decision: Decision) -> Decision:
    """Note when the payment was decided and which invoices' open amounts the decision changed."""
    seen.decided_at[payment_id] = moment
    for invoice_id, _ in decision.parts:
        seen.touched_at[invoice_id] = moment
    return decision

"""The hardest shapes of cash application, measured on their own by `o2c bench match`.

Two shapes are where a matcher is weakest, and the whole book's figures hide them:
- one payment naming several invoices in its remittance text (a payment run: the generator's own,
  every number in full), and one in three of those rewritten as people shorten such lists: the
  first number in full, the rest by sequence number alone (`INV-2026-000084/85/86`);
- a typo that turns the invoice number into another invoice's number that exists: injected here
  into one in 50 payments that name a single invoice exactly, by changing the last digit of the
  number so that it names the invoice next to it. The truth stays the invoice the customer meant:
  applying the cash to the named one is wrong; sending the payment to the exception queue is
  right, and its first suggestion should be the invoice that amount, customer and date point to.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import Any

import pandas as pd

from tools.generate import Book

TYPO_SHARE = 50  # one payment in this many, of those naming one invoice exactly


def with_shortened_lists(book: Book, seed: int) -> tuple[Book, set[str]]:
    """The book with one in three payments naming several invoices rewritten as people shorten
    such lists: the first number in full, the others by their sequence number alone
    (`INV-2026-000084/85/86`, `INV-2026-000084, 85, 86`); and those payments' ids."""
    rng = random.Random(seed * 7919 + 2)
    truth = book.truth_allocations
    several = truth.groupby("payment_id")["invoice_id"].agg(list)
    several = several[several.str.len() > 1]
    payments = book.payments.copy()
    shortened: set[str] = set()
    for row in payments.itertuples():
        invoices = several.get(row.payment_id)
        if invoices is None or rng.randrange(3) or not all(i in row.reference for i in invoices):
            continue
        ordered = sorted(invoices, key=row.reference.index)
        separator = rng.choice(["/", ", ", " + "])
        tail = separator.join(str(int(i.rsplit("-", 1)[1])) for i in ordered[1:])
        payments.at[row.Index, "reference"] = f"{ordered[0]}{separator}{tail}"
        shortened.add(row.payment_id)
    return replace(book, payments=payments), shortened


def with_typos(book: Book, seed: int) -> tuple[Book, dict[str, str]]:
    """The book with typos injected into some references, and per such payment the invoice its
    reference names now (not the one it pays)."""
    rng = random.Random(seed * 7919 + 1)
    truth = book.truth_allocations
    single = truth.groupby("payment_id")["invoice_id"].agg(list)
    single = single[single.str.len() == 1].str[0]
    existing = set(book.invoices["invoice_id"])
    payments = book.payments.copy()
    named_wrong: dict[str, str] = {}
    for row in payments.itertuples():
        meant = single.get(row.payment_id)
        if meant is None or row.reference != meant or rng.randrange(TYPO_SHARE):
            continue
        prefix, last = meant[:-1], int(meant[-1])
        for digit in (last + 1, last - 1):
            other = f"{prefix}{digit}"
            if 0 <= digit <= 9 and other in existing:
                payments.at[row.Index, "reference"] = other
                named_wrong[row.payment_id] = other
                break
    return replace(book, payments=payments), named_wrong


def shape_figures(
    book: Book,
    named_wrong: dict[str, str],
    shortened: set[str],
    allocations: pd.DataFrame,
    exceptions: pd.DataFrame,
) -> dict[str, dict[str, Any]]:
    """Per shape: payments of the shape, the share applied exactly as the truth says, the share
    with cash applied to an invoice the truth does not have, the share sent to the exception
    queue, and of those queued the share whose first suggestion is the true invoice."""
    truth = book.truth_allocations
    true_sets = truth.groupby("payment_id")["invoice_id"].agg(frozenset)
    several = set(true_sets[true_sets.map(len) > 1].index)
    ours = allocations.groupby("payment_id")["invoice_id"].agg(frozenset)
    first_suggested = {
        p: (json.loads(s) or [{}])[0].get("invoice_id")
        for p, s in zip(exceptions["payment_id"], exceptions["suggestions"], strict=True)
    }
    out: dict[str, dict[str, Any]] = {}
    for shape, ids in (
        ("several_invoices_in_text", several - shortened),
        ("several_invoices_shortened", shortened),
        ("typo_names_another_invoice", set(named_wrong)),
    ):
        exact = wrong = queued = suggested = 0
        for payment_id in ids:
            mine, meant = ours.get(payment_id, frozenset()), true_sets[payment_id]
            exact += mine == meant
            wrong += bool(mine - meant)
            if payment_id in first_suggested:
                queued += 1
                suggested += first_suggested[payment_id] in meant
        out[shape] = {
            "payments": len(ids),
            "exact": _share(exact, len(ids)),
            "applied_wrongly": _share(wrong, len(ids)),
            "queued": _share(queued, len(ids)),
            "first_suggestion_right": _share(suggested, queued),
        }
    return out


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0

"""A payer the passes cannot name by account or name: passes 3 and 4 for a payment whose payer is
not known (`passes.by_payer_and_amount`).

A payer name that fits a few customers about equally well (`PayerDirectory.namesakes`) still
tells them from everyone else: when exactly one open invoice of those customers, in the payment's
currency, is open for exactly the amount, that invoice is the one paid, scored as an exact amount
by how well the name fits its customer. Otherwise the invoices open for exactly the amount,
whoever owns them, are suggestions for a person, never applied.
"""

from __future__ import annotations

from typing import Any

from rules.matching import MatchingPolicy
from tasks.reconcile.book import OpenBook
from tasks.reconcile.decisions import Decision, exception, text_of
from tasks.reconcile.matching import PayerDirectory


def unknown_payer(
    payment: Any,
    amount: int,
    book: OpenBook,
    payers: PayerDirectory,
    policy: MatchingPolicy,
    evidence: dict[str, object],
    how: str,
) -> Decision:
    """The decision for a payment from an unknown payer (`how`: why the payer is not known): the
    one invoice of the customers its name fits about equally well open for exactly the amount,
    else the invoices open for exactly the amount as suggestions."""
    fits = payers.namesakes(
        text_of(getattr(payment, "payer_account", "")), text_of(getattr(payment, "payer_name", ""))
    )
    found = [
        (customer, confidence, invoice_id)
        for customer, confidence in fits
        for invoice_id in book.open_of(customer, payment.currency)
        if book.open_left[invoice_id] == amount
    ]
    if len(found) == 1:
        customer, confidence, invoice_id = found[0]
        others = ", ".join(sorted(c for c, _ in fits if c != customer))
        return Decision(
            [(invoice_id, amount)],
            "exact_amount",
            policy.scores.exact_amount * confidence,
            evidence
            | {
                "payer": f"payer name fits {customer} and {others}; only {customer} has an open invoice"
                " of exactly this amount"
            },
        )
    # never applied: invoices of exactly this amount, whoever owns them, are suggestions
    fits_amount = [(i, amount) for i in book.open_at_amount(payment.currency, amount, policy.suggestions)]
    return exception(evidence, f"unknown payer ({how})", fits_amount, policy, score=policy.scores.amount_only)

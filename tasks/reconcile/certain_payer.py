"""The certain case of paying by who and how much, decided for the whole batch at once.

A payment naming no invoice, from a bank account known to belong to a customer, for exactly the
amount of the one invoice of that customer and currency open for it, is applied to that invoice
(`exact_amount`) when nothing the round does before its turn can change that: it is the first
payment naming nothing taken to come from that customer in that currency (by account or by name),
and every invoice of theirs that a payment still to be decided names is open for less than its
amount (cash only lowers an open amount, so none can come to equal it). Its decision then
depends on nothing the round changes before it, so deciding it first, for the whole batch, gives
exactly what the one-payment-at-a-time pass (`by_payer_and_amount`) would.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rules.matching import MatchingPolicy
from tasks.reconcile.book import OpenBook
from tasks.reconcile.certain import CERTAIN_COLUMNS, joined, json_strings, taken_back
from tasks.reconcile.decisions import KNOWN_ACCOUNT
from tasks.reconcile.matching import PayerDirectory
from tasks.reconcile.named import text_column


def certain_by_payer(
    rest: pd.DataFrame,
    pending: pd.DataFrame,
    book: OpenBook,
    payers: PayerDirectory,
    policy: MatchingPolicy,
    rejected: set[tuple[str, str]],
) -> pd.DataFrame:
    """Of `rest` (the payments naming no invoice, in the order cash is applied), those applied by
    exact amount without a doubt, as `certain` gives its rows (open_after 0). `pending` holds the
    invoices named by the payments still to be decided; `rejected` the (payment, invoice) pairs
    that may not be made."""
    score = policy.scores.exact_amount  # the payer known by account: confidence 1
    if not len(rest) or score < policy.auto_apply_score:
        return pd.DataFrame(columns=CERTAIN_COLUMNS)
    identified = _payers_of(rest, payers)
    customers = [customer for customer, _ in identified]
    by_account = np.array([how == KNOWN_ACCOUNT for _, how in identified], dtype=bool)
    facts = rest.assign(customer_id=customers)
    first = ~facts.duplicated(["customer_id", "currency"], keep="first").to_numpy()
    # the most a pending payment can leave open on an invoice of each customer and currency
    reachable: dict[tuple[str | None, str], int] = {}
    for invoice_id in pending["invoice_id"].tolist():
        key = (book.customer[invoice_id], book.currency[invoice_id])
        reachable[key] = max(reachable.get(key, 0), book.open_left[invoice_id])
    amount = facts["unapplied_minor"].astype("int64").to_numpy()
    beyond = np.fromiter(
        (
            paid > reachable.get((c, k), 0)
            for c, k, paid in zip(customers, facts["currency"].tolist(), amount.tolist(), strict=True)
        ),
        dtype=bool,
        count=len(facts),
    )
    facts = facts[by_account & first & beyond & (amount > 0)]
    if not len(facts):
        return pd.DataFrame(columns=CERTAIN_COLUMNS)
    fits = _open_at_amount(facts, book)
    one = fits[~fits["payment_id"].duplicated(keep=False)]
    one = one[~taken_back(one, rejected)]
    evidence = joined(
        '{"reference": ',
        json_strings(text_column(one, "reference")),
        ', "payer": "' + KNOWN_ACCOUNT + '"}',
    )
    return pd.DataFrame(
        {
            "payment_id": one["payment_id"].to_numpy(),
            "invoice_id": one["invoice_id"].to_numpy(),
            "amount_minor": one["unapplied_minor"].astype("int64").to_numpy(),
            "rule": "exact_amount",
            "score": score,
            "evidence": evidence if len(one) else np.array([], dtype=object),
            "open_after": 0,
        },
        columns=CERTAIN_COLUMNS,
    )


def _payers_of(rest: pd.DataFrame, payers: PayerDirectory) -> list[tuple[str | None, str]]:
    """(customer, how) of each payment, as the pass identifies who paid (account, else name)."""
    return [
        payers.identify(account, name)[::2]
        for account, name in zip(
            text_column(rest, "payer_account").tolist(), text_column(rest, "payer_name").tolist(), strict=True
        )
    ]


def _open_at_amount(facts: pd.DataFrame, book: OpenBook) -> pd.DataFrame:
    """Each payment with the invoices of its customer and currency open for exactly its amount."""
    pairs = [
        (payment_id, invoice_id)
        for payment_id, customer, currency, amount in zip(
            facts["payment_id"].tolist(),
            facts["customer_id"].tolist(),
            facts["currency"].tolist(),
            facts["unapplied_minor"].astype("int64").tolist(),
            strict=True,
        )
        for invoice_id in book.by_customer.get((customer, currency), ())
        if book.open_left[invoice_id] == amount
    ]
    found = pd.DataFrame(pairs, columns=["payment_id", "invoice_id"])
    return found.merge(facts, on="payment_id")

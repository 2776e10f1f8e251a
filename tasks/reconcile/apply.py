"""Reconcile: unapplied payments and open invoices in; allocations out.

Pure. A payment whose structured reference or remittance text names open invoices of its currency
is applied to them, oldest due first, each up to its open amount; what is left stays unapplied on
the payment (`tasks/reconcile/references.py` finds the invoice numbers). A payment naming nothing is placed by
who paid and how much. Doubtful decisions go to the exception queue.

The certain common case (a payment naming exactly one open invoice, which no other payment of the
batch names, for exactly its open amount) is decided for the whole batch at once in vectorised
code (`certain.py`); the rest go through the passes one payment at a time (`passes.py`). Both give
the same allocations. This module is the entry point, `apply_cash`, and its fixed-point loop of
rounds; the open book is `book.py`, decisions and how they are applied `decisions.py`, the frames a
run gives back `outcome.py`, and the standard policy for callers outside the flow `policy.py`.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from rules.matching import MatchingPolicy
from tasks.reconcile.book import OpenBook
from tasks.reconcile.certain import certain
from tasks.reconcile.decisions import Decision, respect, settle
from tasks.reconcile.matching import PayerDirectory
from tasks.reconcile.named import named_by_payment, named_invoices
from tasks.reconcile.outcome import CashApplication, combined, outcome
from tasks.reconcile.passes import by_payer_and_amount, by_reference
from tasks.reconcile.references import InvoiceKeys

__all__ = ["CashApplication", "apply_cash"]


def apply_cash(
    payments: pd.DataFrame,
    invoices: pd.DataFrame,
    *,
    as_of: date,
    rule_version: str,
    policy: MatchingPolicy,
    payers: PayerDirectory | None = None,
    rejected: set[tuple[str, str]] | None = None,
    paired: set[tuple[str, str]] | None = None,
) -> CashApplication:
    """Apply each payment to the invoices it pays, in passes, most certain first, until nothing
    more can be applied: the result is a fixed point, so running reconcile again on the ledger it
    wrote applies nothing and leaves the same exception queue.

    payments: payment_id, value_date, currency, unapplied_minor, reference (optional: payer_name,
    payer_account, creditor_reference, end_to_end_id). invoices: invoice_id, customer_id, currency,
    due_date, open_minor (every invoice, paid ones with 0, so a reference to a paid invoice is seen).
    Payments that name invoices go first, then those matched by who paid and how much. Only a
    decision scoring at least the policy's auto-apply score is applied; the rest become exceptions.
    `rejected` holds (payment, invoice) matches a person took back: they are never made again.
    `paired` holds the (payment, invoice) pairs the ledger already has an allocation for.
    `policy` is the matching policy: the flow loads it through `tasks.platform.policy.load_policy`;
    `tasks.reconcile.policy.default_policy()` gives the standard one.

    Why rounds: a payment decided early in a round may have been doubtful only because an invoice
    that a later payment of the same round paid was still open (two invoices near its amount, say).
    Each round decides every payment with cash left against the open amounts the previous round
    left, exactly as a new run would read them from the ledger; the last round applies nothing,
    and its exceptions, with their reasons and suggestions, are the queue as it stands. The
    allocations do not depend on the order the payments arrive in: they are taken by value date,
    then payment id.
    """
    payers = payers or PayerDirectory({}, {}, policy.payer.name_threshold)
    rejected = set(rejected or ())
    paired = set(paired or ())
    ordered = _by_value_date(payments)
    invoices = invoices.sort_values(["due_date", "invoice_id"], kind="stable").reset_index(drop=True)
    keys = InvoiceKeys(invoices)
    rounds: list[CashApplication] = []
    remaining, book = ordered, OpenBook(invoices, as_of, rule_version, keys=keys)
    while True:
        book = book.next_round()
        cash = _one_round(remaining, book, as_of, rule_version, policy, payers, rejected, paired)
        rounds.append(cash)
        if not len(cash.allocations) and not len(cash.write_offs):
            break
        paired |= set(zip(cash.allocations["payment_id"], cash.allocations["invoice_id"], strict=True))
        left = remaining["payment_id"].map(
            dict(zip(cash.unapplied["payment_id"], cash.unapplied["unapplied_minor"], strict=True))
        )
        remaining = remaining.assign(unapplied_minor=left.astype("int64"))
        remaining = remaining[remaining["unapplied_minor"] > 0].reset_index(drop=True)
    return combined(ordered, rounds, paired)


def _by_value_date(payments: pd.DataFrame) -> pd.DataFrame:
    """Payments in the order cash is applied: by value date, then payment id, whatever order they came in."""
    if not len(payments):
        return payments.reset_index(drop=True)
    return payments.sort_values(["value_date", "payment_id"], kind="stable").reset_index(drop=True)


def _one_round(
    ordered: pd.DataFrame,
    book: OpenBook,
    as_of: date,
    rule_version: str,
    policy: MatchingPolicy,
    payers: PayerDirectory,
    rejected: set[tuple[str, str]],
    paired: set[tuple[str, str]],
) -> CashApplication:
    """One pass of every matching rule over the payments, against the book's open amounts."""
    decided: dict[str, Decision] = {}
    named = named_invoices(ordered, book.keys)
    sure = certain(ordered, named, book, payers, policy, rejected | paired)
    for invoice_id in sure["invoice_id"].tolist():
        book.open_left[invoice_id] = 0
    done = set(sure["payment_id"].tolist())
    named_of = named_by_payment(named[~named["payment_id"].isin(done)])
    rest = []
    for payment in ordered[~ordered["payment_id"].isin(done)].itertuples(index=False):
        decision = by_reference(payment, named_of.get(payment.payment_id), book, payers, policy)
        if decision is None:
            rest.append(payment)
        else:
            decided[payment.payment_id] = settle(
                respect(decision, payment, rejected, paired), payment, book, policy
            )
    for payment in rest:
        decision = respect(by_payer_and_amount(payment, book, payers, policy), payment, rejected, paired)
        decided[payment.payment_id] = settle(decision, payment, book, policy)
    return outcome(ordered, decided, sure, book, as_of, rule_version)

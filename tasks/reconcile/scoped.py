"""What a reconcile run limited to some customers publishes (`tasks/platform/scope.py`).

Cash is applied as for the whole book (a payment is read against every invoice, so one that names
another customer's invoice is never taken for a scope's invoice by its amount), and only what
concerns the scope is kept: the cash applied to its customers' invoices, their write-offs and
deduction cases, the cash held on their accounts, and the exception-queue rows of the payments
that are theirs. A payment is the scope's when this run applied it to one of their invoices, holds
it on one of their accounts, suggests one of their invoices for it, or it came from an account
known to be one of theirs. Everything else stays exactly as the ledger has it.
"""

from __future__ import annotations

import json

import pandas as pd

from tasks.reconcile.outcome import CashApplication, counted


def within(
    cash: CashApplication,
    payments: pd.DataFrame,
    invoices: pd.DataFrame,
    customers: frozenset[str],
    accounts: dict[str, str],
) -> tuple[CashApplication, list[str]]:
    """(the scope's part of `cash`, the payments whose queue rows it replaces). `accounts`: payer
    account (normalised) -> customer, as reconcile reads them."""
    owner = dict(zip(invoices["invoice_id"].astype(str), invoices["customer_id"].astype(str), strict=True))

    def theirs(frame: pd.DataFrame) -> pd.DataFrame:
        if not len(frame):
            return frame
        return frame[frame["invoice_id"].astype(str).map(owner).isin(customers)].reset_index(drop=True)

    allocations, write_offs = theirs(cash.allocations), theirs(cash.write_offs)
    cases = cash.cases
    if len(cases):
        cases = cases[cases["customer_id"].astype(str).isin(customers)].reset_index(drop=True)
    on_account = cash.on_account
    if len(on_account):
        on_account = on_account[on_account["customer_id"].astype(str).isin(customers)].reset_index(drop=True)
    mine = set(allocations["payment_id"].astype(str)) | set(on_account["payment_id"].astype(str))
    mine |= _suggesting(cash.exceptions, owner, customers)
    if "payer_account" in payments.columns:
        for payment_id, account in zip(payments["payment_id"], payments["payer_account"], strict=True):
            key = "".join(str(account).split()).upper() if isinstance(account, str) else ""
            if key and accounts.get(key) in customers:
                mine.add(str(payment_id))
    exceptions = cash.exceptions
    if len(exceptions):
        exceptions = exceptions[exceptions["payment_id"].astype(str).isin(mine)].reset_index(drop=True)
    unapplied = cash.unapplied[cash.unapplied["payment_id"].astype(str).isin(mine)].reset_index(drop=True)
    rounds = int(cash.counts.get("matching_rounds", 0))
    scoped = counted(
        unapplied, allocations, unapplied, exceptions, write_offs, cases, on_account, rounds=rounds
    )
    return scoped, sorted(mine)


def _suggesting(exceptions: pd.DataFrame, owner: dict[str, str], customers: frozenset[str]) -> set[str]:
    """The queued payments whose suggestions name an invoice of the scope's customers."""
    out = set()
    for payment_id, suggestions in zip(exceptions["payment_id"], exceptions["suggestions"], strict=True):
        try:
            listed = json.loads(suggestions or "[]")
        except (TypeError, ValueError):
            continue
        if any(owner.get(str(s.get("invoice_id"))) in customers for s in listed if isinstance(s, dict)):
            out.add(str(payment_id))
    return out

"""The open book of a cash-application round: every invoice of the batch with the amount still open
on it, updated as cash is applied, and the lookups the matching passes need (due dates, invoices
per customer and per amount, early-payment discount terms). Pure, in memory; built once per round
from the invoices frame the ledger gave.
"""

from __future__ import annotations

import copy
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import date

import numpy as np
import pandas as pd

from tasks.platform.money import round_half_up_div
from tasks.reconcile.short_payments import Parts


class OpenBook:
    """The invoices of a batch with their open amounts, updated as cash is applied.

    What does not change while cash is applied (owner, due day, discount terms, invoices per
    customer) is worked out once, in whole columns, and shared by every round's book
    (`next_round`); only the open amounts and the invoices per open amount are a round's own."""

    def __init__(
        self,
        invoices: pd.DataFrame,
        as_of: date,
        rule_version: str,
        *,
        in_due_order: bool = False,
    ) -> None:
        self.as_of, self.rule_version = as_of, rule_version
        ordered = (
            invoices if in_due_order else invoices.sort_values(["due_date", "invoice_id"], kind="stable")
        )
        ids = ordered["invoice_id"].to_numpy()
        self.open_left = dict(zip(ids.tolist(), ordered["open_minor"].astype("int64").tolist(), strict=True))
        self.customer = dict(zip(ids.tolist(), ordered["customer_id"].tolist(), strict=True))
        self.currency = dict(zip(ids.tolist(), ordered["currency"].tolist(), strict=True))
        # due dates as day numbers: they are only ordered and subtracted, and ints are cheap to
        self.due = dict(
            zip(
                ids.tolist(),
                ordered["due_date"].to_numpy("datetime64[D]").astype("int64").tolist(),
                strict=True,
            )
        )
        self.discount = discount_terms(ordered)
        self.parts = instalments(ordered)
        self.invoices = ordered
        # the invoices open at the start per (customer, currency), oldest due first: applying cash
        # only ever closes invoices, so those paid already are never looked through again
        still_open = (ordered["open_minor"].astype("int64") > 0).to_numpy()
        groups = ordered[still_open].groupby(["customer_id", "currency"], sort=False).indices
        open_ids = ids[still_open]
        self.by_customer: dict[tuple[str, str], list[str]] = {
            k: open_ids[v].tolist() for k, v in groups.items()
        }
        # invoices per open amount: an index of the amounts the book was made with, sorted once
        # and shared by every round, and the invoices whose amount has changed since, as each
        # round started (`next_round`)
        self._by_amount: _AmountIndex | None = None
        self._moved: set[str] = set()
        self._moved_open: set[str] = set()  # of those, the ones still open as the round began
        self._moved_to: dict[tuple[str, int], list[str]] = {}

    def next_round(self, changed: Iterable[str] = ()) -> OpenBook:
        """The book a new round starts from: these open amounts, the same invoices. `changed`
        names the invoices whose open amount changed in the round before."""
        book = copy.copy(self)
        book.open_left = dict(self.open_left)
        if self._by_amount is None:
            self._by_amount = book._by_amount = _AmountIndex(self)
        changed = set(changed)
        book._moved = self._moved | changed
        book._moved_to = {}
        # cash only lowers an open amount: an invoice moved to 0 stays there, so only those
        # still open when a round began (and those the last round changed) are looked at again
        book._moved_open = set()
        for invoice_id in self._moved_open | changed:
            if self.open_left[invoice_id] > 0:
                book._moved_open.add(invoice_id)
                key = (self.currency[invoice_id], self.open_left[invoice_id])
                book._moved_to.setdefault(key, []).append(invoice_id)
        return book

    def at_amount(self, currency: str, amount: int) -> list[str]:
        """The invoices of `currency` open for exactly `amount` at the start of the round, oldest
        due first: those the book was made with at that amount and unchanged since, and those
        whose amount had changed to it when the round started."""
        if self._by_amount is None:
            self._by_amount = _AmountIndex(self)
        found = self._by_amount.find(currency, amount)
        if self._moved:
            found = [i for i in found if i not in self._moved]
        moved = self._moved_to.get((currency, amount))
        if moved:
            found = sorted(found + moved, key=lambda i: (self.due[i], i))
        return found

    def open_at_amount(self, currency: str, amount: int, count: int) -> list[str]:
        """The first `count` of `at_amount` still open for exactly `amount` now, without reading
        the rest (an amount such as 100.00 can have thousands of invoices)."""
        if self._by_amount is None:
            self._by_amount = _AmountIndex(self)
        if (currency, amount) in self._moved_to:
            candidates: Iterable[str] = self.at_amount(currency, amount)
        else:
            candidates = (i for i in self._by_amount.find(currency, amount) if i not in self._moved)
        found: list[str] = []
        for invoice_id in candidates:
            if len(found) >= count:
                break
            if self.open_left[invoice_id] == amount:
                found.append(invoice_id)
        return found

    def open_of(self, customer: str, currency: str) -> list[str]:
        """The customer's invoices of `currency` open now, oldest due first (do not change it)."""
        key = (customer, currency)
        listed = self.by_customer.get(key)
        if not listed:
            return []
        open_left = self.open_left
        still = [i for i in listed if open_left[i] > 0]
        if len(still) < len(listed):
            # an invoice paid stays paid in this round and every later one (cash only lowers an
            # open amount), so it is left out of the list every round's book shares: a customer
            # with thousands of invoices is not looked through in full again and again
            self.by_customer[key] = still
        return still


class _AmountIndex:
    """The invoices still open as a round starts, per currency sorted by open amount, then due
    date: the invoices of one amount are one slice, found by binary search."""

    def __init__(self, book: OpenBook) -> None:
        ids = book.invoices["invoice_id"].to_numpy()
        opening = np.fromiter((book.open_left[i] for i in ids.tolist()), dtype=np.int64, count=len(ids))
        currencies = book.invoices["currency"].to_numpy()
        still_open = np.flatnonzero(opening > 0)  # in due order, kept among equals by the stable sort
        self.slices: dict[str, tuple[list[int], list[str]]] = {}
        for currency in pd.unique(currencies[still_open]):
            mine = still_open[currencies[still_open] == currency]
            order = mine[np.argsort(opening[mine], kind="stable")]
            self.slices[str(currency)] = (opening[order].tolist(), ids[order].tolist())

    def find(self, currency: str, amount: int) -> list[str]:
        amounts, ids = self.slices.get(currency, ([], []))
        return ids[bisect_left(amounts, amount) : bisect_right(amounts, amount)]


def instalments(invoices: pd.DataFrame) -> dict[str, Parts]:
    """The parts of each invoice paid in instalments, (due date, amount) in instalment order, from
    the `instalment_due_dates` and `instalment_amounts_minor` columns (lists, empty or missing for
    an invoice not in instalments; `sql/reconcile/invoices.sql`)."""
    if "instalment_amounts_minor" not in invoices or "instalment_due_dates" not in invoices:
        return {}
    amounts = invoices["instalment_amounts_minor"]
    has = amounts.notna().to_numpy()
    parts = {}
    for invoice_id, days, minor in zip(
        invoices["invoice_id"].to_numpy()[has].tolist(),
        invoices["instalment_due_dates"].to_numpy()[has].tolist(),
        amounts.to_numpy()[has].tolist(),
        strict=True,
    ):
        if len(minor):
            parts[invoice_id] = tuple(
                (pd.Timestamp(day).date(), int(amount)) for day, amount in zip(days, minor, strict=True)
            )
    return parts


def discount_terms(invoices: pd.DataFrame) -> dict[str, tuple[date, int, int]]:
    """(last day, discount, amount it is a discount on) of each invoice offering an early-payment
    discount. A credit note that reduced the invoice (`credited_minor`) re-bases the discount on
    what the invoice still bills: discount x (amount - credited) / amount, rounded half up (2 % of
    178.50 is 3.57; after a credit of 29.75, 2 % of 148.75 is 2.98)."""
    if "discount_date" not in invoices or "discount_amount_minor" not in invoices:
        return {}
    offered = invoices[invoices["discount_date"].notna() & (invoices["discount_amount_minor"].fillna(0) > 0)]
    credited = (
        offered["credited_minor"].fillna(0).astype("int64")
        if "credited_minor" in offered
        else pd.Series(0, index=offered.index)
    )
    terms = {}
    for invoice_id, day, discount, amount, credit in zip(
        offered["invoice_id"],
        offered["discount_date"],
        offered["discount_amount_minor"],
        offered["amount_minor"],
        credited,
        strict=True,
    ):
        base = int(amount) - int(credit)
        rebased = (
            round_half_up_div(int(discount) * base, int(amount))
            if credit and int(amount) > 0
            else int(discount)
        )
        if base > 0 and rebased > 0:
            terms[invoice_id] = (pd.Timestamp(day).date(), rebased, base)
    return terms

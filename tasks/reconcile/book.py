"""The open book of a cash-application round: every invoice of the batch with the amount still open
on it, updated as cash is applied, and the lookups the matching passes need (due dates, invoices
per customer and per amount, early-payment discount terms). Pure, in memory; built once per round
from the invoices frame the ledger gave.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from tasks.platform.money import round_half_up_div
from tasks.reconcile.references import InvoiceKeys


class OpenBook:
    """The invoices of a batch with their open amounts, updated as cash is applied."""

    def __init__(
        self, invoices: pd.DataFrame, as_of: date, rule_version: str, keys: InvoiceKeys | None = None
    ) -> None:
        self.as_of, self.rule_version = as_of, rule_version
        ids = invoices["invoice_id"].tolist()
        self.open_left = dict(zip(ids, invoices["open_minor"].astype("int64").tolist(), strict=True))
        self._due: dict[str, Any] | None = None
        self.customer = dict(zip(ids, invoices["customer_id"].tolist(), strict=True))
        self.discount = _discount_terms(invoices)
        self.keys = keys if keys is not None else InvoiceKeys(invoices)
        self.invoices = invoices
        self._by_customer: dict[tuple[str, str], list[str]] | None = None
        self._by_amount: dict[tuple[str, int], list[str]] | None = None

    @property
    def due(self) -> dict[str, Any]:
        """Due date per invoice; built when the passes first need it."""
        if self._due is None:
            self._due = dict(zip(self.invoices["invoice_id"], self.invoices["due_date"], strict=True))
        return self._due

    @property
    def by_customer(self) -> dict[tuple[str, str], list[str]]:
        """Invoice ids per (customer, currency), oldest due first; built when first needed."""
        if self._by_customer is None:
            self._by_customer = {}
            ordered = self.invoices.sort_values(["due_date", "invoice_id"])
            for invoice_id, currency, customer in zip(
                ordered["invoice_id"], ordered["currency"], ordered["customer_id"], strict=True
            ):
                self._by_customer.setdefault((customer, currency), []).append(invoice_id)
        return self._by_customer

    @property
    def by_amount(self) -> dict[tuple[str, int], list[str]]:
        """Invoice ids per (currency, open amount at the start), oldest due first."""
        if self._by_amount is None:
            self._by_amount = {}
            opening = self._opening
            for (_, currency), ids in self.by_customer.items():
                for invoice_id in ids:
                    self._by_amount.setdefault((currency, opening[invoice_id]), []).append(invoice_id)
            for ids in self._by_amount.values():
                ids.sort(key=lambda i: (self.due[i], i))
        return self._by_amount

    @property
    def _opening(self) -> dict[str, int]:
        return dict(
            zip(
                self.invoices["invoice_id"], self.invoices["open_minor"].astype("int64").tolist(), strict=True
            )
        )

    def open_of(self, customer: str, currency: str) -> list[str]:
        return [i for i in self.by_customer.get((customer, currency), []) if self.open_left[i] > 0]


def _discount_terms(invoices: pd.DataFrame) -> dict[str, tuple[date, int, int]]:
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

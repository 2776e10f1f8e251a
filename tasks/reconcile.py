"""Reconcile: unapplied payments and open invoices in; allocations out.

Pure. A payment whose remittance text names open invoices of its currency is applied to them,
oldest due first, each up to its open amount; what is left stays unapplied on the payment. Invoice
numbers are recognised as bank data really carries them: upper or lower case, with spaces, dashes or
nothing between the parts, with leading zeros dropped, embedded in other text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

RULE_REFERENCE = "reference"
_TOKEN = re.compile(r"[A-Za-z0-9]+")
_SEPARATORS = re.compile(r"[^A-Z0-9]")
_MAX_TOKENS_IN_NUMBER = 4


_RUNS = re.compile(r"[A-Z]+|[0-9]+")


def reference_keys(text: str) -> set[str]:
    """The spellings under which an invoice number is recognised.

    Two keys: the compact form (letters and digits only: `INV2026000123`) and the runs form (letter
    and digit runs, leading zeros dropped, kept apart: `INV-2026-123`). Keeping runs apart is what
    stops `O2C-2026-000012 100.00` from reading as `O2C-2026-012100`.
    """
    upper = text.upper()
    compact = _SEPARATORS.sub("", upper)
    runs = "-".join(run.lstrip("0") or "0" if run.isdigit() else run for run in _RUNS.findall(upper))
    return {compact, runs}


def candidate_keys(remittance: str) -> dict[str, str]:
    """Every run of up to four consecutive words of the remittance text, by its keys.

    Maps each key to the words it came from, which is kept as the evidence of the match.
    """
    tokens = _TOKEN.findall(remittance or "")
    found: dict[str, str] = {}
    for start in range(len(tokens)):
        for width in range(1, _MAX_TOKENS_IN_NUMBER + 1):
            words = tokens[start : start + width]
            if len(words) < width:
                break
            for key in reference_keys("-".join(words)):
                found.setdefault(key, " ".join(words))
    return found


@dataclass
class CashApplication:
    allocations: pd.DataFrame
    unapplied: pd.DataFrame  # payment_id, currency, unapplied_minor after this run
    counts: dict[str, int] = field(default_factory=dict)


def apply_cash(
    payments: pd.DataFrame, open_invoices: pd.DataFrame, *, as_of: date, rule_version: str
) -> CashApplication:
    """Apply each payment to the open invoices its remittance text names.

    payments: payment_id, value_date, currency, unapplied_minor, reference (received by `as_of`).
    open_invoices: invoice_id, currency, due_date, open_minor.
    """
    index: dict[tuple[str, str], str] = {}
    for invoice_id, currency in zip(open_invoices["invoice_id"], open_invoices["currency"], strict=True):
        for key in reference_keys(invoice_id):
            index.setdefault((currency, key), invoice_id)
    open_left = dict(
        zip(open_invoices["invoice_id"], open_invoices["open_minor"].astype("int64"), strict=True)
    )
    due = dict(zip(open_invoices["invoice_id"], open_invoices["due_date"], strict=True))

    rows = []
    unapplied_rows = []
    for payment in payments.itertuples(index=False):
        remaining = int(payment.unapplied_minor)
        matched: dict[str, str] = {}
        reference = payment.reference if isinstance(payment.reference, str) else ""
        for key, words in candidate_keys(reference).items():
            invoice_id = index.get((payment.currency, key))
            if invoice_id and open_left.get(invoice_id, 0) > 0:
                matched.setdefault(invoice_id, words)
        for invoice_id in sorted(matched, key=lambda i: (due[i], i)):
            amount = min(remaining, open_left[invoice_id])
            if amount <= 0:
                continue
            remaining -= amount
            open_left[invoice_id] -= amount
            rows.append(
                {
                    "allocation_id": f"{payment.payment_id}/{invoice_id}",
                    "payment_id": payment.payment_id,
                    "invoice_id": invoice_id,
                    "amount_minor": amount,
                    "currency": payment.currency,
                    "rule": RULE_REFERENCE,
                    "rule_version": rule_version,
                    "score": 1.0,
                    "evidence": json.dumps({"reference": payment.reference, "matched": matched[invoice_id]}),
                    "as_of": as_of,
                    "payment_unapplied_after_minor": remaining,
                    "invoice_open_after_minor": open_left[invoice_id],
                }
            )
        unapplied_rows.append((payment.payment_id, payment.currency, remaining))
    allocations = pd.DataFrame(rows, columns=_ALLOCATION_COLUMNS)
    unapplied = pd.DataFrame(unapplied_rows, columns=["payment_id", "currency", "unapplied_minor"])
    counts = {
        "payments_considered": len(payments),
        "payments_matched": int(allocations["payment_id"].nunique()) if len(allocations) else 0,
        "allocations": len(allocations),
        "payments_left_unapplied": int((unapplied["unapplied_minor"] > 0).sum()) if len(unapplied) else 0,
    }
    return CashApplication(allocations, unapplied, counts)


_ALLOCATION_COLUMNS = [
    "allocation_id",
    "payment_id",
    "invoice_id",
    "amount_minor",
    "currency",
    "rule",
    "rule_version",
    "score",
    "evidence",
    "as_of",
    "payment_unapplied_after_minor",
    "invoice_open_after_minor",
]

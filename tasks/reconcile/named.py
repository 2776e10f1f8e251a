"""The invoices each payment of a batch names, read for the whole batch at once.

A structured reference (the payload of a valid RF creditor reference, then the end-to-end id)
decides when it names any invoice; otherwise the remittance text does. The invoice numbers are
found by `tasks/reconcile/references.py`; this module says which texts of a payment are read, in
which order of trust, and hands the passes each payment's named invoices.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.reconcile.matching import rf_payload
from tasks.reconcile.references import InvoiceKeys, find_named


def named_invoices(payments: pd.DataFrame, keys: InvoiceKeys) -> pd.DataFrame:
    """payment_id, invoice_id, words, rule: the invoices each payment names. A structured reference
    (a valid RF creditor reference, then the end-to-end id) decides when it names any invoice;
    otherwise the remittance text does."""
    columns = ["payment_id", "invoice_id", "words", "rule"]
    if not len(payments):
        return pd.DataFrame(columns=columns)
    ids = payments["payment_id"].to_numpy()
    sources = [
        ("structured_reference", _rf_payloads(text_column(payments, "creditor_reference"))),
        ("structured_reference", text_column(payments, "end_to_end_id")),
        ("invoice_number", text_column(payments, "reference")),
    ]
    texts = pd.DataFrame(
        {
            "text_id": np.concatenate([np.arange(len(ids)) * 3 + k for k in range(3)]),
            "currency": np.concatenate([payments["currency"].to_numpy()] * 3),
            "text": np.concatenate([text.to_numpy() for _, text in sources]),
        }
    )
    texts = texts[texts["text"] != ""].sort_values("text_id")
    found = find_named(texts, keys)
    text_id = found["text_id"].to_numpy().astype(np.int64)
    found["payment_id"] = ids[text_id // 3]
    found["rule"] = np.where(text_id % 3 < 2, "structured_reference", "invoice_number")
    by_structure = found["rule"] == "structured_reference"
    found = found[by_structure | ~found["payment_id"].isin(found.loc[by_structure, "payment_id"])]
    return found.drop_duplicates(["payment_id", "invoice_id"])[columns].reset_index(drop=True)


def text_column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A text column, empty strings where the column or a value is missing."""
    if name not in frame.columns:
        return pd.Series([""] * len(frame), index=frame.index, dtype=object)
    return frame[name].where(frame[name].notna(), "").astype(str)


def _rf_payloads(references: pd.Series) -> pd.Series:
    """The reference inside each valid RF creditor reference; empty where there is none."""
    given = references != ""
    out = pd.Series("", index=references.index, dtype=object)
    out[given] = [rf_payload(t) or "" for t in references[given]]
    return out


def named_by_payment(named: pd.DataFrame) -> dict[str, tuple[str, dict[str, str]]]:
    """Per payment: the rule that named its invoices and, per invoice, the words that named it."""
    out: dict[str, tuple[str, dict[str, str]]] = {}
    for payment_id, invoice_id, words, rule in named.itertuples(index=False):
        out.setdefault(payment_id, (rule, {}))[1][invoice_id] = words
    return out

"""The invoices each payment of a batch names, read for the whole batch at once.

A structured reference (the payload of a valid RF creditor reference, from its own field or
written in the remittance text, then the end-to-end id) decides when it names any invoice;
otherwise the remittance text does. The invoice numbers are
found by `tasks/reconcile/references.py`; this module says which texts of a payment are read, in
which order of trust, and hands the passes each payment's named invoices.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tasks.reconcile.matching import rf_payload
from tasks.reconcile.references import InvoiceKeys, find_named


def named_invoices(
    payments: pd.DataFrame, keys: InvoiceKeys, owners: dict[str, str] | None = None
) -> pd.DataFrame:
    """payment_id, invoice_id, words, rule: the invoices each payment names. A structured reference
    (a valid RF creditor reference, then the end-to-end id) decides when it names any invoice;
    otherwise the remittance text does. With `owners` (invoice -> customer), a list shortened as
    people write it (`INV-2026-000084/85/86`) names the invoices of the first one's customer whose
    numbers end so (`_continued`)."""
    columns = ["payment_id", "invoice_id", "words", "rule"]
    if not len(payments):
        return pd.DataFrame(columns=columns)
    ids = payments["payment_id"].to_numpy()
    remittance = text_column(payments, "reference")
    sources = [
        _rf_payloads(text_column(payments, "creditor_reference")),
        text_column(payments, "end_to_end_id"),
        rf_in_text(remittance),
        remittance,
    ]
    structured = len(sources) - 1  # every source but the remittance text is structured
    texts = pd.DataFrame(
        {
            "text_id": np.concatenate([np.arange(len(ids)) * len(sources) + k for k in range(len(sources))]),
            "currency": np.concatenate([payments["currency"].to_numpy()] * len(sources)),
            "text": np.concatenate([text.to_numpy() for text in sources]),
        }
    )
    texts = texts[texts["text"] != ""].sort_values("text_id")
    found = find_named(texts, keys)
    text_id = found["text_id"].to_numpy().astype(np.int64)
    found["payment_id"] = ids[text_id // len(sources)]
    found["rule"] = np.where(text_id % len(sources) < structured, "structured_reference", "invoice_number")
    if owners:
        found = pd.concat([found, _continued(payments, found, keys, owners)], ignore_index=True)
    by_structure = found["rule"] == "structured_reference"
    found = found[by_structure | ~found["payment_id"].isin(found.loc[by_structure, "payment_id"])]
    return found.drop_duplicates(["payment_id", "invoice_id"])[columns].reset_index(drop=True)


# after a number, more numbers of up to six digits, each after a list separator
_MORE_NUMBERS = r"(?:\s*(?:/|,|;|\+|&|\band\b|\bund\b|\bet\b)\s*[0-9]{1,6}\b)+"
_SHORTENED = "[0-9]" + _MORE_NUMBERS  # the texts worth reading one by one (Arrow's RE2)
_SHORTENED_LIST = re.compile(f"([0-9]+)({_MORE_NUMBERS})", re.IGNORECASE)


def _continued(
    payments: pd.DataFrame, found: pd.DataFrame, keys: InvoiceKeys, owners: dict[str, str]
) -> pd.DataFrame:
    """The invoices a shortened list names: after an invoice number the remittance text gives in
    full, further numbers of up to six digits (`INV-2026-000084/85/86`, `..., 85 und 86`) read as
    the same number with its last part replaced, when that invoice exists, in the payment's
    currency, and belongs to the same customer as the first (so `INV-2026-000084, 2 pcs` names
    nothing more unless that customer really has invoice 2). Only the few texts holding such a
    list are read, one by one."""
    columns = ["payment_id", "invoice_id", "words", "rule"]
    texts = text_column(payments, "reference")
    has_list = pc.match_substring_regex(
        pa.array(texts.to_numpy(), pa.string()), _SHORTENED, ignore_case=True
    ).to_numpy(zero_copy_only=False)
    if not has_list.any() or not len(found):
        return pd.DataFrame(columns=columns)
    listed = found[found["rule"] == "invoice_number"]
    named_by = listed.groupby("payment_id")["invoice_id"].agg(list).to_dict()
    rows = []
    for payment_id, currency, text in zip(
        payments["payment_id"].to_numpy()[has_list],
        payments["currency"].to_numpy()[has_list],
        texts.to_numpy()[has_list],
        strict=True,
    ):
        named = named_by.get(payment_id)
        if not named:
            continue
        for match in _SHORTENED_LIST.finditer(text):
            first = next((i for i in named if _last_number(i)[1] == int(match.group(1))), None)
            if first is None:
                continue
            stem, _, width = _last_number(first)
            for number in re.findall(r"[0-9]{1,6}", match.group(2)):
                candidate = re.sub(r"[^A-Z0-9]", "", f"{stem}{int(number):0{width}d}".upper())
                owner = keys.owner_of(str(currency), candidate)
                if owner and owner != first and owners.get(owner) == owners.get(first):
                    rows.append((payment_id, owner, match.group(0).strip(), "invoice_number"))
    return pd.DataFrame(rows, columns=columns)


def _last_number(invoice_id: str) -> tuple[str, int, int]:
    """(what comes before the last run of digits, its value, its width): `INV-2026-000084` ->
    (`INV-2026-`, 84, 6)."""
    found = re.search(r"([0-9]+)$", invoice_id)
    if not found:
        return invoice_id, -1, 0
    return invoice_id[: found.start()], int(found.group(1)), len(found.group(1))


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


# `RF`, two check digits, then the payload: in one word, or printed in groups of four
_RF_WRITTEN = r"(?i)\bRF ?[0-9]{2}"
_RF_IN_TEXT = re.compile(r"\bRF ?[0-9]{2}[A-Z0-9]*(?: [A-Z0-9]{1,4}\b)*")


def rf_in_text(texts: pd.Series) -> pd.Series:
    """The payload of a valid RF creditor reference written in each remittance text
    (`Rechnung RF70 O2C2 0260 0000 1, danke` -> `O2C2026000001`); empty where there is none. The
    check digits decide: of the groups that follow `RF` and its two digits, the longest run that
    makes a valid reference is taken, so words after it (`danke`) do not spoil it, and a mistyped
    reference names nothing here (the text is still read for invoice numbers). Only the few texts
    that hold `RF` and two digits are read one by one."""
    out = pd.Series("", index=texts.index, dtype=object)
    holds = pc.match_substring_regex(pa.array(texts.to_numpy(), pa.string(), from_pandas=True), _RF_WRITTEN)
    where = pc.fill_null(holds, False).to_numpy(zero_copy_only=False)
    if where.any():
        out[where] = [_rf_written(t) for t in texts[where]]
    return out


def _rf_written(text: str) -> str:
    upper = re.sub(r"[^A-Z0-9]+", " ", text.upper())
    for match in _RF_IN_TEXT.finditer(upper):
        groups = match.group(0).replace("RF ", "RF", 1).split(" ")
        for count in range(len(groups), 0, -1):
            if count > 2 and any(len(g) != 4 for g in groups[1 : count - 1]):
                continue  # printed groups are four characters, the last one may be shorter
            payload = rf_payload("".join(groups[:count]))
            if payload:
                return payload
    return ""


def named_by_payment(named: pd.DataFrame) -> dict[str, tuple[str, dict[str, str]]]:
    """Per payment: the rule that named its invoices and, per invoice, the words that named it."""
    out: dict[str, tuple[str, dict[str, str]]] = {}
    for payment_id, invoice_id, words, rule in named.itertuples(index=False):
        out.setdefault(payment_id, (rule, {}))[1][invoice_id] = words
    return out

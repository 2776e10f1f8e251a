"""The canonical bank statement every reader (MT940/MT942, BAI2, camt) hands to reconciliation.

A statement is one account's report from the bank for one period: who (account, currency), the
balance the bank says it had at the start and at the end, and the booked entries in between.
Money is always an integer count of the currency's minor unit; balances are signed (credit
positive, debit negative) while entry amounts are positive with the direction in `credit_debit`.

`transaction_key` is set by a reader only where the bank reference cannot tell an entry's
transactions apart (the details of a batched camt entry, which share the entry's reference): it is
unique within the statement and the same on every read of the file, and it identifies the payment.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

ENTRY_COLUMNS: tuple[str, ...] = (
    "bank_reference",
    "entry_reference",
    "transaction_key",
    "booking_date",
    "value_date",
    "amount_minor",
    "currency",
    "credit_debit",
    "counterparty_name",
    "counterparty_account",
    "counterparty_bic",
    "creditor_reference",
    "end_to_end_id",
    "remittance_text",
    "bank_transaction_code",
    "status",
)

CREDIT = "CRDT"
DEBIT = "DBIT"
BOOKED = "BOOK"


class StatementRejected(Exception):
    """A bank file we refuse to use; the message is one line, "<file name>: <problem>"."""


def rejection(source: str | Path, problem: str) -> StatementRejected:
    """The refusal of a bank file, worded "<file name>: <problem>" on a single line."""
    name = Path(source).name or str(source)
    return StatementRejected(f"{name}: {' '.join(str(problem).split())}")


@dataclass(frozen=True)
class Statement:
    """One account statement as the bank reported it, with its entries as a table."""

    source: str
    message_type: str
    version: str
    statement_id: str | None
    sequence_number: str | None
    account: str | None
    currency: str | None
    opening_balance_minor: int | None
    closing_balance_minor: int | None
    created_at: str | None
    entries: pd.DataFrame


def entries_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Lay entry rows out as the canonical entries table: exactly `ENTRY_COLUMNS`, integer amounts.

    Missing fields become None; an empty statement still has every column. An amount that is not
    a whole number of minor units (a float, a Decimal, None) is a bug in the reader and refused.
    """
    records = [{column: row.get(column) for column in ENTRY_COLUMNS} for row in rows]
    for record in records:
        amount = record["amount_minor"]
        if isinstance(amount, bool) or not isinstance(amount, numbers.Integral):
            raise TypeError(f"amount_minor must be whole minor units, got {amount!r}")
    frame = pd.DataFrame(
        {column: pd.Series([record[column] for record in records], dtype=object) for column in ENTRY_COLUMNS}
    )
    frame["amount_minor"] = frame["amount_minor"].astype("int64")
    return frame


def field_text(value: object) -> str | None:
    """A statement field as stripped text, None when empty."""
    text = str(value).strip() if value is not None else ""
    return text or None


def field_words(value: object) -> str | None:
    """Free text with its line breaks and padding runs collapsed to single spaces, None when empty."""
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None


def known_currency(path: str | Path, currency: str | None, label: str, when_missing: str) -> str:
    """The currency a statement states; rejected (naming the file) when absent or not ISO 4217."""
    from tasks.platform.money import MoneyError, exponent

    if not currency:
        raise rejection(path, f"{label} states no currency{when_missing}")
    try:
        exponent(currency)
    except MoneyError:
        raise rejection(path, f"{label} is in unknown currency {currency!r}") from None
    return currency

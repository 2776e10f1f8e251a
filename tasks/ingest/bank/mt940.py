"""Read SWIFT MT940 account statements and MT942 interim transaction reports as canonical statements.

The maintained `mt940` library does the reading; this module decides what of it we can trust. Each
`:20:` block of a file is one statement: its account (`:25:`), statement/page number (`:28C:`), the
opening and closing balance the bank states (`:60a:`/`:62a:`) and one entry per `:61:` line, with
the details of its `:86:` line. A file is used whole or refused whole: anything the library cannot
read, a file without any `:20:` statement, a statement with neither entries nor balances, an
MT940 statement without its closing balance (a file cut short), an unknown or missing currency,
or an amount that is not an exact decimal raises `StatementRejected`. Nothing is guessed or
repaired on the way. Bank shapes read as the banks send them: a `:28C:` wrapped over lines, a
`:61:` customer reference longer than 16 characters (ING, SNS), the currency some banks append
to the `:25:` account (split off, and then the statement's currency when no balance states one),
and the counterparty account on the second line of Rabobank's old `:61:`. The library's tag
set-up is `mt940_tags`; the reading of the single fields (account, references, `:86:` details) is
`mt940_fields`; this module assembles statements and entries from them.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import mt940
from mt940.models import Amount, Balance, Transactions
from mt940.tags import Tag

from tasks.ingest.bank.model import (
    BOOKED,
    Statement,
    entries_frame,
    field_text,
    field_words,
    known_currency,
    rejection,
)
from tasks.ingest.bank.mt940_fields import (
    VOLKSBANK,
    account_and_currency,
    bank_code,
    created_at,
    customer_reference,
    details,
    direction,
    iso_date,
    reference,
    sequence,
    supplementary_account,
)
from tasks.ingest.bank.mt940_tags import DIALECTS, OPTIONS, MalformedField, silence_library_logs
from tasks.platform.money import MoneyError, to_minor

_OPENING = ("final_opening_balance", "opening_balance", "intermediate_opening_balance")


_CLOSING = ("final_closing_balance", "closing_balance", "intermediate_closing_balance")


def read_mt940(path: Path, *, dialect: str = "swift") -> list[Statement]:
    """Read every statement (`:20:` block) of an MT940 or MT942 file, in file order.

    `dialect` names the bank's variant of the `:61:` line when it departs from SWIFT ("asnb",
    "gls"); the default reads the standard layout. Raises `StatementRejected` naming the file
    when the file cannot be used as it is.
    """
    blocks = _parse(Path(path), dialect)
    return [_statement(Path(path), block, dialect) for block in blocks]


def _parse(path: Path, dialect: str) -> list[Transactions]:
    """Split the file into its `:20:` blocks, as the library does, and let the library read the
    tags of each; a block it cannot read is refused naming the statement."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown MT940 dialect {dialect!r}; known: {', '.join(DIALECTS)}")
    silence_library_logs()
    if not path.is_file():
        raise rejection(path, "file not found")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise rejection(path, f"cannot be read ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp852")  # the library's own fallback: every byte is a character
    texts = [
        part
        for part in re.split(r"(?m)^(?=:20:)", text.removeprefix("\ufeff"))
        if part.strip().startswith(":20:")
    ]
    if not texts:
        raise rejection(path, "no statement in it (no :20: transaction reference)")
    blocks = []
    for number, part in enumerate(texts, start=1):
        reference = part.strip()[4:].split("\n", 1)[0].strip()
        where = f"statement {number} (:20:{reference})"
        try:
            [block] = mt940.parse_statements(part, tags=dict(DIALECTS[dialect]), options=OPTIONS)
        except MalformedField as problem:
            raise rejection(path, f"{where}: {problem}") from None
        except Exception as exc:  # any complaint of the library means the file is unreadable as MT940
            raise rejection(path, f"{where}: the mt940 library cannot read it: {_complaint(exc)}") from None
        blocks.append(block)
    return blocks


def _statement(path: Path, block: Transactions, dialect: str) -> Statement:
    """One `:20:` block as a canonical statement, refused when it is empty or its money is unclear."""
    data = block.data
    label = f"statement {data.get('transaction_reference') or '?'} {sequence(data) or ''}".rstrip()
    opening_balance = _first(data, _OPENING)
    closing_balance = _first(data, _CLOSING)
    if not len(block) and opening_balance is None and closing_balance is None:
        raise rejection(path, f"{label} has no transactions and no balances")
    account, account_currency = account_and_currency(data.get("account_identification"))
    if account_currency and block.currency and account_currency != block.currency:
        raise rejection(
            path,
            f"{label}: account {account} is in {account_currency} (:25:), its balances in {block.currency}",
        )
    currency = _currency(path, block.currency or account_currency, label)
    kind = _message_type(data)
    opening = _balance(path, opening_balance, currency, f"{label} opening balance")
    closing = _balance(path, closing_balance, currency, f"{label} closing balance")
    if kind == "MT940" and closing_balance is None:
        raise rejection(
            path,
            f"{label} has no closing balance (:62F: or :62M:): the statement is incomplete, the file"
            " may be cut short",
        )
    bank = bank_code(account)
    return Statement(
        source=str(path),
        message_type=kind,
        version=kind,
        statement_id=field_text(data.get("transaction_reference")),
        sequence_number=sequence(data),
        account=account,
        currency=currency,
        opening_balance_minor=opening,
        closing_balance_minor=closing,
        created_at=created_at(data),
        entries=entries_frame(
            _entry(path, transaction.data, currency, f"{label} entry {number}", dialect, bank)
            for number, transaction in enumerate(block, start=1)
        ),
    )


def _message_type(data: dict[str, Any]) -> str:
    """MT942 when the block reports a floor limit (`:34F:`) and no balances, MT940 otherwise."""
    has_balance = any(key in data for key in (*_OPENING, *_CLOSING))
    has_floor_limit = "c_floor_limit" in data or "d_floor_limit" in data
    return "MT942" if has_floor_limit and not has_balance else "MT940"


def _currency(path: Path, currency: str | None, label: str) -> str:
    return known_currency(path, currency, label, " (no balance or floor limit)")


def _balance(path: Path, balance: Balance | None, currency: str, label: str) -> int | None:
    """A stated balance in minor units, credit positive and debit negative."""
    if balance is None:
        return None
    amount = balance.amount
    if not isinstance(amount, Amount):
        raise rejection(path, f"{label} has no readable amount")
    if amount.currency != currency:
        raise rejection(path, f"{label} is in {amount.currency!r}, the statement in {currency!r}")
    return _minor(path, amount.amount, currency, label)


def _entry(
    path: Path, data: dict[str, Any], currency: str, label: str, dialect: str, bank: str | None = None
) -> dict[str, Any]:
    """One `:61:` line and its `:86:` details as a canonical entry row.

    ASN Bank writes the counterparty IBAN where the customer reference belongs and the
    counterparty name as supplementary details; the "asnb" dialect files them as such, and so does
    the standard one for an account of the Volksbank banks (ASN, SNS, RegioBank), which all write
    it so. Rabobank's old layout writes the counterparty's account on the second line of the `:61:`
    (its supplementary details): that is the counterparty account when the `:86:` names none.
    """
    volksbank = bank in VOLKSBANK
    amount = data.get("amount")
    if not isinstance(amount, Amount):
        raise rejection(path, f"{label} has no readable amount")
    entry_currency = data.get("currency") or currency
    amount_minor = _minor(path, abs(amount.amount), entry_currency, label)
    if amount_minor == 0:
        raise rejection(path, f"{label} has a zero amount (an information line, not a booking)")
    row = {
        "bank_reference": reference(data.get("bank_reference")),
        "entry_reference": customer_reference(data.get("customer_reference")),
        "booking_date": iso_date(data.get("entry_date")),
        "value_date": iso_date(data.get("date")),
        "amount_minor": amount_minor,
        "currency": entry_currency,
        "credit_debit": direction(path, data.get("status"), label),
        "bank_transaction_code": field_text(data.get("id")),
        "status": BOOKED,
        **details(data),
    }
    if dialect == "asnb" or (dialect == "swift" and volksbank):
        row["counterparty_account"] = row.pop("entry_reference")
        row["entry_reference"] = None
        row["counterparty_name"] = row["counterparty_name"] or field_words(data.get("extra_details"))
    elif row["counterparty_account"] is None:
        row["counterparty_account"] = supplementary_account(data.get("extra_details"), bank == "RABO")
    return row


def _minor(path: Path, amount: object, currency: str, label: str) -> int:
    """An exact decimal amount as minor units of `currency`; floats and surplus decimals are refused."""
    if not isinstance(amount, Decimal):
        raise rejection(path, f"{label} amount {amount!r} is not an exact decimal")
    try:
        return to_minor(amount, currency)
    except MoneyError as exc:
        raise rejection(path, f"{label}: {exc}") from None


def _first(data: dict[str, Any], keys: tuple[str, ...]) -> Any:
    """The first of the keys that the block carries (final balance before intermediate)."""
    return next((data[key] for key in keys if data.get(key) is not None), None)


def _complaint(exc: Exception) -> str:
    """The library's complaint on one short line, without memory addresses or class names: a tag
    it cannot match is named as the file writes it (`:61:`) with the start of its value."""
    if isinstance(exc, RuntimeError) and len(exc.args) == 3 and isinstance(exc.args[1], Tag):
        value = " ".join(str(exc.args[2]).split())
        return f"its :{exc.args[1].id}: field {value[:80]!r} does not have that field's layout"
    first = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    text = re.sub(r" object at 0x[0-9a-fA-F]+", "", " ".join(first.split()))
    return f"{type(exc).__name__}: {text[:200]}"

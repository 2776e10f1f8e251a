"""Read SWIFT MT940 account statements and MT942 interim transaction reports as canonical statements.

The maintained `mt940` library does the reading; this module decides what of it we can trust. Each
`:20:` block of a file is one statement: its account (`:25:`), statement/page number (`:28C:`), the
opening and closing balance the bank states (`:60a:`/`:62a:`) and one entry per `:61:` line, with
the details of its `:86:` line. A file is used whole or refused whole: anything the library cannot
read, a file without any `:20:` statement, a statement with neither entries nor balances, an
unknown or missing currency, or an amount that is not an exact decimal raises `StatementRejected`.
Nothing is guessed or repaired on the way.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import mt940
from mt940.models import Amount, Balance, Transactions
from mt940.tags import StatementASNB, StatementGLS, Tag

from tasks.bank.model import (
    BOOKED,
    CREDIT,
    DEBIT,
    Statement,
    entries_frame,
    field_text,
    field_words,
    known_currency,
    rejection,
)
from tasks.money import MoneyError, to_minor

# Every opt-in fix of the library: reversals signed like the money movement they are (RC is money
# out), the `?31` counterparty account kept apart from the name, `:86:` details never truncated, a
# byte-order mark dropped, and a missing KREF never wiping the `:61:` customer reference.
_OPTIONS = mt940.Options.all()

#: Bank dialects of the `:61:` statement line the library knows; the caller says which bank it is.
DIALECTS: dict[str, dict[int | str, Tag]] = {
    "swift": {},
    "asnb": {61: StatementASNB()},  # ASN Bank: IBAN in the customer reference, name on the next line
    "gls": {61: StatementGLS()},  # GLS Bank: customer references longer than 16 characters
}

_OPENING = ("final_opening_balance", "opening_balance", "intermediate_opening_balance")
_CLOSING = ("final_closing_balance", "closing_balance", "intermediate_closing_balance")
_NO_REFERENCE = {"NONREF", "NOTPROVIDED"}  # SWIFT/SEPA words for "there is no reference"

# Codes of the SWIFT-style structured `:86:` (Rabobank, ING, ABN AMRO, ...): /CODE/value/CODE/value.
_SLASH_CODES = "EREF|MARF|CSID|NAME|IBAN|BIC|REMI|ROC|ORDP|BENM|ISDT|ADDR|TRTP|PREF|RTRN|ULTB|ULTC|ULTD|PURP|CNTP|IREF|SVCL"
_SLASH_RE = re.compile(rf"/({_SLASH_CODES})/")


def read_mt940(path: Path, *, dialect: str = "swift") -> list[Statement]:
    """Read every statement (`:20:` block) of an MT940 or MT942 file, in file order.

    `dialect` names the bank's variant of the `:61:` line when it departs from SWIFT ("asnb",
    "gls"); the default reads the standard layout. Raises `StatementRejected` naming the file
    when the file cannot be used as it is.
    """
    blocks = _parse(Path(path), dialect)
    return [_statement(Path(path), block, dialect) for block in blocks]


def _parse(path: Path, dialect: str) -> list[Transactions]:
    """Let the library split the file into `:20:` blocks and read their tags."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown MT940 dialect {dialect!r}; known: {', '.join(DIALECTS)}")
    if not path.is_file():
        raise rejection(path, "file not found")
    try:
        blocks = mt940.parse_statements(path, tags=dict(DIALECTS[dialect]) or None, options=_OPTIONS)
    except Exception as exc:  # any complaint of the library means the file is unreadable as MT940
        raise rejection(path, f"the mt940 library cannot read it: {_complaint(exc)}") from None
    if not blocks:
        raise rejection(path, "no statement in it (no :20: transaction reference)")
    return blocks


def _statement(path: Path, block: Transactions, dialect: str) -> Statement:
    """One `:20:` block as a canonical statement, refused when it is empty or its money is unclear."""
    data = block.data
    label = f"statement {data.get('transaction_reference') or '?'} {_sequence(data) or ''}".rstrip()
    opening_balance = _first(data, _OPENING)
    closing_balance = _first(data, _CLOSING)
    if not len(block) and opening_balance is None and closing_balance is None:
        raise rejection(path, f"{label} has no transactions and no balances")
    currency = _currency(path, block.currency, label)
    kind = _message_type(data)
    return Statement(
        source=str(path),
        message_type=kind,
        version=kind,
        statement_id=field_text(data.get("transaction_reference")),
        sequence_number=_sequence(data),
        account=field_text(data.get("account_identification")),
        currency=currency,
        opening_balance_minor=_balance(path, opening_balance, currency, f"{label} opening balance"),
        closing_balance_minor=_balance(path, closing_balance, currency, f"{label} closing balance"),
        created_at=_created_at(data),
        entries=entries_frame(
            _entry(path, transaction.data, currency, f"{label} entry {number}", dialect)
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


def _entry(path: Path, data: dict[str, Any], currency: str, label: str, dialect: str) -> dict[str, Any]:
    """One `:61:` line and its `:86:` details as a canonical entry row.

    ASN Bank writes the counterparty IBAN where the customer reference belongs and the
    counterparty name as supplementary details; the "asnb" dialect files them as such.
    """
    amount = data.get("amount")
    if not isinstance(amount, Amount):
        raise rejection(path, f"{label} has no readable amount")
    entry_currency = data.get("currency") or currency
    amount_minor = _minor(path, abs(amount.amount), entry_currency, label)
    if amount_minor == 0:
        raise rejection(path, f"{label} has a zero amount (an information line, not a booking)")
    row = {
        "bank_reference": _reference(data.get("bank_reference")),
        "entry_reference": _customer_reference(data.get("customer_reference")),
        "booking_date": _iso(data.get("entry_date")),
        "value_date": _iso(data.get("date")),
        "amount_minor": amount_minor,
        "currency": entry_currency,
        "credit_debit": _direction(path, data.get("status"), label),
        "bank_transaction_code": field_text(data.get("id")),
        "status": BOOKED,
        **_details(data),
    }
    if dialect == "asnb":
        row["counterparty_account"] = row.pop("entry_reference")
        row["entry_reference"] = None
        row["counterparty_name"] = row["counterparty_name"] or field_words(data.get("extra_details"))
    return row


def _direction(path: Path, mark: object, label: str) -> str:
    """Credit or debit from the `:61:` mark; a reversal of a debit (RD) is money coming back in."""
    upper = mark.upper() if isinstance(mark, str) else ""
    if upper in ("C", "RD"):
        return CREDIT
    if upper in ("D", "RC"):
        return DEBIT
    raise rejection(path, f"{label} has no credit/debit mark")


def _details(data: dict[str, Any]) -> dict[str, str | None]:
    """Counterparty, references and remittance text from the `:86:` details.

    The library reads the German `?nn` sub-fields and SEPA keywords (EREF+, SVWZ+, KREF+, ...);
    the SWIFT `/CODE/` layout is read here; otherwise the raw text is the remittance information.
    """
    raw = field_text(data.get("transaction_details"))
    slash = _slash_fields(raw)
    purpose = " ".join(
        part
        for part in (field_words(data.get("purpose")), field_words(data.get("additional_purpose")))
        if part
    )
    return {
        "counterparty_name": field_words(data.get("applicant_name")) or slash.get("NAME"),
        "counterparty_account": field_text(data.get("applicant_iban") or data.get("gvc_applicant_iban"))
        or slash.get("IBAN"),
        "counterparty_bic": field_text(data.get("applicant_bin") or data.get("gvc_applicant_bin"))
        or slash.get("BIC"),
        "creditor_reference": slash.get("CREDITOR_REFERENCE"),
        "end_to_end_id": _reference(data.get("end_to_end_reference"))
        or _reference(slash.get("EREF"))
        or _reference(slash.get("ROC")),
        "remittance_text": purpose or slash.get("REMI") or (None if slash else field_words(raw)),
    }


def _slash_fields(raw: str | None) -> dict[str, str]:
    """The `/CODE/value` fields of a SWIFT-structured `:86:`, or nothing when it is not laid out so.

    Lines are wrapped at 65 characters mid-word, so they are joined without a separator. The
    counterparty block `/CNTP/account/BIC/name/city/` and `/REMI/USTD//text` or
    `/REMI/STRD/CUR/reference` are unpacked into account, BIC, name, text and creditor reference.
    """
    if not raw:
        return {}
    flat = "".join(raw.splitlines())
    parts = _SLASH_RE.split(flat)
    if len(parts) < 3 or parts[0].strip():
        return {}
    fields: dict[str, str] = {}
    for code, value in zip(parts[1::2], parts[2::2], strict=True):
        if value.strip("/ "):
            fields.setdefault(code, value.strip("/ "))
    cntp = fields.pop("CNTP", "").split("/")
    for code, value in zip(("IBAN", "BIC", "NAME"), cntp, strict=False):
        if value.strip():
            fields.setdefault(code, value.strip())
    remi = fields.get("REMI", "")
    if remi.startswith("USTD"):
        fields["REMI"] = remi.removeprefix("USTD").strip("/ ")
    elif remi.startswith("STRD/"):
        fields["CREDITOR_REFERENCE"] = remi.split("/")[-1].strip()
        del fields["REMI"]
    return {code: " ".join(value.split()) for code, value in fields.items() if value.strip()}


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


def _sequence(data: dict[str, Any]) -> str | None:
    """The `:28C:` statement number and page as written, e.g. "00084/001"."""
    number, page = field_text(data.get("statement_number")), field_text(data.get("sequence_number"))
    return f"{number}/{page}" if number and page else number


def _created_at(data: dict[str, Any]) -> str | None:
    """When the bank produced the report (`:13D:`), as ISO 8601 with its UTC offset."""
    stamp = data.get("date")
    return stamp.isoformat() if stamp is not None and hasattr(stamp, "isoformat") else None


def _iso(day: object) -> str | None:
    """A date as ISO text, or None when absent."""
    return day.isoformat() if day is not None and hasattr(day, "isoformat") else None


def _reference(value: object) -> str | None:
    """A reference, None when the bank says there is none (NONREF, NOTPROVIDED)."""
    text = field_text(value)
    return None if text is None or text.upper() in _NO_REFERENCE else text


def _customer_reference(value: object) -> str | None:
    """The `:61:` customer reference, or the `:86:` KREF+ when the `:61:` one says NONREF.

    The library appends a KREF+ to the `:61:` reference on a new line; the first line is the
    `:61:` reference (that field cannot hold a line break).
    """
    if not isinstance(value, str):
        return None
    statement_line, _, kref = value.partition("\n")
    return _reference(statement_line) or _reference(field_words(kref))


def _complaint(exc: Exception) -> str:
    """The library's complaint on one short line, without memory addresses."""
    first = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    text = re.sub(r" object at 0x[0-9a-fA-F]+", "", " ".join(first.split()))
    return f"{type(exc).__name__}: {text[:200]}"

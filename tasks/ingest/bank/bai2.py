"""Read BAI2 cash management balance reports as canonical statements.

The maintained `bai2` library reads the file and checks its control totals and record counts; this
module turns each account (03 record) of each group (02 record) into one statement. The ledger
balances the bank states (type codes 010 opening, 015 closing) become the opening and closing
balance, and every transaction detail (16 record, with its 88 continuations) one entry. BAI2
amounts carry no decimal point: they count the currency's minor unit, so 1234 in USD is 12.34.

A file is used whole or refused whole with `StatementRejected`: a file cut short (a group,
account or the file itself without its trailer, a record cut mid-way), records out of order,
anything the library cannot read or whose totals do not add up, an account with neither entries
nor balances, a currency that neither the account nor its group states or that we do not know,
and a detail whose amount is missing or whose type code is neither a credit nor a debit. A
refusal names the line and the record where it can. Nothing is guessed or repaired.

The structure (01 (02 (03 16* 49)+ 98)+ 99, with 88 continuing any record) is checked before the
library reads the file: the library neither reports a missing trailer nor stops at the end of a
file cut after a transaction detail (it reads that last record again, for ever).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

from bai2.constants import FundsType, TypeCodeTransaction
from bai2.exceptions import IntegrityException
from bai2.helpers import IteratorHelper
from bai2.parsers import Bai2FileParser

from tasks.ingest.bank.model import (
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
from tasks.platform.money import MoneyError, exponent, to_minor

_OPENING_LEDGER = "010"
_CLOSING_LEDGER = "015"
_GROUP_CURRENCY_FIELD = 5  # 02 record: receiver, originator, status, as-of date, as-of time, currency


def read_bai2(path: Path) -> list[Statement]:
    """Read every account report of a BAI2 file, group by group, in file order.

    Raises `StatementRejected` naming the file when the file cannot be used as it is.
    """
    path = Path(path)
    report = _parse(path)
    created_at = _moment(report.header.creation_date, report.header.creation_time)
    statements = []
    for group_number, group in enumerate(report.children, start=1):
        for account_number, account in enumerate(group.children, start=1):
            position = f"{group_number}/{account_number}"
            statements.append(_statement(path, report.header.file_id, position, group, account, created_at))
    return statements


_RECORD_NAMES = {
    "01": "file header",
    "02": "group header",
    "03": "account identifier",
    "16": "transaction detail",
    "49": "account trailer",
    "88": "continuation",
    "98": "group trailer",
    "99": "file trailer",
}


class _PastTheEnd(Exception):
    """The library asked for a record after the last one (it would otherwise loop on the last)."""


class _Records(IteratorHelper):
    """The library's record iterator, counting the records it hands out so that a failure can be
    placed on its line, and refusing to be advanced again once the records have run out."""

    def __init__(self, lines: list[str]) -> None:
        self.position = -1
        self.exhausted = False
        super().__init__(lines)

    def advance(self) -> None:
        if self.exhausted:
            raise _PastTheEnd
        try:
            super().advance()
        except StopIteration:
            self.exhausted = True
            raise
        self.position += 1


def _parse(path: Path) -> Any:
    """Check the file's structure, then let the library read it, with its record counts and totals."""
    if not path.is_file():
        raise rejection(path, "file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise rejection(path, "not UTF-8/ASCII text") from None
    numbered = [(number, line.strip()) for number, line in enumerate(text.splitlines(), start=1)]
    numbered = [(number, line) for number, line in numbered if line]
    records = _structure(path, numbered)
    records_seen = _Records([line for _number, line in numbered])
    try:
        return Bai2FileParser(records_seen, check_integrity=True).parse()
    except Exception as exc:  # any complaint of the library means the file is unreadable as BAI2
        message = " ".join(str(exc).split())[:200]
        if isinstance(exc, IntegrityException):  # found when a section closes: no one line to name
            raise rejection(
                path, f"the bai2 library cannot read it: {type(exc).__name__}: {message}"
            ) from None
        line, code = records[min(max(records_seen.position, 0), len(records) - 1)]
        where = f"line {line} ({_RECORD_NAMES[code]}, {code})"
        if isinstance(exc, IndexError | _PastTheEnd):
            raise rejection(
                path, f"{where} is cut short: it lacks fields its record type must have"
            ) from None
        raise rejection(
            path, f"the bai2 library cannot read {where}: {type(exc).__name__}: {message}"
        ) from None


def _structure(path: Path, numbered: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The records of the file as (line of their first row, record code), once its layout is known
    to be whole: a file header first, every group and account closed by its trailer, the file
    trailer last. Refused, naming the line, when a record is unknown, out of place or missing."""
    if not numbered:
        raise rejection(path, "empty: no BAI2 records in it")
    records: list[tuple[int, str]] = []
    layout = _Layout(path)
    for line, text in numbered:
        code = text[:2]
        if code not in _RECORD_NAMES:  # the library reads the fields from the 4th character on
            raise rejection(path, f"line {line}: {text[:2]!r} is not a BAI2 record code")
        name = f"line {line}: {_RECORD_NAMES[code]} ({code})"
        if code == "88":
            if not records:
                raise rejection(path, f"{name} continues no record")
            continue
        records.append((line, code))
        layout.take(code, line, name)
    last = numbered[-1][0]
    if layout.account is not None:
        missing = f"the account of line {layout.account} has no account trailer (49)"
    elif layout.group is not None:
        missing = f"the group of line {layout.group} has no group trailer (98)"
    elif layout.stage != "end":
        missing = "there is no file trailer (99)"
    else:
        return records
    raise rejection(path, f"cut short: {missing}; the file ends at line {last}")


class _Layout:
    """Where the records read so far leave the file: the open group and account, and whether the
    file header and trailer have come. `take` refuses a record that is out of place."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.group: int | None = None  # line of the open group header
        self.account: int | None = None  # line of the open account identifier
        self.stage = "start"  # start -> file (after 01) -> end (after 99)

    def take(self, code: str, line: int, name: str) -> None:
        if self.stage == "end":
            self._refuse(f"{name} after the file trailer (99)")
        if self.stage == "start" and code != "01":
            self._refuse(f"{name} where the file header (01) must come first")
        if code == "01":
            if self.stage != "start":
                self._refuse(f"{name}: a second file header")
            self.stage = "file"
        elif code == "02":
            if self.group is not None:
                self._refuse(f"{name}: the group of line {self.group} has no group trailer (98) before it")
            self.group = line
        elif code == "03":
            if self.group is None:
                self._refuse(f"{name} outside a group (no group header, 02, before it)")
            if self.account is not None:
                self._refuse(
                    f"{name}: the account of line {self.account} has no account trailer (49) before it"
                )
            self.account = line
        elif code in ("16", "49"):
            if self.account is None:
                self._refuse(f"{name} outside an account (no account identifier, 03, before it)")
            if code == "49":
                self.account = None
        else:
            self._close(code, name)

    def _close(self, code: str, name: str) -> None:
        """A group trailer (98) or the file trailer (99)."""
        if code == "98":
            if self.account is not None:
                self._refuse(f"{name}: the account of line {self.account} has no account trailer (49)")
            if self.group is None:
                self._refuse(f"{name} closes no group (no group header, 02, before it)")
            self.group = None
        elif code == "99":
            if self.group is not None:
                self._refuse(f"{name}: the group of line {self.group} has no group trailer (98)")
            self.stage = "end"

    def _refuse(self, problem: str) -> NoReturn:
        raise rejection(self.path, problem)


def _statement(
    path: Path, file_id: str | None, position: str, group: Any, account: Any, created_at: str | None
) -> Statement:
    """One account of one group as a canonical statement."""
    header = account.header
    label = f"account {header.customer_account_number or '?'} (group/account {position})"
    # A summary field may leave its type code (no summary) or its amount (not reported) empty.
    balances = {
        item.type_code.code: item.amount
        for item in header.summary_items
        if item.type_code is not None and item.amount is not None
    }
    has_balance = _OPENING_LEDGER in balances or _CLOSING_LEDGER in balances
    if not account.children and not has_balance:
        raise rejection(path, f"{label} has no transactions and no balances")
    currency = _currency(path, header.currency or _group_currency(group), label)
    as_of = group.header.as_of_date.isoformat() if group.header.as_of_date else None
    return Statement(
        source=str(path),
        message_type="BAI2",
        version="BAI2",
        statement_id=file_id or None,
        sequence_number=position,
        account=header.customer_account_number or None,
        currency=currency,
        opening_balance_minor=_balance(path, balances, _OPENING_LEDGER, currency, label),
        closing_balance_minor=_balance(path, balances, _CLOSING_LEDGER, currency, label),
        created_at=created_at,
        entries=entries_frame(
            _entry(path, detail, currency, as_of, f"{label} detail {number}")
            for number, detail in enumerate(account.children, start=1)
        ),
    )


def _group_currency(group: Any) -> str | None:
    """The currency the 02 record states, as written.

    The library fills in USD when the field is blank; a default is not a statement, so the raw
    record is read instead.
    """
    text = "".join(row[1] for row in group.header.rows).strip().removesuffix("/")
    fields = text.split(",")
    value = fields[_GROUP_CURRENCY_FIELD].strip() if len(fields) > _GROUP_CURRENCY_FIELD else ""
    return value or None


def _currency(path: Path, currency: str | None, label: str) -> str:
    return known_currency(path, currency, label, ", nor does its group")


def _balance(path: Path, balances: dict[str, Any], code: str, currency: str, label: str) -> int | None:
    """A ledger balance (010 opening, 015 closing) in minor units; BAI2 writes a debit balance with '-'."""
    if code not in balances:
        return None
    return _minor(path, balances[code], currency, f"{label} balance {code}")


def _entry(path: Path, detail: Any, currency: str, as_of: str | None, label: str) -> dict[str, Any]:
    """One transaction detail (16 record and its 88 continuations) as a canonical entry row."""
    amount_minor = _minor(path, detail.amount, currency, label)
    if amount_minor <= 0:
        raise rejection(path, f"{label} amount {amount_minor} is not a positive amount")
    return {
        "bank_reference": field_text(detail.bank_reference),
        "entry_reference": field_text(detail.customer_reference),
        "booking_date": as_of,
        "value_date": _value_date(detail),
        "amount_minor": amount_minor,
        "currency": currency,
        "credit_debit": _direction(path, detail.type_code, label),
        "counterparty_name": None,
        "counterparty_account": None,
        "counterparty_bic": None,
        "creditor_reference": None,
        "end_to_end_id": None,
        "remittance_text": field_words(detail.text),
        "bank_transaction_code": detail.type_code.code,
        "status": BOOKED,
    }


def _direction(path: Path, type_code: Any, label: str) -> str:
    """Credit or debit from the BAI2 type code: 100-399 credits, 400-699 debits (BAI code list).

    The library's code list also classifies the loan codes (7xx); a code it does not mark as a
    credit or a debit (890 non-monetary information, status codes) cannot be an entry.
    """
    if type_code.transaction is TypeCodeTransaction.credit:
        return CREDIT
    if type_code.transaction is TypeCodeTransaction.debit:
        return DEBIT
    raise rejection(
        path, f"{label} type code {type_code.code} ({type_code.description}) is not a credit or a debit"
    )


def _minor(path: Path, amount: object, currency: str, label: str) -> int:
    """A BAI2 amount (a whole count of minor units, no decimal point) checked against the currency.

    The amount is read as a decimal with the currency's number of implied decimals and converted
    back, so a float or a missing amount is refused rather than rounded.
    """
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise rejection(path, f"{label} amount {amount!r} is missing or not a whole number")
    major = Decimal(amount).scaleb(-exponent(currency))
    try:
        return to_minor(major, currency)
    except MoneyError as exc:
        raise rejection(path, f"{label}: {exc}") from None


def _value_date(detail: Any) -> str | None:
    """The value date a value-dated detail (funds type V) states, else None."""
    if detail.funds_type is not FundsType.value_dated or not detail.availability:
        return None
    day = detail.availability.get("date")
    return day.isoformat() if day else None


def _moment(day: dt.date | None, time: dt.time | None) -> str | None:
    """The file creation date and time (01 record) as ISO text, without a zone (BAI2 has none)."""
    if day is None:
        return None
    return dt.datetime.combine(day, time).isoformat() if time is not None else day.isoformat()

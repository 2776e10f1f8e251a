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
and the counterparty account on the second line of Rabobank's old `:61:`.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import mt940
from mt940.models import Amount, Balance, Transactions
from mt940.tags import (
    AvailableBalance,
    BalanceBase,
    ClosingBalance,
    FinalClosingBalance,
    FinalOpeningBalance,
    ForwardAvailableBalance,
    IntermediateClosingBalance,
    IntermediateOpeningBalance,
    OpeningBalance,
    StatementASNB,
    StatementGLS,
    StatementNumber,
    Tag,
)
from mt940.tags import Statement as StatementLine

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
from tasks.platform.money import MoneyError, is_currency, to_minor

# The library logs every tag it cannot match at ERROR level, as several lines with its regular
# expression (through `logging` only; it never prints). That reaches the terminal through Python's
# last-resort handler or Prefect's console handler, while the refusal below already says it in one
# line naming the file, so its loggers ("mt940" and the per-tag "mt940.tags.<Tag>") are silenced.
logging.getLogger("mt940").setLevel(logging.CRITICAL)

# Every opt-in fix of the library: reversals signed like the money movement they are (RC is money
# out), the `?31` counterparty account kept apart from the name, `:86:` details never truncated, a
# byte-order mark dropped, and a missing KREF never wiping the `:61:` customer reference.
_OPTIONS = mt940.Options.all()

# The library finds a tag's processors and result keys by the CamelCase words of its class name
# ("StatementNumber" -> statement_number), so these subclasses add only capitals, as its own
# StatementASNB does: they parse differently and are processed exactly like the tag they replace.


class StatementNumberWRAPPED(StatementNumber):
    """`:28C:` statement number and page, also when the bank wraps the value over lines (ING)."""

    def parse(self, transactions: Transactions, value: str) -> dict[str, str | None]:
        return super().parse(transactions, re.sub(r"\s+", "", value))


class StatementLONGREF(StatementLine):
    """The `:61:` statement line with a customer reference longer than SWIFT's 16 characters.

    ING and SNS write references (an end-to-end id, the counterparty's IBAN) of up to 34 characters
    where SWIFT allows 16. A reference whose 16th character is not a space goes on to the next space
    or `//`; one that is padded to 16 characters with spaces ends there, so Rabobank's old layout
    (a padded reference followed by the counterparty's name on the same line) reads as before.
    """

    pattern: ClassVar[str] = StatementLine.pattern.replace(
        r"(?P<customer_reference>((?!//)[^\n]){0,16})",
        r"(?P<customer_reference>((?!//)[^\n]){0,16}((?<=\S)((?!//)\S)+)?)",
    )


if StatementLONGREF.pattern == StatementLine.pattern:  # pragma: no cover - a library upgrade
    raise ImportError("mt940: the :61: pattern changed; StatementLONGREF no longer applies")


class MalformedField(Exception):
    """A tag whose value the library would read only in part (it ignores what its pattern leaves)."""


# A balance: D/C mark, YYMMDD date, ISO currency and an amount with a decimal comma, nothing after.
_BALANCE_TEXT = re.compile(r"[DC]\d{6}[A-Z]{3}(?P<amount>\d+(?:,\d*)?)\s*")


def _whole_balance(tag: type[BalanceBase]) -> BalanceBase:
    """The library's balance tag (`:60F:`, `:62F:`, ...), refusing a value it would read in part.

    Its pattern reads up to 16 amount characters and ignores the rest of the line, so
    `C261102EUR1.130,00` (a thousands separator) would be a balance of 1.00 and `C261102105000,00`
    (no currency) one in currency "105". Only the first line is the balance (the last tag of a
    message carries its envelope on the next lines); zeros padding an amount beyond 16 characters
    change nothing and are let be.
    """

    class Whole(tag):  # type: ignore[misc,valid-type]  # one subclass per balance tag
        def parse(self, transactions: Transactions, value: str) -> dict[str, str | None]:
            data = super().parse(transactions, value)
            line = value.split("\n", 1)[0]  # later lines: the message's envelope (`-}{5:}`, headers)
            found = _BALANCE_TEXT.fullmatch(line)
            if found is None or _number(found["amount"]) != _number(data.get("amount")):
                raise MalformedField(
                    f":{self.id}: balance {line!r} is not a D/C mark, a YYMMDD date, a currency and"
                    " an amount (digits and a decimal comma)"
                )
            return data

    Whole.__name__ = Whole.__qualname__ = f"{tag.__name__}WHOLE"  # the slug comes from the name
    return Whole()


def _number(text: str | None) -> Decimal | None:
    """An MT940 amount ("1000,50", zero-padded or not) as a number, None when it is not one."""
    try:
        return Decimal((text or "").replace(",", ".", 1))
    except ArithmeticError:
        return None


class StatementWHOLE(StatementLONGREF):
    """The `:61:` line with its transaction type (a capital and three more, `NTRF`, `N541`, `S   `)
    required, as SWIFT has it: the library leaves it optional and so reads `C1.5,00NTRF` as an
    amount of 1 followed by the reference `.5,00NTRF` (and `C1e3NTRF` as 1 with the type `e3NT`)."""

    pattern: ClassVar[str] = StatementLONGREF.pattern.replace(
        r"(?P<id>[A-Z][A-Z0-9 ]{3})?", r"(?P<id>(?-i:[A-Z])[A-Z0-9 ]{3})"
    )


if StatementWHOLE.pattern == StatementLONGREF.pattern:  # pragma: no cover - a library upgrade
    raise ImportError("mt940: the :61: pattern changed; StatementWHOLE no longer applies")

_STATEMENT_NUMBER = StatementNumberWRAPPED()
_BALANCES: dict[int | str, Tag] = {
    tag.id: _whole_balance(tag)
    for tag in (
        OpeningBalance,
        FinalOpeningBalance,
        IntermediateOpeningBalance,
        ClosingBalance,
        FinalClosingBalance,
        IntermediateClosingBalance,
        AvailableBalance,
        ForwardAvailableBalance,
    )
}

#: Bank dialects of the `:61:` statement line the library knows; the caller says which bank it is.
DIALECTS: dict[str, dict[int | str, Tag]] = {
    "swift": {**_BALANCES, 28: _STATEMENT_NUMBER, 61: StatementWHOLE()},
    "asnb": {**_BALANCES, 28: _STATEMENT_NUMBER, 61: StatementASNB()},  # ASN: IBAN as reference
    "gls": {**_BALANCES, 28: _STATEMENT_NUMBER, 61: StatementGLS()},  # GLS: references of any length
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
    """Split the file into its `:20:` blocks, as the library does, and let the library read the
    tags of each; a block it cannot read is refused naming the statement."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown MT940 dialect {dialect!r}; known: {', '.join(DIALECTS)}")
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
            [block] = mt940.parse_statements(part, tags=dict(DIALECTS[dialect]), options=_OPTIONS)
        except MalformedField as problem:
            raise rejection(path, f"{where}: {problem}") from None
        except Exception as exc:  # any complaint of the library means the file is unreadable as MT940
            raise rejection(path, f"{where}: the mt940 library cannot read it: {_complaint(exc)}") from None
        blocks.append(block)
    return blocks


def _statement(path: Path, block: Transactions, dialect: str) -> Statement:
    """One `:20:` block as a canonical statement, refused when it is empty or its money is unclear."""
    data = block.data
    label = f"statement {data.get('transaction_reference') or '?'} {_sequence(data) or ''}".rstrip()
    opening_balance = _first(data, _OPENING)
    closing_balance = _first(data, _CLOSING)
    if not len(block) and opening_balance is None and closing_balance is None:
        raise rejection(path, f"{label} has no transactions and no balances")
    account, account_currency = _account(data.get("account_identification"))
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
    bank = _bank_code(account)
    return Statement(
        source=str(path),
        message_type=kind,
        version=kind,
        statement_id=field_text(data.get("transaction_reference")),
        sequence_number=_sequence(data),
        account=account,
        currency=currency,
        opening_balance_minor=opening,
        closing_balance_minor=closing,
        created_at=_created_at(data),
        entries=entries_frame(
            _entry(path, transaction.data, currency, f"{label} entry {number}", dialect, bank)
            for number, transaction in enumerate(block, start=1)
        ),
    )


def _account(value: object) -> tuple[str | None, str | None]:
    """The `:25:` account and the currency some banks append to it (`NL12RABO0123456789EUR`,
    `NL71RABO0123456789 EUR`, Rabobank's old `1291.99.348EUR`), as (account, currency or None).

    Three trailing letters are a currency only when they are an ISO 4217 code set off by a space
    or glued to an account number ending in a digit, and the whole is not a valid IBAN as written
    (Seychelles IBANs end in their currency: SC18SSCB11010000000000001497USD is one account).
    """
    text = field_text(value)
    if text is None:
        return None, None
    found = re.fullmatch(r"(?P<account>.*?[0-9A-Za-z])(?P<space>\s*)(?P<currency>[A-Z]{3})", text)
    if found is None or not is_currency(found["currency"]) or _valid_iban(text):
        return text, None
    account = found["account"]
    if found["space"] or account[-1].isdigit():
        return account, found["currency"]
    return text, None


def _looks_like_iban(text: str) -> bool:
    return re.fullmatch(r"[A-Z]{2}\d{2}[A-Za-z0-9]{11,30}", text) is not None


def _valid_iban(text: str | None) -> bool:
    """An IBAN with correct ISO 13616 mod-97 check digits (no spaces)."""
    if text is None or not _looks_like_iban(text):
        return False
    digits = "".join(str(int(char, 36)) for char in (text[4:] + text[:4]).upper())
    return int(digits) % 97 == 1


def _bank_code(account: str | None) -> str | None:
    """The bank of a Dutch account: the IBAN's bank code (RABO, INGB, SNSB, ...), or RABO for
    Rabobank's old dotted account number (1291.99.348); None for any other account."""
    text = account or ""
    if re.fullmatch(r"NL\d{2}[A-Z]{4}\d{10}", text.upper()):
        return text[4:8].upper()
    return "RABO" if re.fullmatch(r"\d{4}\.\d{2}\.\d{3}", text) else None


_VOLKSBANK = {"ASNB", "SNSB", "RBRB"}  # ASN Bank, SNS, RegioBank: one bank, one MT940 layout


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
    volksbank = bank in _VOLKSBANK
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
    if dialect == "asnb" or (dialect == "swift" and volksbank):
        row["counterparty_account"] = row.pop("entry_reference")
        row["entry_reference"] = None
        row["counterparty_name"] = row["counterparty_name"] or field_words(data.get("extra_details"))
    elif row["counterparty_account"] is None:
        row["counterparty_account"] = _supplementary_account(data.get("extra_details"), bank == "RABO")
    return row


def _supplementary_account(value: object, rabobank: bool) -> str | None:
    """The counterparty account a `:61:` carries as its supplementary details, when that is all
    they are: an IBAN with valid check digits from any bank; in a Rabobank statement, where that
    line is the counterparty's account by the bank's own layout, any IBAN or the old Dutch bank or
    giro number (`0123456789`, `P001234567`) as written."""
    text = (field_text(value) or "").upper()
    if _valid_iban(text):
        return text
    if rabobank and (_looks_like_iban(text) or re.fullmatch(r"P?\d{1,10}", text)):
        return text
    return None


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
    """The library's complaint on one short line, without memory addresses or class names: a tag
    it cannot match is named as the file writes it (`:61:`) with the start of its value."""
    if isinstance(exc, RuntimeError) and len(exc.args) == 3 and isinstance(exc.args[1], Tag):
        value = " ".join(str(exc.args[2]).split())
        return f"its :{exc.args[1].id}: field {value[:80]!r} does not have that field's layout"
    first = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    text = re.sub(r" object at 0x[0-9a-fA-F]+", "", " ".join(first.split()))
    return f"{type(exc).__name__}: {text[:200]}"

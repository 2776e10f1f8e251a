"""The fields of an MT940/MT942 statement as the library hands them over, read into canonical
values: the `:25:` account and the currency some banks append to it, the bank of a Dutch account,
the `:61:` credit/debit mark, references (NONREF and NOTPROVIDED meaning none, a `:86:` KREF+
standing in), dates, the `:28C:` sequence, and the `:86:` details (the German `?nn` sub-fields as
the library reads them, the SWIFT `/CODE/value` layout read here) into counterparty, references and
remittance text. Statement assembly and the refusals of a whole file are `tasks.ingest.bank.mt940`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tasks.ingest.bank.model import CREDIT, DEBIT, field_text, field_words, rejection
from tasks.platform.money import is_currency

_NO_REFERENCE = {"NONREF", "NOTPROVIDED"}  # SWIFT/SEPA words for "there is no reference"


# Codes of the SWIFT-style structured `:86:` (Rabobank, ING, ABN AMRO, ...): /CODE/value/CODE/value.
_SLASH_CODES = "EREF|MARF|CSID|NAME|IBAN|BIC|REMI|ROC|ORDP|BENM|ISDT|ADDR|TRTP|PREF|RTRN|ULTB|ULTC|ULTD|PURP|CNTP|IREF|SVCL"


_SLASH_RE = re.compile(rf"/({_SLASH_CODES})/")


def account_and_currency(value: object) -> tuple[str | None, str | None]:
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


def bank_code(account: str | None) -> str | None:
    """The bank of a Dutch account: the IBAN's bank code (RABO, INGB, SNSB, ...), or RABO for
    Rabobank's old dotted account number (1291.99.348); None for any other account."""
    text = account or ""
    if re.fullmatch(r"NL\d{2}[A-Z]{4}\d{10}", text.upper()):
        return text[4:8].upper()
    return "RABO" if re.fullmatch(r"\d{4}\.\d{2}\.\d{3}", text) else None


VOLKSBANK = {"ASNB", "SNSB", "RBRB"}  # ASN Bank, SNS, RegioBank: one bank, one MT940 layout


def supplementary_account(value: object, rabobank: bool) -> str | None:
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


def direction(path: Path, mark: object, label: str) -> str:
    """Credit or debit from the `:61:` mark; a reversal of a debit (RD) is money coming back in."""
    upper = mark.upper() if isinstance(mark, str) else ""
    if upper in ("C", "RD"):
        return CREDIT
    if upper in ("D", "RC"):
        return DEBIT
    raise rejection(path, f"{label} has no credit/debit mark")


def details(data: dict[str, Any]) -> dict[str, str | None]:
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
        "end_to_end_id": reference(data.get("end_to_end_reference"))
        or reference(slash.get("EREF"))
        or reference(slash.get("ROC")),
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


def sequence(data: dict[str, Any]) -> str | None:
    """The `:28C:` statement number and page as written, e.g. "00084/001"."""
    number, page = field_text(data.get("statement_number")), field_text(data.get("sequence_number"))
    return f"{number}/{page}" if number and page else number


def created_at(data: dict[str, Any]) -> str | None:
    """When the bank produced the report (`:13D:`), as ISO 8601 with its UTC offset."""
    stamp = data.get("date")
    return stamp.isoformat() if stamp is not None and hasattr(stamp, "isoformat") else None


def iso_date(day: object) -> str | None:
    """A date as ISO text, or None when absent."""
    return day.isoformat() if day is not None and hasattr(day, "isoformat") else None


def reference(value: object) -> str | None:
    """A reference, None when the bank says there is none (NONREF, NOTPROVIDED)."""
    text = field_text(value)
    return None if text is None or text.upper() in _NO_REFERENCE else text


def customer_reference(value: object) -> str | None:
    """The `:61:` customer reference, or the `:86:` KREF+ when the `:61:` one says NONREF.

    The library appends a KREF+ to the `:61:` reference on a new line; the first line is the
    `:61:` reference (that field cannot hold a line break).
    """
    if not isinstance(value, str):
        return None
    statement_line, _, kref = value.partition("\n")
    return reference(statement_line) or reference(field_words(kref))

"""Identifiers of banks, accounts, references and taxpayers, checked by maintained libraries.

Pure. IBANs and BICs are checked with `schwifty` (country, length, check digits and each country's
account layout), VAT identification numbers with `python-stdnum` (the check of the country the
number's prefix names), and ISO 11649 creditor references (`RF…`) with `python-stdnum` too. Each
`*_problem` function returns why a text is not a valid identifier, or None when it is (or is blank:
whether a value is required is the contract's business, not this module's).
"""

from __future__ import annotations

import re
from functools import lru_cache

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from stdnum import iso11649
from stdnum.exceptions import ValidationError
from stdnum.iso7064 import mod_97_10
from stdnum.util import get_cc_module

# Two letters and two digits, then letters and digits: written as an IBAN, so checked as one. Other
# account numbers (a US account and routing number, a domestic account number) are left as they are.
_IBAN_SHAPED = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{8,}$")
_SPACES = re.compile(r"[\s\-]+")


def compact(text: str) -> str:
    """The identifier without spaces or dashes, in capitals (`de89 3704 ...` -> `DE893704...`)."""
    return _SPACES.sub("", text).upper()


def iban_problem(text: str | None) -> str | None:
    """Why `text` is not a valid IBAN (wrong country, length, check digits or national layout)."""
    if not text or not text.strip():
        return None
    try:
        IBAN(text)
    except SchwiftyException as exc:
        return f"is not a valid IBAN ({_sentence(exc)})"
    return None


def account_problem(text: str | None) -> str | None:
    """Why a bank account is refused: one written as an IBAN must be a valid IBAN; any other account
    number is taken as it is."""
    if not text or not text.strip():
        return None
    return iban_problem(text) if _IBAN_SHAPED.match(compact(text)) else None


def accounts_problem(text: str | None) -> str | None:
    """Why a `;`-separated list of bank accounts is refused: the first account in it that is not."""
    for account in (text or "").split(";"):
        why = account_problem(account)
        if why:
            return f"holds {account.strip()!r}, which {why}"
    return None


def bic_problem(text: str | None) -> str | None:
    """Why `text` is not a valid BIC (8 or 11 characters: bank, country, location, branch)."""
    if not text or not text.strip():
        return None
    try:
        BIC(compact(text))
    except SchwiftyException as exc:
        return f"is not a valid BIC ({_sentence(exc)})"
    return None


def vat_id_problem(text: str | None) -> str | None:
    """Why `text` is not a valid VAT identification number: it starts with its country's code
    (`DE`, `FR`, `ATU`…; Greece `EL`) and passes that country's check."""
    if not text or not text.strip():
        return None
    number = compact(text)
    country = "gr" if number[:2] == "EL" else number[:2].lower()
    module = get_cc_module(country, "vat") if country.isalpha() else None
    if module is None:
        return "is not a VAT ID: it must start with its country's code, as DE136695976"
    try:
        module.validate(number)
    except ValidationError as exc:
        return f"is not a valid VAT ID ({_sentence(exc)})"
    return None


@lru_cache(maxsize=1024)  # a seller's few accounts, printed on every document and e-mail
def iban_formatted(text: str) -> str:
    """An IBAN in groups of four (`DE89 3704 0044 0532 0130 00`), as printed for people."""
    return IBAN(text).formatted


def creditor_reference(invoice_id: str) -> str:
    """The ISO 11649 structured creditor reference for an invoice number: `RF`, two check digits
    and the number's letters and digits (`O2C-2026-000001` -> `RF70O2C2026000001`), printed on the
    invoice for the payer to quote. Reconcile reads it back to the invoice."""
    payload = re.sub(r"[^A-Z0-9]", "", invoice_id.upper())
    if not 1 <= len(payload) <= 21:
        raise ValueError(f"invoice number {invoice_id!r} cannot be carried in a creditor reference")
    return "RF" + mod_97_10.calc_check_digits(payload + "RF") + payload


def creditor_reference_payload(text: str | None) -> str | None:
    """The reference inside a valid RF creditor reference (`RF18 5390 0754 7034` -> `539007547034`),
    or None when the text is not one."""
    number = compact(text or "")
    return number[4:] if number.startswith("RF") and iso11649.is_valid(number) else None


def _sentence(exc: Exception) -> str:
    text = str(exc).strip().rstrip(".")
    return text[:1].lower() + text[1:]

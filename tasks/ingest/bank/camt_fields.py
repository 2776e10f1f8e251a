"""Field readers for ISO 20022 camt bank statements: amounts, directions, dates, accounts, parties, codes.

Each reader looks at one element of a camt.052/053/054 message (bound to that message's namespace by
`Camt`) and returns plain values. A field that breaks the rules of the standard is never guessed at:
the reader raises `FieldProblem` with a one-line description, and the statement reader turns that into
a rejection of the whole file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from xml.etree.ElementTree import Element

from tasks.platform.money import MoneyError, to_minor

CREDIT = "CRDT"
DEBIT = "DBIT"

# ISO 20022 amounts are unsigned plain decimals (no sign, no exponent, no thousands separator).
_AMOUNT_TEXT = re.compile(r"\d{1,18}(?:\.\d{1,18})?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class FieldProblem(ValueError):
    """A field of the statement that is missing or does not follow the standard."""


@dataclass(frozen=True)
class Camt:
    """Path lookups inside one camt message, whose elements all live in the namespace `ns`."""

    ns: str

    def _qualified(self, path: str) -> str:
        return "/".join(f"{{{self.ns}}}{part}" for part in path.split("/"))

    def find(self, node: Element | None, path: str) -> Element | None:
        """The first element at `path` below `node`, or None."""
        return None if node is None else node.find(self._qualified(path))

    def find_all(self, node: Element | None, path: str) -> list[Element]:
        """Every element at `path` below `node`, in document order."""
        return [] if node is None else node.findall(self._qualified(path))

    def text(self, node: Element | None, path: str) -> str | None:
        """The trimmed text at `path`; None when the element is absent or empty."""
        found = self.find(node, path)
        if found is None or found.text is None:
            return None
        return found.text.strip() or None

    def first_text(self, node: Element | None, *paths: str) -> str | None:
        """The text of the first of `paths` that is present and not empty."""
        for path in paths:
            value = self.text(node, path)
            if value is not None:
                return value
        return None


def amount(node: Element | None, what: str) -> tuple[int, str]:
    """An amount and its currency as (minor units, ISO code); missing or unreadable is a problem.

    The decimal text is converted exactly with the currency's exponent: `8.850` EUR is 885 cents,
    while `1.005` EUR cannot be booked in cents and is refused rather than rounded.
    """
    if node is None:
        raise FieldProblem(f"{what}: amount is missing")
    currency = (node.get("Ccy") or "").strip()
    if not currency:
        raise FieldProblem(f"{what}: amount has no currency (Ccy)")
    text = (node.text or "").strip()
    if not _AMOUNT_TEXT.fullmatch(text):
        raise FieldProblem(f"{what}: amount {text!r} is not a plain decimal number")
    try:
        return to_minor(text, currency), currency
    except MoneyError as error:
        raise FieldProblem(f"{what}: {error}") from None


def direction(camt: Camt, node: Element, what: str) -> str:
    """The credit/debit indicator (CRDT or DBIT) of `node`; anything else is a problem."""
    value = camt.text(node, "CdtDbtInd")
    if value is None:
        raise FieldProblem(f"{what}: credit/debit indicator (CdtDbtInd) is missing")
    if value not in (CREDIT, DEBIT):
        raise FieldProblem(f"{what}: credit/debit indicator {value!r} is neither CRDT nor DBIT")
    return value


def optional_direction(camt: Camt, node: Element, what: str) -> str | None:
    """The credit/debit indicator of `node` when it has one (transaction details may leave it out)."""
    return direction(camt, node, what) if camt.find(node, "CdtDbtInd") is not None else None


def calendar_date(camt: Camt, node: Element | None, what: str) -> str | None:
    """The calendar day of a date choice (`Dt`, or the day part of `DtTm` as written) as YYYY-MM-DD."""
    value = camt.first_text(node, "Dt", "DtTm")
    if value is None:
        return None
    day = value[:10]
    if not _ISO_DATE.fullmatch(day) or value[10:11] not in ("", "T", "+", "-", "Z"):
        raise FieldProblem(f"{what}: {value!r} is not an ISO date")
    try:
        date.fromisoformat(day)
    except ValueError:
        raise FieldProblem(f"{what}: {value!r} is not a calendar date") from None
    return day


def account_id(camt: Camt, account: Element | None) -> str | None:
    """The identifier of an account: its IBAN, else its other (or proprietary, BBAN, UPIC) number."""
    return camt.first_text(account, "Id/IBAN", "Id/Othr/Id", "Id/PrtryAcct/Id", "Id/BBAN", "Id/UPIC")


def bank_transaction_code(camt: Camt, code: Element | None) -> str | None:
    """The bank's transaction code: "domain/family/sub-family" when given, else the proprietary code."""
    domain = camt.text(code, "Domn/Cd")
    if domain is not None:
        parts = [domain, camt.text(code, "Domn/Fmly/Cd"), camt.text(code, "Domn/Fmly/SubFmlyCd")]
        return "/".join(part for part in parts if part is not None)
    return camt.text(code, "Prtry/Cd")


def counterparty(camt: Camt, detail: Element, credit_debit: str) -> tuple[str | None, str | None, str | None]:
    """The other side of a transaction as (name, account, BIC).

    Money coming in (a credit) comes from the debtor; money going out (a debit) goes to the creditor.
    Version 8 wraps the party in `Pty` (a person or company) or `Agt` (a bank).
    """
    side = "Dbtr" if credit_debit == CREDIT else "Cdtr"
    parties = camt.find(detail, "RltdPties")
    name = camt.first_text(parties, f"{side}/Pty/Nm", f"{side}/Agt/FinInstnId/Nm", f"{side}/Nm")
    account = account_id(camt, camt.find(parties, f"{side}Acct"))
    agents = camt.find(detail, "RltdAgts")
    bic = camt.first_text(agents, f"{side}Agt/FinInstnId/BIC", f"{side}Agt/FinInstnId/BICFI")
    return name, account, bic


def remittance(camt: Camt, detail: Element) -> tuple[str | None, str | None]:
    """What the payer said the payment is for, as (free text, structured creditor reference).

    Free-text lines are joined with single spaces; the creditor reference is the first one given
    (an RF or national reference the payee printed on the invoice).
    """
    lines = [line.text.strip() for line in camt.find_all(detail, "RmtInf/Ustrd") if line.text]
    text = " ".join(line for line in lines if line) or None
    reference = None
    for block in camt.find_all(detail, "RmtInf/Strd"):
        reference = camt.text(block, "CdtrRefInf/Ref")
        if reference is not None:
            break
    return text, reference

"""How the `mt940` library is set up to read MT940/MT942 as SWIFT and the banks write it: the tag
classes that replace the library's own where it would read a field in part, and the dialects.

The library reads a tag with a regular expression and ignores whatever its pattern leaves over;
these subclasses refuse such a value (`MalformedField`) or read the banks' real layouts: a `:28C:`
wrapped over lines (ING), a `:61:` customer reference longer than 16 characters (ING, SNS), a
`:61:` transaction type that must be there, balances (`:60a:`, `:62a:`, ...) read whole.
`DIALECTS` names the tag sets per bank variant of the `:61:` line; `OPTIONS` turns on every fix
of the library. `silence_library_logs` keeps the library's own error logging off the terminal.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from typing import ClassVar

import mt940
from mt940.models import Transactions
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


def silence_library_logs() -> None:
    """The library logs every tag it cannot match at ERROR level, as several lines with its regular
    expression (through `logging` only; it never prints). That reaches the terminal through Python's
    last-resort handler or Prefect's console handler, while the refusal already says it in one line
    naming the file, so its loggers ("mt940" and the per-tag "mt940.tags.<Tag>") are silenced."""
    logging.getLogger("mt940").setLevel(logging.CRITICAL)


# Every opt-in fix of the library: reversals signed like the money movement they are (RC is money
# out), the `?31` counterparty account kept apart from the name, `:86:` details never truncated, a
# byte-order mark dropped, and a missing KREF never wiping the `:61:` customer reference.
OPTIONS = mt940.Options.all()


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

"""Payment terms: when an invoice falls due, and the early-payment discount it offers.

Pure. Terms are written the way sales contracts write them, in the customer master's
`payment_terms` column:

    net 30                 due 30 days after issue
    eom 15                 due 15 days after the end of the issue month ("end of month plus 15")
    2% 10 net 30           2 % off when paid within 10 days of issue; otherwise due in 30 days
    2.5% 14 eom 30         2.5 % off within 14 days; otherwise due 30 days after month end
    net 30, 3 instalments every 30 days
                           the total in three parts, due 30, 60 and 90 days after issue

An empty value falls back to `net <payment_terms_days>`. The discount is the invoice amount times the
rate, rounded half up to the minor unit; its last day is the issue date plus its days.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

_TERMS = re.compile(
    r"^\s*(?:(?P<pct>\d{1,2}(?:\.\d{1,4})?)\s*%\s*(?P<within>\d{1,3})\s+)?"
    r"(?P<kind>net|eom)\s*(?P<days>\d{1,3})"
    r"(?:\s*,\s*(?P<parts>\d{1,2})\s+instalments\s+every\s+(?P<every>\d{1,3})\s+days)?\s*$",
    re.IGNORECASE,
)
PPM = 1_000_000


class TermsError(ValueError):
    """Payment terms this product cannot read."""


@dataclass(frozen=True)
class Terms:
    kind: str  # net or eom
    days: int
    discount_ppm: int = 0  # the discount rate in millionths (2 % = 20_000)
    discount_days: int = 0
    instalments: int = 1  # parts the total is paid in, the first on the due date
    every_days: int = 0  # days between instalments

    def due(self, issued: date) -> date:
        if self.kind == "eom":
            last = calendar.monthrange(issued.year, issued.month)[1]
            return date(issued.year, issued.month, last) + timedelta(days=self.days)
        return issued + timedelta(days=self.days)

    def schedule(self, issued: date, amount_minor: int) -> list[tuple[date, int]]:
        """(due date, amount) of each instalment: the total in equal parts, the minor units left
        over by the division going one each to the first instalments (largest remainder), so the
        parts always sum to the total."""
        first = self.due(issued)
        base, left = divmod(amount_minor, self.instalments)
        return [
            (first + timedelta(days=i * self.every_days), base + (1 if i < left else 0))
            for i in range(self.instalments)
        ]

    def discount(self, issued: date, amount_minor: int) -> tuple[date | None, int | None]:
        """(last day, amount) of the early-payment discount on an invoice of `amount_minor`."""
        if not self.discount_ppm or amount_minor <= 0:
            return None, None
        value = (2 * amount_minor * self.discount_ppm + PPM) // (2 * PPM)
        return issued + timedelta(days=self.discount_days), value


def parse_terms(text: str | None, fallback_days: int = 30) -> Terms:
    """The terms written in `text`; `net <fallback_days>` where nothing is written."""
    if text is None or not str(text).strip():
        return Terms("net", int(fallback_days))
    match = _TERMS.match(str(text))
    if not match:
        raise TermsError(
            f"payment terms {text!r} are not understood: write them like 'net 30', 'eom 15', '2% 10 net 30'"
            " or 'net 30, 3 instalments every 30 days'"
        )
    terms = Terms(match["kind"].lower(), int(match["days"]))
    if match["pct"]:
        ppm = int(Decimal(match["pct"]) * 10_000)
        within = int(match["within"])
        if ppm <= 0 or within <= 0:
            raise TermsError(f"payment terms {text!r}: a discount needs a rate and days above zero")
        if within > terms.days and terms.kind == "net":
            raise TermsError(f"payment terms {text!r}: the discount days run past the due date")
        terms = Terms(terms.kind, terms.days, ppm, within)
    if match["parts"]:
        parts, every = int(match["parts"]), int(match["every"])
        if parts < 2 or every < 1:
            raise TermsError(
                f"payment terms {text!r}: instalments need at least 2 parts, at least a day apart"
            )
        if terms.discount_ppm:
            raise TermsError(f"payment terms {text!r}: an early-payment discount and instalments do not mix")
        terms = Terms(terms.kind, terms.days, instalments=parts, every_days=every)
    return terms

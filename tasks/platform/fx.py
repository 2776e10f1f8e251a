"""Exchange rates: read from the file a company supplies (the ECB's reference-rate CSV, or a plain
CSV of rates), looked up as of a date, and used to convert amounts exactly.

A rate is a decimal, never a float: units of `currency` for one unit of `base` (the ECB's: USD per
1 EUR). Rates are kept as the file gives them (at most 10 decimals); a conversion multiplies and
divides in `Decimal` and rounds once, half up, to the target currency's minor unit. Two currencies
neither of which is the base are crossed through it (USD -> GBP = GBP per EUR / USD per EUR). The
rate of a day is the latest one published on or before it (the ECB publishes on TARGET working
days), at most `MAX_AGE_DAYS` old.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from pathlib import Path

import pandas as pd

from tasks.platform.money import exponent, is_currency

MAX_DECIMALS = 10
MAX_AGE_DAYS = 10  # a rate older than this on the day asked for is not used
RATE_COLUMNS = ["rate_date", "base_currency", "currency", "rate"]


class RatesProblem(ValueError):
    """A rates file that cannot be used: the file, row and column named."""


def read_rates(path: Path) -> pd.DataFrame:
    """The rates of a file: the ECB's reference rates (`Date,USD,JPY,...`, one row per day, `N/A`
    where a currency was not quoted; the daily file's `05 December 2026` dates too), or a CSV with
    the columns rate_date, base_currency, currency, rate. Rows: rate_date (date), base_currency,
    currency, rate (decimal text, as given). Any bad cell stops it, naming file, row and column."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RatesProblem(f"{path.name}: cannot be read ({exc})") from None
    table = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not table:
        raise RatesProblem(f"{path.name}: empty")
    header = [cell.strip() for cell in table[0]]
    if header[0].lower() == "date":
        return _ecb(path.name, header, table[1:])
    if set(RATE_COLUMNS) <= set(header):
        return _long(path.name, header, table[1:])
    raise RatesProblem(
        f"{path.name}: not a rates file: the header is neither the ECB's (Date, USD, JPY, ...) nor"
        " rate_date, base_currency, currency, rate"
    )


def _ecb(name: str, header: list[str], rows: list[list[str]]) -> pd.DataFrame:
    """The ECB's wide file. A column of a currency o2c does not know (the ECB's history keeps the
    currencies the euro replaced: CYP, SIT, ...) is skipped, and named in `attrs["skipped"]`."""
    currencies, skipped = [], []
    for n, code in enumerate(header[1:], start=2):
        if code and not re.fullmatch(r"[A-Z]{3}", code):
            raise RatesProblem(f"{name}, row 1, column {n}: {code!r} is not a currency code")
        if code and not is_currency(code):
            skipped.append(code)
            code = ""
        currencies.append(code)
    out = []
    for r, row in enumerate(rows, start=2):
        day = _day(name, r, "Date", row[0])
        for code, cell in zip(currencies, row[1:], strict=False):
            value = cell.strip()
            if not code or not value or value.upper() == "N/A":
                continue
            out.append((day, "EUR", code, _rate(name, r, code, value)))
    frame = pd.DataFrame(out, columns=RATE_COLUMNS)
    frame.attrs["skipped"] = skipped
    return frame


def _long(name: str, header: list[str], rows: list[list[str]]) -> pd.DataFrame:
    at = {column: header.index(column) for column in RATE_COLUMNS}
    out = []
    for r, row in enumerate(rows, start=2):
        cells = {column: (row[i].strip() if i < len(row) else "") for column, i in at.items()}
        for column in ("base_currency", "currency"):
            if not is_currency(cells[column]):
                raise RatesProblem(
                    f"{name}, row {r}, column {column}: {cells[column]!r} is not an ISO 4217 currency"
                )
        day = _day(name, r, "rate_date", cells["rate_date"])
        out.append((day, cells["base_currency"], cells["currency"], _rate(name, r, "rate", cells["rate"])))
    return pd.DataFrame(out, columns=RATE_COLUMNS)


def _day(name: str, row: int, column: str, text: str) -> date:
    for pattern in ("%Y-%m-%d", "%d %B %Y"):
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    raise RatesProblem(f"{name}, row {row}, column {column}: {text!r} is not a date (YYYY-MM-DD)")


def _rate(name: str, row: int, column: str, text: str) -> str:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise RatesProblem(f"{name}, row {row}, column {column}: {text!r} is not a decimal rate") from None
    if not value.is_finite() or value <= 0:
        raise RatesProblem(f"{name}, row {row}, column {column}: {text!r} is not a positive rate")
    if -value.as_tuple().exponent > MAX_DECIMALS:  # type: ignore[operator]
        raise RatesProblem(
            f"{name}, row {row}, column {column}: {text!r} has more than {MAX_DECIMALS} decimals"
        )
    return format(value.normalize(), "f") if value == value.to_integral_value() else text.strip()


@dataclass(frozen=True)
class Rates:
    """Rates per (base, currency), by date: `fraction(frm, to, day)` and `convert`."""

    table: dict[tuple[str, str], list[tuple[date, Decimal]]]

    @classmethod
    def of(cls, rows: pd.DataFrame) -> Rates:
        table: dict[tuple[str, str], list[tuple[date, Decimal]]] = {}
        for day, base, currency, rate in rows[RATE_COLUMNS].itertuples(index=False, name=None):
            table.setdefault((str(base), str(currency)), []).append(
                (pd.Timestamp(day).date(), Decimal(str(rate)))
            )
        for series in table.values():
            series.sort()
        return cls(table)

    def _quote(self, base: str, currency: str, day: date) -> tuple[Decimal, date] | None:
        series = self.table.get((base, currency))
        if not series:
            return None
        found = None
        for when, rate in series:  # few thousand entries per currency at most: a scan is enough
            if when > day:
                break
            found = (rate, when)
        if found is None or day - found[1] > timedelta(days=MAX_AGE_DAYS):
            return None
        return found

    def fraction(self, frm: str, to: str, day: date) -> tuple[Decimal, Decimal, date] | None:
        """(numerator, denominator, quoted on): units of `to` for one unit of `frm` on `day` is
        numerator / denominator, kept apart so a conversion divides once; the quote's date is the
        older of two when crossed. None when no quote of at most MAX_AGE_DAYS is known."""
        if frm == to:
            return Decimal(1), Decimal(1), day
        for base in sorted({b for b, _c in self.table}):
            if frm == base:
                direct = self._quote(base, to, day)
                if direct:
                    return direct[0], Decimal(1), direct[1]
            if to == base:
                inverse = self._quote(base, frm, day)
                if inverse:
                    return Decimal(1), inverse[0], inverse[1]
            a, b = self._quote(base, frm, day), self._quote(base, to, day)
            if a and b:
                return b[0], a[0], min(a[1], b[1])
        return None

    def convert(self, minor: int, frm: str, to: str, day: date) -> int | None:
        """`minor` units of `frm` in minor units of `to` at the day's rate, rounded once, half up;
        None without a rate."""
        found = self.fraction(frm, to, day)
        if found is None:
            return None
        return convert_minor(minor, frm, to, found[0], found[1])


def convert_minor(
    minor: int, frm: str, to: str, numerator: Decimal, denominator: Decimal = Decimal(1)
) -> int:
    """Minor units of `frm` at numerator / denominator units of `to` per unit of `frm`, in minor
    units of `to`: multiplied exactly, divided once (60 significant digits), rounded once, half up
    (away from zero for a negative amount)."""
    with localcontext() as context:
        context.prec = 60
        exact = Decimal(minor).scaleb(exponent(to) - exponent(frm)) * numerator / denominator
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def rate_text(numerator: Decimal, denominator: Decimal) -> str:
    """numerator / denominator as decimal text, at most 10 decimals, no trailing zeros."""
    with localcontext() as context:
        context.prec = 40
        value = (numerator / denominator).quantize(Decimal("1e-10")).normalize()
    return format(value, "f")


def conflicts(new: pd.DataFrame, known: pd.DataFrame) -> list[str]:
    """The quotes of `new` that give another rate for a (day, base, currency) already `known`
    (compared as decimals: `1.08` and `1.0800` are one rate), at most five, in words."""
    if not len(new) or not len(known):
        return []
    have = {
        (pd.Timestamp(d).date(), b, c): Decimal(str(r))
        for d, b, c, r in known[RATE_COLUMNS].itertuples(index=False)
    }
    out = []
    for day, base, currency, rate in new[RATE_COLUMNS].itertuples(index=False):
        was = have.get((pd.Timestamp(day).date(), base, currency))
        if was is not None and was != Decimal(str(rate)):
            out.append(
                f"{currency} per {base} on {pd.Timestamp(day).date().isoformat()}: {rate}, already {was}"
            )
    return out[:5]

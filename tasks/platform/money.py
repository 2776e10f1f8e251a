"""Money as integers: a count of the currency's minor unit, never a float.

The exponent of each currency comes from ISO 4217 (JPY 0, EUR 2, KWD 3). Decimal strings are parsed
with `Decimal` and rejected when they carry more decimals than the currency has.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

# ISO 4217 minor-unit exponents of the active currencies (funds and precious metals left out).
_EXPONENT_0 = [
    "BIF",
    "CLP",
    "DJF",
    "GNF",
    "ISK",
    "JPY",
    "KMF",
    "KRW",
    "PYG",
    "RWF",
    "UGX",
    "UYI",
    "VND",
    "VUV",
    "XAF",
    "XOF",
    "XPF",
]
_EXPONENT_3 = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"]
_EXPONENT_4 = ["CLF", "UYW"]
_EXPONENT_2 = [
    "AED",
    "AFN",
    "ALL",
    "AMD",
    "ANG",
    "AOA",
    "ARS",
    "AUD",
    "AWG",
    "AZN",
    "BAM",
    "BBD",
    "BDT",
    "BGN",
    "BMD",
    "BND",
    "BOB",
    "BRL",
    "BSD",
    "BTN",
    "BWP",
    "BYN",
    "BZD",
    "CAD",
    "CDF",
    "CHF",
    "CNY",
    "COP",
    "CRC",
    "CUP",
    "CVE",
    "CZK",
    "DKK",
    "DOP",
    "DZD",
    "EGP",
    "ERN",
    "ETB",
    "EUR",
    "FJD",
    "FKP",
    "GBP",
    "GEL",
    "GHS",
    "GIP",
    "GMD",
    "GTQ",
    "GYD",
    "HKD",
    "HNL",
    "HTG",
    "HUF",
    "IDR",
    "ILS",
    "INR",
    "IRR",
    "JMD",
    "KES",
    "KGS",
    "KHR",
    "KPW",
    "KYD",
    "KZT",
    "LAK",
    "LBP",
    "LKR",
    "LRD",
    "LSL",
    "MAD",
    "MDL",
    "MGA",
    "MKD",
    "MMK",
    "MNT",
    "MOP",
    "MRU",
    "MUR",
    "MVR",
    "MWK",
    "MXN",
    "MYR",
    "MZN",
    "NAD",
    "NGN",
    "NIO",
    "NOK",
    "NPR",
    "NZD",
    "PAB",
    "PEN",
    "PGK",
    "PHP",
    "PKR",
    "PLN",
    "QAR",
    "RON",
    "RSD",
    "RUB",
    "SAR",
    "SBD",
    "SCR",
    "SDG",
    "SEK",
    "SGD",
    "SHP",
    "SLE",
    "SOS",
    "SRD",
    "SSP",
    "STN",
    "SVC",
    "SYP",
    "SZL",
    "THB",
    "TJS",
    "TMT",
    "TOP",
    "TRY",
    "TTD",
    "TWD",
    "TZS",
    "UAH",
    "USD",
    "UYU",
    "UZS",
    "VES",
    "WST",
    "XCD",
    "YER",
    "ZAR",
    "ZMW",
    "ZWL",
]

CURRENCY_EXPONENTS: dict[str, int] = {
    **{code: 0 for code in _EXPONENT_0},
    **{code: 2 for code in _EXPONENT_2},
    **{code: 3 for code in _EXPONENT_3},
    **{code: 4 for code in _EXPONENT_4},
}


class MoneyError(ValueError):
    """An amount or currency that cannot be represented exactly."""


def exponent(currency: str) -> int:
    """Number of decimals of `currency` (ISO 4217); MoneyError for an unknown code."""
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise MoneyError(f"unknown currency {currency!r}") from None


def is_currency(code: object) -> bool:
    return isinstance(code, str) and code in CURRENCY_EXPONENTS


def to_minor(text: str | int | Decimal, currency: str) -> int:
    """Parse a decimal amount in major units (`"1234.50"`) to minor units (123450 for EUR).

    Rejects text that is not a plain decimal number and amounts with more decimals than the
    currency has (`"1.005"` in EUR), so nothing is ever rounded silently.
    """
    exp = exponent(currency)
    if isinstance(text, int):
        return text * 10**exp
    raw = text if isinstance(text, Decimal) else _parse_decimal(text)
    if not raw.is_finite():
        raise MoneyError(f"amount {text!r} is not a finite number")
    scaled = raw.scaleb(exp)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"amount {text!r} has more than {exp} decimals for {currency}")
    return int(scaled)


def _parse_decimal(text: str) -> Decimal:
    cleaned = text.strip()
    if not cleaned or any(ch not in "0123456789.-+" for ch in cleaned):
        raise MoneyError(f"amount {text!r} is not a decimal number")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        raise MoneyError(f"amount {text!r} is not a decimal number") from None


def to_major_str(minor: int, currency: str) -> str:
    """Format minor units as a decimal string in major units: 123450 EUR -> "1234.50"."""
    exp = exponent(currency)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(int(minor)), 10**exp)
    return f"{sign}{whole}.{frac:0{exp}d}" if exp else f"{sign}{whole}"


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` minor units in proportion to `weights` by largest remainder.

    The parts always sum to `total`; ties in the remainder go to the earlier weight.
    """
    if not weights:
        raise ValueError("cannot allocate over no weights")
    weight_sum = sum(weights)
    if weight_sum == 0:
        raise ValueError("cannot allocate over weights that sum to zero")
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    floors = [magnitude * w // weight_sum for w in weights]
    remainders = [magnitude * w % weight_sum for w in weights]
    short = magnitude - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:short]:
        floors[i] += 1
    return [sign * part for part in floors]


def round_half_up_div(numerator: int, denominator: int) -> int:
    """Integer division rounded half away from zero, for tax and interest on minor units."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def line_amounts(quantity: int, unit_price_minor: int, tax_rate: Decimal) -> tuple[int, int]:
    """Net and tax of one invoice line in minor units.

    Net is quantity x unit price (exact); tax is net x rate rounded half away from zero, per line,
    so an invoice total is always the sum of its rounded lines.
    """
    net = int(quantity) * int(unit_price_minor)
    scaled = Decimal(net) * tax_rate
    tax = int(scaled.to_integral_value(rounding="ROUND_HALF_UP"))
    return net, tax

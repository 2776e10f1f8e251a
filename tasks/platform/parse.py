"""Typed parsing of canonical text columns, vectorised, with a reason for every value that fails.

Each parser takes a column of text (as read from the file, empty string for nothing) and returns
the typed column plus a boolean mask of values that were present but could not be read. Money is
parsed to integer minor units without ever passing through a float.

Text is checked before it is typed: a control character inside a value (NUL never; a tab or line
break only in free-text columns) and a value longer than its column allows are found here, and
`shown` quotes a value in a reason without ever copying a huge one.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from tasks.platform.addresses import address_problem
from tasks.platform.money import CURRENCY_EXPONENTS

# ASCII digits only: Python's \d also takes Arabic-Indic, Devanagari and full-width digits, which
# int() would read as numbers without a word.
_DECIMAL = r"^([+-]?)([0-9]{1,15})(?:\.([0-9]*))?$"
_NON_ASCII_DIGIT = r"(?![0-9])\d"
# Never in any value: C0 controls but tab, LF and CR (NUL among them), DEL, C1 controls (NEL among
# them) and the Unicode line and paragraph separators. Single-line values refuse tab, LF and CR too.
_CONTROL_IN_FREE_TEXT = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]"
_CONTROL_IN_LINE = "[\x00-\x1f\x7f-\x9f\u2028\u2029]"
_FREE_TEXT_CONTROL = re.compile(_CONTROL_IN_FREE_TEXT)
_LINE_CONTROL = re.compile(_CONTROL_IN_LINE)
_SURROUNDING = " \t\r\n"  # trimmed from every value, as a person's spaces and line ends
_CHARACTER_NAMES = {
    0x00: "NUL",
    0x09: "tab",
    0x0A: "line feed",
    0x0D: "carriage return",
    0x1B: "escape",
    0x7F: "DEL",
    0x85: "next line",
    0x2028: "line separator",
    0x2029: "paragraph separator",
    0x200B: "zero-width space",
    0xFEFF: "byte-order mark",
}
SHOWN_CHARACTERS = 60  # of a value quoted in a reason


def blank(values: pd.Series) -> pd.Series:
    return values.isna() | (values.astype("string").str.strip() == "")


def parse_text(values: pd.Series) -> pd.Series:
    """Trimmed text; blanks become missing."""
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def parse_currency(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """ISO 4217 codes exactly as given (three capitals, spaces around trimmed); anything else,
    a code in the wrong case among them (`EUr`, `eur`), is a failure and never corrected."""
    codes = values.astype("string").str.strip()
    known = codes.isin(list(CURRENCY_EXPONENTS)).fillna(False).astype(bool)
    present = ~blank(values)
    return codes.where(known), present & ~known


def currency_problem(value: object) -> str:
    """Why a currency failed `parse_currency`, for its reason."""
    text = str(value).strip()
    if text.upper() in CURRENCY_EXPONENTS:
        return f"is not an ISO 4217 currency (codes are written in capitals, as {text.upper()})"
    return "is not an ISO 4217 currency"


def control_characters(values: pd.Series, *, multiline: bool = False) -> pd.Series:
    """The first control character inside each value (its surrounding spaces, tabs and line ends
    trimmed, as `parse_text` does), missing where there is none. `multiline` values (free text)
    may hold tabs and line breaks; NUL and the other control characters never.

    One scan of the whole column first: a column without any control character (nearly every one)
    costs a join and a regular-expression search, not a pandas operation per value."""
    pattern = _FREE_TEXT_CONTROL if multiline else _LINE_CONTROL
    items = values.tolist()
    texts = [v for v in items if isinstance(v, str)]
    found: dict[object, str] = {}
    if pattern.search("".join(texts)):
        for index, value in zip(values.index, items, strict=True):
            if isinstance(value, str):
                hit = pattern.search(value.strip(_SURROUNDING))
                if hit:
                    found[index] = hit.group()
    return pd.Series(found, index=values.index, dtype="string")


def describe_character(character: str) -> str:
    """`U+000D (carriage return)`: a character a person cannot see, named."""
    code = ord(character)
    name = _CHARACTER_NAMES.get(code)
    return f"U+{code:04X} ({name})" if name else f"U+{code:04X}"


def too_long(values: pd.Series, limit: int) -> pd.Series:
    """The length of each value (trimmed) that has more than `limit` characters, missing elsewhere."""
    items = values.tolist()
    found: dict[object, int] = {}
    if max((len(v) for v in items if isinstance(v, str)), default=0) > limit:
        for index, value in zip(values.index, items, strict=True):
            if isinstance(value, str) and len(value.strip(_SURROUNDING)) > limit:
                found[index] = len(value.strip(_SURROUNDING))
    return pd.Series(found, index=values.index, dtype="Int64")


def shown(value: object) -> str:
    """A value quoted for a reason: its repr (control characters escaped), a long one cut short
    with its length said, so a reason never carries a whole oversized field."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= SHOWN_CHARACTERS:
        return repr(text)
    return f"{text[:SHOWN_CHARACTERS]!r}... ({len(text):,} characters)"


def email_problems(values: pd.Series) -> pd.Series:
    """Why each present value is not one plausible e-mail address (missing where it is, or blank)."""
    text = values.astype("string").str.strip(_SURROUNDING)
    present = text.notna() & (text != "")
    problems = pd.Series(pd.NA, index=values.index, dtype="object")
    if present.any():
        problems[present] = text[present].map(address_problem)
    return problems


def parse_integer(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    text = values.astype("string").str.strip()
    ok = text.str.fullmatch(r"[+-]?[0-9]{1,15}").fillna(False).astype(bool)
    parsed = pd.Series(pd.NA, index=values.index, dtype="Int64")
    if ok.any():
        parsed[ok] = text[ok].astype("int64")
    return parsed, ~blank(values) & ~ok


def parse_date(values: pd.Series, date_format: str) -> tuple[pd.Series, pd.Series]:
    text = values.astype("string").str.strip()
    parsed = pd.to_datetime(text, format=date_format, errors="coerce")
    foreign = text.str.contains(_NON_ASCII_DIGIT, regex=True).fillna(False).astype(bool)
    parsed = parsed.where(~foreign)  # strptime reads full-width and other digits: never a date here
    return parsed, ~blank(values) & parsed.isna()


def parse_decimal_scaled(values: pd.Series, exponents: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Decimal text scaled by 10**exponent per row, as Int64.

    Returns (scaled, malformed, too_precise): `malformed` marks text that is not a plain decimal
    number, `too_precise` marks numbers with more decimals than the row's exponent allows (trailing
    zeros do not count: "38.0" is 38 dollars). Rows whose exponent is missing stay missing.
    """
    text = values.astype("string").str.strip()
    parts = text.str.extract(_DECIMAL)
    well_formed = parts[1].notna()
    fraction = parts[2].fillna("").str.rstrip("0")
    exp = pd.to_numeric(exponents, errors="coerce")
    too_precise = well_formed & exp.notna() & (fraction.str.len() > exp)
    # Beyond 18 digits once scaled, an amount no longer fits a BIGINT: malformed, never wrapped.
    too_large = well_formed & exp.notna() & (parts[1].str.len() + exp > 18)
    well_formed &= ~too_large.fillna(False).astype(bool)
    usable = well_formed & exp.notna() & ~too_precise
    scaled = pd.Series(pd.NA, index=values.index, dtype="Int64")
    if usable.any():
        whole = parts.loc[usable, 1].astype("int64").to_numpy()
        frac_text = fraction[usable]
        row_exp = exp[usable].astype("int64").to_numpy()
        frac_len = frac_text.str.len().to_numpy()
        frac_digits = frac_text.where(frac_text != "", "0").astype("int64").to_numpy()
        magnitude = whole * np.power(10, row_exp) + frac_digits * np.power(10, row_exp - frac_len)
        sign = np.where(parts.loc[usable, 0].to_numpy() == "-", -1, 1)
        scaled[usable] = sign * magnitude
    malformed = ~blank(values) & ~well_formed
    return scaled, malformed, too_precise


def exponents_for(currencies: pd.Series) -> pd.Series:
    """The ISO 4217 exponent of each row's currency (missing where the currency is unknown)."""
    return currencies.map(CURRENCY_EXPONENTS).astype("Int64")

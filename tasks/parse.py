"""Typed parsing of canonical text columns, vectorised, with a reason for every value that fails.

Each parser takes a column of text (as read from the file, empty string for nothing) and returns
the typed column plus a boolean mask of values that were present but could not be read. Money is
parsed to integer minor units without ever passing through a float.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.money import CURRENCY_EXPONENTS

_DECIMAL = r"^([+-]?)(\d{1,15})(?:\.(\d*))?$"


def blank(values: pd.Series) -> pd.Series:
    return values.isna() | (values.astype("string").str.strip() == "")


def parse_text(values: pd.Series) -> pd.Series:
    """Trimmed text; blanks become missing."""
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def parse_currency(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """ISO 4217 codes in upper case; an unknown code is a failure."""
    codes = values.astype("string").str.strip().str.upper()
    known = codes.isin(list(CURRENCY_EXPONENTS))
    present = ~blank(values)
    return codes.where(known), present & ~known


def parse_integer(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    text = values.astype("string").str.strip()
    ok = text.str.fullmatch(r"[+-]?\d{1,15}").fillna(False).astype(bool)
    parsed = pd.Series(pd.NA, index=values.index, dtype="Int64")
    if ok.any():
        parsed[ok] = text[ok].astype("int64")
    return parsed, ~blank(values) & ~ok


def parse_date(values: pd.Series, date_format: str) -> tuple[pd.Series, pd.Series]:
    text = values.astype("string").str.strip()
    parsed = pd.to_datetime(text, format=date_format, errors="coerce")
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

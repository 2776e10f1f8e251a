"""Amounts, dates, rates and quantities as a reader of the document's language writes them.

Pure. Babel (CLDR) knows each language's separators, the currency symbol and where it goes:
`1.234,56 €` and `04.12.2026` in German, `1 234,56 €` and `4 déc. 2026` in French, `€1,234.56` and
`4 Dec 2026` in English. Amounts arrive as integers of the currency's minor unit and are printed
exactly with the currency's own number of decimals (`tasks.platform.money`), never through a float.
The narrow no-break space French puts between thousands is printed as a plain no-break space, which
every PDF font and mail client has.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal, parse_pattern

from tasks.platform.money import exponent, is_currency

LOCALES = {"en": "en_GB", "de": "de_DE", "fr": "fr_FR"}
"""The locale each document language is written in (English as in Britain and Ireland: day before
month, the currency symbol before the amount)."""
DATE_FORMATS = {"en": "d MMM y", "de": "dd.MM.y", "fr": "d MMM y"}


def is_known(currency: str) -> bool:
    """Whether `currency` is a currency this product holds amounts in."""
    return is_currency(currency)


def language_of(value: Any) -> str:
    """A document language we write (`en`, `de`, `fr`); anything else is English."""
    return value if isinstance(value, str) and value in LOCALES else "en"


@cache
def _locale(language: str) -> Locale:
    return Locale.parse(LOCALES[language_of(language)])


@cache
def _currency_pattern(language: str, digits: int) -> Any:
    pattern = parse_pattern(_locale(language).currency_formats["standard"].pattern)
    pattern.frac_prec = (digits, digits)
    return pattern


def _plain(text: str) -> str:
    return text.replace("\u202f", "\u00a0")


def money(minor: int, currency: str, language: str) -> str:
    """`minor` units of `currency` with its symbol, as the language writes money: exactly, with the
    currency's decimals (`123456, "EUR", "de"` -> `1.234,56 €`; `1234, "JPY", "en"` -> `JP¥1,234`).
    Written from the parts Babel's own output has (`money_parts`), which is many times faster than
    asking Babel each time and the same to the character (a test holds them together)."""
    prefix, suffix, group, decimal = money_parts(currency, language_of(language))
    digits = exponent(currency)
    whole, rest = divmod(abs(int(minor)), 10**digits)
    text = f"{whole:,}".replace(",", group)
    if digits:
        text += decimal + f"{rest:0{digits}d}"
    return ("-" if int(minor) < 0 else "") + prefix + text + suffix


def babel_money(minor: int, currency: str, language: str) -> str:
    """`money` as Babel writes it, asked each time."""
    digits = exponent(currency)
    value = Decimal(int(minor)).scaleb(-digits)
    pattern = _currency_pattern(language_of(language), digits)
    return _plain(pattern.apply(value, _locale(language), currency=currency, currency_digits=False))


def number(minor: int, currency: str, language: str) -> str:
    """`minor` units of `currency` as a number without the symbol (`123456, "EUR", "de"` -> `1.234,56`),
    for a table whose column heading names the currency."""
    digits = exponent(currency)
    value = Decimal(int(minor)).scaleb(-digits)
    fmt = "#,##0" + ("." + "0" * digits if digits else "")
    return _plain(format_decimal(value, format=fmt, locale=_locale(language), decimal_quantization=False))


@lru_cache(maxsize=4096)  # a run's documents and messages share their dates
def day(value: Any, language: str) -> str:
    """A date as the language writes it on a document (`04.12.2026`, `4 déc. 2026`, `4 Dec 2026`);
    an empty text for no date. Each date is written once per language."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        value = value.date()
    elif not isinstance(value, date):
        import pandas as pd

        if pd.isna(value):
            return ""
        value = pd.Timestamp(value).date()
    lang = language_of(language)
    return _plain(format_date(value, DATE_FORMATS[lang], locale=_locale(lang)))


def percent(ppm: int, language: str) -> str:
    """A rate in parts per million as a percentage (`190000` -> `19 %` in German, `19%` in English,
    `5,5 %` in French), with as many decimals as it has."""
    value = Decimal(int(ppm)).scaleb(-4).normalize()
    whole = format_decimal(value, format="#,##0.####", locale=_locale(language))
    return _plain(f"{whole}\u00a0%" if language_of(language) in ("de", "fr") else f"{whole}%")


def quantity(value: int, language: str) -> str:
    """A whole quantity with the language's thousands separator (`1.200`, `1 200`, `1,200`)."""
    return _plain(format_decimal(int(value), format="#,##0", locale=_locale(language)))


def country_name(code: str, language: str) -> str:
    """A country's name in the language (`DE` -> `Deutschland`, `Allemagne`, `Germany`); the code
    itself when it names no country."""
    return str(_locale(language).territories.get(code.upper(), code)) if code else ""


# Where the town line puts the postcode: after the town in these countries, before it elsewhere.
_POSTCODE_AFTER_TOWN = {"GB", "IE", "US", "CA", "AU"}


def postal_lines(party: Any, language: str, home_country: str = "") -> tuple[str, ...]:
    """A party's postal address as printed: the street line(s), the town with its postcode, and the
    country's name in the language (left out when it is `home_country`, the sender's own)."""
    town = (
        " ".join(p for p in (party.city, party.postcode) if p)
        if party.country in _POSTCODE_AFTER_TOWN
        else " ".join(p for p in (party.postcode, party.city) if p)
    )
    country = country_name(party.country, language) if party.country != home_country else ""
    return tuple(line for line in (*party.street, town, country) if line)


@cache
def money_parts(currency: str, language: str) -> tuple[str, str, str, str]:
    """How `money` writes `currency` in `language`, in parts a set-based formatter can reuse:
    (text before the digits, text after them, the thousands separator, the decimal separator).
    Read off Babel's own output for a probe amount, so the two always agree (a test holds them)."""
    digits = exponent(currency)
    text = babel_money(1_234_567 * 10**digits + 10**digits - 1, currency, language)  # 1?234?567?99...
    first = next(i for i, ch in enumerate(text) if ch.isdigit())
    last = max(i for i, ch in enumerate(text) if ch.isdigit())
    body = text[first : last + 1]
    group = body[1]  # 1?234?567
    decimal = body[9] if digits else ""  # 1?234?567?89...
    return text[:first], text[last + 1 :], group, decimal


@cache
def month_abbreviations(language: str) -> tuple[str, ...]:
    """The twelve months as the language abbreviates them in a date (`Dec`, `déc.`; January first)."""
    months = _locale(language).months["format"]["abbreviated"]
    return tuple(str(months[m]) for m in range(1, 13))


def numeric_dates(language: str) -> bool:
    """Whether the language's document dates are all digits (`04.12.2026`) rather than a day, a
    month's abbreviation and a year (`4 Dec 2026`)."""
    return language_of(language) == "de"

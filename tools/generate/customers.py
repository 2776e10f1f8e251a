"""The book's customers: spread over countries, segments and payment habits in fixed shares, each
with a name, e-mail address, bank accounts, payment terms, credit limit, price list and VAT rates, and
the customer master frame as written to customers.csv.

What only the generator knows (each customer's payment habit, its order volume) lives on `Customers`
beside the master data; the habit decides later how its invoices get paid (`payments`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from tasks.platform.money import exponent, round_half_up_div, to_major_str
from tools.generate import text
from tools.generate.basics import EUR_RATE_BP, from_eur_minor, quota_labels, string_frame

# country: currency, language, share of customers (%), standard VAT, reduced VAT for printed matter
_COUNTRIES = {
    "DE": ("EUR", "de", 28, "0.19", "0.07"),
    "FR": ("EUR", "fr", 14, "0.20", "0.055"),
    "NL": ("EUR", "en", 9, "0.21", "0.09"),
    "AT": ("EUR", "de", 7, "0.20", "0.10"),
    "BE": ("EUR", "fr", 5, "0.21", "0.06"),
    "GB": ("GBP", "en", 12, "0.20", "0"),
    "US": ("USD", "en", 12, "0", "0"),
    "CH": ("CHF", "de", 8, "0.081", "0.026"),
    "JP": ("JPY", "en", 5, "0.10", "0.10"),
}
TAX_RATES = sorted({rate for *_, standard, reduced in _COUNTRIES.values() for rate in (standard, reduced)})
# segment: share of customers (%), discount on list prices (%), relative order volume, credit limit range
_SEGMENTS = {
    "enterprise": (15, 12, 4.0, range(250, 1001, 50)),
    "mid-market": (35, 5, 2.0, range(50, 251, 10)),
    "small-business": (50, 0, 1.0, range(5, 51, 5)),
}
_DUNNING_PROFILES = {"enterprise": "strategic", "mid-market": "standard", "small-business": "small-business"}
_TERMS_SHARES = {14: 15, 30: 50, 45: 15, 60: 20}
HABIT_SHARES = dict(early=20, on_time=30, late=20, chronic_late=10, partial=8, disputer=7, never=5)
# the early-payment discount offered to customers who pay early: 2 % within 10 days of issue
DISCOUNT_PERCENT, DISCOUNT_DAYS = 2, 10


@dataclass
class Customers:
    """The customer master plus what only the generator knows: habit, prices, VAT and order volume."""

    ids: list[str]
    names: list[str]
    countries: list[str]
    currencies: list[str]
    languages: list[str]
    segments: list[str]
    habits: list[str]
    terms_days: list[int]
    emails: list[str]
    accounts: list[list[str]]
    credit_limits: list[str]
    volume: np.ndarray  # relative number of orders
    prices_minor: np.ndarray  # customer x catalogue item: unit price in the customer's currency
    tax_rate_index: np.ndarray  # customer x (standard, printed matter): index into TAX_RATES


@lru_cache(maxsize=64)
def _price_list_minor(currency: str, segment: str) -> tuple[int, ...]:
    """Unit prices of the catalogue in `currency` after the segment's discount."""
    discount_pct = _SEGMENTS[segment][1]
    return tuple(
        round_half_up_div(from_eur_minor(item[2], currency) * (100 - discount_pct), 100)
        for item in text.CATALOG
    )


def make_customers(count: int, rng: random.Random) -> Customers:
    """Customers spread over countries, segments and payment habits in fixed shares."""
    countries = quota_labels(rng, count, {country: spec[2] for country, spec in _COUNTRIES.items()})
    segments = quota_labels(rng, count, {segment: spec[0] for segment, spec in _SEGMENTS.items()})
    currencies = [_COUNTRIES[country][0] for country in countries]
    languages = [_COUNTRIES[country][1] for country in countries]
    taken: set[str] = set()
    names = [text.company_name(country, rng, taken) for country in countries]
    pairs = list(zip(currencies, segments, strict=True))
    return Customers(
        ids=[f"C{number:05d}" for number in range(1, count + 1)],
        names=names,
        countries=countries,
        currencies=currencies,
        languages=languages,
        segments=segments,
        habits=quota_labels(rng, count, HABIT_SHARES),
        terms_days=rng.choices(list(_TERMS_SHARES), weights=list(_TERMS_SHARES.values()), k=count),
        emails=[
            text.email_address(n, c, lg, rng) for n, c, lg in zip(names, countries, languages, strict=True)
        ],
        accounts=[[text.bank_account(c, rng) for _ in range(1 + (rng.random() < 0.3))] for c in countries],
        credit_limits=[_credit_limit(segment, currency, rng) for currency, segment in pairs],
        volume=np.array([_SEGMENTS[segment][2] * rng.lognormvariate(0, 0.4) for segment in segments]),
        prices_minor=np.array([_price_list_minor(*pair) for pair in pairs], dtype=np.int64).reshape(
            count, -1
        ),
        tax_rate_index=np.array(
            [[TAX_RATES.index(rate) for rate in _COUNTRIES[country][3:]] for country in countries],
            dtype=np.int64,
        ),
    )


def _credit_limit(segment: str, currency: str, rng: random.Random) -> str:
    """A credit limit fitting the segment: a round number of thousands in the customer's currency."""
    eur_thousands = rng.choice(_SEGMENTS[segment][3])
    thousands = round_half_up_div(eur_thousands * EUR_RATE_BP[currency], 10000)
    return to_major_str(thousands * 1000 * 10 ** exponent(currency), currency)


def customer_frame(cust: Customers) -> pd.DataFrame:
    return string_frame(
        "customers",
        cust.ids,
        cust.names,
        cust.emails,
        cust.countries,
        cust.currencies,
        [str(days) for days in cust.terms_days],
        cust.credit_limits,
        cust.segments,
        [_DUNNING_PROFILES[segment] for segment in cust.segments],
        cust.languages,
        [";".join(accounts) for accounts in cust.accounts],
        [  # customers who pay early are offered the discount they take
            f"{DISCOUNT_PERCENT}% {DISCOUNT_DAYS} net {days}" if habit == "early" else ""
            for days, habit in zip(cust.terms_days, cust.habits, strict=True)
        ],
    )

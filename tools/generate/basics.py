"""The generator's shared building blocks: each dataset's columns, the book's fixed exchange rates,
draws in exact shares, business days, ISO dates and the frames of strings every dataset is written as.

Pure and deterministic: nothing here draws a random number of its own; callers pass their generator.
"""

from __future__ import annotations

import random
from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd

from tasks.platform.money import allocate, exponent, round_half_up_div, to_major_str

COLUMNS = {
    "customers": [
        *("customer_id", "name", "email", "country", "currency", "payment_terms_days", "credit_limit"),
        *("segment", "dunning_profile", "language", "bank_accounts", "payment_terms"),
    ],
    "orders": ["order_id", "customer_id", "order_date", "currency", "status", "fulfilled_date"],
    "order_lines": ["order_id", "line_no", "sku", "description", "quantity", "unit_price", "tax_rate"],
    "invoices": [
        "invoice_id",
        "customer_id",
        "issue_date",
        "due_date",
        "currency",
        "amount",
        "order_id",
        "discount_date",
        "discount_amount",
    ],
    "payments": [
        "payment_id",
        "value_date",
        "amount",
        "currency",
        "payer_name",
        "payer_account",
        "reference",
    ],
    "truth_allocations": ["payment_id", "invoice_id", "amount", "currency"],
}
EUR_RATE_BP = {"EUR": 10000, "USD": 10850, "GBP": 8450, "CHF": 9400, "JPY": 1620000}  # per EUR, x 10^4


def quota_labels(rng: random.Random, count: int, shares: dict[str, int]) -> list[str]:
    """`count` labels in exact proportion to `shares` (largest remainder), shuffled, so that even a small
    book holds every label its share allows."""
    counts = allocate(count, list(shares.values()))
    labels = [label for label, times in zip(shares, counts, strict=True) for _ in range(times)]
    rng.shuffle(labels)
    return labels


def from_eur_minor(eur_cents: int, currency: str) -> int:
    """An EUR amount converted at the book's fixed rate into minor units of `currency`."""
    return round_half_up_div(eur_cents * EUR_RATE_BP[currency] * 10 ** exponent(currency), 100 * 10000)


def previous_business_days(days: np.ndarray) -> np.ndarray:
    """Move Saturdays and Sundays back to the Friday before (nobody issues invoices at weekends)."""
    weekday = (days - 1) % 7  # ordinal 1 (0001-01-01) was a Monday
    return days - np.maximum(weekday - 4, 0)


def next_business_day(day: int) -> int:
    """Move a Saturday or Sunday value date on to the Monday after (banks book on working days)."""
    weekday = (day - 1) % 7
    return day + 7 - weekday if weekday >= 5 else day


@lru_cache(maxsize=2048)
def iso(day: int) -> str:
    return date.fromordinal(day).isoformat()


@lru_cache(maxsize=4096)
def price_text(minor: int, currency: str) -> str:
    return to_major_str(minor, currency)


def string_frame(name: str, *columns: list[str]) -> pd.DataFrame:
    """A dataset from its columns of strings, given in the order of COLUMNS[name]."""
    return pd.DataFrame(dict(zip(COLUMNS[name], columns, strict=True)), dtype=object)

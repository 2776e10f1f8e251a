"""Money as integer minor units: parsing, formatting, allocation and per-line tax."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tasks.platform.money import (
    MoneyError,
    allocate,
    exponent,
    is_currency,
    line_amounts,
    round_half_up_div,
    to_major_str,
    to_minor,
)


@pytest.mark.parametrize(
    ("currency", "decimals"),
    [("EUR", 2), ("USD", 2), ("GBP", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3), ("CLF", 4)],
)
def test_exponent_is_the_iso_4217_minor_unit(currency: str, decimals: int) -> None:
    assert exponent(currency) == decimals


@pytest.mark.parametrize("code", ["XYZ", "eur", "", "EURO"])
def test_exponent_of_an_unknown_currency_is_an_error(code: str) -> None:
    with pytest.raises(MoneyError, match="unknown currency"):
        exponent(code)


def test_is_currency() -> None:
    assert is_currency("EUR")
    assert not is_currency("eur")
    assert not is_currency("XYZ")
    assert not is_currency(None)


# text in major units         currency  minor units
TO_MINOR = [
    ("1234.50", "EUR", 123450),
    ("1234.5", "EUR", 123450),
    ("1234", "EUR", 123400),
    ("38.0", "USD", 3800),
    ("38.00", "USD", 3800),
    ("38.000", "USD", 3800),  # trailing zeros are not extra precision
    ("0.01", "EUR", 1),
    ("0.29", "EUR", 29),  # 0.29 * 100 is 28.999... as a float
    ("-12.34", "EUR", -1234),
    ("+5", "EUR", 500),
    (" 7.50 ", "EUR", 750),
    ("1500", "JPY", 1500),
    ("1500.0", "JPY", 1500),
    ("1.234", "KWD", 1234),
    ("0.001", "KWD", 1),
    ("12345678901234.56", "EUR", 1234567890123456),
]


@pytest.mark.parametrize(("text", "currency", "minor"), TO_MINOR)
def test_to_minor(text: str, currency: str, minor: int) -> None:
    assert to_minor(text, currency) == minor


def test_to_minor_of_an_int_is_whole_major_units() -> None:
    assert to_minor(12, "EUR") == 1200
    assert to_minor(12, "JPY") == 12
    assert to_minor(12, "KWD") == 12000


def test_to_minor_of_a_decimal() -> None:
    assert to_minor(Decimal("1.10"), "EUR") == 110
    with pytest.raises(MoneyError, match="more than 2 decimals for EUR"):
        to_minor(Decimal("1.005"), "EUR")
    with pytest.raises(MoneyError, match="not a finite number"):
        to_minor(Decimal("Infinity"), "EUR")


# text that must never be rounded or guessed          currency  what the error says
TO_MINOR_REJECTED = [
    ("1.005", "EUR", "more than 2 decimals for EUR"),
    ("0.001", "USD", "more than 2 decimals for USD"),
    ("1.5", "JPY", "more than 0 decimals for JPY"),
    ("1.2345", "KWD", "more than 3 decimals for KWD"),
    ("1,50", "EUR", "not a decimal number"),
    ("1 000.00", "EUR", "not a decimal number"),
    ("1e3", "EUR", "not a decimal number"),
    ("1.2.3", "EUR", "not a decimal number"),
    ("--1", "EUR", "not a decimal number"),
    ("NaN", "EUR", "not a decimal number"),
    ("Infinity", "EUR", "not a decimal number"),
    ("", "EUR", "not a decimal number"),
    ("EUR 5", "EUR", "not a decimal number"),
    ("12.00", "XYZ", "unknown currency"),
]


@pytest.mark.parametrize(("text", "currency", "why"), TO_MINOR_REJECTED)
def test_to_minor_rejects(text: str, currency: str, why: str) -> None:
    with pytest.raises(MoneyError, match=why):
        to_minor(text, currency)


# minor units  currency  major units as text
TO_MAJOR = [
    (123450, "EUR", "1234.50"),
    (5, "EUR", "0.05"),
    (0, "EUR", "0.00"),
    (-5, "EUR", "-0.05"),
    (-123450, "EUR", "-1234.50"),
    (1500, "JPY", "1500"),
    (-1500, "JPY", "-1500"),
    (0, "JPY", "0"),
    (1234, "KWD", "1.234"),
    (1, "KWD", "0.001"),
    (-1, "KWD", "-0.001"),
]


@pytest.mark.parametrize(("minor", "currency", "text"), TO_MAJOR)
def test_to_major_str(minor: int, currency: str, text: str) -> None:
    assert to_major_str(minor, currency) == text


@pytest.mark.parametrize(("minor", "currency", "text"), TO_MAJOR)
def test_to_major_str_reads_back_with_to_minor(minor: int, currency: str, text: str) -> None:
    assert to_minor(to_major_str(minor, currency), currency) == minor


# total  weights       parts
ALLOCATE = [
    (100, [1, 1, 1], [34, 33, 33]),  # the cent left over goes to the earliest tie
    (-100, [1, 1, 1], [-34, -33, -33]),
    (100, [1, 2, 3], [17, 33, 50]),  # 16.67 / 33.33 / 50: largest remainder first
    (-100, [1, 2, 3], [-17, -33, -50]),
    (10, [3, 3, 4], [3, 3, 4]),
    (1, [1, 1], [1, 0]),
    (-1, [1, 1], [-1, 0]),
    (101, [50, 50], [51, 50]),
    (7, [0, 1], [0, 7]),
    (0, [1, 2], [0, 0]),
    (5, [1], [5]),
    (2, [1, 1, 1, 1, 1], [1, 1, 0, 0, 0]),
    (99999, [7, 11, 13], [22580, 35484, 41935]),  # remainders 13, 16, 2 (of 31)
]


@pytest.mark.parametrize(("total", "weights", "parts"), ALLOCATE)
def test_allocate_by_largest_remainder(total: int, weights: list[int], parts: list[int]) -> None:
    assert allocate(total, weights) == parts


@pytest.mark.parametrize("total", [-100_001, -7, -1, 0, 1, 7, 100, 12_345_67])
@pytest.mark.parametrize("weights", [[1], [1, 1, 1], [3, 0, 7], [19, 7, 7, 0, 1], [1_000_000, 1, 1]])
def test_allocate_parts_always_sum_to_the_total(total: int, weights: list[int]) -> None:
    parts = allocate(total, weights)
    assert sum(parts) == total
    assert len(parts) == len(weights)
    # every part is within one minor unit of its exact share, and has the total's sign
    for part, weight in zip(parts, weights, strict=True):
        exact = Decimal(total) * weight / sum(weights)
        assert abs(part - exact) < 1
        assert part == 0 or (part > 0) == (total > 0)


def test_allocate_over_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no weights"):
        allocate(100, [])
    with pytest.raises(ValueError, match="sum to zero"):
        allocate(100, [0, 0])


# quantity  unit price (minor)  tax rate  net   tax
LINES = [
    (3, 333, "0.19", 999, 190),  # 189.81 -> 190
    (1, 5, "0.10", 5, 1),  # 0.5 -> 1: half away from zero
    (1, 15, "0.10", 15, 2),  # 1.5 -> 2
    (1, 25, "0.10", 25, 3),  # 2.5 -> 3, where banker's rounding gives 2
    (1, 14, "0.10", 14, 1),  # 1.4 -> 1
    (-1, 5, "0.10", -5, -1),  # a credit line rounds away from zero too
    (-1, 25, "0.10", -25, -3),
    (2, 250, "0.07", 500, 35),
    (1, 1000, "0", 1000, 0),
    (10, 1999, "0.2", 19990, 3998),
    (1, 7, "0.5", 7, 4),
]


@pytest.mark.parametrize(("quantity", "price", "rate", "net", "tax"), LINES)
def test_line_amounts(quantity: int, price: int, rate: str, net: int, tax: int) -> None:
    assert line_amounts(quantity, price, Decimal(rate)) == (net, tax)


# numerator  denominator  rounded half away from zero
DIVISIONS = [
    (5, 10, 1),
    (4, 10, 0),
    (15, 10, 2),
    (25, 10, 3),
    (-5, 10, -1),
    (-4, 10, 0),
    (-25, 10, -3),
    (0, 7, 0),
]


@pytest.mark.parametrize(("numerator", "denominator", "quotient"), DIVISIONS)
def test_round_half_up_div(numerator: int, denominator: int, quotient: int) -> None:
    assert round_half_up_div(numerator, denominator) == quotient


@pytest.mark.parametrize("denominator", [0, -10])
def test_round_half_up_div_needs_a_positive_denominator(denominator: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        round_half_up_div(5, denominator)

"""Payment terms: due dates by net and end-of-month terms, and the early-payment discount."""

from __future__ import annotations

from datetime import date

import pytest

from tasks.platform.terms import Terms, TermsError, parse_terms

# terms             issued       due          discount until  discount on 1000.00
CASES = [
    ("net 30", "2026-01-31", "2026-03-02", None, None),
    ("NET 0", "2026-01-31", "2026-01-31", None, None),
    ("eom 15", "2026-01-10", "2026-02-15", None, None),
    ("eom 15", "2026-01-31", "2026-02-15", None, None),
    ("eom 30", "2026-02-01", "2026-03-30", None, None),  # February ends on the 28th in 2026
    ("eom 0", "2028-02-10", "2028-02-29", None, None),  # a leap year
    ("2% 10 net 30", "2026-03-01", "2026-03-31", "2026-03-11", 20_00),
    ("2/10 net 30".replace("/", "% "), "2026-03-01", "2026-03-31", "2026-03-11", 20_00),
    ("2.5% 14 eom 30", "2026-03-20", "2026-04-30", "2026-04-03", 25_00),
    ("", "2026-03-01", "2026-04-15", None, None),  # empty: net payment_terms_days (45 here)
]


@pytest.mark.parametrize(("text", "issued", "due", "until", "discount"), CASES)
def test_due_date_and_discount(
    text: str, issued: str, due: str, until: str | None, discount: int | None
) -> None:
    terms = parse_terms(text, fallback_days=45)
    day = date.fromisoformat(issued)
    assert terms.due(day) == date.fromisoformat(due)
    assert terms.discount(day, 1000_00) == (date.fromisoformat(until) if until else None, discount)


@pytest.mark.parametrize(
    ("amount", "discount"),
    [(1_00, 2), (25, 1), (24, 0), (1234_57, 24_69), (-500_00, None), (0, None)],  # half up; none on credits
)
def test_the_discount_rounds_half_up_to_the_minor_unit(amount: int, discount: int | None) -> None:
    # 2 % of 0.25 is 0.005: half a cent rounds up; of 0.24 it is 0.0048: down; of 1234.57 it is 24.6914
    _until, value = Terms("net", 30, 20_000, 10).discount(date(2026, 3, 1), amount)
    assert value == discount


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("30 days", "not understood"),
        ("net", "not understood"),
        ("2% net 30", "not understood"),
        ("0% 10 net 30", "a discount needs a rate and days above zero"),
        ("2% 40 net 30", "the discount days run past the due date"),
    ],
)
def test_terms_that_cannot_be_read_say_so(text: str, message: str) -> None:
    with pytest.raises(TermsError, match=message):
        parse_terms(text)


def test_instalments_split_the_total_by_largest_remainder_and_fall_due_apart() -> None:
    terms = parse_terms("net 30, 3 instalments every 30 days")
    schedule = terms.schedule(date(2026, 3, 1), 100_00)
    # 100.00 in three: 33.34, 33.33, 33.33 (the one cent left over goes to the first)
    assert schedule == [(date(2026, 3, 31), 33_34), (date(2026, 4, 30), 33_33), (date(2026, 5, 30), 33_33)]
    assert sum(a for _, a in terms.schedule(date(2026, 3, 1), 2)) == 2
    assert terms.schedule(date(2026, 3, 1), 2) == [
        (date(2026, 3, 31), 1),
        (date(2026, 4, 30), 1),
        (date(2026, 5, 30), 0),
    ]
    assert parse_terms("eom 15, 2 instalments every 14 days").schedule(date(2026, 2, 3), 50_01) == [
        (date(2026, 3, 15), 25_01),
        (date(2026, 3, 29), 25_00),
    ]
    assert parse_terms("net 30").schedule(date(2026, 3, 1), 10_00) == [(date(2026, 3, 31), 10_00)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("net 30, 1 instalments every 30 days", "at least 2 parts"),
        ("2% 10 net 30, 3 instalments every 30 days", "do not mix"),
        ("net 30, 3 instalments", "not understood"),
    ],
)
def test_instalment_terms_that_cannot_work_say_so(text: str, message: str) -> None:
    with pytest.raises(TermsError, match=message):
        parse_terms(text)

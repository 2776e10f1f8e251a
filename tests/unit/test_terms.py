"""Payment terms: due dates by net and end-of-month terms, and the early-payment discount."""

from __future__ import annotations

from datetime import date

import pytest

from tasks.terms import Terms, TermsError, parse_terms

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

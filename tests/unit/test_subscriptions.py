"""Subscriptions bill in advance, catch up after missed runs, and never bill a period twice."""

from __future__ import annotations

from datetime import date

import pytest

from tasks.invoice.subscriptions import periods_due, shift

from .tables import table

SUBS = table("""
    | subscription_id | customer_id | currency | plan  | amount_minor | tax_rate_ppm | interval  | start_date | end_date   |
    | S-M             | C1          | EUR      | Basic | 10_00        | 190000       | monthly   | 2026-01-31 |            |
    | S-Q             | C1          | EUR      | Pro   | 90_00        | 190000       | quarterly | 2026-01-15 |            |
    | S-Y             | C2          | USD      | Team  | 1200_00      | 0            | yearly    | 2025-06-01 |            |
    | S-END           | C2          | EUR      | Trial | 5_00         | 190000       | monthly   | 2026-02-01 | 2026-03-15 |
    | S-LATER         | C2          | EUR      | Later | 5_00         | 190000       | monthly   | 2026-05-01 |            |
""")


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2026-01-31", 1, "2026-02-28"),
        ("2026-01-31", 2, "2026-03-31"),
        ("2024-01-31", 1, "2024-02-29"),
        ("2026-11-15", 3, "2027-02-15"),
        ("2025-06-01", 12, "2026-06-01"),
    ],
)
def test_a_period_keeps_its_day_of_the_month_where_the_month_has_it(
    start: str, months: int, expected: str
) -> None:
    assert shift(date.fromisoformat(start), months) == date.fromisoformat(expected)


def test_a_late_run_catches_up_every_period_begun_since() -> None:
    due = periods_due(SUBS, set(), date(2026, 4, 10))
    assert [(r.subscription_id, str(r.period_start), str(r.period_end)) for r in due.itertuples()] == [
        ("S-M", "2026-01-31", "2026-02-27"),
        ("S-M", "2026-02-28", "2026-03-30"),
        ("S-M", "2026-03-31", "2026-04-29"),
        ("S-Q", "2026-01-15", "2026-04-14"),
        ("S-Y", "2025-06-01", "2026-05-31"),
        ("S-END", "2026-02-01", "2026-02-28"),
        ("S-END", "2026-03-01", "2026-03-31"),  # starts before the end date: billed, in full
    ]


def test_a_period_already_billed_is_never_billed_again() -> None:
    first = periods_due(SUBS, set(), date(2026, 4, 10))
    billed = set(zip(first["subscription_id"], first["period_start"], strict=True))
    assert periods_due(SUBS, billed, date(2026, 4, 10)).empty
    later = periods_due(SUBS, billed, date(2026, 5, 1))
    assert [(r.subscription_id, str(r.period_start)) for r in later.itertuples()] == [
        ("S-M", "2026-04-30"),
        ("S-Q", "2026-04-15"),
        ("S-LATER", "2026-05-01"),
    ]

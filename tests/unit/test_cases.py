"""Promises to pay kept or broken, on the boundaries; and the credit note's split of net and tax."""

from __future__ import annotations

from datetime import date

import pytest

from tasks.escalate.cases import promise_outcomes, split_gross

from .tables import table

PROMISES = table("""
    | case_id | customer_id | invoice_id | amount_minor | currency | opened_on  | due_on     |
    | PR-1    | C1          | I-1        | 100_00       | EUR      | 2026-11-01 | 2026-11-15 |
""")


def cash(rows: str) -> object:
    return table("| invoice_id | customer_id | value_date | amount_minor |\n" + rows)


@pytest.mark.parametrize(
    ("payments", "as_of", "expected"),
    [
        (
            "| I-1 | C1 | 2026-11-15 | 100_00 |",
            date(2026, 11, 20),
            ("kept", date(2026, 11, 15)),
        ),  # on its date
        (
            "| I-1 | C1 | 2026-11-16 | 100_00 |",
            date(2026, 11, 20),
            ("broken", date(2026, 11, 20)),
        ),  # a day late
        (
            "| I-1 | C1 | 2026-11-03 | 60_00 |\n| I-1 | C1 | 2026-11-10 | 40_00 |",
            date(2026, 11, 20),
            ("kept", date(2026, 11, 10)),
        ),
        (
            "| I-1 | C1 | 2026-11-03 | 99_99 |",
            date(2026, 11, 20),
            ("broken", date(2026, 11, 20)),
        ),  # a cent short
        (
            "| I-1 | C1 | 2026-10-31 | 100_00 |",
            date(2026, 11, 20),
            ("broken", date(2026, 11, 20)),
        ),  # before the promise
        (
            "| I-2 | C1 | 2026-11-05 | 100_00 |",
            date(2026, 11, 20),
            ("broken", date(2026, 11, 20)),
        ),  # another invoice
        ("| I-1 | C1 | 2026-11-03 | 50_00 |", date(2026, 11, 15), None),  # its date not passed yet: open
        ("| I-1 | C1 | 2026-11-03 | 50_00 |", date(2026, 11, 16), ("broken", date(2026, 11, 16))),
    ],
)
def test_a_promise_is_kept_by_cash_by_its_date_and_broken_after(
    payments: str, as_of: date, expected: tuple | None
) -> None:
    outcomes = promise_outcomes(PROMISES, cash(payments), as_of)
    if expected is None:
        assert outcomes.empty
    else:
        assert (outcomes.at[0, "status"], outcomes.at[0, "resolved_on"]) == expected


def test_a_promise_for_the_whole_customer_counts_cash_on_any_of_its_invoices() -> None:
    promises = PROMISES.assign(invoice_id="")
    outcomes = promise_outcomes(
        promises,
        cash("| I-7 | C1 | 2026-11-05 | 100_00 |\n| I-8 | C2 | 2026-11-05 | 100_00 |"),
        date(2026, 11, 20),
    )
    assert outcomes["status"].tolist() == ["kept"]
    other = promise_outcomes(promises, cash("| I-8 | C2 | 2026-11-05 | 100_00 |"), date(2026, 11, 20))
    assert other["status"].tolist() == ["broken"]
    assert other.at[0, "resolution"] == "broken: 0.00 of 100.00 EUR paid by 2026-11-15"


def test_a_promise_over_several_invoices_counts_cash_on_each() -> None:
    promises = PROMISES.assign(invoice_id="I-1;I-2")
    outcomes = promise_outcomes(
        promises,
        cash("| I-1 | C1 | 2026-11-05 | 30_00 |\n| I-2 | C1 | 2026-11-06 | 70_00 |"),
        date(2026, 11, 20),
    )
    assert outcomes[["status", "resolved_on"]].values.tolist() == [["kept", date(2026, 11, 6)]]


@pytest.mark.parametrize(
    ("gross", "net", "tax", "expected"),
    [
        (29_75, 150_00, 28_50, (25_00, 4_75)),  # 19 %
        (1, 150_00, 28_50, (1, 0)),  # 0.84 of a cent of net rounds up
        (10_00, None, None, (10_00, 0)),  # billed elsewhere: no tax known
        (10_00, 10_00, 0, (10_00, 0)),
    ],
)
def test_a_credit_splits_into_net_and_tax_in_the_invoices_proportion(
    gross: int, net: int | None, tax: int | None, expected: tuple
) -> None:
    assert split_gross(gross, net, tax) == expected
    assert sum(split_gross(gross, net, tax)) == gross

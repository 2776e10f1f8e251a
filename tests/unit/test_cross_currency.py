"""Cash applied across currencies: a EUR payment naming a USD invoice pays it at the value date's
reference rate; both sides of each allocation add up exactly; without a rate it waits, saying why."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from tasks.platform.fx import Rates
from tasks.reconcile.apply import apply_cash
from tasks.reconcile.outcome import CashApplication
from tasks.reconcile.policy import default_policy

from .tables import table

AS_OF = date(2026, 3, 31)

OPEN = table("""
    | invoice_id      | customer_id | currency | due_date   | open_minor |
    | O2C-2026-000200 | C1          | USD      | 2026-02-01 | 108_00     |
    | O2C-2026-000201 | C1          | USD      | 2026-02-15 | 54_00      |
    | O2C-2026-000300 | C2          | GBP      | 2026-02-01 | 85_00      |
    | O2C-2026-000012 | C1          | EUR      | 2026-02-01 | 100_00     |
    | O2C-2026-000400 | C3          | JPY      | 2026-02-01 | 16200      |
""")

# USD and GBP per EUR (the ECB's way round); 2026-03-06 is a Friday, the 9th the next Monday
RATES = Rates.of(
    table("""
    | rate_date  | base_currency | currency | rate    |
    | 2026-03-06 | EUR           | USD      | 1.0800  |
    | 2026-03-06 | EUR           | GBP      | 0.8500  |
    | 2026-03-06 | EUR           | JPY      | 162.00  |
    | 2026-03-09 | EUR           | USD      | 1.0900  |
""")
)


def pay(payments: str, rates: Rates | None = RATES, invoices: pd.DataFrame = OPEN) -> CashApplication:
    return apply_cash(
        table(payments), invoices, as_of=AS_OF, rule_version="v1", policy=default_policy(), rates=rates
    )


def sides(cash: CashApplication) -> list[tuple[str, str, int, str, int, str]]:
    """(payment, invoice, amount, currency, payment amount, payment currency) of each allocation."""
    a = cash.allocations
    return list(
        zip(
            a["payment_id"],
            a["invoice_id"],
            a["amount_minor"],
            a["currency"],
            a["payment_amount_minor"],
            a["payment_currency"],
            strict=True,
        )
    )


def left(cash: CashApplication) -> dict[str, int]:
    return dict(zip(cash.unapplied["payment_id"], cash.unapplied["unapplied_minor"], strict=True))


def test_a_eur_payment_pays_the_usd_invoice_it_names_at_the_value_dates_rate() -> None:
    # 100.00 EUR at 1.08 on Friday the 6th is 108.00 USD: the invoice exactly
    cash = pay("""
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-03-06 | EUR      | 100_00          | O2C-2026-000200 |
    """)
    assert sides(cash) == [("P1", "O2C-2026-000200", 108_00, "USD", 100_00, "EUR")]
    row = cash.allocations.iloc[0]
    assert (row["exchange_rate"], row["rate_date"], row["rule"]) == (
        "1.08",
        date(2026, 3, 6),
        "cross_currency",
    )
    assert json.loads(row["evidence"])["converted"] == "108.00 USD"
    assert left(cash) == {"P1": 0}
    assert not len(cash.exceptions)


def test_a_weekend_takes_fridays_rate_and_monday_its_own() -> None:
    cash = pay("""
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-03-08 | EUR      | 50_00           | O2C-2026-000200 |
        | P2         | 2026-03-09 | EUR      | 40_00           | O2C-2026-000201 |
    """)
    # P1: 50.00 EUR at 1.08 = 54.00 USD, a partial payment; P2: 40.00 at 1.09 = 43.60 of 54.00
    assert sides(cash) == [
        ("P1", "O2C-2026-000200", 54_00, "USD", 50_00, "EUR"),
        ("P2", "O2C-2026-000201", 43_60, "USD", 40_00, "EUR"),
    ]
    assert cash.allocations["exchange_rate"].tolist() == ["1.08", "1.09"]


def test_a_payment_the_payers_bank_converted_at_its_own_rate_settles_within_the_tolerance() -> None:
    # 99.50 EUR is 107.46 USD at 1.08: 0.5 % short of 108.00, within 1 %: settled in full,
    # the whole payment used (the difference is the exchange gain or loss the journal books)
    cash = pay("""
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-03-06 | EUR      | 99_50           | O2C-2026-000200 |
    """)
    assert sides(cash) == [("P1", "O2C-2026-000200", 108_00, "USD", 99_50, "EUR")]
    assert left(cash) == {"P1": 0}


def test_an_overpayment_takes_what_the_invoices_cost_and_keeps_the_rest_in_its_currency() -> None:
    # 150.00 EUR for both USD invoices (162.00 USD = 150.00 EUR at 1.08) plus the GBP one is not
    # named; 200.00 EUR: 162.00 USD cost 150.00 EUR, 50.00 EUR stay on the payment
    cash = pay("""
        | payment_id | value_date | currency | unapplied_minor | reference                          |
        | P1         | 2026-03-06 | EUR      | 200_00          | O2C-2026-000200, O2C-2026-000201   |
    """)
    assert sides(cash) == [
        ("P1", "O2C-2026-000200", 108_00, "USD", 100_00, "EUR"),
        ("P1", "O2C-2026-000201", 54_00, "USD", 50_00, "EUR"),
    ]
    assert left(cash) == {"P1": 50_00}
    assert cash.exceptions["payment_id"].tolist() == ["P1"]


def test_the_payment_side_adds_up_exactly_over_several_invoices() -> None:
    # 1,000 JPY... 100.01 EUR at 1.08 = 108.01 USD for 162.00 USD open: a partial payment over two
    # invoices, oldest due first; the payment's side of the parts adds up to the payment exactly
    cash = pay("""
        | payment_id | value_date | currency | unapplied_minor | reference                        |
        | P1         | 2026-03-06 | EUR      | 100_01          | O2C-2026-000200 O2C-2026-000201  |
    """)
    assert [(i, a) for _, i, a, *_ in sides(cash)] == [("O2C-2026-000200", 108_00), ("O2C-2026-000201", 1)]
    assert int(cash.allocations["payment_amount_minor"].sum()) == 100_01


def test_a_currency_without_minor_units_is_rounded_once_to_it() -> None:
    # 100.00 EUR at 162 JPY = 16,200 JPY: the JPY invoice exactly
    cash = pay("""
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-03-06 | EUR      | 100_00          | O2C-2026-000400 |
    """)
    assert sides(cash) == [("P1", "O2C-2026-000400", 16200, "JPY", 100_00, "EUR")]


def test_crossed_through_the_base_currency() -> None:
    # 108.00 USD for the GBP invoice: GBP per USD = 0.85 / 1.08; 108.00 USD = 85.00 GBP
    cash = pay("""
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-03-06 | USD      | 108_00          | O2C-2026-000300 |
    """)
    assert sides(cash) == [("P1", "O2C-2026-000300", 85_00, "GBP", 108_00, "USD")]


@pytest.mark.parametrize(
    "rates",
    [
        None,
        Rates.of(
            table("""
    | rate_date  | base_currency | currency | rate   |
    | 2026-01-02 | EUR           | USD      | 1.0300 |
""")
        ),
    ],
)
def test_without_a_usable_rate_nothing_is_applied_and_the_queue_says_why(rates: Rates | None) -> None:
    cash = pay(
        """
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-03-06 | EUR      | 100_00          | O2C-2026-000200 |
        """,
        rates=rates,
    )
    assert not len(cash.allocations)
    reason = cash.exceptions.set_index("payment_id")["reason"]["P1"]
    if rates is not None:  # a quote two months old is too old to use
        assert reason == (
            "names USD invoice(s) O2C-2026-000200; no EUR->USD rate on or before 2026-03-06 (o2c rates load)"
        )


def test_a_payment_naming_an_invoice_of_its_own_currency_is_left_to_the_usual_passes() -> None:
    cash = pay("""
        | payment_id | value_date | currency | unapplied_minor | reference                         |
        | P1         | 2026-03-06 | EUR      | 100_00          | O2C-2026-000012 O2C-2026-000200   |
    """)
    assert sides(cash) == [("P1", "O2C-2026-000012", 100_00, "EUR", 100_00, "EUR")]


def test_naming_invoices_of_two_other_currencies_waits_for_a_person() -> None:
    cash = pay("""
        | payment_id | value_date | currency | unapplied_minor | reference                         |
        | P1         | 2026-03-06 | EUR      | 100_00          | O2C-2026-000200 O2C-2026-000300   |
    """)
    assert not len(cash.allocations)
    assert cash.exceptions["reason"].tolist() == [
        "names open invoices in GBP and USD, none in EUR: a person decides"
    ]


def test_a_second_run_on_what_the_first_left_applies_nothing() -> None:
    payments = """
        | payment_id | value_date | currency | unapplied_minor | reference                        |
        | P1         | 2026-03-06 | EUR      | 200_00          | O2C-2026-000200, O2C-2026-000201 |
        | P2         | 2026-03-06 | EUR      | 100_00          | O2C-2026-000012                  |
        | P3         | 2026-03-09 | USD      | 85_00           | O2C-2026-000300                  |
    """
    first = pay(payments)
    paid = first.allocations.groupby("invoice_id")["amount_minor"].sum()
    invoices = OPEN.assign(
        open_minor=OPEN["open_minor"] - OPEN["invoice_id"].map(paid).fillna(0).astype("int64")
    )
    rest = table(payments).assign(unapplied_minor=table(payments)["payment_id"].map(left(first)))
    second = apply_cash(
        rest[rest["unapplied_minor"] > 0],
        invoices,
        as_of=AS_OF,
        rule_version="v1",
        policy=default_policy(),
        rates=RATES,
        paired=set(zip(first.allocations["payment_id"], first.allocations["invoice_id"], strict=True)),
    )
    assert not len(second.allocations)
    assert second.exceptions["reason"].tolist() == first.exceptions["reason"].tolist()


def test_the_policy_can_turn_it_off() -> None:
    policy = default_policy()
    policy = policy.model_copy(
        update={"cross_currency": policy.cross_currency.model_copy(update={"apply": False})}
    )
    cash = apply_cash(
        table("""
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-03-06 | EUR      | 100_00          | O2C-2026-000200 |
        """),
        OPEN,
        as_of=AS_OF,
        rule_version="v1",
        policy=policy,
        rates=RATES,
    )
    assert not len(cash.allocations)


def test_a_book_whose_invoices_are_all_of_another_currency_is_still_looked_at() -> None:
    # every invoice in USD, the payment in EUR: the pass is not skipped as "one currency"
    cash = pay(
        """
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-03-06 | EUR      | 100_00          | O2C-2026-000200 |
        """,
        invoices=OPEN[OPEN["currency"] == "USD"].reset_index(drop=True),
    )
    assert sides(cash) == [("P1", "O2C-2026-000200", 108_00, "USD", 100_00, "EUR")]

"""Reconcile: cash applied to the invoices its remittance text names, oldest due first."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from tasks.reconcile.apply import apply_cash
from tasks.reconcile.outcome import CashApplication
from tasks.reconcile.policy import default_policy

from .tables import table

AS_OF = date(2026, 3, 31)

OPEN = table("""
    | invoice_id      | currency | due_date   | open_minor |
    | O2C-2026-000012 | EUR      | 2026-02-01 | 100_00     |
    | O2C-2026-000123 | EUR      | 2026-01-15 | 50_00      |
    | O2C-2026-000124 | EUR      | 2026-03-01 | 75_00      |
    | O2C-2026-000200 | USD      | 2026-02-01 | 40_00      |
    | O2C-2026-000201 | JPY      | 2026-02-01 | 15000      |
""")


def pay(payments: str, invoices: pd.DataFrame = OPEN) -> CashApplication:
    if "customer_id" not in invoices.columns:  # these cases are about references, not payers
        invoices = invoices.assign(customer_id="C1")
    return apply_cash(
        table(payments), invoices, as_of=AS_OF, rule_version="reference-v1", policy=default_policy()
    )


def counts_of(cash: CashApplication) -> dict[str, int]:
    """The counts every run reports (exceptions and per-rule counts are checked elsewhere)."""
    base = ("payments_considered", "payments_matched", "allocations", "payments_left_unapplied")
    return {k: cash.counts[k] for k in base}


def applied(cash: CashApplication) -> list[tuple[str, str, int]]:
    """(payment, invoice, amount) of every allocation, in the order made."""
    return list(
        zip(
            cash.allocations["payment_id"],
            cash.allocations["invoice_id"],
            cash.allocations["amount_minor"],
            strict=True,
        )
    )


def unapplied(cash: CashApplication) -> dict[str, int]:
    return dict(zip(cash.unapplied["payment_id"], cash.unapplied["unapplied_minor"], strict=True))


@pytest.mark.parametrize(
    "reference",
    [
        "O2C-2026-000012",  # exactly the invoice number
        "O2C 2026 000012",  # spaces
        "O2C2026000012",  # no separators
        "O2C-2026-12",  # leading zeros dropped
        "O2C 2026 12",
        "o2c-2026-000012",  # lower case
        "o2c/2026/12",
        "Payment for invoice O2C-2026-000012, thank you",  # embedded in noise
        "RG.NR. o2c 2026 000012 KD 4711",
        "EREF+O2C2026000012+SVWZ",
    ],
)
def test_an_invoice_is_recognised_as_bank_data_carries_it(reference: str) -> None:
    cash = pay(f"""
        | payment_id | value_date | currency | unapplied_minor | reference   |
        | P1         | 2026-03-10 | EUR      | 100_00          | {reference} |
    """)
    assert applied(cash) == [("P1", "O2C-2026-000012", 100_00)]
    assert unapplied(cash) == {"P1": 0}


@pytest.mark.parametrize(
    "reference",
    [
        "",
        "O2C-2026-000013",  # another number
        "O2C-2025-000012",  # another year
        "O2C-2026-0000120",  # a longer number is not a prefix match
        "2026-000012",  # series missing
        "invoice twelve",
    ],
)
def test_nothing_is_applied_without_a_named_open_invoice(reference: str) -> None:
    cash = pay(f"""
        | payment_id | value_date | currency | unapplied_minor | reference   |
        | P1         | 2026-03-10 | EUR      | 100_00          | {reference} |
    """)
    assert cash.allocations.empty
    assert unapplied(cash) == {"P1": 100_00}
    assert counts_of(cash) == {
        "payments_considered": 1,
        "payments_matched": 0,
        "allocations": 0,
        "payments_left_unapplied": 1,
    }


def test_one_payment_for_several_invoices_pays_the_oldest_due_first() -> None:
    cash = pay("""
        | payment_id | value_date | currency | unapplied_minor | reference                                 |
        | P1         | 2026-03-10 | EUR      | 200_00          | O2C-2026-000124 o2c-2026-12 O2C2026000123 |
    """)
    assert applied(cash) == [
        ("P1", "O2C-2026-000123", 50_00),  # due 2026-01-15
        ("P1", "O2C-2026-000012", 100_00),  # due 2026-02-01
        ("P1", "O2C-2026-000124", 50_00),  # due 2026-03-01: what is left
    ]
    assert cash.allocations["invoice_open_after_minor"].tolist() == [0, 0, 25_00]
    assert cash.allocations["payment_unapplied_after_minor"].tolist() == [150_00, 50_00, 0]
    assert unapplied(cash) == {"P1": 0}


def test_invoices_due_the_same_day_are_paid_in_number_order() -> None:
    invoices = table("""
        | invoice_id | currency | due_date   | open_minor |
        | INV-B      | EUR      | 2026-02-01 | 10_00      |
        | INV-A      | EUR      | 2026-02-01 | 10_00      |
    """)
    cash = pay(
        """
        | payment_id | value_date | currency | unapplied_minor | reference   |
        | P1         | 2026-03-10 | EUR      | 15_00           | INV-B INV-A |
    """,
        invoices,
    )
    assert applied(cash) == [("P1", "INV-A", 10_00), ("P1", "INV-B", 5_00)]


def test_an_over_payment_leaves_the_rest_unapplied() -> None:
    cash = pay("""
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-03-10 | EUR      | 120_00          | O2C-2026-000012 |
    """)
    assert applied(cash) == [("P1", "O2C-2026-000012", 100_00)]
    assert unapplied(cash) == {"P1": 20_00}
    assert cash.counts["payments_left_unapplied"] == 1


def test_a_short_payment_leaves_the_invoice_open() -> None:
    cash = pay("""
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-03-10 | EUR      | 30_00           | O2C-2026-000012 |
    """)
    assert applied(cash) == [("P1", "O2C-2026-000012", 30_00)]
    assert cash.allocations["invoice_open_after_minor"].tolist() == [70_00]
    assert unapplied(cash) == {"P1": 0}


def test_a_payment_in_another_currency_is_not_applied() -> None:
    cash = pay("""
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-03-10 | USD      | 100_00          | O2C-2026-000012 |
        | P2         | 2026-03-10 | EUR      | 40_00           | O2C-2026-000200 |
        | P3         | 2026-03-10 | USD      | 40_00           | O2C-2026-000200 |
    """)
    assert applied(cash) == [("P3", "O2C-2026-000200", 40_00)]
    assert unapplied(cash) == {"P1": 100_00, "P2": 40_00, "P3": 0}


def test_an_invoice_paid_by_an_earlier_payment_in_the_batch_takes_no_more() -> None:
    cash = pay("""
        | payment_id | value_date | currency | unapplied_minor | reference                       |
        | P1         | 2026-03-01 | EUR      | 100_00          | O2C-2026-000012                 |
        | P2         | 2026-03-02 | EUR      | 100_00          | O2C-2026-000012                 |
        | P3         | 2026-03-03 | EUR      | 100_00          | O2C-2026-000012 O2C-2026-000124 |
    """)
    assert applied(cash) == [
        ("P1", "O2C-2026-000012", 100_00),
        ("P3", "O2C-2026-000124", 75_00),  # 000012 is already paid: only 000124 takes cash
    ]
    assert unapplied(cash) == {"P1": 0, "P2": 100_00, "P3": 25_00}
    assert counts_of(cash) == {
        "payments_considered": 3,
        "payments_matched": 2,
        "allocations": 2,
        "payments_left_unapplied": 2,
    }


def test_two_short_payments_settle_one_invoice() -> None:
    cash = pay("""
        | payment_id | value_date | currency | unapplied_minor | reference      |
        | P1         | 2026-03-01 | EUR      | 60_00           | O2C-2026-12    |
        | P2         | 2026-03-02 | EUR      | 60_00           | o2c 2026 12    |
    """)
    assert applied(cash) == [("P1", "O2C-2026-000012", 60_00), ("P2", "O2C-2026-000012", 40_00)]
    assert unapplied(cash) == {"P1": 0, "P2": 20_00}


def test_yen_are_applied_in_whole_yen() -> None:
    cash = pay("""
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-03-01 | JPY      | 20000           | O2C-2026-000201 |
    """)
    assert applied(cash) == [("P1", "O2C-2026-000201", 15000)]
    assert unapplied(cash) == {"P1": 5000}


def test_an_allocation_records_its_rule_and_evidence() -> None:
    cash = pay("""
        | payment_id | value_date | currency | unapplied_minor | reference                    |
        | P1         | 2026-03-10 | EUR      | 100_00          | Rechnung o2c 2026 12 danke |
    """)
    row = cash.allocations.iloc[0]
    assert row["allocation_id"] == "P1/O2C-2026-000012"
    assert (row["rule"], row["rule_version"], row["score"], row["as_of"]) == (
        "invoice_number",
        "reference-v1",
        0.97,
        AS_OF,
    )
    assert json.loads(row["evidence"]) == {
        "reference": "Rechnung o2c 2026 12 danke",
        "matched": {"O2C-2026-000012": "o2c 2026 12"},
        "payer": "payer account not known",
    }


def test_nothing_to_reconcile() -> None:
    cash = pay("""
        | payment_id | value_date | currency | unapplied_minor | reference |
    """)
    assert cash.allocations.empty and cash.unapplied.empty
    assert cash.counts["payments_considered"] == 0


def test_an_amount_after_the_invoice_number_does_not_name_another_invoice() -> None:
    invoices = table("""
        | invoice_id      | currency | due_date   | open_minor |
        | O2C-2026-000012 | EUR      | 2026-02-01 | 100_00     |
        | O2C-2026-012100 | EUR      | 2026-01-15 | 100_00     |
    """)
    cash = pay(
        """
        | payment_id | value_date | currency | unapplied_minor | reference                  |
        | P1         | 2026-03-10 | EUR      | 100_00          | O2C-2026-000012 100,00 EUR |
    """,
        invoices,
    )
    assert applied(cash) == [("P1", "O2C-2026-000012", 100_00)]


def test_the_batch_shortcut_and_the_passes_write_the_same_allocation() -> None:
    """P1 alone names its invoice for exactly its amount: decided for the batch at once. With P2
    naming the same invoice too, P1 goes through the passes one payment at a time instead."""
    alone = pay("""
        | payment_id | value_date | currency | unapplied_minor | reference                |
        | P1         | 2026-03-10 | EUR      | 100_00          | Rechnung "o2c" 2026 12 \\ |
    """)
    contested = pay("""
        | payment_id | value_date | currency | unapplied_minor | reference                |
        | P1         | 2026-03-10 | EUR      | 100_00          | Rechnung "o2c" 2026 12 \\ |
        | P2         | 2026-03-11 | EUR      | 100_00          | O2C-2026-000012          |
    """)
    assert alone.counts["payments_by_invoice_number"] == 1
    columns = ["allocation_id", "amount_minor", "rule", "score", "evidence", "invoice_open_after_minor"]
    first = contested.allocations[contested.allocations["payment_id"] == "P1"]
    assert alone.allocations[columns].to_dict("records") == first[columns].to_dict("records")
    assert unapplied(alone) == {"P1": 0}
    assert unapplied(contested) == {"P1": 0, "P2": 100_00}

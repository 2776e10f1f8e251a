"""Short payments: a small residual is written off, a larger one opens a deduction case."""

from __future__ import annotations

from datetime import date

import pytest

from tasks.reconcile import DEFAULT_POLICY, apply_cash
from tasks.short_payments import reason_code, settle_residual
from tests.unit.tables import table

AS_OF = date(2026, 3, 31)
INVOICES = table("""
    | invoice_id      | customer_id | currency | due_date   | open_minor |
    | INV-2026-000101 | ACME        | EUR      | 2026-01-10 | 1000_00    |
    | INV-2026-000102 | ACME        | EUR      | 2026-01-20 | 250_00     |
""")


def run(payments: str):  # noqa: ANN201
    return apply_cash(table(payments), INVOICES, as_of=AS_OF, rule_version="t", policy=DEFAULT_POLICY)


def test_a_few_cents_short_are_written_off_and_the_invoice_is_settled() -> None:
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-03-01 | EUR      | 999_97          | INV-2026-000101 |
    """)
    assert cash.write_offs[["invoice_id", "amount_minor", "kind"]].values.tolist() == [
        ["INV-2026-000101", 3, "small_difference"]
    ]
    assert "short payment of 0.03 EUR written off" in cash.write_offs.loc[0, "reason"]
    assert cash.cases.empty
    assert cash.allocations["invoice_open_after_minor"].tolist() == [0]  # settled: nothing left open


def test_a_larger_short_payment_opens_a_deduction_case_with_the_reason_from_the_remittance() -> None:
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference                             |
        | P1         | 2026-03-01 | EUR      | 950_00          | INV-2026-000101 less 5% Skonto        |
    """)
    assert cash.write_offs.empty
    case = cash.cases.iloc[0]
    assert (case["case_id"], case["kind"], case["amount_minor"], case["reason_code"], case["status"]) == (
        "D-P1/INV-2026-000101",
        "deduction",
        50_00,
        "discount_taken",
        "open",
    )
    assert case["due_on"] == date(2026, 4, 30)


def test_a_payment_that_covers_its_invoices_leaves_nothing_to_settle() -> None:
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference                       |
        | P1         | 2026-03-01 | EUR      | 1300_00         | INV-2026-000101 INV-2026-000102 |
    """)
    assert cash.write_offs.empty and cash.cases.empty
    assert cash.unapplied.loc[0, "unapplied_minor"] == 50_00  # an overpayment stays on the payment


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Skonto 2%", "discount_taken"),
        ("goods damaged", "damaged_goods"),
        ("Retour Lieferung", "returned_goods"),
        ("bank charges deducted", "bank_charges"),
        ("INV-1", "unexplained_short_payment"),
        ("", "unexplained_short_payment"),
    ],
)
def test_reason_codes(text: str, code: str) -> None:
    assert reason_code(text) == code


def test_only_rules_that_meant_to_settle_the_invoice_leave_a_residual() -> None:
    common = dict(
        payment_id="P",
        invoice_id="I",
        customer_id="C",
        currency="EUR",
        residual=10,
        meant=1000_00,
        remittance="",
        policy=DEFAULT_POLICY,
        as_of=AS_OF,
        rule_version="t",
    )
    assert settle_residual(rule="overpayment", **common) == (None, None)  # type: ignore[arg-type]
    write_off, case = settle_residual(rule="invoice_number", **common)  # type: ignore[arg-type]
    assert write_off is not None and case is None

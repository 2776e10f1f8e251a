"""Short payments: a small residual is written off, a larger one opens a deduction case."""

from __future__ import annotations

from datetime import date

import pytest

from tasks.reconcile.apply import apply_cash
from tasks.reconcile.policy import default_policy
from tasks.reconcile.short_payments import reason_code, settle_residual
from tests.unit.tables import table

AS_OF = date(2026, 3, 31)
INVOICES = table("""
    | invoice_id      | customer_id | currency | due_date   | open_minor |
    | INV-2026-000101 | ACME        | EUR      | 2026-01-10 | 1000_00    |
    | INV-2026-000102 | ACME        | EUR      | 2026-01-20 | 250_00     |
""")


def run(payments: str):  # noqa: ANN201
    return apply_cash(table(payments), INVOICES, as_of=AS_OF, rule_version="t", policy=default_policy())


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
        policy=default_policy(),
        as_of=AS_OF,
        rule_version="t",
    )
    assert settle_residual(rule="overpayment", **common) == (None, None)  # type: ignore[arg-type]
    write_off, case = settle_residual(rule="invoice_number", **common)  # type: ignore[arg-type]
    assert write_off is not None and case is None


# ---------------------------------------------------------------------------------------------------
# Early-payment discount by the invoice's terms (2 % = 20.00 within ten days, until 2026-03-11)

DISCOUNTED = table("""
    | invoice_id      | customer_id | currency | due_date   | open_minor | amount_minor | discount_date | discount_amount_minor |
    | INV-2026-000201 | ACME        | EUR      | 2026-03-31 | 1000_00    | 1000_00      | 2026-03-11    | 20_00                 |
    | INV-2026-000202 | ACME        | EUR      | 2026-03-31 | 500_00     | 500_00       |               |                       |
""")


def with_terms(payments: str, accounts: dict[str, str] | None = None):  # noqa: ANN201
    from tasks.reconcile.matching import PayerDirectory

    payers = PayerDirectory(accounts or {}, {"ACME": "Acme GmbH"}, 90)
    return apply_cash(
        table(payments), DISCOUNTED, as_of=AS_OF, rule_version="t", policy=default_policy(), payers=payers
    )


@pytest.mark.parametrize("reference", ["INV-2026-000201", ""])  # named, or found by payer and amount
def test_a_discount_taken_within_its_days_is_written_off_as_the_discount(reference: str) -> None:
    cash = with_terms(
        f"""
        | payment_id | value_date | currency | unapplied_minor | payer_account | reference   |
        | P1         | 2026-03-11 | EUR      | 980_00          | DE01          | {reference} |
    """,
        {"DE01": "ACME"},
    )
    assert cash.allocations[["invoice_id", "amount_minor", "invoice_open_after_minor"]].values.tolist() == [
        ["INV-2026-000201", 980_00, 0]
    ]
    assert cash.write_offs[["kind", "amount_minor"]].values.tolist() == [["early_payment_discount", 20_00]]
    assert "offered until 2026-03-11" in cash.write_offs.loc[0, "reason"]
    assert cash.cases.empty
    assert cash.counts["early_payment_discounts"] == 1


def test_less_discount_than_offered_is_still_the_discount() -> None:
    cash = with_terms("""
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-03-05 | EUR      | 990_00          | INV-2026-000201 |
    """)
    assert cash.write_offs[["kind", "amount_minor"]].values.tolist() == [["early_payment_discount", 10_00]]


def test_a_discount_taken_after_its_last_day_opens_a_deduction_case() -> None:
    cash = with_terms("""
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-03-12 | EUR      | 980_00          | INV-2026-000201 |
    """)
    assert cash.write_offs.empty
    assert cash.cases[["reason_code", "amount_minor"]].values.tolist() == [["late_discount", 20_00]]


def test_more_than_the_discount_short_is_not_a_discount() -> None:
    cash = with_terms("""
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-03-05 | EUR      | 950_00          | INV-2026-000201 |
    """)
    assert cash.write_offs.empty
    assert cash.cases[["reason_code", "amount_minor"]].values.tolist() == [
        ["unexplained_short_payment", 50_00]
    ]


def test_without_a_reference_a_late_discounted_amount_is_not_matched_by_terms() -> None:
    cash = with_terms(
        """
        | payment_id | value_date | currency | unapplied_minor | payer_account | reference |
        | P1         | 2026-03-20 | EUR      | 980_00          | DE01          |           |
    """,
        {"DE01": "ACME"},
    )
    assert "early_payment_discount" not in set(cash.allocations["rule"])
    assert cash.write_offs.empty


REDUCED = table("""
    | invoice_id      | customer_id | currency | due_date   | open_minor | amount_minor | discount_date | discount_amount_minor | credited_minor |
    | INV-2026-000301 | ACME        | EUR      | 2026-03-31 | 148_75     | 178_50       | 2026-03-11    | 3_57                  | 29_75          |
""")


@pytest.mark.parametrize(
    ("paid", "kind", "written_off"),
    [
        (145_77, "early_payment_discount", 2_98),  # 148.75 less 2 % of it (2.975, half up: 2.98)
        (145_18, None, None),  # 148.75 less the original 3.57: more than the re-based discount
    ],
)
def test_a_credit_note_re_bases_the_discount_on_what_the_invoice_still_bills(
    paid: int, kind: str | None, written_off: int | None
) -> None:
    cash = apply_cash(
        table(f"""
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-03-10 | EUR      | {paid}          | INV-2026-000301 |
    """),
        REDUCED,
        as_of=AS_OF,
        rule_version="t",
        policy=default_policy(),
    )
    if kind is None:
        assert "early_payment_discount" not in set(cash.write_offs.get("kind", []))
    else:
        assert cash.write_offs[["kind", "amount_minor"]].values.tolist() == [[kind, written_off]]
        assert cash.allocations["invoice_open_after_minor"].tolist() == [0]

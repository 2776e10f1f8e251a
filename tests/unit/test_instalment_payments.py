"""Payments on an invoice paid in instalments (issue 19): whole parts are not a short payment.

INV-2026-000301 bills 360.00 GBP in three parts of 120.00, due 15 March, 14 April and 14 May; the
payments below are dated after part 1 fell due (20 March) unless a test says otherwise.
INV-2026-000502 is a plain invoice of the same amount. Each book runs both ways: with the
batch-at-once short-payment pass (`certain_short`) and with every payment through `passes.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pandas as pd
import pytest

import tasks.reconcile.apply as apply_module
from tasks.reconcile.apply import apply_cash
from tasks.reconcile.certain import CERTAIN_COLUMNS
from tasks.reconcile.outcome import CashApplication
from tasks.reconcile.policy import default_policy
from tasks.reconcile.short_payments import instalment_shortfall
from tests.unit.tables import table

AS_OF = date(2026, 5, 31)
Run = Callable[..., CashApplication]
PARTS = ((date(2026, 3, 15), 120_00), (date(2026, 4, 14), 120_00), (date(2026, 5, 14), 120_00))


def invoices(open_minor: int = 360_00) -> pd.DataFrame:
    """The two invoices, INV-2026-000301 open for `open_minor` (what was paid before covers part 1 first)."""
    frame = table(f"""
        | invoice_id      | customer_id | currency | due_date   | open_minor   | amount_minor |
        | INV-2026-000301 | ACME        | GBP      | 2026-05-14 | {open_minor} | 360_00       |
        | INV-2026-000502 | ACME        | GBP      | 2026-03-15 | 360_00       | 360_00       |
        | INV-2026-000310 | ACME        | GBP      | 2026-03-20 | 120_00       | 120_00       |
    """)
    # as sql/reconcile/invoices.sql gives them: the parts as lists, null for a plain invoice
    return frame.assign(
        instalment_due_dates=[[pd.Timestamp(d) for d, _ in PARTS], None, None],
        instalment_amounts_minor=[[a for _, a in PARTS], None, None],
    )


@pytest.fixture(params=["at_once", "one_at_a_time"])
def run(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Run:
    """`run(payments, open_minor=...)`: reconcile the payments against the invoices, with the
    batch-at-once short payments on, or off so every payment goes through `passes.py`."""
    if request.param == "one_at_a_time":
        monkeypatch.setattr(
            apply_module, "certain_short", lambda *a, **k: (pd.DataFrame(columns=CERTAIN_COLUMNS), [], [])
        )

    def reconcile(payments: str, open_minor: int = 360_00) -> CashApplication:
        return apply_cash(
            table(payments), invoices(open_minor), as_of=AS_OF, rule_version="t", policy=default_policy()
        )

    return reconcile


def allocated(cash: CashApplication) -> list[tuple[str, str, int, int]]:
    return [
        (p, i, int(a), int(o))
        for p, i, a, o in cash.allocations[
            ["payment_id", "invoice_id", "amount_minor", "invoice_open_after_minor"]
        ].itertuples(index=False, name=None)
    ]


def test_the_first_of_three_instalments_paid_with_its_reference_is_no_short_payment(run: Run) -> None:
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-03-20 | GBP      | 120_00          | INV-2026-000301 |
    """)
    assert allocated(cash) == [("P1", "INV-2026-000301", 120_00, 240_00)]  # parts 2 and 3 stay open
    assert cash.cases.empty and cash.write_offs.empty and cash.exceptions.empty


def test_two_instalments_paid_at_once_are_no_short_payment(run: Run) -> None:
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-04-20 | GBP      | 240_00          | INV-2026-000301 |
    """)
    assert allocated(cash) == [("P1", "INV-2026-000301", 240_00, 120_00)]
    assert cash.cases.empty and cash.write_offs.empty


def test_each_instalment_paid_by_its_own_payment_in_one_batch(run: Run) -> None:
    # two payments naming the same invoice: decided one at a time by the passes in either run
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-03-20 | GBP      | 120_00          | INV-2026-000301 |
        | P2         | 2026-04-20 | GBP      | 120_00          | INV-2026-000301 |
    """)
    assert allocated(cash) == [
        ("P1", "INV-2026-000301", 120_00, 120_00),
        ("P2", "INV-2026-000301", 120_00, 120_00),
    ]
    assert cash.cases.empty and cash.write_offs.empty


def test_the_second_instalment_after_the_first_was_paid_is_no_short_payment(run: Run) -> None:
    cash = run(
        """
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P2         | 2026-05-20 | GBP      | 120_00          | INV-2026-000301 |
    """,
        open_minor=240_00,
    )
    assert allocated(cash) == [("P2", "INV-2026-000301", 120_00, 120_00)]
    assert cash.cases.empty and cash.write_offs.empty


def test_a_payment_short_of_the_instalment_due_opens_a_case_for_that_shortfall_only(run: Run) -> None:
    # part 1 (120.00) was due on 20 March; 100.00 leaves 20.00 of it unpaid, more than the small
    # difference (0.5 % of 120.00): a deduction case for 20.00; parts 2 and 3 were not due yet
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-03-20 | GBP      | 100_00          | INV-2026-000301 |
    """)
    assert allocated(cash) == [("P1", "INV-2026-000301", 100_00, 260_00)]
    assert cash.write_offs.empty
    assert cash.cases[["case_id", "amount_minor", "reason_code"]].values.tolist() == [
        ["D-P1/INV-2026-000301", 20_00, "unexplained_short_payment"]
    ]


def test_a_part_payment_before_any_instalment_is_due_is_a_plain_partial_payment(run: Run) -> None:
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-03-10 | GBP      | 100_00          | INV-2026-000301 |
    """)
    assert allocated(cash) == [("P1", "INV-2026-000301", 100_00, 260_00)]
    assert cash.cases.empty and cash.write_offs.empty


def test_an_instalment_paid_a_small_difference_short_has_the_difference_written_off(run: Run) -> None:
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-03-10 | GBP      | 119_50          | INV-2026-000301 |
    """)
    assert allocated(cash) == [("P1", "INV-2026-000301", 119_50, 240_00)]
    assert cash.write_offs[["kind", "amount_minor"]].values.tolist() == [["small_difference", 50]]
    assert cash.cases.empty


def test_once_every_instalment_is_due_a_short_payment_opens_a_case_for_all_that_was_due(run: Run) -> None:
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-05-20 | GBP      | 100_00          | INV-2026-000301 |
        | P2         | 2026-05-20 | GBP      | 120_00          | INV-2026-000502 |
    """)
    assert cash.cases[["case_id", "amount_minor"]].values.tolist() == [
        ["D-P1/INV-2026-000301", 260_00],
        ["D-P2/INV-2026-000502", 240_00],
    ]


def test_a_plain_invoice_short_paid_still_opens_a_deduction_case_for_the_whole_rest(run: Run) -> None:
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-03-10 | GBP      | 120_00          | INV-2026-000502 |
    """)
    assert allocated(cash) == [("P1", "INV-2026-000502", 120_00, 240_00)]
    assert cash.write_offs.empty
    assert cash.cases[["amount_minor", "reason_code"]].values.tolist() == [
        [240_00, "unexplained_short_payment"]
    ]


def test_a_whole_instalment_is_not_taken_for_a_typo_of_an_invoice_of_its_amount(run: Run) -> None:
    # INV-2026-000310, open for exactly 120.00, is a typo away from the number given; the amount is
    # what part 1 comes to, so the reference stands
    cash = run("""
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P1         | 2026-03-20 | GBP      | 120_00          | INV-2026-000301 |
    """)
    assert allocated(cash) == [("P1", "INV-2026-000301", 120_00, 240_00)]


@pytest.mark.parametrize(
    ("meant", "paid", "paid_on", "judged"),
    [
        (360_00, 120_00, date(2026, 3, 20), (0, 120_00)),  # part 1 exactly
        (360_00, 240_00, date(2026, 3, 20), (0, 240_00)),  # parts 1 and 2
        (300_00, 60_00, date(2026, 3, 20), (0, 60_00)),  # the rest of part 1, after 60.00 before
        (360_00, 119_50, date(2026, 3, 10), (50, 120_00)),  # 0.50 short of part 1: a small difference
        (360_00, 100_00, date(2026, 3, 10), (0, 0)),  # nothing due yet: a plain partial payment
        (360_00, 100_00, date(2026, 3, 20), (20_00, 120_00)),  # 20.00 short of part 1, due
        (360_00, 130_00, date(2026, 4, 20), (110_00, 240_00)),  # 110.00 short of parts 1 and 2, due
        (360_00, 130_00, date(2026, 3, 20), (0, 120_00)),  # part 1 and some of part 2, not due
        (400_00, 100_00, date(2026, 3, 20), None),  # more open than the parts bill: judged whole
    ],
)
def test_instalment_shortfall(meant: int, paid: int, paid_on: date, judged: tuple[int, int] | None) -> None:
    assert instalment_shortfall(PARTS, meant, paid, paid_on, "GBP", default_policy()) == judged


def test_a_payment_without_reference_of_the_next_instalment_pays_it() -> None:
    # ACME pays from its known account, naming nothing: 120.00 is the next part of
    # INV-2026-000301 (and of no other invoice): applied, parts 2 and 3 left open
    from tasks.reconcile.matching import PayerDirectory

    payers = PayerDirectory({"GB29NWBK60161331926819": "ACME"}, {"ACME": "Acme Ltd"}, 90)
    only = invoices().iloc[[0, 1]].reset_index(drop=True)  # without the plain 120.00 invoice

    def reconcile(payments: str, book: pd.DataFrame = only) -> CashApplication:
        return apply_cash(
            table(payments), book, as_of=AS_OF, rule_version="t", policy=default_policy(), payers=payers
        )

    row = "| {p} | 2026-03-20 | GBP | {a} | thanks | GB29NWBK60161331926819 |"
    head = "| payment_id | value_date | currency | unapplied_minor | reference | payer_account |\n"
    cash = reconcile(head + row.format(p="P1", a="120_00"))
    assert allocated(cash) == [("P1", "INV-2026-000301", 120_00, 240_00)]
    assert cash.allocations["rule"].tolist() == ["exact_amount"] and cash.cases.empty
    # two whole instalments at once
    assert allocated(reconcile(head + row.format(p="P2", a="240_00"))) == [
        ("P2", "INV-2026-000301", 240_00, 120_00)
    ]
    # part 1 paid before: the next 120.00 is part 2
    later = only.assign(open_minor=[240_00, 360_00])
    assert allocated(reconcile(head + row.format(p="P3", a="120_00"), later)) == [
        ("P3", "INV-2026-000301", 120_00, 120_00)
    ]
    # not a whole instalment: for a person
    odd = reconcile(head + row.format(p="P4", a="100_00"))
    assert odd.allocations.empty and odd.exceptions["reason"].tolist() == ["no open invoice of ACME fits"]
    # two invoices whose next part is 120.00: which one is a person's call
    twice = pd.concat([only, only.iloc[[0]].assign(invoice_id="INV-2026-000399")], ignore_index=True)
    both = reconcile(head + row.format(p="P5", a="120_00"), twice)
    assert both.allocations.empty
    assert both.exceptions["reason"].tolist() == [
        "2 open invoices of ACME have instalments of exactly this amount"
    ]

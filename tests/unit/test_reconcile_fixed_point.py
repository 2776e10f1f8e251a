"""Reconcile is a fixed point: running it again on what it wrote applies nothing and leaves the same
exception queue, and the payments' order in the input changes nothing.

The book that broke it (found on a generated book of 2,000 invoices): ACME owes 2,607.17 on
INV-898 and 2,803.23 on INV-450. P-637 pays 2,612.38 without a reference on 1 December; both
invoices lie within the ambiguity band of its amount, so it waited in the queue. P-1232 pays
INV-450 exactly, later. A second run then found only INV-898 near P-637 and applied it: the second
run changed the ledger. Now the first run already sees that, in its second round.
"""

from __future__ import annotations

import json
from datetime import date
from functools import cache

import pandas as pd

from tasks.reconcile.apply import apply_cash
from tasks.reconcile.matching import PayerDirectory
from tasks.reconcile.outcome import CashApplication
from tasks.reconcile.policy import default_policy
from tests.unit.tables import table

AS_OF = date(2026, 3, 31)
INVOICES = table("""
    | invoice_id      | customer_id | currency | due_date   | open_minor | amount_minor |
    | INV-2025-000898 | ACME        | GBP      | 2025-12-21 | 2607_17    | 2607_17      |
    | INV-2026-000450 | ACME        | GBP      | 2026-03-22 | 2803_23    | 2803_23      |
    | INV-2026-000500 | GLOBEX      | GBP      | 2026-03-01 | 500_00     | 500_00       |
""")
PAYMENTS = table("""
    | payment_id | value_date | currency | unapplied_minor | reference | payer_account          |
    | P000000637 | 2025-12-01 | GBP      | 2612_38         | Zahlung   | GB64BARC88367838737582 |
    | P000001232 | 2026-03-20 | GBP      | 2803_23         | Payment   | GB64BARC88367838737582 |
    | P000001300 | 2026-03-25 | GBP      | 600_00          | INV-2026-000500 | GB29NWBK60161331926819 |
""")


@cache
def payers() -> PayerDirectory:
    """The payer directory of these books (the policy's name threshold, read when first used)."""
    return PayerDirectory(
        {"GB64BARC88367838737582": "ACME", "GB29NWBK60161331926819": "GLOBEX"},
        {"ACME": "Acme Ltd", "GLOBEX": "Globex Ltd"},
        default_policy().payer.name_threshold,
    )


def reconcile(payments: pd.DataFrame, invoices: pd.DataFrame, paired: set | None = None) -> CashApplication:
    return apply_cash(
        payments,
        invoices,
        as_of=AS_OF,
        rule_version="t",
        policy=default_policy(),
        payers=payers(),
        paired=paired,
    )


def allocations(cash: CashApplication) -> list[tuple[str, str, int, str]]:
    return sorted(
        cash.allocations[["payment_id", "invoice_id", "amount_minor", "rule"]].itertuples(
            index=False, name=None
        )
    )


def queue(cash: CashApplication) -> list[tuple[str, int, str, list[str]]]:
    return sorted(
        (r.payment_id, int(r.unapplied_minor), r.reason, [s["invoice_id"] for s in json.loads(r.suggestions)])
        for r in cash.exceptions.itertuples(index=False)
    )


def ledger_after(cash: CashApplication, payments: pd.DataFrame, invoices: pd.DataFrame) -> tuple:
    """What a second run reads from the ledger the first run wrote: the payments with cash left, and
    every invoice with its open amount less what was applied and written off."""
    left = dict(zip(cash.unapplied["payment_id"], cash.unapplied["unapplied_minor"], strict=True))
    payments = payments.assign(unapplied_minor=payments["payment_id"].map(left))
    payments = payments[payments["unapplied_minor"] > 0]
    taken = cash.allocations.groupby("invoice_id")["amount_minor"].sum()
    written = cash.write_offs.groupby("invoice_id")["amount_minor"].sum() if len(cash.write_offs) else {}
    invoices = invoices.assign(
        open_minor=invoices["open_minor"]
        - invoices["invoice_id"].map(taken).fillna(0).astype("int64")
        - invoices["invoice_id"].map(written).fillna(0).astype("int64")
    )
    paired = set(zip(cash.allocations["payment_id"], cash.allocations["invoice_id"], strict=True))
    return payments, invoices, paired


def test_a_payment_doubtful_only_until_a_later_payment_pays_its_rival_is_applied_in_the_first_run() -> None:
    cash = reconcile(PAYMENTS, INVOICES)
    assert allocations(cash) == [
        ("P000000637", "INV-2025-000898", 2607_17, "amount_within_tolerance"),
        ("P000001232", "INV-2026-000450", 2803_23, "exact_amount"),
        ("P000001300", "INV-2026-000500", 500_00, "invoice_number"),
    ]
    # two rounds applied cash; the third applied nothing, which is what a second run would find
    assert cash.counts["matching_rounds"] == 3


def test_a_second_run_on_the_ledger_the_first_wrote_applies_nothing_and_keeps_the_queue() -> None:
    first = reconcile(PAYMENTS, INVOICES)
    payments, invoices, paired = ledger_after(first, PAYMENTS, INVOICES)
    second = reconcile(payments, invoices, paired)
    assert allocations(second) == []
    assert len(second.write_offs) == 0 and len(second.cases) == 0
    assert queue(second) == queue(first)
    assert second.on_account.values.tolist() == first.on_account.values.tolist()
    assert second.counts["matching_rounds"] == 1


def test_cash_left_over_after_paying_waits_in_the_queue_saying_what_it_paid() -> None:
    # ACME's account paid: what is left, with no other open ACME invoice, is held on its account;
    # the cash left by a payment that only named a paid invoice waits for a person
    first = reconcile(PAYMENTS, INVOICES)
    assert queue(first) == [("P000001300", 100_00, "100.00 GBP left over after paying INV-2026-000500", [])]
    held = first.on_account[["payment_id", "customer_id", "unapplied_minor", "reason"]]
    assert held.values.tolist() == [
        ["P000000637", "ACME", 5_21, "no open GBP invoice of ACME: held on its account"]
    ]
    assert first.counts["held_on_account"] == 1


def test_the_order_payments_and_invoices_arrive_in_changes_nothing() -> None:
    expected = reconcile(PAYMENTS, INVOICES)
    for seed in range(5):
        shuffled = reconcile(
            PAYMENTS.sample(frac=1, random_state=seed), INVOICES.sample(frac=1, random_state=seed)
        )
        assert allocations(shuffled) == allocations(expected)
        assert queue(shuffled) == queue(expected)
        assert shuffled.on_account.values.tolist() == expected.on_account.values.tolist()


def test_an_invoice_a_payment_already_paid_is_never_paired_with_it_again() -> None:
    invoices = table("""
        | invoice_id      | customer_id | currency | due_date   | open_minor | amount_minor |
        | INV-2026-000500 | GLOBEX      | GBP      | 2026-03-01 | 100_00     | 500_00       |
    """)
    payments = table("""
        | payment_id | value_date | currency | unapplied_minor | reference       |
        | P000001300 | 2026-03-25 | GBP      | 100_00          | INV-2026-000500 |
    """)
    cash = reconcile(payments, invoices, paired={("P000001300", "INV-2026-000500")})
    assert allocations(cash) == []
    assert "already paid the invoice(s) it fits" in queue(cash)[0][2]

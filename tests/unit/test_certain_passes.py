"""The batch-at-once passes decide what the one-payment-at-a-time passes would, and leave the rest.

`certain_short` applies a payment naming one invoice for less than it (an early-payment discount, a
small difference, a deduction) unless an invoice a typo away fits the amount; `certain_by_payer`
applies a payment naming nothing to the one invoice of its payer's account at exactly its amount,
unless a payment still to be decided could change that customer's invoices first. Each test runs a
book both ways (with those passes, and with them switched off so every payment goes through
`passes.py`), checks the results are the same, and checks which payments the fast pass took.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from functools import cache

import pandas as pd
import pytest

import tasks.reconcile.apply as apply_module
from tasks.reconcile.apply import apply_cash
from tasks.reconcile.certain import CERTAIN_COLUMNS
from tasks.reconcile.matching import PayerDirectory
from tasks.reconcile.outcome import CashApplication
from tasks.reconcile.policy import default_policy
from tests.unit.tables import table

AS_OF = date(2026, 3, 31)
INVOICES = table("""
    | invoice_id      | customer_id | currency | due_date   | open_minor | amount_minor | discount_date | discount_amount_minor |
    | INV-2026-000101 | ACME        | EUR      | 2026-01-10 | 1000_00    | 1000_00      | 2026-01-20    | 20_00                 |
    | INV-2026-000102 | ACME        | EUR      | 2026-01-20 | 250_00     | 250_00       |               |                       |
    | INV-2026-000103 | ACME        | EUR      | 2026-01-25 | 400_00     | 400_00       |               |                       |
    | INV-2026-000201 | GLOBEX      | EUR      | 2026-01-15 | 300_00     | 300_00       |               |                       |
    | INV-2026-000202 | GLOBEX      | EUR      | 2026-02-15 | 120_00     | 120_00       |               |                       |
    | INV-2026-000301 | INITECH     | EUR      | 2026-02-01 | 700_00     | 700_00       |               |                       |
    | INV-2026-000302 | INITECH     | EUR      | 2026-02-10 | 90_00      | 90_00        |               |                       |
    | INV-2026-000311 | INITECH     | EUR      | 2026-02-11 | 650_00     | 650_00       |               |                       |
""")
ACCOUNTS = {
    "DE89370400440532013000": "ACME",
    "GB29NWBK60161331926819": "GLOBEX",
    "FR7630006000011234567890189": "INITECH",
}


@cache
def payers() -> PayerDirectory:
    return PayerDirectory(
        ACCOUNTS,
        {"ACME": "Acme GmbH", "GLOBEX": "Globex Corporation Ltd", "INITECH": "Initech SA"},
        default_policy().payer.name_threshold,
    )


def reconcile(payments: pd.DataFrame) -> CashApplication:
    return apply_cash(
        payments, INVOICES, as_of=AS_OF, rule_version="t", policy=default_policy(), payers=payers()
    )


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, set[str]]]:
    """The payments each fast pass took in the runs of the test."""
    seen: dict[str, set[str]] = {"short": set(), "by_payer": set()}
    short, by_payer = apply_module.certain_short, apply_module.certain_by_payer

    def spy_short(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        frame, write_offs, cases = short(*args, **kwargs)
        seen["short"] |= set(frame["payment_id"])
        return frame, write_offs, cases

    def spy_by_payer(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        frame = by_payer(*args, **kwargs)
        seen["by_payer"] |= set(frame["payment_id"])
        return frame

    monkeypatch.setattr(apply_module, "certain_short", spy_short)
    monkeypatch.setattr(apply_module, "certain_by_payer", spy_by_payer)
    yield seen


def one_at_a_time(payments: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> CashApplication:
    """The same run with the fast passes switched off: every payment through `passes.py`."""
    with monkeypatch.context() as off:
        off.setattr(
            apply_module, "certain_short", lambda *a, **k: (pd.DataFrame(columns=CERTAIN_COLUMNS), [], [])
        )
        off.setattr(apply_module, "certain_by_payer", lambda *a, **k: pd.DataFrame(columns=CERTAIN_COLUMNS))
        return reconcile(payments)


def rows(cash: CashApplication) -> dict[str, list[tuple]]:
    def listed(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
        return sorted(tuple(str(v) for v in row) for row in frame[columns].itertuples(index=False, name=None))

    return {
        "allocations": listed(
            cash.allocations,
            [
                "payment_id",
                "invoice_id",
                "amount_minor",
                "rule",
                "score",
                "evidence",
                "payment_unapplied_after_minor",
                "invoice_open_after_minor",
            ],
        ),
        "write_offs": listed(cash.write_offs, ["adjustment_id", "amount_minor", "kind", "reason"]),
        "cases": listed(cash.cases, ["case_id", "amount_minor", "reason_code", "due_on"]),
        "exceptions": sorted(
            (r.payment_id, int(r.unapplied_minor), r.reason, json.dumps(json.loads(r.suggestions)))
            for r in cash.exceptions.itertuples(index=False)
        ),
        "left": sorted(
            tuple(str(v) for v in row)
            for row in cash.unapplied[["payment_id", "unapplied_minor"]].itertuples(index=False, name=None)
        ),
    }


def test_short_payments_naming_one_invoice_are_settled_at_once_as_the_passes_would(
    taken: dict[str, set[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    payments = table("""
        | payment_id | value_date | currency | unapplied_minor | reference                  | payer_account          |
        | P1         | 2026-01-18 | EUR      | 980_00          | INV-2026-000101            | DE89370400440532013000 |
        | P2         | 2026-03-01 | EUR      | 249_98          | INV-2026-000102            |                        |
        | P3         | 2026-03-02 | EUR      | 350_00          | INV-2026-000103 damaged    | DE89370400440532013000 |
        | P4         | 2026-03-03 | EUR      | 90_00           | INV-2026-000301            | FR7630006000011234567890189 |
        | P5         | 2026-03-04 | EUR      | 100_00          | INV-2026-000201            | DE89370400440532013000 |
    """)
    fast = reconcile(payments)
    assert rows(fast) == rows(one_at_a_time(payments, monkeypatch))
    # P1 less its discount in time, P2 two cents short, P3 a deduction case; P4 fits INV-...302 a
    # typo away, so it waits in the queue; P5's account belongs to another customer
    assert taken["short"] == {"P1", "P2", "P3"}
    kinds = dict(zip(fast.write_offs["payment_id"], fast.write_offs["kind"], strict=True))
    assert kinds == {"P1": "early_payment_discount", "P2": "small_difference"}
    assert fast.cases[["payment_id", "amount_minor", "reason_code"]].values.tolist() == [
        ["P3", 50_00, "damaged_goods"]
    ]
    assert set(fast.exceptions["payment_id"]) == {"P4", "P5"}
    assert "a typo away" in fast.exceptions.set_index("payment_id").loc["P4", "reason"]


def test_a_payer_known_by_account_paying_one_invoice_exactly_is_applied_at_once_as_the_passes_would(
    taken: dict[str, set[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    payments = table("""
        | payment_id | value_date | currency | unapplied_minor | reference  | payer_account               | payer_name             |
        | P1         | 2026-03-01 | EUR      | 120_00          | Thanks     | GB29NWBK60161331926819      |                        |
        | P2         | 2026-03-02 | EUR      | 90_00           | Payment    | FR7630006000011234567890189 |                        |
        | P3         | 2026-03-02 | EUR      | 50_00           | INV-2026-000301/311 | FR7630006000011234567890189 |                        |
        | P4         | 2026-03-03 | EUR      | 250_00          | Remittance | DE89370400440532013000      |                        |
        | P5         | 2026-03-04 | EUR      | 250_00          | Again      |                             | Acme GmbH              |
        | P6         | 2026-03-05 | EUR      | 300_00          | Payment    |                             | Globex Corporation Ltd |
    """)
    fast = reconcile(payments)
    assert rows(fast) == rows(one_at_a_time(payments, monkeypatch))
    # P1: GLOBEX's only invoice of 120.00. P2: INITECH's INV-...302 is 90.00, but P3 (to be
    # decided first) pays part of INV-...301, which could come down to 90.00: left to the passes.
    # P4: ACME's invoice of 250.00, and P4 is the first payment naming nothing from ACME (P5, by
    # name, comes later). P6 is known by name only.
    assert taken["by_payer"] == {"P1", "P4"}
    assert ("P1", "INV-2026-000202", "12000", "exact_amount") in [r[:4] for r in rows(fast)["allocations"]]
    assert ("P4", "INV-2026-000102", "25000", "exact_amount") in [r[:4] for r in rows(fast)["allocations"]]


def test_a_later_payment_of_the_same_payer_leaves_the_first_to_the_passes(
    taken: dict[str, set[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    payments = table("""
        | payment_id | value_date | currency | unapplied_minor | reference | payer_account          | payer_name |
        | P1         | 2026-03-01 | EUR      | 650_00          | Zahlung   |                        | Acme GmbH  |
        | P2         | 2026-03-02 | EUR      | 250_00          | Zahlung   | DE89370400440532013000 |            |
    """)
    assert rows(reconcile(payments)) == rows(one_at_a_time(payments, monkeypatch))
    # P1 (ACME by name, earlier) might take INV-...102 in a combination: P2 is not the first
    assert taken["by_payer"] == set()

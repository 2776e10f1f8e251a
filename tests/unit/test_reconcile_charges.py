"""The rest of a payment pays the reminder charges it was asked for (`tasks/reconcile/charges.py`).

K1 owes X-1 100.00 EUR. The first reminder R-...01 (21 November) charged a fee of 5.00; the final
notice R-...02 (5 December) a fee of 10.00 and interest of 0.77, and a USD fee of 3.00 on another
invoice's behalf (another currency: never paid with EUR). Its message asked for 100.00 + 10.00 +
0.77 = 110.77. K2 owes Y-1 200.00 EUR and its reminder R-...03 charged 5.00.
"""

from __future__ import annotations

import json
from datetime import date

import pandas as pd

from tasks.reconcile.apply import apply_cash
from tasks.reconcile.cross_currency import after
from tasks.reconcile.matching import PayerDirectory
from tasks.reconcile.outcome import CashApplication
from tasks.reconcile.policy import default_policy

from .tables import table

AS_OF = date(2026, 12, 10)
R1, R2, R3 = (f"R-{n:016x}" for n in (1, 2, 3))
PAYERS = PayerDirectory({"DE01K1": "K1", "DE02K2": "K2"}, {}, 90)


def book(
    final_notice: str = f"""
        | {R2}-FEE-EUR | K1 | EUR | 2026-12-05 | 2026-12-19 | 10_00 | {R2} |
        | {R2}-INT-EUR | K1 | EUR | 2026-12-05 | 2026-12-19 | 77    | {R2} |
""",
) -> pd.DataFrame:
    return table(f"""
        | invoice_id   | customer_id | currency | issue_date | due_date   | open_minor | charged_by |
        | X-1          | K1          | EUR      | 2026-10-01 | 2026-10-31 | 100_00     |            |
        | {R1}-FEE-EUR | K1          | EUR      | 2026-11-21 | 2026-12-01 | 5_00       | {R1}       |
        {final_notice.strip()}
        | {R2}-FEE-USD | K1          | USD      | 2026-12-05 | 2026-12-19 | 3_00       | {R2}       |
        | Y-1          | K2          | EUR      | 2026-10-01 | 2026-10-31 | 200_00     |            |
        | {R3}-FEE-EUR | K2          | EUR      | 2026-11-21 | 2026-12-01 | 5_00       | {R3}       |
    """).assign(amount_minor=lambda f: f["open_minor"])


def pay(
    payments: pd.DataFrame, invoices: pd.DataFrame, paired: set[tuple[str, str]] | None = None
) -> CashApplication:
    return apply_cash(
        payments,
        invoices,
        as_of=AS_OF,
        rule_version="v1",
        policy=default_policy(),
        payers=PAYERS,
        paired=paired,
    )


def payments(rows: str) -> pd.DataFrame:
    return table(
        "| payment_id | value_date | currency | unapplied_minor | payer_account | reference |\n" + rows
    )


def paid(cash: CashApplication) -> list[tuple[str, str, int, str]]:
    columns = ["payment_id", "invoice_id", "amount_minor", "rule"]
    return [(p, i, int(a), r) for p, i, a, r in cash.allocations[columns].itertuples(index=False)]


def test_the_final_notices_total_pays_the_invoice_and_that_notices_fee_and_interest() -> None:
    cash = pay(payments("| P1 | 2026-12-10 | EUR | 110_77 | DE01K1 | Invoice X-1 |"), book())
    assert paid(cash) == [
        ("P1", "X-1", 100_00, "invoice_number"),
        ("P1", f"{R2}-FEE-EUR", 10_00, "reminder_charges"),
        ("P1", f"{R2}-INT-EUR", 77, "reminder_charges"),
    ]  # 110.77 - 100.00 = 10.77 = 10.00 + 0.77; R1's 5.00 and the USD fee stay open
    charges = cash.allocations[cash.allocations["rule"] == "reminder_charges"]
    assert charges["payment_unapplied_after_minor"].tolist() == [77, 0]
    assert charges["invoice_open_after_minor"].tolist() == [0, 0]
    assert charges["payment_amount_minor"].tolist() == charges["amount_minor"].tolist()
    assert set(charges["payment_currency"]) == set(charges["currency"]) == {"EUR"}
    assert (charges["score"] >= default_policy().auto_apply_score).all()
    assert charges["allocation_id"].tolist() == [f"P1/{R2}-FEE-EUR", f"P1/{R2}-INT-EUR"]
    evidence = json.loads(charges["evidence"].iloc[0])
    assert evidence["charges_of"] == f"the fee and interest of reminder {R2}"
    assert evidence["rest"] == "10.77 EUR" and evidence["paid_first"] == ["X-1"]
    assert cash.unapplied.set_index("payment_id")["unapplied_minor"].to_dict() == {"P1": 0}
    assert cash.on_account.empty and cash.exceptions.empty
    assert cash.counts["payments_by_reminder_charges"] == 1 and cash.counts["held_on_account"] == 0


def test_the_rest_equal_to_every_open_charge_pays_them_all() -> None:
    # 115.77 - 100.00 = 15.77 = 5.00 (R1) + 10.00 + 0.77 (R2): no one reminder, all of them
    cash = pay(payments("| P1 | 2026-12-10 | EUR | 115_77 | DE01K1 | Invoice X-1 |"), book())
    assert paid(cash) == [
        ("P1", "X-1", 100_00, "invoice_number"),
        ("P1", f"{R1}-FEE-EUR", 5_00, "reminder_charges"),
        ("P1", f"{R2}-FEE-EUR", 10_00, "reminder_charges"),
        ("P1", f"{R2}-INT-EUR", 77, "reminder_charges"),
    ]
    assert json.loads(cash.allocations["evidence"].iloc[-1])["charges_of"] == (
        f"every open reminder charge ({R1}, {R2})"
    )
    assert cash.on_account.empty and int(cash.unapplied["unapplied_minor"].sum()) == 0


def test_a_rest_that_fits_no_reminder_stays_in_the_queue_as_before() -> None:
    # 112.00 - 100.00 = 12.00: not 5.00, not 10.77, not 15.77 (and 3.00 USD is another currency);
    # K1 has open items the rest does not fit: a person decides, as before
    for account in ("DE01K1", ""):
        cash = pay(payments(f"| P1 | 2026-12-10 | EUR | 112_00 | {account} | Invoice X-1 |"), book())
        assert paid(cash) == [("P1", "X-1", 100_00, "invoice_number")]
        assert cash.exceptions[["payment_id", "unapplied_minor"]].values.tolist() == [["P1", 12_00]]
        assert cash.exceptions["reason"].iloc[0].startswith("12.00 EUR left over after paying X-1")
        assert cash.on_account.empty


def test_when_two_reminders_charged_the_rest_the_latest_is_paid() -> None:
    # the final notice charged 5.00 as the first reminder did: 105.00 pays the final notice's
    later = book(f"| {R2}-FEE-EUR | K1 | EUR | 2026-12-05 | 2026-12-19 | 5_00 | {R2} |")
    cash = pay(payments("| P1 | 2026-12-10 | EUR | 105_00 | DE01K1 | Invoice X-1 |"), later)
    assert paid(cash)[1:] == [("P1", f"{R2}-FEE-EUR", 5_00, "reminder_charges")]


def test_each_customers_rest_pays_its_own_charges_only() -> None:
    cash = pay(
        payments(
            "| P1 | 2026-12-10 | EUR | 110_77 | DE01K1 | Invoice X-1 |\n"
            "| P2 | 2026-12-10 | EUR | 205_00 | DE02K2 | Invoice Y-1 |"
        ),
        book(),
    )
    assert paid(cash) == [
        ("P1", "X-1", 100_00, "invoice_number"),
        ("P2", "Y-1", 200_00, "invoice_number"),
        ("P1", f"{R2}-FEE-EUR", 10_00, "reminder_charges"),
        ("P1", f"{R2}-INT-EUR", 77, "reminder_charges"),
        ("P2", f"{R3}-FEE-EUR", 5_00, "reminder_charges"),
    ]
    # a payment that paid both customers' invoices: whose charges its rest is for is not known
    both = pay(payments("| P3 | 2026-12-10 | EUR | 305_00 |  | Invoices X-1 Y-1 |"), book())
    assert [r[3] for r in paid(both)] == ["invoice_number", "invoice_number"]
    assert both.exceptions["unapplied_minor"].tolist() == [5_00]


def test_a_second_run_applies_nothing() -> None:
    first_payments = payments("| P1 | 2026-12-10 | EUR | 110_77 | DE01K1 | Invoice X-1 |")
    first = pay(first_payments, book())
    left, still_open = after(first, first_payments, book())
    pairs = set(zip(first.allocations["payment_id"], first.allocations["invoice_id"], strict=True))
    again = pay(left[left["unapplied_minor"] > 0], still_open, paired=pairs)
    assert again.allocations.empty and again.on_account.empty and again.exceptions.empty
    assert dict(zip(still_open["invoice_id"], still_open["open_minor"], strict=True)) == {
        "X-1": 0,
        f"{R1}-FEE-EUR": 5_00,
        f"{R2}-FEE-EUR": 0,
        f"{R2}-INT-EUR": 0,
        f"{R2}-FEE-USD": 3_00,
        "Y-1": 200_00,
        f"{R3}-FEE-EUR": 5_00,
    }


def test_another_currencys_charges_are_untouched() -> None:
    # R2's 3.00 USD fee: a EUR rest of 3.00 does not pay it; a USD rest of 3.00 pays it and not
    # a EUR charge of the same amount
    cash = pay(payments("| P1 | 2026-12-10 | EUR | 103_00 | DE01K1 | Invoice X-1 |"), book())
    assert paid(cash) == [("P1", "X-1", 100_00, "invoice_number")]
    assert cash.exceptions["unapplied_minor"].tolist() == [3_00]
    usd = table(f"""
        | invoice_id   | customer_id | currency | issue_date | due_date   | open_minor | charged_by |
        | U-1          | K1          | USD      | 2026-10-01 | 2026-10-31 | 50_00      |            |
        | {R2}-FEE-USD | K1          | USD      | 2026-12-05 | 2026-12-19 | 3_00       | {R2}       |
        | {R2}-FEE-EUR | K1          | EUR      | 2026-12-05 | 2026-12-19 | 3_00       | {R2}       |
    """).assign(amount_minor=lambda f: f["open_minor"])
    cash = pay(payments("| P2 | 2026-12-10 | USD | 53_00 | DE01K1 | Invoice U-1 |"), usd)
    assert paid(cash) == [
        ("P2", "U-1", 50_00, "invoice_number"),
        ("P2", f"{R2}-FEE-USD", 3_00, "reminder_charges"),
    ]

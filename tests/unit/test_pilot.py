"""A pilot's comparison with the legacy process, on literal rows: agreements, differences and the
reason each difference is given, the pilot's customers, and a legacy file that cannot be read."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from tasks.report.pilot import (
    Facts,
    LegacyProblem,
    causes,
    compare_allocations,
    compare_reminders,
    pilot_customers,
    read_legacy,
    totals,
)

from .tables import table

FACTS = Facts(
    payments={"P1", "P2", "P3", "P4", "P5"},
    invoice_customer={"I1": "K1", "I2": "K1", "I3": "K2", "I4": "K2", "I5": "K3"},
    exceptions={"P4": "no open invoice of K2 fits"},
    excluded={"K2@2026-03-31": "promise to pay open"},
    segments={"K1": "pilot", "K2": "pilot", "K3": "big"},
)
OURS = table("""
    | payment_id | invoice_id | amount_minor | currency | rule           | score | customer_id |
    | P1         | I1         | 100_00       | EUR      | invoice_number | 0.97  | K1          |
    | P2         | I2         | 50_00        | EUR      | exact_amount   | 0.92  | K1          |
    | P3         | I4         | 70_00        | EUR      | invoice_number | 0.97  | K2          |
    | P5         | I5         | 10_00        | EUR      | invoice_number | 0.97  | K3          |
""")
LEGACY = table("""
    | payment_id | invoice_id | amount_minor | currency |
    | P1         | I1         | 100_00       | EUR      |
    | P2         | I2         | 49_00        | EUR      |
    | P3         | I3         | 70_00        | EUR      |
    | P4         | I3         | 20_00        | EUR      |
    | P9         | I3         | 5_00         | EUR      |
""")


def test_applications_of_cash_agree_or_differ_with_a_reason() -> None:
    rows = compare_allocations(LEGACY, OURS, FACTS, pilot={"K1", "K2"})
    got = {(r["payment_id"], r["invoice_id"]): (r["outcome"], r["reason"]) for r in rows}
    assert got == {
        ("P1", "I1"): ("agree", ""),
        ("P2", "I2"): ("differ", "the same invoice, another amount"),
        ("P3", "I3"): ("legacy only", "o2c applied this payment to I4"),
        ("P3", "I4"): ("o2c only", "legacy applied this payment to I3"),
        ("P4", "I3"): ("legacy only", "o2c left it to a person: no open invoice of K2 fits"),
        ("P9", "I3"): ("legacy only", "the payment is not in o2c's ledger"),
    }  # P5 pays K3's invoice: not a pilot customer
    assert totals(rows) == {"allocation": {"agree": 1, "differ": 1, "legacy only": 3, "o2c only": 1}}
    assert ("allocation", "o2c applied it elsewhere", 1) in causes(rows)


def test_reminders_agree_or_differ_with_a_reason() -> None:
    legacy = pd.DataFrame(
        {"customer_id": ["K1", "K2", "K1"], "reminder_date": [date(2026, 3, 31), date(2026, 3, 31), date(2026, 2, 1)],
         "level": ["1", "", ""]}
    )  # fmt: skip
    ours = pd.DataFrame(
        {"customer_id": ["K1", "K1", "K3"], "reminder_date": [date(2026, 3, 31), date(2026, 2, 10), date(2026, 3, 31)],
         "level": [1, 1, 2], "level_name": ["friendly", "friendly", "firm"]}
    )  # fmt: skip
    rows = compare_reminders(legacy, ours, FACTS, pilot=None)
    got = {(r["customer_id"], r["reminder_date"]): (r["outcome"], r["reason"]) for r in rows}
    assert got == {
        ("K1", date(2026, 2, 1)): ("legacy only", "o2c reminded on 2026-02-10"),
        ("K1", date(2026, 2, 10)): ("o2c only", "legacy sent no reminder that day"),
        ("K1", date(2026, 3, 31)): ("agree", ""),
        ("K2", date(2026, 3, 31)): ("legacy only", "o2c left the customer out: promise to pay open"),
        ("K3", date(2026, 3, 31)): ("o2c only", "legacy sent no reminder that day"),
    }


def test_the_pilots_customers_come_from_a_file_or_a_segment(tmp_path: Path) -> None:
    ids = tmp_path / "pilot.csv"
    ids.write_text("customer_id,name\nK1,Acme\nK3,Big\n")
    assert pilot_customers(ids, None, FACTS) == {"K1", "K3"}
    assert pilot_customers(None, "pilot", FACTS) == {"K1", "K2"}
    assert pilot_customers(ids, "pilot", FACTS) == {"K1"}
    assert pilot_customers(None, None, FACTS) is None


def test_a_legacy_file_is_read_by_its_header_and_its_problems_named(tmp_path: Path) -> None:
    path = tmp_path / "legacy.csv"
    path.write_text("payment_id,invoice_id,amount\nP1,I1,100.00\nP2,I9,5.00\n")
    with pytest.raises(LegacyProblem, match=r"legacy.csv, row 3, column currency: empty, and invoice I9"):
        read_legacy(path, {"I1": "EUR"})
    path.write_text("payment_id,invoice_id,amount,currency\nP1,I1,100.005,EUR\n")
    with pytest.raises(
        LegacyProblem, match=r"row 2, column amount: amount '100.005' has more than 2 decimals"
    ):
        read_legacy(path, {})
    path.write_text("customer_id,reminder_date\nK1,31.03.2026\n")
    with pytest.raises(LegacyProblem, match=r"row 2, column reminder_date: '31.03.2026' is not YYYY-MM-DD"):
        read_legacy(path, {})
    path.write_text("who,when\nK1,2026-03-31\n")
    with pytest.raises(LegacyProblem, match="the header names neither"):
        read_legacy(path, {})
    path.write_text("payment_id,invoice_id,amount\nP1,I1,100.00\n\n")
    kind, rows = read_legacy(path, {"I1": "JPY"})  # the invoice's currency; a blank line is skipped
    assert kind == "allocations" and rows.to_dict("records") == [
        {"payment_id": "P1", "invoice_id": "I1", "amount_minor": 100, "currency": "JPY"}
    ]
    path.write_text("payment_id,invoice_id,amount,currency\nP,I,1.5,JPY\n")
    with pytest.raises(LegacyProblem, match="more than 0 decimals"):
        read_legacy(path, {})

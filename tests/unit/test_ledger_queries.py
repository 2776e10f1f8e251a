"""The ledger's as-of queries on a few literal rows, in memory: what was open on a date counts only
cash received and write-offs made by then."""

from __future__ import annotations

from datetime import date

import pandas as pd

from tasks.report.figures import cash_per_currency
from tasks.report.scope import MEMBERS

from .tables import table

INVOICES = table("""
    | invoice_id      | customer_id | issue_date | due_date   | currency | amount_minor |
    | O2C-2026-000001 | C1          | 2026-01-01 | 2026-01-31 | EUR      | 100_00       |
    | O2C-2026-000002 | C1          | 2026-01-05 | 2026-02-04 | EUR      | 50_00        |
""")
PAYMENTS = table("""
    | payment_id | value_date | amount_minor | currency |
    | P1         | 2026-02-10 | 60_00        | EUR      |
""")
ALLOCATIONS = table("""
    | allocation_id | payment_id | invoice_id      | amount_minor | currency | rule      | as_of      |
    | A1            | P1         | O2C-2026-000001 | 60_00        | EUR      | reference | 2026-02-10 |
""")
CUSTOMERS = table("""
    | customer_id | name   | currency | payment_terms_days | dunning_profile | language |
    | C1          | Alpha  | EUR      | 30                 | standard        | en       |
""")


def _open(ledger, day: date) -> dict[str, int]:
    items = ledger.query("report/open_items_as_of", as_of=day)
    return dict(zip(items["invoice_id"], items["open_minor"].astype(int), strict=True))


def test_an_invoice_is_open_as_of_a_date_until_the_cash_received_by_then(ledger_of) -> None:
    ledger = ledger_of(customers=CUSTOMERS, invoices=INVOICES, payments=PAYMENTS, allocations=ALLOCATIONS)
    assert _open(ledger, date(2026, 2, 1)) == {"O2C-2026-000001": 100_00, "O2C-2026-000002": 50_00}
    assert _open(ledger, date(2026, 2, 15)) == {"O2C-2026-000001": 40_00, "O2C-2026-000002": 50_00}


def test_a_ledger_in_memory_is_migrated_and_holds_only_the_literal_rows(ledger_of) -> None:
    ledger = ledger_of(invoices=INVOICES)
    counts = ledger.counts()
    assert counts["invoices"] == 2 and counts["payments"] == 0 and counts["allocations"] == 0


def test_cash_received_and_not_applied_is_on_account_or_not_yet_traced(ledger_of) -> None:
    payments = table("""
        | payment_id | value_date | amount_minor | currency | payer_account |
        | P1         | 2026-02-10 | 60_00        | EUR      |               |
        | P2         | 2026-02-11 | 500_00       | EUR      | DE02KNOWN     |
        | P3         | 2026-02-12 | 7_00         | EUR      | XX99UNKNOWN   |
        | P4         | 2026-03-01 | 9_00         | EUR      | DE02KNOWN     |
    """)
    accounts = table("""
        | customer_id | account   |
        | C1          | DE02KNOWN |
    """)
    allocations = pd.concat([ALLOCATIONS, table("""
        | allocation_id | payment_id | invoice_id      | amount_minor | currency | rule   | as_of      |
        | A2            | P2         | O2C-2026-000002 | 50_00        | EUR      | manual | 2026-02-20 |
    """)])  # fmt: skip
    ledger = ledger_of(
        customers=CUSTOMERS, invoices=INVOICES, payments=payments, allocations=allocations,
        customer_bank_accounts=accounts,
    )  # fmt: skip
    every = {"entity_members": MEMBERS.empty_table()}  # the whole book: no entity's members needed
    held = ledger.arrow_with("report/unapplied_as_of", every, as_of=date(2026, 2, 15))
    cash = cash_per_currency(held, None)
    # P1 fully applied; P2 450.00 left, its payer known; P3 7.00 from nobody known; P4 not yet received
    assert cash.to_dict("records") == [
        {"currency": "EUR", "on_account_minor": 450_00, "unidentified_minor": 7_00}
    ]

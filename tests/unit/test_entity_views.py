"""An export of one legal entity: its customers' rows, its invoices' rows, the payments that paid
them or arrived on its bank; an export with nothing to choose by is refused with the reason."""

from __future__ import annotations

import pandas as pd
import pytest

from tasks.report.views import NotPartitioned, export_view

from .tables import table

CUSTOMERS = table("""
    | customer_id | name  | currency | payment_terms_days | dunning_profile | language | legal_entity |
    | K1          | Acme  | EUR      | 30                 | standard        | de       | DE01         |
    | K2          | Bravo | EUR      | 30                 | standard        | fr       | FR01         |
    | K3          | Home  | EUR      | 30                 | standard        | en       |              |
""")
INVOICES = table("""
    | invoice_id | customer_id | issue_date | due_date   | currency | amount_minor | origin   |
    | I1         | K1          | 2026-03-01 | 2026-03-31 | EUR      | 100_00       | ingested |
    | I2         | K2          | 2026-03-01 | 2026-03-31 | EUR      | 200_00       | ingested |
    | I3         | K3          | 2026-03-01 | 2026-03-31 | EUR      | 300_00       | ingested |
""")
PAYMENTS = table("""
    | payment_id | value_date | amount_minor | currency | account                     |
    | P1         | 2026-03-10 | 100_00       | EUR      |                             |
    | P2         | 2026-03-10 | 50_00        | EUR      | FR1420041010050500013M02606 |
    | P3         | 2026-03-10 | 70_00        | EUR      |                             |
""")
ALLOCATIONS = table("""
    | allocation_id | payment_id | invoice_id | amount_minor | currency | rule | as_of      |
    | P1/I1         | P1         | I1         | 100_00       | EUR      | t    | 2026-03-10 |
""")
BANKS = {"FR1420041010050500013M02606": "FR01"}


def test_an_entitys_rows_of_each_export(ledger_of) -> None:
    ledger = ledger_of(customers=CUSTOMERS, invoices=INVOICES, payments=PAYMENTS, allocations=ALLOCATIONS)
    assert export_view(ledger, "invoices", "DE01", BANKS)["invoice_id"].tolist() == ["I1"]
    assert export_view(ledger, "invoices", "default", BANKS)["invoice_id"].tolist() == ["I3"]
    assert export_view(ledger, "allocations", "DE01", BANKS)["allocation_id"].tolist() == ["P1/I1"]
    assert export_view(ledger, "allocations", "FR01", BANKS).empty
    # P2 paid nothing yet: FR01's bank received it; P3 belongs to nobody known
    assert export_view(ledger, "unapplied", "FR01", BANKS)["payment_id"].tolist() == ["P2"]
    everyone = export_view(ledger, "unapplied", None, BANKS)["payment_id"].tolist()
    assert sorted(everyone) == ["P2", "P3"]
    with pytest.raises(NotPartitioned, match="the quarantine export names no customer, invoice or payment"):
        export_view(ledger, "quarantine", "DE01", BANKS)
    assert isinstance(export_view(ledger, "quarantine", None, BANKS), pd.DataFrame)

"""An invoice's document prints the buyer it was issued to (the snapshot taken at billing), not what
the customer master says by the time the document is written again."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tasks.invoice.billing import buyers_of
from tasks.invoice.ledger_documents import write_from_ledger
from tasks.platform.config import Settings

from .tables import table

CUSTOMERS = table("""
    | customer_id | name | currency | payment_terms_days | dunning_profile | language | address         | postcode | city   | country |
    | K1          | Acme | EUR      | 30                 | standard        | en       | 2 New Road      | 10117    | Berlin | DE      |
""")
INVOICES = table("""
    | invoice_id      | customer_id | issue_date | due_date   | currency | net_minor | tax_minor | amount_minor | origin | kind    |
    | O2C-2026-000001 | K1          | 2026-03-01 | 2026-03-31 | EUR      | 100_00    | 19_00     | 119_00       | billed | invoice |
    | O2C-2026-000002 | K1          | 2026-03-02 | 2026-04-01 | EUR      | 100_00    | 19_00     | 119_00       | billed | invoice |
""")
LINES = table("""
    | invoice_id      | line_no | description | quantity | unit_price_minor | tax_rate_ppm | net_minor | tax_minor | currency |
    | O2C-2026-000001 | 1       | Gloves      | 1        | 100_00           | 190_000      | 100_00    | 19_00     | EUR      |
    | O2C-2026-000002 | 1       | Gloves      | 1        | 100_00           | 190_000      | 100_00    | 19_00     | EUR      |
""")


def test_the_document_prints_the_address_the_invoice_was_issued_to(ledger_of, tmp_path: Path) -> None:
    # billed when Acme lived at 1 Old Street; the master has moved it since
    then = buyers_of(INVOICES.iloc[[0]], CUSTOMERS.assign(address="1 Old Street"))
    assert then[["invoice_id", "customer_id", "name", "address", "city"]].values.tolist() == [
        ["O2C-2026-000001", "K1", "Acme", "1 Old Street", "Berlin"]
    ]
    ledger = ledger_of(customers=CUSTOMERS, invoices=INVOICES, invoice_lines=LINES, invoice_buyers=then)
    settings = Settings(home=tmp_path)
    written = write_from_ledger(ledger, ["O2C-2026-000001", "O2C-2026-000002"], tmp_path, settings.seller)
    assert written["documents_written"] == 2
    snapshot = (tmp_path / "O2C-2026-000001.html").read_text(encoding="utf-8")
    assert "1 Old Street" in snapshot and "2 New Road" not in snapshot
    # an invoice billed before snapshots were kept prints the master as it is
    assert "2 New Road" in (tmp_path / "O2C-2026-000002.html").read_text(encoding="utf-8")


def test_no_customers_no_snapshot() -> None:
    assert buyers_of(INVOICES, None).empty
    assert list(buyers_of(INVOICES.iloc[0:0], CUSTOMERS).columns)[:2] == ["invoice_id", "customer_id"]
    assert isinstance(buyers_of(INVOICES, CUSTOMERS), pd.DataFrame)

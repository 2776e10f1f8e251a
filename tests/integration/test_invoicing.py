"""The invoice stage through Prefect: a return billed as a credit note against its invoice, the
open amounts that follow, the documents, and the completeness control."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
from pypdf import PdfReader
from typer.testing import CliRunner

from flows.cli import app
from flows.ingest import ingest_flow
from flows.invoice import invoice_flow

AS_OF = date(2026, 11, 20)
FILES = {
    "customers.csv": """customer_id,name,email,country,currency,payment_terms_days,language,payment_terms
K1,Kunde GmbH,ap@kunde.example,DE,EUR,30,de,2% 10 net 30
""",
    "orders.csv": """order_id,customer_id,order_date,currency,status,fulfilled_date,credit_for
SO-1,K1,2026-11-01,EUR,fulfilled,2026-11-02,
RET-1,K1,2026-11-10,EUR,fulfilled,2026-11-12,SO-1
""",
    "order_lines.csv": """order_id,line_no,sku,description,quantity,unit_price,tax_rate
SO-1,1,A-1,Widget,4,25.00,0.19
SO-1,2,B-2,Gadget,1,50.00,0.19
RET-1,1,A-1,Widget returned,-1,25.00,0.19
""",
}


def test_a_return_is_credited_against_its_invoice_with_documents_for_both(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text)
    loaded = ingest_flow(paths=[str(folder / n) for n in FILES], as_of=AS_OF, home=str(home))
    assert [r["outcome"] for r in loaded] == ["completed"] * 3
    summary = invoice_flow(as_of=AS_OF, home=str(home))
    assert summary["counts"]["orders_billed"] == 1 and summary["counts"]["credit_notes"] == 1
    out = tmp_path / "invoices.csv"
    assert (
        CliRunner().invoke(app, ["export", "invoices", "--out", str(out), "--home", str(home)]).exit_code == 0
    )
    invoices = pd.read_csv(out, dtype=str).set_index("invoice_id")
    assert invoices.loc["O2C-2026-000001", ["total", "open", "discount_amount"]].tolist() == [
        "178.50",
        "148.75",
        "3.57",
    ]
    assert invoices.loc["O2C-CN-2026-000001", ["total", "open", "origin"]].tolist() == [
        "-29.75",
        "0.00",
        "billed",
    ]
    text = "".join(p.extract_text() for p in PdfReader(home / "documents" / "O2C-CN-2026-000001.pdf").pages)
    assert "Gutschrift O2C-CN-2026-000001" in text and "Gutschrift zur Rechnung O2C-2026-000001." in text
    assert "Gesamt: -29.75 EUR" in text
    again = invoice_flow(as_of=AS_OF, home=str(home))
    assert again["counts"]["orders_billed"] == 0 and again["counts"]["credit_notes"] == 0
    assert again["documents"] == {"documents_written": 0, "documents_already_there": 0}

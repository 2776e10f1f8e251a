"""Build a small ledger from literal CSV text through the real ingest flow."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flows.ingest import ingest_flow

CUSTOMER_HEADER = "customer_id,name,email,country,currency,payment_terms_days,credit_limit,segment,dunning_profile,language,bank_accounts\n"
INVOICE_HEADER = "invoice_id,customer_id,issue_date,due_date,currency,amount,order_id\n"
PAYMENT_HEADER = "payment_id,value_date,amount,currency,payer_name,payer_account,reference\n"


def load(home: Path, folder: Path, as_of: date, **datasets: str) -> list[dict]:
    """Write each dataset's rows under its canonical header and ingest them (customers first)."""
    headers = {
        "customers": CUSTOMER_HEADER,
        "invoices": INVOICE_HEADER,
        "payments": PAYMENT_HEADER,
        "orders": "order_id,customer_id,order_date,currency,status,fulfilled_date,credit_for\n",
        "order_lines": "order_id,line_no,sku,description,quantity,unit_price,tax_rate\n",
    }
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, rows in datasets.items():
        path = folder / f"{name}.csv"
        path.write_text(headers[name] + rows.strip() + "\n")
        paths.append(str(path))
    return ingest_flow(paths=paths, as_of=as_of, home=str(home))


ONE_CUSTOMER = "K1,Acme,ap@acme.example,DE,EUR,30,,,standard,en,\n"
ONE_INVOICE = "X-1,K1,2026-10-01,2026-10-31,EUR,100.00,\n"


def load_one_invoice(home: Path, folder: Path, as_of: date, payments: str) -> list[dict]:
    """Customer K1 with invoice X-1 of 100.00 EUR due 2026-10-31, and the given payments."""
    return load(home, folder, as_of, customers=ONE_CUSTOMER, invoices=ONE_INVOICE, payments=payments)

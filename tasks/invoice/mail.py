"""The invoice e-mail: each invoice and credit note the invoice stage bills goes to its customer
with its PDF attached, through the same outbox and mailer as reminders.

Pure: the run's invoices and the customer master in, the messages to queue and the invoices that
cannot be e-mailed (no address) out. The PDF is read at delivery from `documents/<invoice_id>.pdf`.
"""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.invoice.einvoice import wants_xrechnung
from tasks.platform.config import SHIPPED_TEMPLATES
from tasks.platform.messages import render_invoice_mail
from tasks.platform.presentation import dicts_by, row_dicts

MAIL_COLUMNS = [
    "mail_id",
    "invoice_id",
    "customer_id",
    "language",
    "recipient",
    "subject",
    "body_text",
    "body_html",
    "document",
    "as_of",
    "status",
]


def document_path(invoice_id: str, xrechnung: bool = False) -> str:
    """Where an invoice's PDF lives, relative to the workspace; for a customer who asks for
    XRechnung, its XML (the PDF goes with it)."""
    return f"documents/{invoice_id}.{'xml' if xrechnung else 'pdf'}"


def plan_invoice_mails(
    invoices: pd.DataFrame,
    customers: pd.DataFrame,
    *,
    seller: Any,
    as_of: date,
    templates: Path = SHIPPED_TEMPLATES,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One queued message per invoice whose customer has an e-mail address; the others are
    returned apart with the reason, so a person can send them another way."""
    billing = invoices["customer_id"] if "customer_id" in invoices.columns else []
    by_customer: dict[str, dict[str, Any]] = dicts_by(
        customers[customers["customer_id"].isin(billing)], "customer_id"
    )
    mails: list[dict[str, Any]] = []
    unmailed: list[dict[str, Any]] = []
    # each legal entity's seller, asked for once a run
    seller_of = functools.cache(seller) if callable(seller) else (lambda _entity: seller)
    for invoice in row_dicts(invoices):
        customer = {"customer_id": invoice["customer_id"], **by_customer.get(invoice["customer_id"], {})}
        address = customer.get("email")
        if not isinstance(address, str) or not address.strip():
            unmailed.append(
                {
                    "invoice_id": invoice["invoice_id"],
                    "customer_id": invoice["customer_id"],
                    "reason": "the customer has no e-mail address",
                }
            )
            continue
        name = seller_of(invoice.get("legal_entity"))
        message = render_invoice_mail(invoice=invoice, customer=customer, seller=name, folder=templates)
        mails.append(
            {
                "mail_id": f"MAIL-{invoice['invoice_id']}",
                "invoice_id": invoice["invoice_id"],
                "customer_id": invoice["customer_id"],
                "language": message.language,
                "recipient": address.strip(),
                "subject": message.subject,
                "body_text": message.text,
                "body_html": message.html,
                "document": document_path(str(invoice["invoice_id"]), wants_xrechnung(customer)),
                "as_of": as_of,
                "status": "queued",
            }
        )
    return (
        pd.DataFrame(mails, columns=MAIL_COLUMNS),
        pd.DataFrame(unmailed, columns=["invoice_id", "customer_id", "reason"]),
    )

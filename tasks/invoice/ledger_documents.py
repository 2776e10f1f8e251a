"""The documents of invoices and credit notes already in the ledger: an HTML and a PDF file for each
one asked for, written from its ledger rows (header, lines, instalments and customer) by
`tasks/invoice/documents.py`. Used by the invoice flow for every billed invoice that has no
documents yet, and when a person's decision bills something, such as the credit note of a dispute
resolved for the customer (`o2c case resolve --credit-note`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tasks.invoice import documents
from tasks.platform.config import SHIPPED_TEMPLATES
from tasks.platform.ledger import Ledger


def write_from_ledger(
    ledger: Ledger,
    ids: list[str],
    folder: Path,
    seller: str | Callable[[Any], str],
    templates: Path = SHIPPED_TEMPLATES,
) -> dict[str, int]:
    """Write the documents of the invoices and credit notes `ids` under `folder`."""
    return documents.write_documents(
        ledger.query("invoice/document_invoices", ids=ids),
        ledger.query("invoice/document_lines", ids=ids),
        ledger.query("invoice/customers"),
        folder,
        seller,
        ledger.query("invoice/document_instalments", ids=ids),
        templates,
    )

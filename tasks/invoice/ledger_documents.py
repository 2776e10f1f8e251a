"""The documents of invoices and credit notes already in the ledger: an HTML and a PDF file for each
one asked for, written from its ledger rows (header, lines, instalments and customer) by
`tasks/invoice/documents.py`. Used by the invoice flow for every billed invoice that has no
documents yet, and when a person's decision bills something, such as the credit note of a dispute
resolved for the customer (`o2c case resolve --credit-note`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tasks.invoice import documents
from tasks.platform.config import SHIPPED_TEMPLATES, Settings
from tasks.platform.ledger import Ledger, open_ledger


def write_from_ledger(
    ledger: Ledger,
    ids: list[str],
    folder: Path,
    seller: Callable[[Any], Any],
    templates: Path = SHIPPED_TEMPLATES,
    workers: int = 1,
) -> dict[str, int]:
    """Write the documents of the invoices and credit notes `ids` under `folder`, in `workers`
    processes where there are many."""
    return documents.write_documents(
        ledger.query("invoice/document_invoices", ids=ids),
        ledger.query("invoice/document_lines", ids=ids),
        ledger.query("invoice/document_buyers", ids=ids),
        folder,
        seller,
        ledger.query("invoice/document_instalments", ids=ids),
        templates,
        workers,
    )


def write_missing(settings: Settings, workers: int | None = None) -> dict[str, int]:
    """An HTML and a PDF document for every billed invoice and credit note that has none under the
    workspace's `documents/` (re-running writes nothing), on every core unless `workers` says; how
    many were written, how many were there already, and how many of those written carry their
    EN 16931 XML (Factur-X)."""
    folder = settings.home / "documents"
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        billed = ledger.query("invoice/billed_ids")["invoice_id"].tolist()
        missing = [i for i in billed if not (folder / f"{i}.pdf").exists()]
        if not missing:
            return {"documents_written": 0, "documents_already_there": len(billed), "einvoices": 0}
        written = write_from_ledger(
            ledger, missing, folder, settings.seller, settings.templates, workers or os.cpu_count() or 1
        )
    return {
        "documents_written": written["documents_written"],
        "documents_already_there": len(billed) - len(missing),
        "einvoices": written["einvoices"],
    }

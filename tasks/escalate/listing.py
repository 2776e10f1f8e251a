"""The collectors' registers as `o2c case list` and `o2c writeoff list` show them: every case and
every write-off proposal read from the ledger, amounts in major units of their currency and dates
as YYYY-MM-DD, one plain dict a row (the same rows the `--json` output prints).
"""

from __future__ import annotations

from typing import Any

from tasks.platform.ledger import Ledger
from tasks.platform.money import to_major_str
from tasks.platform.presentation import day_text


def cases(ledger: Ledger, *, status: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
    """Cases, open ones first by due date, of one status and one kind (None: any)."""
    rows = ledger.query("escalate/cases/list").to_dict("records")
    return [
        {
            "case_id": r["case_id"],
            "kind": r["kind"],
            "customer_id": r["customer_id"],
            "invoices": [i for i in r["invoice_id"].split(";") if i],
            "amount": to_major_str(int(r["amount_minor"]), r["currency"]),
            "currency": r["currency"],
            "reason_code": r["reason_code"],
            "reason_text": r["reason_text"],
            "owner": r["owner"],
            "opened_on": day_text(r["opened_on"]),
            "due_on": day_text(r["due_on"]),
            "status": r["status"],
            "resolved_on": day_text(r["resolved_on"]),
            "resolved_by": r["resolved_by"],
            "resolution": r["resolution"],
            "credit_note_id": r["credit_note_id"],
        }
        for r in rows
        if (status is None or r["status"] == status) and (kind is None or r["kind"] == kind)
    ]


def writeoffs(ledger: Ledger) -> list[dict[str, Any]]:
    """Every write-off, newest first: amount, invoice, status, who proposed and who decided, and
    what is open on the invoice now."""
    rows = ledger.query("escalate/writeoffs/list").to_dict("records")
    return [
        {
            "write_off_id": r["write_off_id"],
            "invoice_id": r["invoice_id"],
            "customer_id": r["customer_id"],
            "amount": to_major_str(int(r["amount_minor"]), r["currency"]),
            "currency": r["currency"],
            "reason": r["reason"],
            "source": r["source"],
            "status": r["status"],
            "proposed_by": r["proposed_by"],
            "proposed_at": str(r["proposed_at"]),
            "decided_by": r["decided_by"] if isinstance(r["decided_by"], str) else None,
            "decided_at": None
            if r["decided_at"] is None or str(r["decided_at"]) == "NaT"
            else str(r["decided_at"]),
            "open_now": None
            if r["open_minor"] is None
            else to_major_str(int(r["open_minor"]), r["currency"]),
        }
        for r in rows
    ]

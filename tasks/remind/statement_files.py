"""Statements of account from the ledger: the one a person asks for (`o2c statement`) and the ones
reminders attach, written under the workspace's `statements/` before the reminders are sent.

A statement shows the ledger as it stood on its date: the open items as of that date
(`report/open_items_as_of`), the payments applied to the customer's invoices in the 90 days before
it, and the cash received by then and not applied (`remind/unapplied`).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tasks.platform.config import Settings
from tasks.platform.files import write_whole
from tasks.platform.ledger import Ledger, open_ledger
from tasks.platform.sellers import buyer_party
from tasks.remind.statement import PAYMENTS_SINCE_DAYS, Statement, statement_pdf


def statement_path(home: Path, reminder_id: str) -> Path:
    """Where the statement a reminder attaches is written."""
    return home / "statements" / f"{reminder_id}.pdf"


def statements_as_of(
    ledger: Ledger, settings: Settings, customers: list[str], as_of: date
) -> dict[str, Statement]:
    """The statements of `customers` as of `as_of`, read in three queries whatever their number;
    a customer the master does not know has none."""
    master = ledger.query("remind/statement/customers", customers=customers).to_dict("records")
    items = ledger.query("report/open_items_as_of", as_of=as_of)
    items = items[items["customer_id"].isin(customers) & (items["open_minor"] != 0)]
    items_of: dict[str, list[dict[str, Any]]] = {}
    for row in items.to_dict("records"):
        items_of.setdefault(str(row["customer_id"]), []).append(row)
    since = as_of - timedelta(days=PAYMENTS_SINCE_DAYS)
    paid = ledger.query("remind/statement/payments", customers=customers, since=since, as_of=as_of)
    paid_of: dict[str, list[dict[str, Any]]] = {}
    for row in paid.to_dict("records"):
        paid_of.setdefault(str(row["customer_id"]), []).append(row)
    cash = ledger.query("remind/unapplied", as_of=as_of)
    cash_of: dict[str, dict[str, int]] = {}
    for row in cash[cash["customer_id"].isin(customers)].to_dict("records"):
        cash_of.setdefault(str(row["customer_id"]), {})[str(row["currency"])] = int(row["unapplied_minor"])
    return {
        str(c["customer_id"]): Statement(
            customer_id=str(c["customer_id"]),
            customer=buyer_party(c),
            language=str(c["language"]),
            seller=settings.seller(c.get("legal_entity") or ""),
            as_of=as_of,
            items=items_of.get(str(c["customer_id"]), []),
            payments=paid_of.get(str(c["customer_id"]), []),
            unapplied=cash_of.get(str(c["customer_id"]), {}),
        )
        for c in master
    }


def write_missing_statements(settings: Settings) -> int:
    """Write the statement PDF of every reminder due to be sent that attaches one and has none yet
    (re-running writes nothing); how many were written."""
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        wanted = [
            r
            for r in ledger.query("remind/statement/missing").to_dict("records")
            if not statement_path(settings.home, str(r["reminder_id"])).exists()
        ]
        by_date: dict[date, list[dict[str, Any]]] = {}
        for row in wanted:
            by_date.setdefault(_day(row["as_of"]), []).append(row)
        written = 0
        for as_of, rows in sorted(by_date.items()):
            statements = statements_as_of(
                ledger, settings, sorted({str(r["customer_id"]) for r in rows}), as_of
            )
            for row in rows:
                statement = statements.get(str(row["customer_id"]))
                if statement is not None:
                    write_whole(
                        statement_path(settings.home, str(row["reminder_id"])), statement_pdf(statement)
                    )
                    written += 1
    return written


def _day(value: Any) -> date:
    import pandas as pd

    return value if isinstance(value, date) and not hasattr(value, "hour") else pd.Timestamp(value).date()

"""What the ledger holds and how its SQL is kept: the names of its tables, the entities whose every
inserted row is written to the audit log, the outbox tables with their key and sending stage, the
SQL files (`sql/<name>.sql`, run with bound parameters) and the timestamp the ledger writes.

Every other module of the ledger package reads these; none of them opens the store.
"""

from __future__ import annotations

from datetime import datetime

from tasks.platform.config import SQL_DIR

LEDGER_TABLES = (
    "customers",
    "customer_bank_accounts",
    "subscriptions",
    "subscription_periods",
    "orders",
    "order_lines",
    "invoices",
    "invoice_lines",
    "invoice_instalments",
    "invoice_buyers",
    "invoice_mails",
    "payments",
    "allocations",
    "payment_exceptions",
    "cash_on_account",
    "exchange_rates",
    "invoice_adjustments",
    "cases",
    "payer_accounts",
    "rejected_matches",
    "reminders",
    "reminder_items",
    "reminder_exclusions",
    "write_offs",
    "credit_holds",
    "customer_ratings",
    "owner_notices",
    "report_mails",
    "mail_events",
    "escalations",
    "worklist",
    "kpi_snapshots",
    "ingest_batches",
    "quarantine",
    "checkpoint_runs",
    "stage_runs",
    "audit_log",
    "evidence_files",
)

# Entities whose every inserted row is written to the audit log, with its key column.
AUDITED = {
    "customers": "customer_id",
    "subscriptions": "subscription_id",
    "orders": "order_id",
    "invoices": "invoice_id",
    "payments": "payment_id",
    "allocations": "allocation_id",
    "invoice_adjustments": "adjustment_id",
    "cases": "case_id",
    "reminders": "reminder_id",
    "invoice_mails": "mail_id",
    "escalations": "customer_id",
    "credit_holds": "hold_id",
    "owner_notices": "mail_id",
    "report_mails": "mail_id",
}


# Columns holding a whole rendered document (a message's text and HTML body): an audit row of an
# inserted row carries the SHA-256 of each (`body_html_sha256`) instead of the text, which stays in
# the row itself. A reminder's body is about 6 KB: copied into the audit log it doubled what a
# remind run at a million invoices wrote, and the memory it took to write it.
DIGESTED_IN_AUDIT = ("body_text", "body_html")

# The outbox tables: each message's key column and the stage that sends it.
OUTBOX_TABLES = {
    "reminders": ("reminder_id", "remind"),
    "invoice_mails": ("mail_id", "invoice"),
    "owner_notices": ("mail_id", "escalate"),
    "report_mails": ("mail_id", "report"),
}


def load_sql(name: str) -> str:
    """The text of `sql/<name>.sql`; SQL is kept in files and run with bound parameters."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def now() -> datetime:
    """The wall-clock time to the second, as the ledger stamps the rows it writes."""
    return datetime.now().replace(microsecond=0)


def known_table(name: str) -> str:
    """`name` if it is a ledger table; table names are put into SQL text, so never anything else."""
    if name not in LEDGER_TABLES:
        raise ValueError(f"unknown ledger table {name!r}")
    return name

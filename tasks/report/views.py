"""Read-only views of the ledger that `o2c status`, `o2c export` and `o2c demo` print or write: the
workspace's table counts with the latest run of each stage, and the named export views of
`sql/report/export/` as frames (amounts still in minor units; `tasks/report/export.py` writes them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from tasks.platform.ledger import Ledger
from tasks.platform.presentation import records


def workspace_status(ledger: Ledger, home: Path) -> dict[str, Any]:
    """Row counts of the ledger's tables and the latest run of each stage."""
    counts = ledger.counts()
    runs = ledger.query("report/status/latest_stage_runs")
    return {"home": str(home), "ledger": ledger.kept_in(), "tables": counts, "latest_runs": records(runs)}


def export_view(
    ledger: Ledger, name: str, entity: str | None = None, bank_accounts: dict[str, str] | None = None
) -> pd.DataFrame:
    """One export view (allocations, unapplied, reminders, worklist or quarantine) as it stands;
    with `entity`, only its rows (`of_entity`)."""
    frame = ledger.query(f"report/export/{name}")
    if entity is None:
        return frame
    from tasks.report.journal import entity_account_table

    members = ledger.arrow_with(
        "report/entity_members", {"entity_accounts": entity_account_table(bank_accounts)}
    ).to_pandas()
    return of_entity(frame, members, entity, name)


class NotPartitioned(ValueError):
    """An export that has no legal entity to choose rows by."""


def of_entity(frame: pd.DataFrame, members: pd.DataFrame, entity: str, name: str) -> pd.DataFrame:
    """The rows of an export that belong to `entity`, chosen by the first of its columns that names
    a customer, an invoice or a payment (members: kind, id, entity)."""
    for column, kind in (("customer_id", "customer"), ("invoice_id", "invoice"), ("payment_id", "payment")):
        if column in frame.columns:
            mine = set(members.loc[(members["kind"] == kind) & (members["entity"] == entity), "id"])
            return frame[frame[column].isin(mine)].reset_index(drop=True)
    raise NotPartitioned(
        f"the {name} export names no customer, invoice or payment: it has no entity to choose by"
    )

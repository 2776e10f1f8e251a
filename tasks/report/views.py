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


def export_view(ledger: Ledger, name: str) -> pd.DataFrame:
    """One export view (allocations, unapplied, reminders, worklist or quarantine) as it stands."""
    return ledger.query(f"report/export/{name}")

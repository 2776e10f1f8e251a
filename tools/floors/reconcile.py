"""The reconcile stage's floor: `sql/floors/reconcile.sql` run bare on the ledger (that file says
what it computes and leaves out), the allocation rows fetched as Arrow, as the stage fetches what
it decides on."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from tasks.platform.ledger import load_sql


def floor(ledger: Any, inbox: Path, as_of: date) -> int:
    """Run the floor on `ledger` as of the date; the allocation rows the plain join made."""
    ledger.con.execute(load_sql("floors/reconcile"), {"as_of": as_of})
    return int(ledger.con.sql("select * from floor_reconcile").to_arrow_table().num_rows)

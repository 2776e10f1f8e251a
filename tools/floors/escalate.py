"""The escalate stage's floor: `sql/floors/escalate.sql` run bare on the ledger (that file says what it
computes and leaves out), its result fetched as Arrow, as the stage fetches what it decides on."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from tasks.platform.ledger import load_sql


def floor(ledger: Any, inbox: Path, as_of: date) -> int:
    """Run the floor on `ledger` as of the date; the rows it made (the lines per customer and currency)."""
    ledger.con.execute(load_sql("floors/escalate"), {"as_of": as_of})
    return int(ledger.con.sql("select * from floor_escalate").to_arrow_table().num_rows)

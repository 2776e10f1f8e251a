"""The invoice stage's floor: price the lines of the fulfilled, unbilled orders and build one
numbered invoice per order, in one SQL script (sql/floors/invoice.sql): no terms text, credit
notes, subscriptions, entities, checks or documents."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from tasks.platform.ledger import load_sql


def floor(ledger: Any, inbox: Path, as_of: date) -> int:
    for statement in filter(str.strip, load_sql("floors/invoice").split(";\n")):
        ledger.con.execute(statement, {"as_of": as_of})
    row = ledger.con.execute("select count(*) from floor_invoices").fetchone()
    return int(row[0]) if row else 0

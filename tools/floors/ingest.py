"""The ingest stage's floor: each CSV file of the inbox read as text by Arrow, cast to the ledger's
types in SQL (dates, money scaled to BIGINT minor units of the row's currency, rates to parts per
million) and inserted into scratch tables shaped like the ledger's (`sql/floors/ingest/<dataset>.sql`
says what each does and leaves out): no shape checks, reasons, quarantine, contract, evidence or
audit."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as arrow_csv

from tasks.platform.ledger import load_sql
from tasks.platform.money import CURRENCY_EXPONENTS

DATASETS = ("customers", "orders", "order_lines", "invoices", "payments")  # orders before their lines


def floor(ledger: Any, inbox: Path, as_of: date) -> int:
    """Load the inbox's files into scratch tables of `ledger` (the bench rolls them back); the rows
    read."""
    scale = {
        "currencies": list(CURRENCY_EXPONENTS),
        "factors": [10**exponent for exponent in CURRENCY_EXPONENTS.values()],
    }
    rows = 0
    for dataset in DATASETS:
        for path in sorted(inbox.glob(f"{dataset}*.csv")):
            if dataset == "orders" and path.name.startswith("order_lines"):
                continue
            text = _text(path)
            ledger.con.register("floor_text", text)
            try:
                for statement in filter(str.strip, load_sql(f"floors/ingest/{dataset}").split(";\n")):
                    ledger.con.execute(statement, scale if "unnest($currencies)" in statement else None)
            finally:
                ledger.con.unregister("floor_text")
            rows += text.num_rows
    return rows


def _text(path: Path) -> pa.Table:
    """Every column of a CSV file as text, empty fields as empty strings."""
    with arrow_csv.open_csv(path) as head:
        names = head.schema.names
    convert = arrow_csv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()),
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    return arrow_csv.read_csv(path, convert_options=convert)

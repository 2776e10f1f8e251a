"""Literal tables for tests, written the way an accountant would lay them out.

    invoices = table('''
        | invoice_id      | currency | due_date   | open_minor |
        | O2C-2026-000001 | EUR      | 2026-01-31 | 100_00     |
    ''')

Columns are typed by name, so that an invoice number such as `000123` is never read as a number:
`*_minor`, `*_ppm`, `*_days` and a few counting columns are integers (underscores allowed, so
`100_00` reads as 100.00); `*_date`, `as_of` and `entered_on` are dates; everything else is text.
An empty cell is None.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

INTEGER_COLUMNS = {
    "quantity",
    "line_no",
    "level",
    "last_level",
    "year",
    "last_number",
    "oldest_days_past_due",
    "orders_in",
    "orders_out",
    "overdue_invoices",
    "dunning_level",
    "broken_promises",
    "open_cases",
    "settled_invoices",
}
DATE_COLUMNS = {"as_of", "entered_on", "settled_on", "opened_on", "due_on", "value_date"}


def _typed(column: str, cell: str) -> object:
    if cell == "":
        return None
    if column in INTEGER_COLUMNS or column.endswith(("_minor", "_ppm", "_days")):
        return int(cell)
    if column in DATE_COLUMNS or column.endswith("_date"):
        return date.fromisoformat(cell)
    return cell


def table(text: str) -> pd.DataFrame:
    """A frame from a `|`-separated literal table; the first row names the columns."""
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.strip().splitlines()
        if line.strip()
    ]
    header, body = rows[0], rows[1:]
    for row in body:
        assert len(row) == len(header), f"row {row} does not match header {header}"
    return pd.DataFrame(
        [[_typed(c, v) for c, v in zip(header, row, strict=True)] for row in body], columns=header
    )

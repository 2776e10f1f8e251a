"""Exports a spreadsheet opens safely: text that would run as a formula is neutralised, numbers
(negative amounts among them) stay numbers, in CSV and in XLSX."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from tasks.report.export import neutralise_cell, write

FRAME = pd.DataFrame(
    {
        "customer_id": ["K1", "K2", "K3", "K4", "K5", "K6"],
        "name": ['=HYPERLINK("http://x")', "+1+2", "-cmd", "@SUM(A1)", "\ttab", "\rcr"],
        "amount": ["12.50", "-3.00", "+4", "0.00", "1000.00", "-0.01"],
        "note": ["plain", "a=b", "", None, "x-y", "@ not first? no"],
    }
)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1+2", "'+1+2"),
        ("-cmd", "'-cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-12.50", "-12.50"),  # a negative amount is a number, not a formula
        ("+4", "+4"),
        ("a=b", "a=b"),
        (12, 12),
    ],
)
def test_neutralise_cell(cell: object, expected: object) -> None:
    assert neutralise_cell(cell) == expected


def test_csv_cells_are_neutralised(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    write(FRAME, path)
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["name"] for r in rows] == [
        '\'=HYPERLINK("http://x")',
        "'+1+2",
        "'-cmd",
        "'@SUM(A1)",
        "'\ttab",
        "'\rcr",
    ]
    assert [r["amount"] for r in rows] == ["12.50", "-3.00", "+4", "0.00", "1000.00", "-0.01"]


def test_xlsx_has_numbers_as_numbers_and_no_formula(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    write(FRAME, path)
    sheet = load_workbook(path).active
    assert sheet.title == "out"
    cells = list(sheet.iter_rows(min_row=2))
    assert all(cell.data_type != "f" for row in cells for cell in row)  # nothing runs
    assert [row[1].value for row in cells][:2] == ['\'=HYPERLINK("http://x")', "'+1+2"]
    amounts = [row[2].value for row in cells]
    assert all(isinstance(v, (int, float, Decimal)) for v in amounts)
    assert [Decimal(str(v)) for v in amounts] == [
        Decimal(x) for x in ("12.5", "-3", "4", "0", "1000", "-0.01")
    ]
    assert cells[3][3].value is None  # an empty cell stays empty

"""Exports: ledger views as CSV or XLSX, amounts in major units.

Every export is a SQL file in `sql/report/export/`; columns ending in `_minor` are written as decimal
strings in their row's currency and lose the suffix (`amount_minor` -> `amount`). Text that a
spreadsheet would run as a formula (a cell beginning with `=`, `+`, `-`, `@`, a tab or a carriage
return) is neutralised with a leading `'`; numbers, negative amounts among them, stay numbers.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.platform.config import SQL_DIR
from tasks.platform.money import to_major_str

EXPORTS = tuple(sorted(p.stem for p in (SQL_DIR / "report" / "export").glob("*.sql")))


def to_major_units(frame: pd.DataFrame) -> pd.DataFrame:
    """Replace each `<name>_minor` column by `<name>`, a decimal string in the row's currency."""
    out = frame.copy()
    for column in [c for c in frame.columns if c.endswith("_minor")]:
        out[column] = [
            to_major_str(int(v), cur) if pd.notna(v) else ""
            for v, cur in zip(frame[column], frame["currency"], strict=True)
        ]
        out = out.rename(columns={column: column.removesuffix("_minor")})
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d")
    return out


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def neutralise_cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, made plain text; anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise_cell)
    return out


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    # RFC 4180 line ends: a cell holding a carriage return is then quoted, not split in two.
    neutralise(frame).to_csv(partial, index=False, lineterminator="\r\n")
    partial.replace(path)


def write_xlsx(frame: pd.DataFrame, path: Path, sheet: str = "export") -> None:
    """An XLSX workbook of one sheet: numbers (decimal amounts too) as numeric cells, every text
    as a text cell, never a formula."""
    from openpyxl import Workbook

    book = Workbook()
    sheet_ = book.active
    sheet_.title = sheet[:31]
    sheet_.append([str(c) for c in frame.columns])
    for row in neutralise(frame).itertuples(index=False):
        cells: list[Any] = []
        for value in row:
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                cells.append(None)
            elif isinstance(value, str) and _NUMBER.match(value):
                cells.append(Decimal(value))
            elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
                cells.append(value)
            else:
                cells.append(str(value))
        sheet_.append(cells)
        for cell in sheet_[sheet_.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, even where it begins with '='
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    book.save(partial)
    partial.replace(path)


def write(frame: pd.DataFrame, path: Path) -> None:
    """CSV, or XLSX when the file name says so."""
    if path.suffix.lower() == ".xlsx":
        write_xlsx(frame, path, path.stem)
    else:
        write_csv(frame, path)

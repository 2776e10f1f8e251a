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
    """Replace each `<name>_minor` column by `<name>`, a decimal string in the row's currency (the
    names of those columns kept in `attrs["money"]`, for a workbook's number formats); a
    `<prefix>_amount_minor` with a `<prefix>_currency` beside it is in that currency
    (`payment_amount_minor`, `payment_currency`)."""
    out = frame.copy()
    out.attrs["money"] = [c.removesuffix("_minor") for c in frame.columns if c.endswith("_minor")]
    for column in [c for c in frame.columns if c.endswith("_minor")]:
        own = column.removesuffix("amount_minor") + "currency"
        currencies = (
            frame[own] if column.endswith("_amount_minor") and own in frame.columns else frame["currency"]
        )
        out[column] = [
            to_major_str(int(v), cur) if pd.notna(v) else ""
            for v, cur in zip(frame[column], currencies, strict=True)
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


_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def write_xlsx(
    frame: pd.DataFrame, path: Path, sheet: str = "export", names: dict[str, str] | None = None
) -> None:
    """An XLSX workbook of one sheet a finance person can work in: a bold header row that stays in
    view and filters, columns as wide as their text, amounts as numbers with thousands separators
    and their currency's decimals, dates as dates, and (with `names`: customer_id -> name) the
    customer's name beside its id. Every text is a text cell, never a formula."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from tasks.platform.money import exponent, is_currency

    money = set(frame.attrs.get("money", []))
    if names is not None and "customer_id" in frame.columns and "customer_name" not in frame.columns:
        frame = frame.copy()
        frame.insert(
            list(frame.columns).index("customer_id") + 1,
            "customer_name",
            [names.get(str(c), "") for c in frame["customer_id"]],
        )
    book = Workbook()
    sheet_ = book.active
    sheet_.title = sheet[:31]
    sheet_.append([str(c) for c in frame.columns])
    for cell in sheet_[1]:
        cell.font = Font(bold=True)
    columns = list(frame.columns)
    currencies = frame["currency"].tolist() if "currency" in frame.columns else [None] * len(frame)
    widths = [len(str(c)) for c in columns]
    for row, currency in zip(neutralise(frame).itertuples(index=False), currencies, strict=True):
        cells: list[Any] = []
        formats: list[str | None] = []
        for n, value in enumerate(row):
            cell, shape = _cell(
                value, columns[n] in money, currency, exponent if is_currency(currency) else None
            )
            cells.append(cell)
            formats.append(shape)
            widths[n] = max(widths[n], len(str(value)) if value is not None else 0)
        sheet_.append(cells)
        for cell, shape in zip(sheet_[sheet_.max_row], formats, strict=True):
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, even where it begins with '='
            elif shape:
                cell.number_format = shape
    for n, width in enumerate(widths, start=1):
        sheet_.column_dimensions[get_column_letter(n)].width = min(max(width + 2, 8), 60)
    sheet_.freeze_panes = "A2"
    if len(frame.columns):
        sheet_.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(sheet_.max_row, 1)}"
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    book.save(partial)
    partial.replace(path)


def _cell(value: Any, is_money: bool, currency: Any, exponent_of: Any) -> tuple[Any, str | None]:
    """A value as a workbook cell and its number format: amounts with their currency's decimals,
    dates as dates, other numbers as they are, anything else as text."""
    from datetime import date, datetime

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None, None
    if isinstance(value, str) and _NUMBER.match(value):
        if is_money:
            digits = exponent_of(currency) if exponent_of is not None else len(value.partition(".")[2])
            return Decimal(value), "#,##0" + ("." + "0" * digits if digits else "")
        return Decimal(value), None
    if isinstance(value, str) and _DAY.match(value):
        return datetime.strptime(value, "%Y-%m-%d").date(), "yyyy-mm-dd"
    if isinstance(value, date):
        return value, "yyyy-mm-dd"
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return value, None
    return str(value), None


def write(frame: pd.DataFrame, path: Path, names: dict[str, str] | None = None) -> None:
    """CSV, or XLSX when the file name says so (with the customers' `names` beside their ids)."""
    if path.suffix.lower() == ".xlsx":
        write_xlsx(frame, path, path.stem, names)
    else:
        write_csv(frame, path)

"""Exports: ledger views as CSV, amounts as decimal strings in major units.

Every export is a SQL file in `sql/export/`; columns ending in `_minor` are written as decimal
strings in their row's currency and lose the suffix (`amount_minor` -> `amount`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tasks.config import SQL_DIR
from tasks.money import to_major_str

EXPORTS = tuple(sorted(p.stem for p in (SQL_DIR / "export").glob("*.sql")))


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


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    frame.to_csv(partial, index=False)
    partial.replace(path)

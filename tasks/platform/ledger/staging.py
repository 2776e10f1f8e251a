"""The rows a stage hands the ledger, made ready to load: a pandas frame or an Arrow table in, an
Arrow table of the target table's columns out, loaded by DuckDB without a Python object per value.

A pandas frame is converted once (DuckDB would otherwise convert it again in every statement that
reads it); its values load as DuckDB loads the frame itself (same types, same JSON in the audit
log). A frame Arrow cannot hold (a column mixing text and numbers) is handed over as it is.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

Rows: TypeAlias = pd.DataFrame | pa.Table  # what a stage publishes, per table


def row_count(rows: Rows | None) -> int:
    """How many rows `rows` holds (none for None)."""
    return 0 if rows is None else len(rows)


def as_frame(rows: Rows | None) -> pd.DataFrame:
    """`rows` as a pandas frame (an empty one for None), for what shows a few of them."""
    if rows is None:
        return pd.DataFrame()
    return rows.to_pandas() if isinstance(rows, pa.Table) else rows


def column_names(rows: Rows) -> list[str]:
    return list(rows.column_names) if isinstance(rows, pa.Table) else [str(c) for c in rows.columns]


def staged(rows: Rows, columns: set[str] | None = None, **constants: Any) -> pa.Table | pd.DataFrame:
    """`rows` restricted to `columns` (all when None), in their order, as an Arrow table, with
    each of `constants` as a column of that value on every row (replacing a column of the same
    name where it stands, else added at the end, as assigning a frame's column does)."""
    keep = [c for c in column_names(rows) if columns is None or c in columns]
    if isinstance(rows, pa.Table):
        table = rows.select(keep)
    else:
        try:
            table = pa.Table.from_pandas(rows[keep], preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            frame = rows[keep].copy()  # DuckDB reads the frame itself, as it always did
            for name, value in constants.items():
                frame[name] = value
            return frame
    for name, value in constants.items():
        table = with_constant(table, name, value)
    return table


def with_constant(table: pa.Table, name: str, value: Any) -> pa.Table:
    """`table` with column `name` holding `value` on every row."""
    column = pc.fill_null(pa.nulls(table.num_rows, pa.scalar(value).type), value)
    if name in table.column_names:
        return table.set_column(table.column_names.index(name), name, column)
    return table.append_column(name, column)


def take(rows: pa.Table | pd.DataFrame, positions: list[int]) -> pa.Table | pd.DataFrame:
    """The rows at `positions` (0, 1, ... in the order they came)."""
    if isinstance(rows, pa.Table):
        return rows.take(pa.array(positions, pa.int64()))
    return rows.iloc[positions]


POSITION = "o2c_position"  # a row's place among the rows handed over (`with_positions`)


def with_positions(rows: pa.Table | pd.DataFrame, name: str) -> pa.Table | pd.DataFrame:
    """`rows` with column `name` numbering them 0, 1, ... in the order they came."""
    if isinstance(rows, pa.Table):
        return rows.append_column(name, pa.array(range(rows.num_rows), pa.int64()))
    return rows.reset_index(drop=True).assign(**{name: range(len(rows))})

"""The report's inputs as the compute engine reads them: open items and settled invoices, pandas
frames or Arrow tables as `sql/report/open_items_as_of.sql` and `settled_as_of.sql` return them,
as Arrow tables with one type per column (a frame's dates may be objects or timestamps, a column
may be missing or empty), each row numbered `_row` in the order given.

Pure: frames in, Arrow out; the figures are computed over them in `ageing` and `kpis`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa

from tasks.platform.ledger import Engine, compute, load_sql

ITEM_TYPES = {
    "invoice_id": pa.string(),
    "customer_id": pa.string(),
    "currency": pa.string(),
    "issue_date": pa.date32(),
    "due_date": pa.date32(),
    "amount_minor": pa.int64(),
    "open_minor": pa.int64(),
}
SETTLED_TYPES = {
    "invoice_id": pa.string(),
    "customer_id": pa.string(),
    "currency": pa.string(),
    "issue_date": pa.date32(),
    "due_date": pa.date32(),
    "amount_minor": pa.int64(),
    "settled_on": pa.date32(),
}

Facts: TypeAlias = pd.DataFrame | pa.Table | None


def typed(facts: Facts, types: dict[str, pa.DataType]) -> pa.Table:
    """The columns of `types` (missing ones empty) as Arrow, with `_row`."""
    if facts is None:
        facts = pd.DataFrame(columns=list(types))
    if isinstance(facts, pa.Table):
        present = set(facts.column_names)
        arrays = [facts[c].cast(t) if c in present else pa.nulls(facts.num_rows, t) for c, t in types.items()]
    else:
        arrays = [_array(facts, c, t) for c, t in types.items()]
    rows = pa.array(np.arange(len(facts), dtype=np.int64))
    return pa.Table.from_arrays([*arrays, rows], names=[*types, "_row"])


def _array(frame: pd.DataFrame, column: str, kind: pa.DataType) -> pa.Array:
    if column not in frame:
        return pa.nulls(len(frame), kind)
    values = frame[column]
    if pa.types.is_date32(kind):
        values = pd.to_datetime(values).dt.date
    return pa.array(values.astype(object).where(values.notna(), None), type=kind, from_pandas=True)


@contextmanager
def engine_with(items: Facts = None, settled: Facts = None) -> Iterator[Engine]:
    """A compute engine with `items` and `settled` registered under those names."""
    with compute() as engine:
        engine.register("items", typed(items, ITEM_TYPES))
        engine.register("settled", typed(settled, SETTLED_TYPES))
        yield engine


def rows(engine: Engine, name: str, **params: Any) -> list[dict[str, Any]]:
    """The rows of the named report query (`sql/report/figures/<name>.sql`), as dictionaries;
    128-bit sums come back as exact integers."""
    table = engine.arrow(load_sql(f"report/figures/{name}"), params or None)
    out = table.to_pylist()
    for row in out:
        for key, value in row.items():
            if key.endswith("_minor") or key in ("to_settle", "late", "weighted"):
                row[key] = int(value)
    return out

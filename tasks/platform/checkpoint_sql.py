"""A contract's row-level checks as set-based SQL in the compute engine, over every row of a batch.

`checked_table(frame, contract)` is the batch as the checks read it: an Arrow table of the
contract's columns (a pandas frame is converted once; an Arrow table is taken as it is), a NaN of a
floating column made missing (as pandas and GX count it), plus `o2c_row`, each row's position: the
frame's index label, or its place in an Arrow table. `run_checks(table, checks, known_keys)` runs
each `Check` (tasks/platform/contract_checks.py) as its SQL file `sql/platform/checkpoint/<kind>.sql`
and returns the positions of the rows that fail it (a reference's known keys handed over once as
Arrow, `key_tables`), or that it could not run (a column the batch
lacks, values of a type the rule cannot compare): a check that could not run is no pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tasks.platform.contract_checks import Check, contract_checks
from tasks.platform.contracts import Contract
from tasks.platform.ledger import compute, load_sql

ROW = "o2c_row"
NO_KEYS = pa.table({"key": pa.array([], pa.string())})


@dataclass(frozen=True)
class Found:
    """What one check found: the positions of the rows failing it (None: it could not run)."""

    check: Check
    rows: np.ndarray | None

    @property
    def raised(self) -> bool:
        return self.rows is None

    @property
    def count(self) -> int:
        return 0 if self.rows is None else len(self.rows)


def checked_table(frame: pd.DataFrame | pa.Table, contract: Contract) -> pa.Table:
    """The batch as the SQL checks read it: the columns the contract's checks read, each row's
    position as `o2c_row`, NaN made missing. A column the frame lacks, or whose values Arrow cannot
    hold as one type, is left out: the checks reading it could not run."""
    wanted = list(dict.fromkeys(c for check in contract_checks(contract) for c in check.columns))
    if isinstance(frame, pa.Table):
        present = [c for c in wanted if c in frame.column_names]
        columns = {c: frame.column(c) for c in present}
        rows = pa.array(np.arange(frame.num_rows, dtype=np.int64))
    else:
        columns = {}
        for c in (c for c in wanted if c in frame.columns):
            try:
                columns[c] = pa.array(frame[c], from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                continue  # mixed values no SQL type holds: its checks report they could not run
        rows = pa.array(frame.index.to_numpy(dtype=np.int64))
    arrays = {name: _nan_as_missing(values) for name, values in columns.items()}
    return pa.table({**arrays, ROW: rows})


def _nan_as_missing(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    if pa.types.is_floating(values.type):
        return pc.if_else(pc.is_nan(values), pa.scalar(None, values.type), values)
    return values


def key_tables(known_keys: dict[str, set[str]] | None) -> dict[str, pa.Table]:
    """The known keys of each referenced dataset as a one-column Arrow table (`key`), built once
    for the checks of a batch and of its sample."""
    return {
        dataset: pa.table({"key": pa.array(list(keys), pa.string())})
        for dataset, keys in (known_keys or {}).items()
    }


def run_checks(table: pa.Table, checks: Iterable[Check], keys: dict[str, pa.Table]) -> list[Found]:
    """Each check's failing rows (their `o2c_row`, in row order; a key's duplicates grouped).
    `keys` are the known keys by dataset (`key_tables`); a dataset without any has none."""
    found = []
    with compute() as engine:
        engine.register("checked", table)
        for check in checks:
            found.append(Found(check, _failing_rows(engine, table, check, keys)))
    return found


def _failing_rows(engine: Any, table: pa.Table, check: Check, keys: dict[str, pa.Table]) -> np.ndarray | None:
    if any(column not in table.column_names for column in check.columns):
        return None
    sql, params = _statement(check)
    try:
        if check.references is not None:
            known = keys.get(check.references, NO_KEYS)
            engine.register("known_keys", known)
        result = engine.arrow(sql, params)
    except Exception:  # noqa: BLE001 (what the rule cannot compare is a check that could not run)
        return None
    return result.column(0).to_numpy().astype(np.int64, copy=False)


def _statement(check: Check) -> tuple[str, dict[str, Any]]:
    """The SQL of `check` with the batch's column names put in, quoted, and its bound values."""
    names = [_quoted(c) for c in check.columns]
    template = load_sql(f"platform/checkpoint/{check.kind}")
    if check.kind == "unique":
        missing = " and ".join(f"{n} is null" for n in names)
        same = " and ".join(f"c.{n} is not distinct from d.{n}" for n in names)
        return template.format(columns=", ".join(names), all_missing=missing, same_key=same), {}
    if check.kind == "row_rule":
        op = ">=" if check.kwargs.get("or_equal") else ">"
        return template.format(a=names[0], b=names[1], op=op), {}
    sql = template.format(column=names[0])
    if check.kind in ("allowed", "refused"):
        return sql, {"values": list(check.kwargs["value_set"])}
    if check.kind == "between":
        return sql, {"min_value": check.kwargs.get("min_value"), "max_value": check.kwargs.get("max_value")}
    return sql, {}


def _quoted(column: str) -> str:
    """A column name as a SQL identifier: the names come from the contract, never from the data."""
    return '"' + column.replace('"', '""') + '"'

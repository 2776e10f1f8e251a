"""Which of a stage's rows are new to a table: those `insert or ignore` would insert if it took the
rows one by one in the order they came, decided for the whole batch at once.

A row is new when no row the table holds, and no earlier new row of the batch, shares a value of
any of the table's keys (its primary key and each unique constraint; a key value with a missing
part is shared with nothing, as in SQL). DuckDB's own `insert or ignore` checks row by row against the keys, about
1.6 ms a row once a table holds 750,000 rows, and where two rows of one batch share a key it keeps
one of them as its threads happen to meet them, not the first. Here: when no two rows of the batch
share a key value, the new rows are those the table does not hold by any key (one anti-join per
key, in SQL); otherwise the few batches with repeats are walked in order, in Python, over their
key values only.
"""

from __future__ import annotations

from typing import Any

from tasks.platform.ledger.staging import POSITION, column_names, take, with_positions


def unique_keys(con: Any, table: str) -> list[list[str]]:
    """The columns of each primary key and unique constraint of `table`."""
    rows = con.execute(
        "select constraint_column_names from duckdb_constraints()"
        " where table_name = ? and constraint_type in ('PRIMARY KEY', 'UNIQUE')",
        [table],
    ).fetchall()
    return [list(r[0]) for r in rows]


def new_rows(con: Any, table: str, rows: Any, name: str) -> tuple[Any, str] | None:
    """(the rows to keep, a condition on them as `s`) that leave exactly the new rows of `rows`,
    registered in `con` as `name`; None when the table fills a key itself (a sequence's default),
    so that only `insert or ignore` can tell."""
    keys = unique_keys(con, table)
    if not all(set(key) <= set(column_names(rows)) for key in keys):
        return None
    if not keys:
        return rows, "true"
    held = [
        f"exists (select 1 from {table} t where {' and '.join(f't.{c} = s.{c}' for c in key)})"
        for key in keys
    ]
    repeated = " union all ".join(
        f"(select 1 from {name} s group by {', '.join(f's.{c}' for c in key)} having count(*) > 1 limit 1)"
        for key in keys
    )
    if not con.execute(repeated).fetchall():
        return rows, " and ".join(f"not {h}" for h in held)
    return take(rows, _first_new(con, rows, keys, held)), "true"


def _first_new(con: Any, rows: Any, keys: list[list[str]], held: list[str]) -> list[int]:
    """The positions of the new rows of a batch in which rows share key values: in order, each row
    the table does not hold by any key and no earlier new row shares a key value with."""
    columns = [c for key in keys for c in key]
    con.register("o2c_keyed_rows", with_positions(rows, POSITION))
    try:
        listed = con.execute(
            f"select {POSITION}, ({' or '.join(held)}) as held, {', '.join(f's.{c}' for c in columns)}"
            f" from o2c_keyed_rows s order by {POSITION}"
        ).fetchall()
    finally:
        con.unregister("o2c_keyed_rows")
    bounds, start = [], 0
    for key in keys:
        bounds.append((start, start + len(key)))
        start += len(key)
    taken: list[set[tuple[Any, ...]]] = [set() for _ in keys]
    keep = []
    for position, is_held, *values in listed:
        parts = [tuple(values[a:b]) for a, b in bounds]
        whole = [None not in part for part in parts]
        if is_held or any(w and part in seen for part, seen, w in zip(parts, taken, whole, strict=True)):
            continue
        for part, seen, w in zip(parts, taken, whole, strict=True):
            if w:
                seen.add(part)
        keep.append(int(position))
    return keep

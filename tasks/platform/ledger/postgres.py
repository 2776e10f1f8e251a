"""The ledger's schema in PostgreSQL, and a workspace's ledger copied there, checked table by table.

The schema is made from the same numbered migrations as the DuckDB file, so the two cannot drift
apart: `sql/schema/` is applied to an empty ledger in memory, and DuckDB's catalog of it (tables
with their columns, types, defaults and keys; sequences; views) is written out as PostgreSQL DDL.
`o2c ledger migrate --to URL` creates it in an empty database; `o2c ledger copy --to URL` creates it
and copies every row of a workspace's ledger in one PostgreSQL transaction (each table through
`COPY`, as CSV that Arrow writes), sets the sequences where the file left them, and compares each
table's row count and the sum of each of its whole-number columns (every amount in minor units
among them) on both sides: any difference and nothing is kept.

Beside the ledger's tables PostgreSQL keeps one change number (`o2c_store_version`), with which the
stages' working copies know whether they are current (tasks/platform/ledger/working_copy.py).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow.csv as arrow_csv

TYPES = {
    "VARCHAR": "text",
    "BLOB": "bytea",
    "DOUBLE": "double precision",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "BOOLEAN": "boolean",
}
WHOLE_NUMBERS = ("BIGINT", "INTEGER")
_BATCH_ROWS = 200_000  # rows written to COPY at a time: bounds the memory of a million-row table


class CopyProblem(ValueError):
    """A copy that cannot be made or did not check out; the message says which table and why."""


@dataclass(frozen=True)
class TableCopy:
    table: str
    rows: int
    totals: dict[str, int]  # column -> sum, for every whole-number column


def plain_url(url: str) -> str:
    """A PostgreSQL URL as psycopg takes it (`postgresql+psycopg://` is SQLAlchemy's spelling)."""
    plain = re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url.strip())
    if not plain.startswith("postgresql://"):
        raise CopyProblem("the target must be a PostgreSQL URL: postgresql://user@host:5432/database")
    return plain


def is_postgres(text: str) -> bool:
    """Whether `text` is a PostgreSQL URL (else a file path)."""
    return re.match(r"^postgres(ql)?(\+\w+)?://", text.strip()) is not None


def shown(url: str) -> str:
    """`url` with its password, if any, as `***`."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def tables_of(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "select table_name from duckdb_tables() where not internal order by table_name"
    ).fetchall()
    return [r[0] for r in rows]


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str, bool, str | None]]:
    """(name, DuckDB type, nullable, default) of each column of `table`, in order."""
    return [
        (str(name), str(kind), bool(nullable), default)
        for name, kind, nullable, default in con.execute(
            "select column_name, data_type, is_nullable, column_default from duckdb_columns()"
            " where table_name = ? order by column_index",
            [table],
        ).fetchall()
    ]


def schema_statements(con: duckdb.DuckDBPyConnection) -> list[str]:
    """PostgreSQL DDL for the ledger `con` holds: sequences, tables with their keys, views."""
    statements = [
        f"create sequence {name}"
        for (name,) in con.execute("select sequence_name from duckdb_sequences() order by 1").fetchall()
    ]
    keys: dict[str, list[str]] = {}
    for table, kind, columns in con.execute(
        "select table_name, constraint_type, constraint_column_names from duckdb_constraints()"
        " where constraint_type in ('PRIMARY KEY', 'UNIQUE') order by table_name, constraint_index"
    ).fetchall():
        keys.setdefault(table, []).append(f"{kind.lower()} ({', '.join(columns)})")
    for table in tables_of(con):
        columns = []
        for name, kind, nullable, default in _columns(con, table):
            if kind not in TYPES:
                raise CopyProblem(f"{table}.{name}: no PostgreSQL type for DuckDB's {kind}")
            column = f"{name} {TYPES[kind]}"
            if default is not None:
                column += f" default {default}"
            if not nullable:
                column += " not null"
            columns.append(column)
        statements.append(f"create table {table} ({', '.join(columns + keys.get(table, []))})")
    for (sql,) in con.execute(
        "select sql from duckdb_views() where not internal order by view_name"
    ).fetchall():
        statements.append(sql.rstrip().rstrip(";"))
    return statements


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(name, DuckDB type) of each column of `table`, in order."""
    return [(name, kind) for name, kind, _, _ in _columns(con, table)]


def _csv_batches(con: duckdb.DuckDBPyConnection, source: str, columns: list[str]) -> Iterator[bytes]:
    """The rows of `source` (a table, or a frame registered under that name) as CSV without a header
    (null: empty; text quoted, so '' stays ''), bytes in PostgreSQL's hex form (made by DuckDB, a
    batch at a time)."""
    relation = con.sql(f"select {', '.join(columns)} from {source}")
    selected = [
        f"'\\x' || hex({name}) as {name}" if str(kind) == "BLOB" else name
        for name, kind in zip(columns, relation.types, strict=True)
    ]
    reader = con.sql(f"select {', '.join(selected)} from {source}").to_arrow_reader(_BATCH_ROWS)
    for batch in reader:
        out = io.BytesIO()
        arrow_csv.write_csv(batch, out, arrow_csv.WriteOptions(include_header=False))
        yield out.getvalue()


def copy_rows_from(
    con: duckdb.DuckDBPyConnection, pg: Any, target: str, source: str, columns: list[str]
) -> None:
    """Copy `columns` of every row of DuckDB's `source` into PostgreSQL's table `target` (`COPY`)."""
    with pg.cursor().copy(f"copy {target} ({', '.join(columns)}) from stdin (format csv)") as load:
        for chunk in _csv_batches(con, source, columns):
            load.write(chunk)


def _copy_rows(con: duckdb.DuckDBPyConnection, pg: Any, table: str) -> None:
    copy_rows_from(con, pg, table, table, [name for name, _ in table_columns(con, table)])


def _totals_duckdb(con: duckdb.DuckDBPyConnection, table: str) -> TableCopy:
    numbers = [name for name, kind, _, _ in _columns(con, table) if kind in WHOLE_NUMBERS]
    sums = ", ".join(f"coalesce(sum({c}), 0)::hugeint::varchar" for c in numbers)
    row = con.execute(f"select count(*){', ' + sums if sums else ''} from {table}").fetchone() or (0,)
    return TableCopy(table, int(row[0]), {c: int(v) for c, v in zip(numbers, row[1:], strict=True)})


def _totals_postgres(pg: Any, table: str, numbers: list[str]) -> TableCopy:
    sums = ", ".join(f"coalesce(sum({c}), 0)::text" for c in numbers)
    row = pg.execute(f"select count(*){', ' + sums if sums else ''} from {table}").fetchone()
    return TableCopy(table, int(row[0]), {c: int(v) for c, v in zip(numbers, row[1:], strict=True)})


def copy_to_postgres(con: duckdb.DuckDBPyConnection, url: str, *, rows: bool = True) -> list[TableCopy]:
    """Create the ledger's schema in the empty PostgreSQL database `url` and, with `rows`, copy every
    row of `con`'s ledger into it, all in one transaction; each table as it checked out on both
    sides. Raises `CopyProblem` (and keeps nothing) for a database that holds tables already, or a
    table whose count or totals differ after the copy."""
    import psycopg

    try:
        pg = psycopg.connect(plain_url(url))
    except psycopg.OperationalError as exc:
        raise CopyProblem(f"cannot connect to {shown(url)}: {str(exc).strip().splitlines()[0]}") from None
    with pg:
        present = pg.execute(
            "select table_name from information_schema.tables where table_schema = current_schema()"
        ).fetchall()
        if present:
            raise CopyProblem(
                f"{shown(url)} holds tables already ({', '.join(sorted(t for (t,) in present)[:5])}, ...):"
                " copy into an empty database"
            )
        for statement in schema_statements(con):
            pg.execute(statement)
        from tasks.platform.ledger.working_copy import prepare_store

        prepare_store(pg)
        copied = []
        for table in tables_of(con):
            expected = _totals_duckdb(con, table)
            carried = rows or table == "schema_migrations"  # the schema's version, even without rows
            if carried and expected.rows:
                _copy_rows(con, pg, table)
            found = _totals_postgres(pg, table, list(expected.totals))
            if carried and found != expected:
                raise CopyProblem(f"{table}: {found} in PostgreSQL, {expected} in the file: nothing kept")
            copied.append(found)
        if rows:
            for name, last in con.execute(
                "select sequence_name, last_value from duckdb_sequences()"
            ).fetchall():
                if last is not None:
                    pg.execute("select setval(%s, %s, true)", [name, int(last)])
    return copied


def copy_workspace(path: Any, url: str, *, lock_timeout: float = 600.0) -> list[TableCopy]:
    """Copy the ledger file at `path` (held under its writer lock, so no run changes it meanwhile)
    into the empty PostgreSQL database `url`, checked table by table."""
    from tasks.platform.ledger.connection import open_ledger
    from tasks.platform.ledger.evidence_files import EvidenceMissing

    if not path.exists():
        raise CopyProblem(f"{path} does not exist: there is no ledger to copy")
    with open_ledger(path, lock_timeout=lock_timeout) as ledger:
        ledger.con.begin()  # the evidence files kept beside the file go into their rows, for the copy only
        try:
            try:
                ledger.fill_in_evidence()
            except EvidenceMissing as missing:
                raise CopyProblem(f"{missing}: nothing copied") from None
            return copy_to_postgres(ledger.con, url)
        finally:
            ledger.con.rollback()


def migrate_postgres(url: str) -> int:
    """Create the ledger's schema, as the newest migration leaves it, in the empty database `url`;
    the number of tables."""
    from tasks.platform.ledger.connection import memory_ledger

    with memory_ledger() as ledger:
        return len(copy_to_postgres(ledger.con, url, rows=False))

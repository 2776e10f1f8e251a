"""What one transaction of the working copy changed, and those changes written to PostgreSQL.

With a PostgreSQL ledger (`O2C_LEDGER_URL`) the stages and commands compute in a DuckDB working copy
of it (tasks/platform/ledger/working_copy.py). Every write of the ledger package runs inside an
explicit transaction that ends in `LedgerBase._commit`; before the working copy commits, the tables
the transaction wrote are compared with the same tables as last committed (a second cursor on the
same file sees the committed state, DuckDB being MVCC), and the difference goes to PostgreSQL in
one transaction: the rows that went (by key) deleted, the rows that came copied in with `COPY`.
A changed row is both. The audit log, the checkpoint results and the quarantine only ever grow
(their keys come from a sequence): their new rows are those past the committed largest key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from tasks.platform.ledger.postgres import CopyProblem, copy_rows_from, table_columns

# Tables whose rows are only ever added, each with its key from a sequence.
APPEND_ONLY = {"audit_log": "audit_id", "checkpoint_runs": "checkpoint_id", "quarantine": "quarantine_id"}
# Tables whose rows are only ever added, each with its content-derived key.
ADD_ONLY = {"evidence_files": "sha256", "schema_migrations": "version"}
_WRITE = re.compile(r"\b(?:insert\s+(?:or\s+\w+\s+)?into|update|delete\s+from)\s+([a-z_][a-z0-9_]*)", re.I)


class WriteOutsideTransaction(RuntimeError):
    """A write to a PostgreSQL-backed working copy outside a transaction: it would never be stored."""


class TrackedConnection:
    """The working copy's DuckDB connection, noting which tables each transaction writes.

    Everything else is the connection's own (register, sql, cursor...). A write outside an explicit
    transaction is refused: it would commit to the working copy alone and never reach PostgreSQL."""

    def __init__(self, con: duckdb.DuckDBPyConnection, tables: set[str]) -> None:
        self._con = con
        self._tables = tables
        self.touched: set[str] = set()
        self.narrowed: dict[str, tuple[str, list[str]]] = {}
        self.open = False

    def _note(self, query: str) -> None:
        written = {name.lower() for name in _WRITE.findall(query)} & self._tables
        if written and not self.open:
            raise WriteOutsideTransaction(
                f"{', '.join(sorted(written))}: a ledger write outside a transaction (begin ... _commit)"
            )
        self.touched |= written

    def execute(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self._note(query)
        return self._con.execute(query, *args, **kwargs)

    def sql(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self._note(query)
        return self._con.sql(query, *args, **kwargs)

    def only_rows(self, table: str, key: str, ids: list[str]) -> None:
        """The open transaction changes no row of `table` but those whose `key` is in `ids`: only
        those are compared when it is written back (a batch of delivery states among thousands
        of messages)."""
        self.narrowed[table] = (key, list(ids))

    def begin(self) -> Any:
        self.open, self.touched, self.narrowed = True, set(), {}
        return self._con.begin()

    def commit(self) -> Any:
        self.open, self.narrowed = False, {}
        return self._con.commit()

    def rollback(self) -> Any:
        self.open, self.touched, self.narrowed = False, set(), {}
        return self._con.rollback()

    @property
    def raw(self) -> duckdb.DuckDBPyConnection:
        return self._con

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


@dataclass(frozen=True)
class TableChange:
    table: str
    key: list[str]
    added: pa.Table  # whole rows, to copy in
    gone: pa.Table  # whole rows as they were, to delete (a changed row is in both)


def keys_of(con: Any) -> dict[str, list[str]]:
    """Each table's primary key (else its first unique key)."""
    keys: dict[str, list[str]] = {}
    for table, columns in con.execute(
        "select table_name, constraint_column_names from duckdb_constraints()"
        " where constraint_type in ('PRIMARY KEY', 'UNIQUE') order by table_name,"
        " constraint_type = 'UNIQUE', constraint_index"
    ).fetchall():
        keys.setdefault(table, list(columns))
    return keys


def changes(con: TrackedConnection, keys: dict[str, list[str]]) -> list[TableChange]:
    """What the open transaction of `con` changed in the tables it wrote, against the committed
    state of the same file."""
    committed = con.raw.cursor()
    try:
        return [
            _change(con.raw, committed, table, keys[table], con.narrowed.get(table))
            for table in sorted(con.touched)
        ]
    finally:
        committed.close()


def _change(
    con: duckdb.DuckDBPyConnection,
    committed: duckdb.DuckDBPyConnection,
    table: str,
    key: list[str],
    only: tuple[str, list[str]] | None = None,
) -> TableChange:
    keys = ", ".join(key)
    if table in APPEND_ONLY:
        column = APPEND_ONLY[table]
        ((last,),) = committed.execute(f"select coalesce(max({column}), -1) from {table}").fetchall()
        added = con.sql(f"select * from {table} where {column} > {int(last)}").to_arrow_table()
        return TableChange(table, key, added, _no_keys(con, table, keys))
    if table in ADD_ONLY:
        held = committed.sql(f"select {keys} from {table}").to_arrow_table()
        con.register("o2c_held", held)
        try:
            added = con.sql(
                f"select * from {table} t where not exists (select 1 from o2c_held h where"
                f" {' and '.join(f'h.{c} = t.{c}' for c in key)})"
            ).to_arrow_table()
        finally:
            con.unregister("o2c_held")
        return TableChange(table, key, added, _no_keys(con, table, keys))
    rows, where = table, ""
    if only is not None:  # the transaction said which rows it changes: only those are compared
        ids = pa.table({"id": pa.array(only[1], pa.string())})
        con.register("o2c_only", ids)
        committed.register("o2c_only", ids)
        where = f" where {only[0]} in (select id from o2c_only)"
        rows = f"(select * from {table}{where})"
    try:
        before = committed.sql(f"select * from {table}{where}").to_arrow_table()
        con.register("o2c_before", before)
        try:
            added = con.sql(f"select * from {rows} except all select * from o2c_before").to_arrow_table()
            gone = con.sql(f"select * from o2c_before except all select * from {rows}").to_arrow_table()
        finally:
            con.unregister("o2c_before")
    finally:
        if only is not None:
            con.unregister("o2c_only")
            committed.unregister("o2c_only")
    return TableChange(table, key, added, gone)


def touched_payments(found: list[TableChange]) -> set[str]:
    """The payments whose rows a transaction added or removed (allocations, queue rows, cases...)."""
    out: set[str] = set()
    for change in found:
        for rows in (change.added, change.gone):
            if rows.num_rows and "payment_id" in rows.column_names:
                out.update(str(v) for v in rows.column("payment_id").to_pylist() if v is not None)
    return out


def _no_keys(con: duckdb.DuckDBPyConnection, table: str, keys: str) -> pa.Table:
    return con.sql(f"select * from {table} limit 0").to_arrow_table()


class StoreProblem(CopyProblem):
    """The PostgreSQL ledger cannot be reached or used; the message says why."""


class StoreConflict(StoreProblem):
    """PostgreSQL changed after this run or command read it, or does not hold what the working
    copy's change expects: its write is refused, nothing written (a stage run starts again on what
    PostgreSQL holds; a command says to run it again)."""


def apply(
    pg: Any, con: duckdb.DuckDBPyConnection, change: TableChange, *, beside_others: bool = False
) -> None:
    """Write one table's change into PostgreSQL, inside the caller's transaction: delete the rows
    that went by key (each must be there), then copy in the rows that came. `beside_others`
    (PostgreSQL moved on since this copy read it): each row that went must be there exactly as the
    copy had it, and the audit rows, checkpoint results and quarantine rows take PostgreSQL's own
    numbers (another copy may have drawn the same)."""
    table, key = change.table, change.key
    columns = [name for name, _ in table_columns(con, table)]
    if change.gone.num_rows:
        matched = columns if beside_others else key
        pg.execute(f"create temp table o2c_gone as select {', '.join(matched)} from {table} limit 0")
        con.register("o2c_gone_rows", change.gone)
        try:
            copy_rows_from(con, pg, "o2c_gone", "o2c_gone_rows", matched)
        finally:
            con.unregister("o2c_gone_rows")
        match = " and ".join(f"t.{c} is not distinct from g.{c}" for c in matched)
        deleted = pg.execute(f"delete from {table} t using o2c_gone g where {match}").rowcount
        pg.execute("drop table o2c_gone")
        if deleted != change.gone.num_rows:
            raise StoreConflict(
                f"{table}: {change.gone.num_rows} row(s) to replace, {deleted} found in PostgreSQL"
                " as this working copy had them: nothing written"
            )
    if change.added.num_rows:
        if beside_others and table in APPEND_ONLY:
            columns = [c for c in columns if c != APPEND_ONLY[table]]
        con.register("o2c_added_rows", change.added)
        try:
            copy_rows_from(con, pg, table, "o2c_added_rows", columns)
        except Exception as exc:
            if type(exc).__name__ == "UniqueViolation":  # another writer added the same key
                raise StoreConflict(f"{table}: {str(exc).splitlines()[0]}: nothing written") from None
            raise
        finally:
            con.unregister("o2c_added_rows")

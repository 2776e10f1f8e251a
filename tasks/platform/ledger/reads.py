"""Reading the ledger: named SQL files with bound parameters, whole tables, row counts, the rows
holding given keys, and the stored content of evidence files. Frames come back as pandas, money as
integer minor units.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa

from tasks.platform.ledger import evidence_files
from tasks.platform.ledger.base import LedgerBase
from tasks.platform.ledger.staging import Rows, column_names, staged
from tasks.platform.ledger.tables import LEDGER_TABLES, known_table, load_sql


class Reads(LedgerBase):
    """What a stage or a command reads from the ledger."""

    def query(self, name: str, **params: Any) -> pd.DataFrame:
        """Run the named SQL file with bound parameters and return a frame."""
        return self.con.execute(load_sql(name), params or None).df()

    def arrow(self, name: str, **params: Any) -> pa.Table:
        """Run the named SQL file with bound parameters and return an Arrow table: the fast read of
        a large result (no Python objects per value; money stays BIGINT, dates stay dates)."""
        return self.con.sql(load_sql(name), params=params or None).to_arrow_table()

    def arrow_with(self, name: str, tables: dict[str, pa.Table], **params: Any) -> pa.Table:
        """`arrow`, where the query also reads the given Arrow tables by name (registered for this
        query only): a read bounded by what the caller already holds, such as the open items."""
        for key, table in tables.items():
            self.con.register(key, table)
        try:
            return self.arrow(name, **params)
        finally:
            for key in tables:
                self.con.unregister(key)

    def table(self, name: str) -> pd.DataFrame:
        return self.con.execute(f"select * from {known_table(name)}").df()

    def counts(self) -> dict[str, int]:
        """Row count of every ledger table."""
        result = {}
        for name in LEDGER_TABLES:
            row = self.con.execute(f"select count(*) from {name}").fetchone()
            result[name] = int(row[0]) if row else 0
        return result

    def scalar(self, name: str, **params: Any) -> Any:
        rows = self.con.execute(load_sql(name), params or None).fetchall()  # whole: no result left open
        return rows[0][0] if rows else None

    def row(self, name: str, **params: Any) -> dict[str, Any] | None:
        """The first row of the named SQL file as a dict by column name, or None when it has none."""
        cursor = self.con.execute(load_sql(name), params or None)
        found = cursor.fetchall()  # whole, so the connection holds no unfinished result
        if not found:
            return None
        return dict(zip([column[0] for column in cursor.description], found[0], strict=True))

    def rows_with_keys(self, table: str, keys: Rows) -> pd.DataFrame:
        """The rows of `table` whose key (the columns of `keys`, a frame or an Arrow table of key
        values as read: surrounding spaces do not count, a row missing one is left out) appears in
        `keys`, as a pandas frame."""
        return self._with_keys(table, keys, lambda sql: self.con.execute(sql).df())

    def rows_with_keys_arrow(self, table: str, keys: Rows) -> pa.Table:
        """`rows_with_keys` as an Arrow table: the fast read when many rows come back."""
        return self._with_keys(table, keys, lambda sql: self.con.sql(sql).to_arrow_table())

    def _with_keys(self, table: str, keys: Rows, fetch: Callable[[str], Any]) -> Any:
        known_table(table)
        columns = [c for c in column_names(keys) if c in self._columns(table)]
        # the keys as given once (Arrow), made distinct and trimmed in SQL: one hash join, whatever
        # the number of keys
        self.con.register("wanted_keys", staged(keys, set(columns)))
        try:
            trimmed = ", ".join(f"trim(k.{c}::varchar) as {c}" for c in columns)
            present = " and ".join(f"k.{c} is not null" for c in columns) or "true"
            join = " and ".join(f"t.{c}::varchar = w.{c}" for c in columns) or "true"
            return fetch(
                f"select t.* from {table} t where exists (select 1 from"
                f" (select distinct {trimmed} from wanted_keys k where {present}) w where {join})"
            )
        finally:
            self.con.unregister("wanted_keys")

    def batch_exists(self, batch_id: str) -> bool:
        row = self.con.execute("select 1 from ingest_batches where batch_id = ?", [batch_id]).fetchone()
        return row is not None

    def evidence_blobs(self, shas: list[str]) -> dict[str, bytes]:
        """The stored content of each evidence file asked for: from the ledger, or from beside it
        where the row holds none of its bytes (checked against its SHA-256 there)."""
        rows = self.con.execute(
            "select sha256, size, content from evidence_files where list_contains(?, sha256)", [shas]
        ).fetchall()
        return {
            sha: bytes(content) if len(content) == size else evidence_files.read(self.evidence, sha, size)
            for sha, size, content in rows
        }

    def fill_in_evidence(self) -> int:
        """Put the content of every evidence file kept beside the ledger into its row, in the open
        transaction (for a copy of the whole ledger elsewhere: the caller rolls it back); how many."""
        rows = self.con.execute(
            "select sha256, size from evidence_files where octet_length(content) < size"
        ).fetchall()
        for sha, size in rows:
            content = evidence_files.read(self.evidence, sha, size)
            self.con.execute("update evidence_files set content = ? where sha256 = ?", [content, sha])
        return len(rows)

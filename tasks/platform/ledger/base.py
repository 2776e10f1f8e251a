"""The open connection every part of the `Ledger` works through, and how a part commits.

`LedgerBase` holds the DuckDB connection that `open_ledger` opened under the writer lock; the reads,
the publication of a stage's writes, the outbox's delivery states and a person's cash decisions are
mixins over it (tasks/platform/ledger/core.py puts them together as `Ledger`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from tasks.platform.crash import crash_point


class LedgerBase:
    """An open connection to the ledger, held under the writer lock; with a PostgreSQL ledger, to
    its working copy, with the `store` session each commit is written to first. `evidence` is the
    folder beside a DuckDB ledger file where its large evidence files are kept
    (tasks/platform/ledger/evidence_files.py); None keeps every content in the ledger."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, store: Any = None, evidence: Path | None = None
    ) -> None:
        self.con = con
        self.store = store
        self.evidence = evidence

    def _commit(self, what: str, *, merge: bool = False) -> None:
        """Commit the open transaction; the crash harness may kill the process on either side.
        With a PostgreSQL ledger the transaction is written there first, in one transaction of its
        own (`merge`: beside what others wrote meanwhile, for a batch of delivery states); a working
        copy that then fails to commit is made again at the next opening."""
        crash_point(f"commit {what}: before")
        if self.store is None:
            self.con.commit()
        else:
            self.store.write_back(self.con, what, merge=merge)
            try:
                self.con.commit()
            except BaseException:
                self.store.lost()
                raise
            self.store.committed()
        crash_point(f"commit {what}: after")

    def kept_in(self) -> str:
        """Where the ledger is kept: PostgreSQL's database (password hidden) and the change its
        working copy holds, or the workspace's file."""
        if self.store is None:
            return "the workspace's DuckDB file"
        return f"{self.store.shown_url} (PostgreSQL, change {self.store.version})"

    @contextmanager
    def transaction(self, what: str) -> Iterator[None]:
        """Statements run on `con` inside this block commit together, or not at all (with a
        PostgreSQL ledger, written there too): for a write outside a `Publication`, such as a test
        setting the ledger up as a run would have left it."""
        self.con.begin()
        try:
            yield
            self._commit(what)
        except BaseException:
            self.con.rollback()
            raise

    def _columns(self, table: str) -> set[str]:
        rows = self.con.execute(
            "select column_name from information_schema.columns where table_name = ?", [table]
        ).fetchall()
        return {r[0] for r in rows}

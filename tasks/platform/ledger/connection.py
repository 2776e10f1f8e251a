"""Opening the ledger: the DuckDB file under the writer lock, migrated to the newest schema, with
DuckDB's own access to files, the network and extensions switched off and locked so.

This is the only place in the code that calls `duckdb.connect`
(tests/integration/test_ledger_lockdown.py holds it to that).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import cast

import duckdb
import pandas as pd

from tasks.platform.config import SQL_DIR
from tasks.platform.ledger.core import Ledger
from tasks.platform.ledger.evidence_files import copy_folder, folder_of
from tasks.platform.ledger.lock import depth, writer_lock
from tasks.platform.ledger.tables import known_table, now
from tasks.platform.ledger.working_copy import opening, store_of


def copy_ledger(path: Path, target: Path, *, lock_timeout: float = 600.0) -> None:
    """The ledger at `path` as it stands, copied whole to the DuckDB file `target` (a PostgreSQL
    ledger's working copy, made current first): its writers held off while it is checkpointed and
    copied, the copy written beside `target` and moved into place, so `target` is never half a file;
    the large evidence files kept beside the ledger (`evidence_files.py`) go beside `target` too."""
    import os
    import shutil

    target.parent.mkdir(parents=True, exist_ok=True)
    with open_ledger(path, lock_timeout=lock_timeout) as ledger:
        ledger.con.execute("checkpoint")
        partial = target.with_name(target.name + ".copying")
        shutil.copyfile(path, partial)
        copy_folder(folder_of(path), folder_of(target))  # the large evidence files beside it
    os.replace(partial, target)


@contextmanager
def open_ledger(path: Path, *, lock_timeout: float = 600.0) -> Iterator[Ledger]:
    """Open the ledger at `path` under the exclusive writer lock, migrated to the newest schema; a
    PostgreSQL ledger's working copy (tasks/platform/ledger/working_copy.py) with its advisory lock
    held and the copy current."""
    path.parent.mkdir(parents=True, exist_ok=True)
    url = store_of(path)
    with (
        writer_lock(path.with_suffix(".lock"), lock_timeout),
        opening(url, path, outermost=depth(path.with_suffix(".lock")) == 1)
        if url
        else nullcontext() as store,
    ):
        con = _connect(path)
        try:
            _migrate(con)
            # A ledger opened again inside an open one (the writer lock is re-entrant in a thread)
            # shares its database, already locked: locking it again would be refused.
            # (fetchall: a result left unfinished would block the caller's register() and sql())
            ((locked,),) = con.execute("select current_setting('lock_configuration')").fetchall()
            if not locked:
                con.execute("set lock_configuration = true")
            # a PostgreSQL ledger's working copy: the connection that notes what each transaction
            # writes stands in for DuckDB's own
            yield (
                Ledger(con, evidence=folder_of(path))
                if store is None
                else Ledger(cast(duckdb.DuckDBPyConnection, store.track(con)), store)
            )
        finally:
            con.close()


@contextmanager
def memory_ledger(tables: dict[str, pd.DataFrame] | None = None) -> Iterator[Ledger]:
    """A ledger in memory, migrated to the newest schema, holding these literal tables' rows (no
    file, no lock): for a test of a query or of a read-decide step on a few rows. Each frame's
    columns must be columns of its table; a required text or number column it leaves out is filled
    with `-` or 0 (the run id, a batch id), or from the column it means the same as (`SAME_AS`),
    every other column it leaves out takes its default."""
    con = _connect(":memory:")
    try:
        _migrate(con)
        for name, frame in (tables or {}).items():
            _insert_literal(con, known_table(name), frame)
        con.execute("set lock_configuration = true")
        yield Ledger(con)
    finally:
        con.close()


NEUTRAL = {"VARCHAR": "'-'", "INTEGER": "0", "BIGINT": "0", "DOUBLE": "0", "BOOLEAN": "false"}
# a required column left out that means the same as another one of the row (an allocation in the
# payment's own currency gives the payment what it gives the invoice)
SAME_AS = {
    ("allocations", "payment_amount_minor"): "amount_minor",
    ("allocations", "payment_currency"): "currency",
}


def _insert_literal(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    required = con.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_name = ? and is_nullable = 'NO' and column_default is null",
        [table],
    ).fetchall()
    filled = {
        c: f'"{SAME_AS[table, c]}"' if (table, c) in SAME_AS else NEUTRAL[kind]
        for c, kind in required
        if c not in frame.columns and (kind in NEUTRAL or (table, c) in SAME_AS)
    }
    given = [f'"{c}"' for c in frame.columns]
    con.register("literal_rows", frame)
    try:
        columns = ", ".join([*given, *(f'"{c}"' for c in filled)])
        values = ", ".join([*given, *filled.values()])
        con.execute(f"insert into {table} ({columns}) select {values} from literal_rows")
    finally:
        con.unregister("literal_rows")


def _connect(path: Path | str) -> duckdb.DuckDBPyConnection:
    """The ledger file opened with DuckDB's own access to files, the network and extensions off:
    SQL can read and write the ledger and nothing else. Whatever a stage must read (an input file,
    a frame) the code hands to DuckDB itself; a text that reached SQL cannot open a file. The
    configuration is locked once the ledger is migrated, so no statement can switch it back on."""
    return duckdb.connect(
        str(path),
        config={
            "enable_external_access": False,
            "autoload_known_extensions": False,
            "autoinstall_known_extensions": False,
        },
    )


def _migrate(con: duckdb.DuckDBPyConnection, only: set[int] | None = None) -> None:
    """Apply the numbered migrations in `sql/schema/` that this ledger has not run yet (of `only`,
    when given: a working copy made at the schema of an older PostgreSQL ledger)."""
    con.execute(
        "create table if not exists schema_migrations (version integer primary key, name varchar, applied_at timestamp)"
    )
    done = {row[0] for row in con.execute("select version from schema_migrations").fetchall()}
    for path in sorted((SQL_DIR / "schema").glob("*.sql")):
        version = int(path.name.split("_", 1)[0])
        if version in done or (only is not None and version not in only):
            continue
        con.begin()
        try:
            con.execute(path.read_text(encoding="utf-8"))
            con.execute("insert into schema_migrations values (?, ?, ?)", [version, path.name, now()])
            con.commit()
        except BaseException:
            con.rollback()
            raise

"""A PostgreSQL ledger read into a DuckDB file: a working copy made again (`rebuild`), and
`o2c ledger copy --from URL` (into a new file, or through one into another database, migrated on the
way when the ledger is at an older schema), checked table by table.

Each table leaves PostgreSQL by `COPY` as CSV into a spool file and is read by Arrow with the
file's column types; every sequence is taken to where PostgreSQL's stands.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as arrow_csv

from tasks.platform.config import SQL_DIR
from tasks.platform.ledger.postgres import (
    WHOLE_NUMBERS,
    TableCopy,
    _totals_duckdb,
    _totals_postgres,
    copy_to_postgres,
    is_postgres,
    plain_url,
    shown,
    table_columns,
    tables_of,
)
from tasks.platform.ledger.write_back import StoreProblem

_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "BLOB": pa.string(),  # PostgreSQL's hex form, made bytes by DuckDB
    "DOUBLE": pa.float64(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
    "BOOLEAN": pa.bool_(),
}


def rebuild(pg: Any, url: str, path: Path, *, upgrade: bool = False) -> None:
    """Make the working copy again from PostgreSQL's rows, into a new file that replaces the old
    one whole (a crash on the way leaves the old one, which the next opening makes again). With
    `upgrade`, a ledger at an older schema is read at its schema, then migrated to the newest."""
    from tasks.platform.ledger.connection import _connect, _migrate
    from tasks.platform.ledger.working_copy import sequence_positions

    path.parent.mkdir(parents=True, exist_ok=True)
    building = path.with_name(path.name + ".building")
    for stale in (building, Path(f"{building}.wal")):
        stale.unlink(missing_ok=True)
    con = _connect(building)
    try:
        known = {int(p.name.split("_", 1)[0]) for p in (SQL_DIR / "schema").glob("*.sql")}
        theirs = {int(r[0]) for r in pg.execute("select version from schema_migrations").fetchall()}
        if theirs - known or (theirs != known and not upgrade):
            raise StoreProblem(
                f"{shown(url)} is at schema {max(theirs, default=0)}, this code at {max(known)}:"
                + (
                    " the ledger was written by a newer version of o2c"
                    if theirs - known
                    else " copy it to a new database at this schema first"
                    " (o2c ledger copy --from URL --to NEW_URL)"
                )
            )
        _migrate(con, only=theirs)
        con.begin()
        for table in tables_of(con):
            con.execute(f"delete from {table}")
            _load(pg, con, table)
        for sequence in sequence_positions(con):
            # a fresh sequence has given nothing: take it to where PostgreSQL's stands
            ((last, called),) = pg.execute(f"select last_value, is_called from {sequence}").fetchall()
            drawn = int(last) if called else int(last) - 1
            if drawn > 0:
                con.execute(f"select count(nextval('{sequence}')) from range({drawn})")
        con.commit()
        if upgrade:
            _migrate(con)
    finally:
        con.close()
    for old in (Path(f"{path}.wal"), path):
        old.unlink(missing_ok=True)
    os.replace(building, path)


def _load(pg: Any, con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Copy PostgreSQL's rows of `table` into the working copy: `COPY` out as CSV to a spool file,
    read by Arrow a block at a time (a block at least twice the widest row's bytes in hex) with the
    working copy's column types."""
    columns = table_columns(con, table)
    names = [name for name, _ in columns]
    with tempfile.TemporaryFile() as spool:
        with pg.cursor().copy(f"copy (select {', '.join(names)} from {table}) to stdout (format csv)") as out:
            for chunk in out:
                spool.write(chunk)
        if not spool.tell():
            return
        spool.seek(0)
        # a block holds whole rows: one file kept as evidence, in hex, may be larger than the default
        blobs = [f"coalesce(max(octet_length({n})), 0)" for n, kind in columns if kind == "BLOB"]
        widest = int(pg.execute(f"select {' + '.join(blobs)} from {table}").fetchone()[0]) if blobs else 0
        reader = arrow_csv.open_csv(
            spool,
            read_options=arrow_csv.ReadOptions(
                column_names=names, block_size=max(16 << 20, 2 * widest + (1 << 20))
            ),
            parse_options=arrow_csv.ParseOptions(newlines_in_values=True),
            convert_options=arrow_csv.ConvertOptions(
                column_types={name: _ARROW_TYPES[kind] for name, kind in columns},
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                true_values=["t"],
                false_values=["f"],
            ),
        )
        selected = ", ".join(
            f"unhex(substr({name}, 3)) as {name}" if kind == "BLOB" else name for name, kind in columns
        )
        for batch in reader:
            con.register("o2c_loaded", pa.Table.from_batches([batch]))
            try:
                con.execute(f"insert into {table} ({', '.join(names)}) select {selected} from o2c_loaded")
            finally:
                con.unregister("o2c_loaded")


def copy_from_postgres(url: str, target: str) -> list[TableCopy]:
    """Copy the PostgreSQL ledger `url` into a new ledger file `target`, or through one into the
    empty PostgreSQL database `target`; each table's count and whole-number totals checked against
    PostgreSQL's (a file that does not check out is removed)."""
    import psycopg

    from tasks.platform.ledger.connection import open_ledger
    from tasks.platform.ledger.working_copy import make_current, marker

    plain = plain_url(url)
    with tempfile.TemporaryDirectory(prefix="o2c-copy-") as scratch:
        into = Path(scratch) / "ledger.duckdb" if is_postgres(target) else Path(target)
        if into.exists():
            raise StoreProblem(f"{into} exists already: copy into a new file")
        try:
            pg = psycopg.connect(plain)
        except psycopg.OperationalError as exc:
            raise StoreProblem(
                f"cannot connect to {shown(url)}: {str(exc).strip().splitlines()[0]}"
            ) from None
        with pg:
            theirs = pg.execute("select count(*) from schema_migrations").fetchone()
            make_current(pg, url, into, always=True, upgrade=True)  # an older schema: migrated
            marker(into).unlink(missing_ok=True)
            with open_ledger(into) as ledger:
                copied, wrong = [], None
                ours = ledger.con.execute("select count(*) from schema_migrations").fetchall()[0]
                for table in tables_of(ledger.con):
                    numbers = [c for c, k in table_columns(ledger.con, table) if k in WHOLE_NUMBERS]
                    found = _totals_duckdb(ledger.con, table)
                    if ours != theirs:  # migrated on the way: the rows are counted, not summed
                        kept = table in _tables_in(pg) and table != "schema_migrations"
                        expected = _totals_postgres(pg, table, []) if kept else None
                        found = TableCopy(table, found.rows, {}) if expected else found
                    else:
                        expected = _totals_postgres(pg, table, numbers)
                    if expected is not None and found != expected:
                        wrong = f"{table}: {found} in the file, {expected} in PostgreSQL: nothing kept"
                        break
                    copied.append(found)
                if wrong is None and is_postgres(target):
                    return copy_to_postgres(ledger.con, target)
            if wrong is not None:
                for made in (into, into.with_suffix(".lock")):
                    made.unlink(missing_ok=True)
                raise StoreProblem(wrong)
            into.with_suffix(".lock").unlink(missing_ok=True)
            return copied


def _tables_in(pg: Any) -> set[str]:
    return {
        str(r[0])
        for r in pg.execute(
            "select table_name from information_schema.tables where table_schema = current_schema()"
        ).fetchall()
    }

"""A PostgreSQL ledger (`O2C_LEDGER_URL`), computed in a DuckDB working copy of it.

PostgreSQL is the system of record; DuckDB is the engine. Every stage and command opens the same
`Ledger` as with the embedded file, over a working copy under the workspace
(`<home>/ledger-postgres/<database>-<hash>.duckdb`). A stage run holds PostgreSQL's advisory locks
of the ledger (`stage_hold`): a run of the whole book holds the ledger's lock alone, so such runs
take turns across machines; a run of one legal entity shares that lock with the runs of other
entities and holds its entity's lock alone, so runs of one entity take turns and runs of different
entities go at once. A person's command takes no lock.
Each opening makes the working copy current: when PostgreSQL's change number (`o2c_store_version`)
is not the one the working copy was made at, the copy is made again from PostgreSQL's rows
(tasks/platform/ledger/from_postgres.py, into a new file that replaces the old one whole). A write
that does not build on the change its run or command read is refused (`StoreConflict`), and a stage
run starts again; except that a run of one entity lands beside what runs of other entities and
deliveries wrote meanwhile, when none of them touched a payment it touched (`o2c_store_changes`
says, per change, who wrote it and which payments). Each transaction of the working copy is written to
PostgreSQL before the working copy commits it (tasks/platform/ledger/write_back.py), in one
PostgreSQL transaction that also moves the change number on: a crash before leaves PostgreSQL as it
was, a crash after leaves the working copy behind, and the next opening makes it again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from tasks.platform.crash import crash_point
from tasks.platform.ledger.lock import LedgerBusy
from tasks.platform.ledger.postgres import (
    plain_url,
    shown,
    tables_of,
)
from tasks.platform.ledger.write_back import (
    StoreConflict,
    StoreProblem,
    TrackedConnection,
    apply,
    changes,
    keys_of,
    touched_payments,
)

VERSION_TABLE = "o2c_store_version"
CHANGES_TABLE = "o2c_store_changes"  # per change number: who wrote it (a run of an entity, ...)
VERSION_DDL = (
    f"create table if not exists {VERSION_TABLE} (version bigint not null, one boolean primary key default true"
    f" check (one))",
    f"insert into {VERSION_TABLE} (version) values (0) on conflict do nothing",
    f"create table if not exists {CHANGES_TABLE} (version bigint primary key, writer text not null,"
    " entity text, payments text[] not null, written_at timestamptz not null default now())",
)
# the advisory lock of the ledger's stage runs: held alone by a run of the whole book, shared by the
# runs of single entities, each of which holds its entity's lock (_ENTITY_LOCKS, hashtext(entity)) alone
_LOCK_KEY = 0x0_2C_1ED6E5
_ENTITY_LOCKS = 0x2C1E
_OUTBOX_KEY = 0x0_2C_DE_11  # the advisory lock of deliveries: one at a time, across machines
_stores: dict[Path, str] = {}
_sessions = threading.local()


def working_copy(url: str, home: Path) -> Path:
    """The working copy of the PostgreSQL ledger `url` for the workspace `home` (registered, so
    that opening that path opens the PostgreSQL ledger)."""
    plain = plain_url(url)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", plain.rsplit("/", 1)[-1].split("?", 1)[0]) or "ledger"
    digest = hashlib.sha256(re.sub(r"(://[^:/@]+):[^@]*@", r"\1@", plain).encode()).hexdigest()[:8]
    path = (home / "ledger-postgres" / f"{name}-{digest}.duckdb").resolve()
    _stores[path] = plain
    return path


def store_of(path: Path) -> str | None:
    """The PostgreSQL URL whose working copy `path` is, or None for a plain ledger file."""
    return _stores.get(path.resolve())


class Session:
    """PostgreSQL held for one opening: the advisory lock taken, the working copy current."""

    def __init__(
        self, url: str, path: Path, pg: Any, *, run: bool = False, entity: str | None = None
    ) -> None:
        self.url, self.path, self.pg = url, path, pg
        self.version: int | None = None
        self.merged = False
        # who writes through this session: a stage run (of one legal entity, or of the whole book)
        # or a person's command; and the change numbers it wrote beside others' changes
        self.run, self.entity = run, entity
        self.own: set[int] = set()
        self.keys: dict[str, list[str]] = {}
        self.tables: set[str] = set()

    @property
    def shown_url(self) -> str:
        return shown(self.url)

    def track(self, con: duckdb.DuckDBPyConnection) -> TrackedConnection:
        if not self.keys:
            self.keys = keys_of(con)
            self.tables = set(tables_of(con))
        return TrackedConnection(con, self.tables)

    def write_back(self, con: TrackedConnection, what: str, *, merge: bool = False) -> None:
        """Write the open transaction of the working copy to PostgreSQL, in one transaction.

        It must build on the change this run or command read: PostgreSQL moved on since, and the
        write is refused (`StoreConflict`), with two exceptions, which land beside what others
        wrote (each row they replace must be in PostgreSQL as this copy had it; the audit rows take
        PostgreSQL's numbers):
        - `merge`, a batch of delivery states, which changes only its own messages;
        - a run of one legal entity, when every change since it read was a run of another entity
          or a batch of delivery states, and none of those runs touched a payment this write
          touches (`_beside_other_entities`).
        The copy then lacks the others' change: the next opening makes it again."""
        if not con.touched:
            return
        found = changes(con, self.keys)
        # the payments it touched matter only to runs of entities (another writer's change is never
        # written beside): a run of the whole book at a million payments does not list them
        payments = touched_payments(found) if self.run and self.entity else set()
        with self.pg.transaction():
            row = self.pg.execute(f"select version from {VERSION_TABLE} for update").fetchone()
            behind = row is None or self.version is None or int(row[0]) != self.version
            if behind and not merge:
                refused = self._beside_other_entities(None if row is None else int(row[0]), payments)
                if refused:
                    raise StoreConflict(
                        f"{shown(self.url)} changed while this ran ({refused}): nothing written"
                    )
            for change in found:
                apply(self.pg, con.raw, change, beside_others=behind)
            for sequence, last in sequence_positions(con.raw).items():
                # past every number this copy drew (ids, case, hold and write-off numbers)
                self.pg.execute(
                    f"select setval('{sequence}', greatest((select last_value from {sequence}), %s))", [last]
                )
            (written,) = self.pg.execute(
                f"update {VERSION_TABLE} set version = version + 1 returning version"
            ).fetchone()
            writer = "delivery" if merge else ("entity" if self.entity else "run") if self.run else "command"
            self.pg.execute(
                f"insert into {CHANGES_TABLE} (version, writer, entity, payments) values (%s, %s, %s, %s)",
                [written, writer, self.entity if writer == "entity" else None, sorted(payments)],
            )
        if behind:
            self.merged = True  # the copy is at no change number of PostgreSQL's now
            self.own.add(int(written))
        else:
            self.version = int(written)
        crash_point(f"commit {what}: stored")

    def _beside_other_entities(self, now: int | None, payments: set[str]) -> str | None:
        """Why this write may not land beside the changes PostgreSQL took since this session read
        it (None: it may): only a run of one entity's may, and only beside runs of other entities
        that touched none of its payments, and batches of delivery states."""
        if now is None or self.version is None:
            return "no change number read"
        if not (self.run and self.entity):
            return f"another command or run wrote change {now}; this one read {self.version}"
        since = self.pg.execute(
            f"select version, writer, entity, payments from {CHANGES_TABLE} where version > %s and version <= %s",
            [self.version, now],
        ).fetchall()
        if len(since) != now - self.version:
            return f"changes {self.version + 1} to {now} are not all on record"
        for version, writer, entity, theirs in since:
            if version in self.own or writer == "delivery":
                continue
            if writer != "entity" or entity == self.entity:
                who = f"a run of {entity}" if writer == "entity" else f"a {writer}"
                return f"{who} wrote change {version}; this one read {self.version}"
            shared = payments.intersection(theirs)
            if shared:
                return f"the run of {entity} (change {version}) touched payment {min(shared)} too"
        return None

    def lost(self) -> None:
        """The working copy did not commit what PostgreSQL now holds: no more writes through this
        session, and the next opening makes the copy again."""
        self.version = -1  # no PostgreSQL change is -1: every later write is refused
        marker(self.path).unlink(missing_ok=True)

    def committed(self) -> None:
        """The working copy committed what PostgreSQL holds: say so beside it (a copy that merged
        beside others' writes holds no change of PostgreSQL's whole: it is made again next)."""
        if self.merged:
            marker(self.path).unlink(missing_ok=True)
        elif self.version is not None:
            _write_marker(self.path, self.url, self.version)


@contextmanager
def stage_hold(url: str, path: Path, lock_timeout: float, entity: str | None = None) -> Iterator[None]:
    """A stage run's hold on the PostgreSQL ledger, kept until the run ends: the ledger's advisory
    lock alone, or with `entity` (a run of that legal entity's customers only) that lock shared
    and the entity's own alone (waited for up to `lock_timeout` seconds). Runs of the whole book
    take turns, across machines, with each other and with the runs of entities; runs of one entity
    take turns; runs of different entities go at once. A person's command takes no lock: it opens
    the ledger beside the run, and the run's next commit, finding PostgreSQL changed since the run
    read it, is refused (`StoreConflict`) and the run starts again on what PostgreSQL then holds."""
    held: dict[Path, Session] = _sessions.__dict__.setdefault("held", {})
    if path in held:
        yield
        return
    pg = _connect(url)
    try:
        _take_lock(pg, url, lock_timeout, entity)
        held[path] = Session(url, path, pg, run=True, entity=entity)  # at the change its first opening finds
        try:
            yield
        finally:
            del held[path]
    finally:
        pg.close()  # ends the session: its advisory locks go with it


@contextmanager
def delivery_hold(url: str, lock_timeout: float) -> Iterator[None]:
    """A delivery's hold on the PostgreSQL ledger's outbox: deliveries take turns across machines
    (PostgreSQL's advisory lock of the outbox, beside the stage runs' locks, waited for up to
    `lock_timeout` seconds). Two at once from two working copies would each take the other's
    messages `sending` for an interrupted delivery's, or find their state moved under them."""
    pg = _connect(url)
    try:
        _wait_for(
            lambda: bool(pg.execute("select pg_try_advisory_lock(%s)", [_OUTBOX_KEY]).fetchone()[0]),
            lock_timeout,
            f"the outbox of {shown(url)}",
        )
        yield
    finally:
        pg.close()  # ends the session: its advisory lock goes with it


@contextmanager
def opening(url: str, path: Path, *, outermost: bool) -> Iterator[Session]:
    """One opening of `path`'s working copy (under its file lock): the run's session when a stage
    holds the ledger in this thread, else one of its own; the outermost opening makes the working
    copy current first (made again from PostgreSQL when another writer moved it on)."""
    held: dict[Path, Session] = _sessions.__dict__.setdefault("held", {})
    own = path not in held
    current = Session(url, path, _connect(url)) if own else held[path]
    if own:
        held[path] = current
    try:
        if outermost:
            version = make_current(current.pg, url, path)
            if current.version is None:
                current.version = version  # what this run or command read: its writes build on it
        yield current
    finally:
        if own:
            del held[path]
            current.pg.close()


def _connect(url: str) -> Any:
    import psycopg

    try:
        return psycopg.connect(url, autocommit=True)
    except psycopg.OperationalError as exc:
        raise StoreProblem(f"cannot connect to {shown(url)}: {str(exc).strip().splitlines()[0]}") from None


def _take_lock(pg: Any, url: str, timeout: float, entity: str | None = None) -> None:
    whose = f" for {entity}" if entity else ""
    _wait_for(lambda: _try_lock(pg, entity), timeout, f"the ledger {shown(url)}", whose)


def _wait_for(taken: Callable[[], bool], timeout: float, what: str, whose: str = "") -> None:
    """Try `taken` until it holds, for up to `timeout` seconds; then `LedgerBusy`, naming `what`."""
    import time

    deadline = time.monotonic() + timeout
    while not taken():
        if time.monotonic() >= deadline:
            raise LedgerBusy(f"{what} stayed busy{whose} for {timeout:.0f} s")
        time.sleep(0.05)


def _try_lock(pg: Any, entity: str | None) -> bool:
    """The ledger's lock alone; or, for a run of `entity`, that lock shared and the entity's alone
    (the shared one let go again while the entity's is taken, so a run of the whole book waiting
    for the ledger is not kept waiting by a run that is itself waiting)."""
    if entity is None:
        return bool(pg.execute("select pg_try_advisory_lock(%s)", [_LOCK_KEY]).fetchone()[0])
    if not pg.execute("select pg_try_advisory_lock_shared(%s)", [_LOCK_KEY]).fetchone()[0]:
        return False
    if pg.execute("select pg_try_advisory_lock(%s, hashtext(%s))", [_ENTITY_LOCKS, entity]).fetchone()[0]:
        return True
    pg.execute("select pg_advisory_unlock_shared(%s)", [_LOCK_KEY])
    return False


def prepare_store(pg: Any) -> None:
    """The change number beside the ledger's tables (made by `o2c ledger migrate` and `copy`)."""
    for statement in VERSION_DDL:
        pg.execute(statement)


def make_current(pg: Any, url: str, path: Path, *, always: bool = False, upgrade: bool = False) -> int:
    """The working copy at PostgreSQL's change number: made again from its rows when not (or
    `always`)."""
    present = pg.execute(
        "select 1 from information_schema.tables where table_schema = current_schema()"
        " and table_name = 'schema_migrations'"
    ).fetchone()
    if present is None:
        raise StoreProblem(f"{shown(url)} holds no ledger: create it with `o2c ledger migrate --to URL`")
    prepare_store(pg)
    (version,) = pg.execute(f"select version from {VERSION_TABLE}").fetchone()
    if not always and path.exists() and _read_marker(path, url) == int(version):
        return int(version)
    from tasks.platform.ledger.from_postgres import rebuild

    rebuild(pg, url, path, upgrade=upgrade)
    _write_marker(path, url, int(version))
    return int(version)


def sequence_positions(con: Any) -> dict[str, int]:
    """Each sequence of the working copy and the last number it gave (0: none yet)."""
    return {
        str(name): int(last or 0)
        for name, last in con.execute("select sequence_name, last_value from duckdb_sequences()").fetchall()
    }


def marker(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _read_marker(path: Path, url: str) -> int | None:
    try:
        held = json.loads(marker(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return int(held["version"]) if held.get("store") == shown(url) else None


def _write_marker(path: Path, url: str, version: int) -> None:
    """Say, beside the working copy, which change of PostgreSQL it holds (written whole)."""
    said = marker(path)
    partial = said.with_name(said.name + ".partial")
    partial.write_text(json.dumps({"store": shown(url), "version": version}), encoding="utf-8")
    os.replace(partial, said)

"""The only module that talks to the store: a DuckDB file under the workspace.

Reads return pandas frames with money as integer minor units. A stage's writes are gathered in a
`Publication` and land in one transaction, or not at all. Writers are serialized by an exclusive
file lock beside the ledger, so two runs at once wait for each other instead of failing on DuckDB's
own file lock.
"""

from __future__ import annotations

import fcntl
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from tasks.platform.config import SQL_DIR
from tasks.platform.crash import crash_point

LEDGER_TABLES = (
    "customers",
    "customer_bank_accounts",
    "subscriptions",
    "subscription_periods",
    "orders",
    "order_lines",
    "invoices",
    "invoice_lines",
    "invoice_instalments",
    "invoice_mails",
    "payments",
    "allocations",
    "payment_exceptions",
    "invoice_adjustments",
    "cases",
    "payer_accounts",
    "rejected_matches",
    "reminders",
    "reminder_items",
    "reminder_exclusions",
    "write_offs",
    "credit_holds",
    "customer_ratings",
    "owner_notices",
    "report_mails",
    "escalations",
    "worklist",
    "kpi_snapshots",
    "ingest_batches",
    "quarantine",
    "checkpoint_runs",
    "stage_runs",
    "audit_log",
    "evidence_files",
)

# Entities whose every inserted row is written to the audit log, with its key column.
AUDITED = {
    "customers": "customer_id",
    "subscriptions": "subscription_id",
    "orders": "order_id",
    "invoices": "invoice_id",
    "payments": "payment_id",
    "allocations": "allocation_id",
    "invoice_adjustments": "adjustment_id",
    "cases": "case_id",
    "reminders": "reminder_id",
    "invoice_mails": "mail_id",
    "escalations": "customer_id",
    "credit_holds": "hold_id",
    "owner_notices": "mail_id",
    "report_mails": "mail_id",
}


# The outbox tables: each message's key column and the stage that sends it.
OUTBOX_TABLES = {
    "reminders": ("reminder_id", "remind"),
    "invoice_mails": ("mail_id", "invoice"),
    "owner_notices": ("mail_id", "escalate"),
    "report_mails": ("mail_id", "report"),
}


class LedgerBusy(RuntimeError):
    """Another run held the ledger for longer than the lock timeout."""


def load_sql(name: str) -> str:
    """The text of `sql/<name>.sql`; SQL is kept in files and run with bound parameters."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


@dataclass
class Publication:
    """Everything one stage run writes, published in one transaction.

    `inserts` add rows whose key is new (rows already present are left as they are, which makes a
    re-run change nothing); `replacements` replace a whole table's content (derived state such as the
    worklist); `scoped_replacements` replace the rows of a table that match a scope (column ->
    value; the escalation states entered on the run's date, the KPI snapshot of the date) with the
    frame's rows; `upserts` insert or replace by key (counters such as invoice numbers); `updates`
    are (sql name, parameters) pairs run in order after the inserts.
    """

    run_id: str
    stage: str
    as_of: date
    inserts: dict[str, pd.DataFrame] = field(default_factory=dict)
    replacements: dict[str, pd.DataFrame] = field(default_factory=dict)
    scoped_replacements: dict[str, tuple[pd.DataFrame, dict[str, Any]]] = field(default_factory=dict)
    upserts: dict[str, pd.DataFrame] = field(default_factory=dict)
    updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    quarantine: pd.DataFrame | None = None
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)
    outcome: str = "completed"
    rule_version: str | None = None
    started_by: str | None = None  # cli, schedule, ui or api, order_to_cash run, python
    evidence: dict[str, Any] = field(default_factory=dict)  # {"files": {path: sha256}, "inputs": [...]}
    blobs: dict[str, bytes] = field(default_factory=dict)  # sha256 -> content of every file in evidence


class Ledger:
    """An open connection to the ledger, held under the writer lock."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def _commit(self, what: str) -> None:
        """Commit the open transaction; the crash harness may kill the process on either side."""
        crash_point(f"commit {what}: before")
        self.con.commit()
        crash_point(f"commit {what}: after")

    # -- reads -------------------------------------------------------------------------------
    def query(self, name: str, **params: Any) -> pd.DataFrame:
        """Run the named SQL file with bound parameters and return a frame."""
        return self.con.execute(load_sql(name), params or None).df()

    def table(self, name: str) -> pd.DataFrame:
        if name not in LEDGER_TABLES:
            raise ValueError(f"unknown ledger table {name!r}")
        return self.con.execute(f"select * from {name}").df()

    def counts(self) -> dict[str, int]:
        """Row count of every ledger table."""
        result = {}
        for name in LEDGER_TABLES:
            row = self.con.execute(f"select count(*) from {name}").fetchone()
            result[name] = int(row[0]) if row else 0
        return result

    def scalar(self, name: str, **params: Any) -> Any:
        row = self.con.execute(load_sql(name), params or None).fetchone()
        return row[0] if row else None

    def rows_with_keys(self, table: str, keys: pd.DataFrame) -> pd.DataFrame:
        """The rows of `table` whose key (the columns of `keys`) appears in `keys`."""
        if table not in LEDGER_TABLES:
            raise ValueError(f"unknown ledger table {table!r}")
        columns = [c for c in keys.columns if c in self._columns(table)]
        wanted = keys[columns].dropna().drop_duplicates()
        self.con.register("wanted_keys", wanted)
        try:
            join = " and ".join(f"t.{c}::varchar = trim(w.{c}::varchar)" for c in columns)
            return self.con.execute(
                f"select t.* from {table} t where exists (select 1 from wanted_keys w where {join})"
            ).df()
        finally:
            self.con.unregister("wanted_keys")

    def batch_exists(self, batch_id: str) -> bool:
        row = self.con.execute("select 1 from ingest_batches where batch_id = ?", [batch_id]).fetchone()
        return row is not None

    # -- writes ------------------------------------------------------------------------------
    def publish(self, pub: Publication) -> dict[str, int]:
        """Write a stage's publication in one transaction; return rows inserted per table."""
        inserted: dict[str, int] = {}
        self.con.begin()
        try:
            for table, frame in pub.inserts.items():
                inserted[table] = self._insert_new(table, frame, pub)
            for table, frame in pub.replacements.items():
                inserted[table] = self._replace(table, frame, pub)
            for table, (frame, scope) in pub.scoped_replacements.items():
                inserted[table] = self._replace(table, frame, pub, scope=scope)
            for table, frame in pub.upserts.items():
                inserted[table] = self._insert_new(table, frame, pub, replace=True)
            for sql_name, params in pub.updates:
                self.con.execute(load_sql(sql_name), params)
            self._write_quarantine(pub)
            self._write_checkpoints(pub)
            self._write_evidence(pub)
            counts, evidence, outcome = self._merged_run(pub)
            self.con.execute(
                "insert or replace into stage_runs"
                " (run_id, stage, as_of, outcome, counts, finished_at, started_by, rule_version, evidence)"
                " values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    pub.run_id,
                    pub.stage,
                    pub.as_of,
                    outcome,
                    json.dumps(counts, default=str),
                    _now(),
                    pub.started_by,
                    pub.rule_version,
                    json.dumps(evidence, sort_keys=True),
                ],
            )
            self._commit(f"{pub.stage}: publish")
        except BaseException:
            self.con.rollback()
            raise
        return inserted

    def record_checkpoints(self, pub: Publication) -> None:
        """Store the checkpoint results and quarantine of a run that publishes nothing else."""
        self.publish(
            Publication(
                pub.run_id,
                pub.stage,
                pub.as_of,
                quarantine=pub.quarantine,
                checkpoints=pub.checkpoints,
                counts=pub.counts,
                outcome=pub.outcome,
                rule_version=pub.rule_version,
                started_by=pub.started_by,
                evidence=pub.evidence,
                blobs=pub.blobs,
            )
        )

    def set_reminder_status(
        self, reminder_id: str, status: str, reason: str | None, ref: str | None, run_id: str
    ) -> None:
        """Move one reminder to a new delivery state, audited."""
        self.set_message_statuses("reminders", [(reminder_id, status, reason, ref)], run_id)

    def set_message_statuses(
        self, table: str, changes: list[tuple[str, str, str | None, str | None]], run_id: str
    ) -> None:
        """Move outbox messages (`reminders` or `invoice_mails`) to new delivery states, audited, in
        one transaction. changes: (message id, status, reason, delivered reference) per message."""
        if not changes:
            return
        key, stage = OUTBOX_TABLES[table]
        self.con.begin()
        try:
            for message_id, status, reason, ref in changes:
                before = self.con.execute(
                    f"select status from {table} where {key} = ?", [message_id]
                ).fetchone()
                self.con.execute(
                    f"update {table} set status = $status, status_reason = $reason,"
                    " delivered_ref = coalesce($ref, delivered_ref),"
                    " sent_at = case when $status = 'sent' then $now else sent_at end,"
                    " attempts = coalesce(attempts, 0) + case when $status = 'sending' then 1 else 0 end"
                    f" where {key} = $message_id",
                    {"message_id": message_id, "status": status, "reason": reason, "ref": ref, "now": _now()},
                )
                self.con.execute(
                    "insert into audit_log (run_id, stage, entity, key, action, before, after, created_at)"
                    " values (?, ?, ?, ?, 'status', ?, ?, ?)",
                    [
                        run_id,
                        stage,
                        table,
                        message_id,
                        json.dumps({"status": before[0] if before else None}),
                        json.dumps({"status": status, "reason": reason}),
                        _now(),
                    ],
                )
            self._commit(f"{table}: delivery states")
        except BaseException:
            self.con.rollback()
            raise

    def _insert_new(self, table: str, frame: pd.DataFrame, pub: Publication, replace: bool = False) -> int:
        if frame is None or frame.empty:
            return 0
        columns = self._columns(table)
        staged = frame[[c for c in frame.columns if c in columns]].copy()
        staged["run_id"] = pub.run_id
        self.con.register("staged_rows", staged)
        try:
            key = AUDITED.get(table)
            if key:
                # Audit exactly the rows that are new: those whose key the table does not hold yet.
                self.con.execute(
                    f"insert into audit_log (run_id, stage, entity, key, action, after, rule_version,"
                    f" created_at) select ?, ?, ?, s.{key}::varchar, 'insert', to_json(s)::varchar, ?, ?"
                    f" from staged_rows s where not exists"
                    f" (select 1 from {table} t where t.{key} = s.{key})",
                    [pub.run_id, pub.stage, table, pub.rule_version, _now()],
                )
            verb = "insert or replace" if replace else "insert or ignore"
            row = self.con.execute(f"{verb} into {table} by name select * from staged_rows").fetchone()
        finally:
            self.con.unregister("staged_rows")
        return int(row[0]) if row else 0

    def _replace(
        self, table: str, frame: pd.DataFrame, pub: Publication, scope: dict[str, Any] | None = None
    ) -> int:
        """Make `table` (or the rows of it within `scope`, column -> value) hold exactly `frame`'s
        rows. Rows that stay the same are left as they are, with the run that wrote them, so that
        running again with the same facts changes nothing; removed rows of an audited table are
        written to the audit log."""
        if table not in LEDGER_TABLES:
            raise ValueError(f"unknown ledger table {table!r}")
        columns = self._columns(table) - {"run_id"}
        scope = scope or {}
        unknown = set(scope) - columns
        if unknown:
            raise ValueError(f"{table} has no column(s) {', '.join(sorted(unknown))} to scope by")
        staged = frame[[c for c in frame.columns if c in columns]].reset_index(drop=True)
        same = " and ".join(f"t.{c} is not distinct from s.{c}" for c in staged.columns) or "true"
        staged = staged.assign(o2c_position=range(len(staged)))
        within = " and ".join(f"t.{c} = ${c}" for c in scope) or "true"
        self.con.register("replacement_rows", staged)
        try:
            gone = f"{within} and not exists (select 1 from replacement_rows s where {same})"
            key = AUDITED.get(table)
            if key:
                self.con.execute(
                    f"insert into audit_log (run_id, stage, entity, key, action, before, rule_version,"
                    f" created_at) select $run_id, $stage, $entity, t.{key}::varchar, 'delete',"
                    f" to_json(t)::varchar, $rule_version, $now from {table} t where {gone}",
                    {
                        **scope,
                        "run_id": pub.run_id,
                        "stage": pub.stage,
                        "entity": table,
                        "rule_version": pub.rule_version,
                        "now": _now(),
                    },
                )
            self.con.execute(f"delete from {table} t where {gone}", scope or None)
            missing = self.con.execute(
                f"select s.o2c_position from replacement_rows s"
                f" where not exists (select 1 from {table} t where {same}) order by 1"
            ).fetchall()
        finally:
            self.con.unregister("replacement_rows")
        return self._insert_new(table, frame.iloc[[row[0] for row in missing]], pub)

    def _merged_run(self, pub: Publication) -> tuple[dict[str, Any], dict[str, Any], str]:
        """A run that publishes in several steps (ingest: one per source) keeps one `stage_runs` row:
        counts summed, inputs listed together, halted if any step halted."""
        row = self.con.execute(
            "select counts, evidence, outcome from stage_runs where run_id = ? and stage = ?",
            [pub.run_id, pub.stage],
        ).fetchone()
        if row is None:
            return pub.counts, pub.evidence, pub.outcome
        counts = json.loads(row[0])
        for name, value in pub.counts.items():
            if isinstance(value, int) and isinstance(counts.get(name), int):
                counts[name] += value
            else:
                counts[name] = value
        earlier = json.loads(row[1] or "{}")
        evidence = {
            "files": {**earlier.get("files", {}), **pub.evidence.get("files", {})},
            "inputs": [*earlier.get("inputs", []), *pub.evidence.get("inputs", [])],
            "parameters": pub.evidence.get("parameters", earlier.get("parameters", {})),
        }
        outcome = "halted" if "halted" in (row[2], pub.outcome) else pub.outcome
        return counts, evidence, outcome

    def _write_evidence(self, pub: Publication) -> None:
        """Store each evidence file the ledger does not hold yet (content-addressed: once ever)."""
        if not pub.blobs:
            return
        wanted = list(pub.blobs)
        held = {
            r[0]
            for r in self.con.execute(
                "select sha256 from evidence_files where list_contains(?, sha256)", [wanted]
            ).fetchall()
        }
        for sha in wanted:
            if sha not in held:
                self.con.execute(
                    "insert into evidence_files (sha256, size, content, first_run_id, stored_at)"
                    " values (?, ?, ?, ?, ?)",
                    [sha, len(pub.blobs[sha]), pub.blobs[sha], pub.run_id, _now()],
                )

    def evidence_blobs(self, shas: list[str]) -> dict[str, bytes]:
        """The stored content of each evidence file asked for."""
        rows = self.con.execute(
            "select sha256, content from evidence_files where list_contains(?, sha256)", [shas]
        ).fetchall()
        return {sha: bytes(content) for sha, content in rows}

    def _columns(self, table: str) -> set[str]:
        rows = self.con.execute(
            "select column_name from information_schema.columns where table_name = ?", [table]
        ).fetchall()
        return {r[0] for r in rows}

    def _write_quarantine(self, pub: Publication) -> None:
        if pub.quarantine is None or pub.quarantine.empty:
            return
        rows = pub.quarantine.copy()
        rows["run_id"] = pub.run_id
        rows["created_at"] = _now()
        self.con.register("quarantined_rows", rows)
        try:
            self.con.execute("insert into quarantine by name select * from quarantined_rows")
        finally:
            self.con.unregister("quarantined_rows")

    def _write_checkpoints(self, pub: Publication) -> None:
        for cp in pub.checkpoints:
            self.con.execute(
                "insert into checkpoint_runs (run_id, stage, dataset, source, contract_hash, outcome,"
                " rows_checked, rows_failed, details, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    pub.run_id,
                    pub.stage,
                    cp["dataset"],
                    cp["source"],
                    cp["contract_hash"],
                    cp["outcome"],
                    cp["rows_checked"],
                    cp["rows_failed"],
                    json.dumps(cp["details"], default=str),
                    _now(),
                ],
            )

    # -- a person's cash decisions (tasks/platform/cash_decisions.py) ----------------------------------
    def row(self, name: str, **params: Any) -> dict[str, Any] | None:
        """The first row of the named SQL file as a dict by column name, or None when it has none."""
        cursor = self.con.execute(load_sql(name), params or None)
        found = cursor.fetchone()
        if found is None:
            return None
        return dict(zip([column[0] for column in cursor.description], found, strict=True))

    def decide(
        self,
        steps: list[tuple[str, dict[str, Any]]],
        audits: list[dict[str, Any]],
        *,
        guard: str | None = None,
    ) -> bool:
        """Write a person's decision in one transaction: the named statements in order, then their
        audit rows (run_id, stage, entity, key, action, before, after). When `guard` names a step
        that changes no row (someone decided first), nothing is written and the result is False."""
        self.con.begin()
        try:
            for name, params in steps:
                changed = self.con.execute(load_sql(name), params).fetchone()
                if name == guard and not (changed and changed[0]):
                    self.con.rollback()
                    return False
            for row in audits:
                self.con.execute(
                    "insert into audit_log (run_id, stage, entity, key, action, before, after, created_at)"
                    " values (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        row["run_id"],
                        row["stage"],
                        row["entity"],
                        row["key"],
                        row["action"],
                        row["before"],
                        row["after"],
                        _now(),
                    ],
                )
            self._commit("a person's decision")
        except BaseException:
            self.con.rollback()
            raise
        return True

    def record_manual_allocation(
        self, allocation: dict[str, Any], *, payer_account: str | None, customer_id: str
    ) -> bool:
        """Write a person's allocation in one transaction: the row, its audit row, the payment taken
        off the exception queue once none of its cash is left unapplied, and its payer account learned
        for the invoice's customer (`payer_account` already normalised; None learns nothing).

        `allocation` holds the parameters of `reconcile/manual_insert_allocation`, whose guard repeats
        the decision's checks; when it refuses the row, nothing is written and the result is False.
        """
        self.con.begin()
        try:
            inserted = self.con.execute(load_sql("reconcile/manual_insert_allocation"), allocation).fetchone()
            if not inserted or not inserted[0]:
                self.con.rollback()
                return False
            self.con.execute(
                load_sql("reconcile/manual_audit"),
                {
                    "run_id": allocation["run_id"],
                    "action": "insert",
                    "decided_json": None,
                    "allocation_id": allocation["allocation_id"],
                    "created_at": _now(),
                },
            )
            self.con.execute(
                load_sql("reconcile/manual_clear_exception"), {"payment_id": allocation["payment_id"]}
            )
            self.con.execute(
                load_sql("reconcile/manual_accept_match"),
                {"payment_id": allocation["payment_id"], "invoice_id": allocation["invoice_id"]},
            )
            if payer_account:
                self.con.execute(
                    load_sql("reconcile/manual_learn_payer"),
                    {"account": payer_account, "customer_id": customer_id, "run_id": allocation["run_id"]},
                )
            self._commit("a manual allocation")
        except BaseException:
            self.con.rollback()
            raise
        return True

    def remove_manual_allocation(self, allocation_id: str, *, by: str, run_id: str) -> dict[str, Any] | None:
        """Remove one allocation in one transaction with its audit row (before: the row; after: who
        decided). Returns the removed row, or None (nothing written) when no allocation has that id."""
        self.con.begin()
        try:
            removed = self.row(
                "reconcile/manual_allocation", allocation_id=allocation_id, payment_id=None, invoice_id=None
            )
            if removed is None or removed["allocation_id"] != allocation_id:
                self.con.rollback()
                return None
            self.con.execute(
                load_sql("reconcile/manual_audit"),
                {
                    "run_id": run_id,
                    "action": "delete",
                    "decided_json": json.dumps({"decided_by": by}),
                    "allocation_id": allocation_id,
                    "created_at": _now(),
                },
            )
            self.con.execute(
                load_sql("reconcile/manual_reject_match"),
                {"allocation_id": allocation_id, "decided_by": by, "run_id": run_id},
            )
            self.con.execute(load_sql("reconcile/manual_delete_allocation"), {"allocation_id": allocation_id})
            self._commit("an unapplied allocation")
        except BaseException:
            self.con.rollback()
            raise
        return removed

    # -- the outbox's delivery states (tasks/platform/outbox.py, tasks/platform/outbox_decisions.py) -------------
    def move_messages(
        self,
        table: str,
        moves: list[dict[str, Any]],
        *,
        run_id: str,
        now: datetime,
        stage: str | None = None,
        decided_by: str | None = None,
    ) -> int:
        """Move messages of one outbox table to new delivery states in one transaction, set-based:
        one audit row per message (status before and after, the reason, the next attempt, who
        decided), then one update (`outbox/audit_moves`, `outbox/move`).

        Each move names `message_id`, the state it must still be in (`expected`), and its new
        `status`, `reason`, `ref` (the provider's reference; None keeps it), `next_attempt_at`,
        `transient_failures` (None keeps it) and `failure`. A message no longer in its expected state
        is left as it is. `stage` defaults to the stage that sends the table. Returns how many
        messages moved."""
        if not moves:
            return 0
        key, sender = OUTBOX_TABLES[table]  # the fixed list: table and key are never input
        frame = pd.DataFrame(
            {
                "message_id": pd.Series([m["message_id"] for m in moves], dtype="object"),
                "expected": pd.Series([m["expected"] for m in moves], dtype="object"),
                "status": pd.Series([m["status"] for m in moves], dtype="object"),
                "reason": pd.Series([m.get("reason") for m in moves], dtype="object"),
                "ref": pd.Series([m.get("ref") for m in moves], dtype="object"),
                "next_attempt_at": pd.Series(
                    [m.get("next_attempt_at") for m in moves], dtype="datetime64[us]"
                ),
                "transient_failures": pd.Series([m.get("transient_failures") for m in moves], dtype="Int64"),
                "failure": pd.Series([m.get("failure") for m in moves], dtype="object"),
            }
        )

        def sql(name: str) -> str:
            return load_sql(name).replace("{table}", table).replace("{key}", key)

        self.con.register("outbox_moves", frame)
        self.con.begin()
        try:
            self.con.execute(
                sql("outbox/audit_moves"),
                {
                    "run_id": run_id,
                    "stage": stage or sender,
                    "entity": table,
                    "decided_by": decided_by,
                    "created_at": _now(),  # the audit log keeps the real time, whatever clock a run is given
                },
            )
            moved = self.con.execute(sql("outbox/move"), {"now": now}).fetchone()
            self._commit(f"{table}: delivery states")
        except BaseException:
            self.con.rollback()
            raise
        finally:
            self.con.unregister("outbox_moves")
        return int(moved[0]) if moved else 0


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def _migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Apply the numbered migrations in `sql/schema/` that this ledger has not run yet."""
    con.execute(
        "create table if not exists schema_migrations (version integer primary key, name varchar, applied_at timestamp)"
    )
    done = {row[0] for row in con.execute("select version from schema_migrations").fetchall()}
    for path in sorted((SQL_DIR / "schema").glob("*.sql")):
        version = int(path.name.split("_", 1)[0])
        if version in done:
            continue
        con.begin()
        try:
            con.execute(path.read_text(encoding="utf-8"))
            con.execute("insert into schema_migrations values (?, ?, ?)", [version, path.name, _now()])
            con.commit()
        except BaseException:
            con.rollback()
            raise


@contextmanager
def open_ledger(path: Path, *, lock_timeout: float = 600.0) -> Iterator[Ledger]:
    """Open the ledger at `path` under the exclusive writer lock, migrated to the newest schema."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _writer_lock(path.with_suffix(".lock"), lock_timeout):
        con = _connect(path)
        try:
            _migrate(con)
            # A ledger opened again inside an open one (the writer lock is re-entrant in a thread)
            # shares its database, already locked: locking it again would be refused.
            # (fetchall: a result left unfinished would block the caller's register() and sql())
            ((locked,),) = con.execute("select current_setting('lock_configuration')").fetchall()
            if not locked:
                con.execute("set lock_configuration = true")
            yield Ledger(con)
        finally:
            con.close()


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
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


_process_locks: dict[Path, threading.RLock] = {}
_process_guard = threading.Lock()
_depth = threading.local()


@contextmanager
def hold_ledger(path: Path, *, lock_timeout: float = 600.0) -> Iterator[None]:
    """Hold the writer lock across a whole stage (read, compute, check, publish), so that no other
    run changes the ledger between this stage's read and its write.

    Re-entrant within one thread (a stage's tasks open the ledger while the flow holds it); other
    threads of this process and other processes wait for it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _writer_lock(path.with_suffix(".lock"), lock_timeout):
        yield


@contextmanager
def _writer_lock(lock_path: Path, timeout: float) -> Iterator[None]:
    with _process_guard:
        in_process = _process_locks.setdefault(lock_path, threading.RLock())
    if not in_process.acquire(timeout=timeout):
        raise LedgerBusy(f"the ledger {lock_path.with_suffix('.duckdb')} stayed busy for {timeout:.0f} s")
    depths: dict[Path, int] = _depth.__dict__.setdefault("held", {})
    try:
        if depths.get(lock_path, 0) > 0:
            depths[lock_path] += 1
            try:
                yield
            finally:
                depths[lock_path] -= 1
            return
        with _flock(lock_path, timeout):
            depths[lock_path] = 1
            try:
                yield
            finally:
                depths[lock_path] = 0
    finally:
        in_process.release()


@contextmanager
def _flock(lock_path: Path, timeout: float) -> Iterator[None]:
    deadline = time.monotonic() + timeout
    with open(lock_path, "a+") as handle:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LedgerBusy(
                        f"the ledger {lock_path.with_suffix('.duckdb')} stayed busy for {timeout:.0f} s"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

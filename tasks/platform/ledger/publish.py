"""A stage's writes: the `Publication` it gathers and its publication in one transaction.

`publish` inserts new rows (auditing exactly the rows that are new), replaces derived tables or
the rows of a table within a scope (auditing the rows that go), upserts counters, runs the named
updates, and records the run itself: its quarantine, checkpoint results, evidence files and one
`stage_runs` row, merged with the earlier steps of a run that publishes in several. All of it lands,
or none of it. Rows come as pandas frames or Arrow tables and load through Arrow
(tasks/platform/ledger/staging.py); every step is one set-based statement or a few, whatever the
number of rows: the audit rows are `insert ... select ... to_json(row)`, a replacement finds the rows
that go and the rows that come in one join.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tasks.platform.crash import crash_point
from tasks.platform.ledger.base import LedgerBase
from tasks.platform.ledger.evidence_files import keep, kept_beside
from tasks.platform.ledger.new_rows import new_rows
from tasks.platform.ledger.staging import (
    POSITION,
    Rows,
    column_names,
    row_count,
    staged,
    take,
    with_positions,
)
from tasks.platform.ledger.tables import AUDITED, DIGESTED_IN_AUDIT, known_table, load_sql, now


@dataclass
class Publication:
    """Everything one stage run writes, published in one transaction.

    `inserts` add rows whose key is new (rows already present are left as they are, which makes a
    re-run change nothing); `replacements` replace a whole table's content (derived state such as the
    worklist); `scoped_replacements` replace the rows of a table that match a scope (column ->
    value; the escalation states entered on the run's date, the KPI snapshot of the date) with the
    frame's rows; `upserts` insert or replace by key (counters such as invoice numbers); `updates`
    are (sql name, parameters) pairs run in order after the inserts. Rows are pandas frames or
    Arrow tables, as the stage has them.
    """

    run_id: str
    stage: str
    as_of: date
    inserts: dict[str, Rows] = field(default_factory=dict)
    replacements: dict[str, Rows] = field(default_factory=dict)
    scoped_replacements: dict[str, tuple[Rows, dict[str, Any]]] = field(default_factory=dict)
    upserts: dict[str, Rows] = field(default_factory=dict)
    updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    row_updates: list[tuple[str, Rows, dict[str, Any]]] = field(default_factory=list)
    quarantine: Rows | None = None
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)
    outcome: str = "completed"
    rule_version: str | None = None
    started_by: str | None = None  # cli, schedule, ui or api, order_to_cash run, python
    evidence: dict[str, Any] = field(default_factory=dict)  # {"files": {path: sha256}, "inputs": [...]}
    blobs: dict[str, bytes] = field(default_factory=dict)  # sha256 -> content of every file in evidence


class Publishing(LedgerBase):
    """Writing a stage's publication."""

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
            for sql_name, rows, params in pub.row_updates:
                self._update_over(sql_name, rows, params)
            self._write_quarantine(pub)
            self._write_checkpoints(pub)
            self._write_evidence(pub)
            self._write_stage_run(pub)
            self._commit(f"{pub.stage}: publish")
        except BaseException:
            self.con.rollback()
            raise
        return inserted

    def _update_over(self, sql_name: str, rows: Rows, params: dict[str, Any]) -> None:
        """Run statement `sql_name` once over `rows` (as `update_rows`, with their positions)."""
        if row_count(rows) == 0:
            return
        self.con.register("update_rows", with_positions(staged(rows), POSITION))
        try:
            self.con.execute(load_sql(sql_name), params)
        finally:
            self.con.unregister("update_rows")

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

    def _insert_new(self, table: str, rows: Rows | None, pub: Publication, replace: bool = False) -> int:
        """Insert the rows of `rows` that are new to `table` (`new_rows` says which), with an audit
        row each if the table is audited; with `replace`, insert or replace them by key."""
        if row_count(rows) == 0:
            return 0
        assert rows is not None
        wanted = staged(rows, self._columns(table), run_id=pub.run_id)
        key = AUDITED.get(table)
        self.con.register("staged_rows", wanted)
        try:
            decided = None if replace else new_rows(self.con, table, wanted, "staged_rows")
            # which rows the audit log gets (as `s`): the new ones; where the table fills a key
            # itself, or rows are replaced, those whose audited key it does not hold yet
            audited = f"not exists (select 1 from {table} t where t.{key} = s.{key})"
            if decided is not None:
                kept, audited = decided
                if kept is not wanted:  # rows of the batch sharing a key: the first of each kept
                    self.con.unregister("staged_rows")
                    self.con.register("staged_rows", kept)
            if key:
                self.con.execute(
                    f"insert into audit_log (run_id, stage, entity, key, action, after, rule_version,"
                    f" created_at) select ?, ?, ?, s.{key}::varchar, 'insert', to_json(s)::varchar, ?, ?"
                    f" from {_audited_rows(column_names(wanted))} s where {audited}",
                    [pub.run_id, pub.stage, table, pub.rule_version, now()],
                )
            if replace:
                statement = f"insert or replace into {table} by name select * from staged_rows"
            elif decided is None:
                statement = f"insert or ignore into {table} by name select * from staged_rows"
            else:
                statement = f"insert into {table} by name select * from staged_rows s where {decided[1]}"
            row = self.con.execute(statement).fetchone()
        finally:
            self.con.unregister("staged_rows")
        return int(row[0]) if row else 0

    def _replace(self, table: str, rows: Rows, pub: Publication, scope: dict[str, Any] | None = None) -> int:
        """Make `table` (or the rows of it within `scope`: column -> value, or column -> the values
        it may take, a list or set) hold exactly `rows`.
        Rows that stay the same are left as they are, with the run that wrote them, so that
        running again with the same facts changes nothing; removed rows of an audited table are
        written to the audit log. One join of the table with the rows (every column compared, a
        missing value equal to a missing value) finds both the rows that go and those that come."""
        known_table(table)
        columns = self._columns(table) - {"run_id"}
        scope = scope or {}
        unknown = set(scope) - columns
        if unknown:
            raise ValueError(f"{table} has no column(s) {', '.join(sorted(unknown))} to scope by")
        wanted = staged(rows, columns)
        names = column_names(wanted)
        same = " and ".join(f"t.{c} is not distinct from s.{c}" for c in names) or "true"
        within = (
            " and ".join(
                f"list_contains(${c}, t.{c})"
                if isinstance(v, list | tuple | frozenset | set)
                else f"t.{c} = ${c}"
                for c, v in scope.items()
            )
            or "true"
        )
        scope = {c: sorted(v) if isinstance(v, tuple | frozenset | set) else v for c, v in scope.items()}
        self.con.register("replacement_rows", with_positions(wanted, POSITION))
        try:
            differences = self.con.sql(
                f"select t.o2c_rowid, t.o2c_within, s.{POSITION}"
                f" from (select rowid as o2c_rowid, ({within}) as o2c_within, * from {table} t) t"
                f" full join replacement_rows s on {same}"
                f" where t.o2c_rowid is null or s.{POSITION} is null",
                params=scope or None,
            ).to_arrow_table()
        finally:
            self.con.unregister("replacement_rows")
        self.con.register("replacement_differences", differences)
        try:
            gone = (
                "rowid in (select o2c_rowid from replacement_differences"
                f" where o2c_within and {POSITION} is null)"
            )
            self._audit_removed(table, gone, pub)
            self.con.execute(f"delete from {table} where {gone}")
        finally:
            self.con.unregister("replacement_differences")
        missing = differences.filter(differences.column("o2c_rowid").is_null()).column(POSITION)
        return self._insert_new(table, take(wanted, sorted(missing.to_pylist())), pub)

    def _audit_removed(self, table: str, gone: str, pub: Publication) -> None:
        """Write the rows of `table` matching `gone` to the audit log as deleted, if it is audited."""
        key = AUDITED.get(table)
        if not key:
            return
        self.con.execute(
            f"insert into audit_log (run_id, stage, entity, key, action, before, rule_version,"
            f" created_at) select $run_id, $stage, $entity, t.{key}::varchar, 'delete',"
            f" to_json(t)::varchar, $rule_version, $now from {table} t where {gone}",
            {
                "run_id": pub.run_id,
                "stage": pub.stage,
                "entity": table,
                "rule_version": pub.rule_version,
                "now": now(),
            },
        )

    def _write_stage_run(self, pub: Publication) -> None:
        """The run's `stage_runs` row, merged with the earlier steps of the same run."""
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
                now(),
                pub.started_by,
                pub.rule_version,
                json.dumps(evidence, sort_keys=True),
            ],
        )

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
        """Store each evidence file the ledger does not hold yet (content-addressed: once ever); a
        large one beside a ledger file, its row then holding an empty content (`evidence_files.py`)."""
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
                content = pub.blobs[sha]
                beside = kept_beside(self.evidence, content)
                if beside is not None:
                    keep(beside, sha, content)
                    crash_point(f"{pub.stage}: evidence file kept beside the ledger")
                self.con.execute(
                    "insert into evidence_files (sha256, size, content, first_run_id, stored_at)"
                    " values (?, ?, ?, ?, ?)",
                    [sha, len(content), b"" if beside is not None else content, pub.run_id, now()],
                )

    def _write_quarantine(self, pub: Publication) -> None:
        if row_count(pub.quarantine) == 0:
            return
        assert pub.quarantine is not None
        self.con.register("quarantined_rows", staged(pub.quarantine, run_id=pub.run_id, created_at=now()))
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
                    now(),
                ],
            )


def _audited_rows(columns: list[str]) -> str:
    """The staged rows as their audit rows show them: a rendered document's text replaced by its
    SHA-256 (`DIGESTED_IN_AUDIT`), every other column as it is."""
    digested = [c for c in DIGESTED_IN_AUDIT if c in columns]
    if not digested:
        return "staged_rows"
    return (
        f"(select * exclude ({', '.join(digested)}), "
        + ", ".join(f"sha256({c}) as {c}_sha256" for c in digested)
        + " from staged_rows)"
    )

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

from tasks.platform.ledger.base import LedgerBase
from tasks.platform.ledger.staging import Rows, column_names, row_count, staged, take, with_positions
from tasks.platform.ledger.tables import AUDITED, known_table, load_sql, now

POSITION = "o2c_position"  # a replacement row's place among the rows handed over


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
        if row_count(rows) == 0:
            return 0
        assert rows is not None
        self.con.register("staged_rows", staged(rows, self._columns(table), run_id=pub.run_id))
        try:
            key = AUDITED.get(table)
            if key:
                # Audit exactly the rows that are new: those whose key the table does not hold yet.
                self.con.execute(
                    f"insert into audit_log (run_id, stage, entity, key, action, after, rule_version,"
                    f" created_at) select ?, ?, ?, s.{key}::varchar, 'insert', to_json(s)::varchar, ?, ?"
                    f" from staged_rows s where not exists"
                    f" (select 1 from {table} t where t.{key} = s.{key})",
                    [pub.run_id, pub.stage, table, pub.rule_version, now()],
                )
            if replace:
                row = self.con.execute(
                    f"insert or replace into {table} by name select * from staged_rows"
                ).fetchone()
            else:
                row = self._insert_or_ignore(table)
        finally:
            self.con.unregister("staged_rows")
        return int(row[0]) if row else 0

    def _insert_or_ignore(self, table: str) -> Any:
        """Insert the staged rows whose keys `table` does not hold, as `insert or ignore` does.

        DuckDB's `insert or ignore` checks each row against each key one by one. When no two staged
        rows share a value of any of the table's keys (its primary key and unique constraints; a
        missing value counted as equal, to be safe), leaving out the rows whose key values the
        table holds (an anti-join per key) and inserting the rest plainly does the same at about
        half the cost of a million rows. Otherwise (where `insert or ignore` may also drop a row
        sharing one key with a row ignored for another) `insert or ignore` itself decides."""
        keys = self._unique_keys(table)
        staged_columns = {
            r[0] for r in self.con.execute("select name from pragma_table_info('staged_rows')").fetchall()
        }
        if keys and all(set(key) <= staged_columns for key in keys):
            repeated = " union all ".join(
                f"(select 1 from staged_rows s group by {', '.join(f's.{c}' for c in key)}"
                " having count(*) > 1 limit 1)"
                for key in keys
            )
            if not self.con.execute(repeated).fetchall():
                new = " and ".join(
                    f"not exists (select 1 from {table} t where {' and '.join(f't.{c} = s.{c}' for c in key)})"
                    for key in keys
                )
                return self.con.execute(
                    f"insert into {table} by name select * from staged_rows s where {new}"
                ).fetchone()
        return self.con.execute(f"insert or ignore into {table} by name select * from staged_rows").fetchone()

    def _unique_keys(self, table: str) -> list[list[str]]:
        """The columns of each primary key and unique constraint of `table`."""
        rows = self.con.execute(
            "select constraint_column_names from duckdb_constraints()"
            " where table_name = ? and constraint_type in ('PRIMARY KEY', 'UNIQUE')",
            [table],
        ).fetchall()
        return [list(r[0]) for r in rows]

    def _replace(self, table: str, rows: Rows, pub: Publication, scope: dict[str, Any] | None = None) -> int:
        """Make `table` (or the rows of it within `scope`, column -> value) hold exactly `rows`.
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
        within = " and ".join(f"t.{c} = ${c}" for c in scope) or "true"
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
                    [sha, len(pub.blobs[sha]), pub.blobs[sha], pub.run_id, now()],
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

"""What an auditor reads from the ledger (`o2c audit runs`, `show` and `pack`): every stage run as
the audit trail keeps it, the changes one run made row by row, and everything an evidence pack of
one run holds, gathered from the ledger, the Prefect API and the run's Data Docs.

Each read takes an open `Ledger` and returns plain rows; building the pack's bytes is
`tasks/report/audit_pack.py`.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from tasks.platform.ledger import Ledger
from tasks.report import audit_pack


def runs_since(ledger: Ledger, since: date) -> list[dict[str, Any]]:
    """Every stage run finished on or after `since`: stage, business date, who or what started it,
    outcome, counts, the rule version and the contracts it used."""
    rows = ledger.query("report/audit/runs", since=since).to_dict("records")
    return [
        {
            "run_id": r["run_id"],
            "stage": r["stage"],
            "as_of": str(r["as_of"])[:10],
            "started_by": r["started_by"],
            "outcome": r["outcome"],
            "counts": json.loads(r["counts"]),
            "rule_version": r["rule_version"],
            "contracts": r["contracts"],
            "finished_at": str(r["finished_at"]),
        }
        for r in rows
    ]


def run_changes(ledger: Ledger, run_id: str) -> list[dict[str, Any]]:
    """The audit-log rows one run wrote, as the ledger holds them."""
    rows: list[dict[str, Any]] = ledger.query("report/audit/changes", run_id=run_id).to_dict("records")
    return rows


def changes_shown(ledger: Ledger, run_id: str) -> list[dict[str, Any]]:
    """The changes one run made, row by row, without the audit log's own id (empty: none recorded)."""
    return [
        {k: (str(v) if k == "created_at" else v) for k, v in r.items() if k != "audit_id"}
        for r in run_changes(ledger, run_id)
    ]


def run_outcome(ledger: Ledger, run_id: str) -> dict[str, Any]:
    """A run's outcome and counts as its stage record has them (None and {} where there is none)."""
    record = ledger.row("report/audit/run", run_id=run_id) or {}
    return {"outcome": record.get("outcome"), "counts": json.loads(record.get("counts") or "{}")}


def pack_inputs(ledger: Ledger, run_id: str) -> audit_pack.PackInputs | None:
    """What the ledger holds of one run for its evidence pack, with the history up to it and the
    evidence files that history names; None when the ledger has no such run."""
    runs = ledger.query("report/audit/run_rows", run_id=run_id)
    if runs.empty:
        return None
    until = runs["finished_at"].max()
    history = ledger.query("report/audit/history", until=until)
    inputs = ledger.query(
        "report/audit/inputs", run_id=run_id, ingest=bool((runs["stage"] == "ingest").any()), until=until
    )
    return audit_pack.PackInputs(
        run_id=run_id,
        runs=runs,
        inputs=inputs,
        checkpoints=ledger.query("report/audit/checkpoints", run_id=run_id),
        changes=ledger.query("report/audit/changes", run_id=run_id),
        quarantine=ledger.query("report/audit/quarantine", run_id=run_id),
        history=history,
        manual=ledger.query("report/audit/manual_decisions", until=until),
        blobs=ledger.evidence_blobs(audit_pack.referenced_shas(history)),
    )


def add_outside_evidence(pack: audit_pack.PackInputs, home: Path) -> None:
    """Add what the ledger does not hold: the run's Prefect artifacts and its Data Docs."""
    from tasks.platform.artifacts import read_run_artifacts

    pack.artifacts, pack.artifacts_note = read_run_artifacts(pack.run_id)
    pack.data_docs = audit_pack.read_data_docs(home / "data_docs" / pack.run_id)


def write_pack(content: bytes, out: Path) -> None:
    """Write the pack's bytes to `out` whole: beside it first, then in its place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    partial.write_bytes(content)
    partial.replace(out)

"""Replaying a run from its evidence pack on an empty ledger (`o2c audit replay PACK --home DIR`).

The pack's history lists every stage run up to the run, each with the rule and contract files it
used (by sha256), its parameters and, for ingest, the files it read. A replay lays each distinct set
of files out as a `rules/` and `data_contracts/` folder, writes the input files back (with their
mapping beside them), and runs the same stages for the same business dates in the same order on an
empty workspace. Then it compares, run by run, the outcome, the counts and every change in the audit
log. Pure, except `materialise`, which writes the pack's files into a work folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Values that differ between any two runs by nature: the run's id and the moment it wrote a row.
VOLATILE_KEYS = {"run_id", "created_at", "updated_at", "loaded_at", "finished_at", "stored_at"}


class ReplayRefused(ValueError):
    """A history that cannot be replayed faithfully, with the reason."""


@dataclass
class ReplayRun:
    original_run_id: str
    stage: str
    as_of: str
    parameters: dict[str, Any]
    files: dict[str, str]
    inputs: list[dict[str, Any]] = field(default_factory=list)
    outcome: str = ""
    counts: dict[str, Any] = field(default_factory=dict)


def plan(history: dict[str, Any]) -> list[ReplayRun]:
    """The runs to replay, oldest first; refused when the history holds what a replay cannot redo."""
    manual = history.get("manual_decisions") or []
    if manual:
        first = manual[0]
        raise ReplayRefused(
            f"the history holds {len(manual)} change(s) people made between runs (the first: "
            f"{first['entity']} {first['key']} {first['action']} by {first['run_id']}); a replay re-runs "
            "stages only, so it could not give the same outputs"
        )
    runs = []
    for row in history.get("runs") or []:
        evidence = row.get("evidence") or {}
        if not evidence.get("files"):
            raise ReplayRefused(
                f"run {row['run_id']} ({row['stage']} as of {row['as_of'][:10]}) kept no evidence of its "
                "files: it ran before evidence was recorded"
            )
        for entry in evidence.get("inputs") or []:
            if "sha256" not in entry:
                raise ReplayRefused(
                    f"run {row['run_id']} read {entry['source']}, which is not a file (a SQL source): "
                    "its content is not in the pack"
                )
        runs.append(
            ReplayRun(
                original_run_id=row["run_id"],
                stage=row["stage"],
                as_of=row["as_of"][:10],
                parameters=dict(evidence.get("parameters") or {}),
                files=dict(evidence["files"]),
                inputs=list(evidence.get("inputs") or []),
                outcome=row["outcome"],
                counts=dict(row["counts"]),
            )
        )
    if not runs:
        raise ReplayRefused("the pack's history holds no run")
    return runs


def materialise(runs: list[ReplayRun], blob: Any, work: Path) -> list[dict[str, Any]]:
    """Write each distinct set of rule and contract files, and every input file with its mapping,
    under `work`; return the steps a replay process runs: one per run, with its folders."""
    sets: dict[str, Path] = {}
    steps = []
    for number, run in enumerate(runs, start=1):
        key = json.dumps(run.files, sort_keys=True)
        if key not in sets:
            folder = work / f"files-{len(sets) + 1}"
            for path, digest in run.files.items():
                target = folder / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(blob(digest))
            sets[key] = folder
        parameters = {k: v for k, v in run.parameters.items() if k not in ("home", "as_of")}
        if run.stage == "ingest":
            inputs = work / f"inputs-{number}"
            inputs.mkdir(parents=True, exist_ok=True)
            paths = []
            for entry in run.inputs:
                target = inputs / entry["name"]
                if str(target) not in paths:
                    target.write_bytes(blob(entry["sha256"]))
                    paths.append(str(target))
                if entry.get("mapping_sha256"):
                    (inputs / f"{entry['name']}.mapping.yaml").write_bytes(blob(entry["mapping_sha256"]))
            parameters.update({"paths": paths, "mapping": None, "sql_url": None})
        steps.append(
            {
                "original_run_id": run.original_run_id,
                "stage": run.stage,
                "as_of": run.as_of,
                "parameters": parameters,
                "rules_dir": str(sets[key] / "rules"),
                "contracts_dir": str(sets[key] / "data_contracts"),
            }
        )
    return steps


def normalised(change: dict[str, Any]) -> tuple[str, str, str, str, str]:
    """An audit-log row without what differs between any two runs (ids of runs, timestamps)."""

    def clean(value: Any) -> str:
        if value is None or value != value:  # None or NaN
            return ""
        try:
            data = json.loads(value)
        except (TypeError, ValueError):
            return str(value)
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if k not in VOLATILE_KEYS}
        return json.dumps(data, sort_keys=True, default=str)

    return (
        str(change["entity"]),
        str(change["key"]),
        str(change["action"]),
        clean(change.get("before")),
        clean(change.get("after")),
    )


def compare_run(
    original: ReplayRun,
    replayed: dict[str, Any],
    original_changes: list[dict[str, Any]],
    replayed_changes: list[dict[str, Any]],
) -> list[str]:
    """The differences between a run and its replay (empty: the same outputs)."""
    problems = []
    label = f"{original.stage} as of {original.as_of} ({original.original_run_id})"
    if replayed.get("outcome") != original.outcome:
        problems.append(f"{label}: outcome {original.outcome}, replayed {replayed.get('outcome')}")
    if replayed.get("counts") != original.counts:
        problems.append(f"{label}: counts {original.counts}, replayed {replayed.get('counts')}")
    before = sorted(map(normalised, original_changes))
    after = sorted(map(normalised, replayed_changes))
    if before != after:
        only_before = [c for c in before if c not in after]
        only_after = [c for c in after if c not in before]
        sample = (only_before or only_after)[:1]
        problems.append(
            f"{label}: {len(before)} change(s), replayed {len(after)}; {len(only_before)} only in the "
            f"original, {len(only_after)} only in the replay (e.g. {sample})"
        )
    return problems

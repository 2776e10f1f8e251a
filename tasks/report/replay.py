"""Replaying a run from its evidence pack on an empty ledger (`o2c audit replay PACK --home DIR`).

The pack's history lists every stage run up to the run, each with the rule and contract files it
used (by sha256), its parameters and, for ingest, the files it read. A replay lays each distinct set
of files out as a `rules/` and `data_contracts/` folder, writes the input files back (with their
mapping beside them), and runs the same stages for the same business dates in the same order on an
empty workspace. Then it compares, run by run, the outcome, the counts and every change in the audit
log. `load` reads and checks the pack, `run_steps` runs its stages in child processes (`flows.replay`,
one per set of rule and contract files, on the replay's workspace) and `compare` reads the replay's
ledger; `plan`, `normalised` and `compare_run` are pure, and `materialise` writes the pack's files
into a work folder.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.platform.ledger import Ledger
from tasks.platform.ledger.tables import DIGESTED_IN_AUDIT
from tasks.report.audit import run_changes, run_outcome
from tasks.report.audit_pack import open_pack

# Values that differ between any two runs by nature: the run's id and the moment it wrote a row.
VOLATILE_KEYS = {"run_id", "created_at", "updated_at", "loaded_at", "finished_at", "stored_at"}


class ReplayRefused(ValueError):
    """A history that cannot be replayed faithfully, with the reason."""


class ReplayStopped(RuntimeError):
    """A replay process that ended without its results, with the last lines it wrote."""


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
            for column in DIGESTED_IN_AUDIT:  # a pack written before bodies were digested
                if isinstance(data.get(column), str):
                    data[f"{column}_sha256"] = hashlib.sha256(data.pop(column).encode("utf-8")).hexdigest()
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


@dataclass
class LoadedPack:
    """An evidence pack checked against its manifest, open, with the runs its history replays."""

    manifest: dict[str, Any]
    archive: zipfile.ZipFile
    runs: list[ReplayRun]


@dataclass
class ReplayReport:
    """Run by run, what the replay did and whether it matched; every difference found."""

    runs: list[dict[str, Any]]
    differences: list[str]

    @property
    def same(self) -> bool:
        return not self.differences


def load(pack_file: Path) -> LoadedPack:
    """The pack and the runs to replay; raises `PackProblem` for a pack that cannot be read or
    checked, `ReplayRefused` for a history a replay cannot redo."""
    manifest, archive = open_pack(pack_file)
    history = json.loads(archive.read("history.json"))
    return LoadedPack(manifest, archive, plan(history))


def run_steps(pack: LoadedPack, home: Path) -> list[dict[str, Any]]:
    """Run the pack's stages again on the workspace `home`, one child process per consecutive set
    of rule and contract files; each run's result (its new run id and state), in order. A replay
    mails no one, its runs are not tagged as started by the `o2c` command, and it never writes to
    the team's Prefect server: its children record their runs with a temporary API of their own
    (`replay_environment`), dropped with the replay."""
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="o2c-replay-") as work:
        env = replay_environment(dict(os.environ), home, Path(work) / "prefect")
        steps = materialise(pack.runs, lambda digest: pack.archive.read(f"blobs/{digest}"), Path(work))
        for number, group in enumerate(_by_file_set(steps), start=1):
            results.extend(_run_group(group, Path(work), number, home, env))
    return results


# what a replay's children keep of Prefect's settings: how they log, nothing about where they report
_KEPT_PREFECT = ("PREFECT_LOGGING_", "PREFECT_SERVER_ANALYTICS_ENABLED", "PREFECT_SERVER_EPHEMERAL_STARTUP")


def replay_environment(environ: dict[str, str], home: Path, prefect_home: Path) -> dict[str, str]:
    """The environment of a replay's child processes: `environ` without any setting that names a
    Prefect server or its database (`PREFECT_API_URL`, `PREFECT_API_KEY`,
    `PREFECT_API_DATABASE_CONNECTION_URL`, a profile, `PREFECT_HOME`, ...), so that each child starts
    Prefect's temporary local API on a database under `prefect_home`; the workspace `home` with its
    own ledger file (never the team's PostgreSQL ledger, `O2C_LEDGER_URL`), and the file mailer."""
    env = {k: v for k, v in environ.items() if not k.startswith("PREFECT_") or k.startswith(_KEPT_PREFECT)}
    env.pop("O2C_LEDGER_URL", None)
    # the temporary API may take long to start on a busy machine: as long as the `o2c` command allows
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    env.update(
        PREFECT_HOME=str(prefect_home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        O2C_HOME=str(home),
        O2C_MAILER="file",
    )
    return env


def _by_file_set(steps: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Consecutive steps that use the same rule and contract files, together."""
    groups: list[list[dict[str, Any]]] = []
    for step in steps:
        if groups and groups[-1][0]["rules_dir"] == step["rules_dir"]:
            groups[-1].append(step)
        else:
            groups.append([step])
    return groups


def _run_group(
    group: list[dict[str, Any]], work: Path, number: int, home: Path, env: dict[str, str]
) -> list[dict[str, Any]]:
    steps_file, results_file = work / f"steps-{number}.json", work / f"results-{number}.json"
    steps_file.write_text(json.dumps(group))
    done = subprocess.run(
        [sys.executable, "-m", "flows.replay", str(steps_file), str(results_file), str(home)],
        env={**env, "O2C_RULES_DIR": group[0]["rules_dir"], "O2C_CONTRACTS_DIR": group[0]["contracts_dir"]},
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 or not results_file.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ReplayStopped(f"the replay process stopped: {' / '.join(tail)}")
    found: list[dict[str, Any]] = json.loads(results_file.read_text())
    return found


def pack_changes(archive: zipfile.ZipFile) -> list[dict[str, Any]]:
    """The changes of the pack's own run, as its `changes.csv` holds them."""
    import pandas as pd

    frame = pd.read_csv(io.BytesIO(archive.read("changes.csv")), dtype=str, keep_default_na=False)
    rows: list[dict[str, Any]] = frame.to_dict("records")
    return rows


def compare(pack: LoadedPack, results: list[dict[str, Any]], ledger: Ledger) -> ReplayReport:
    """Each replayed run against its original, from the replay's ledger. The pack holds the changes
    of its own run; the earlier runs compare by outcome and counts."""
    original_changes = pack_changes(pack.archive)
    report = []
    problems: list[str] = []
    for run, result in zip(pack.runs, results, strict=True):
        replayed = run_outcome(ledger, result["run_id"])
        changes = run_changes(ledger, result["run_id"])
        mine = original_changes if run.original_run_id == pack.manifest["run_id"] else changes
        found = compare_run(run, replayed, mine, changes)
        problems.extend(found)
        report.append(
            {
                "stage": run.stage,
                "as_of": run.as_of,
                "original_run_id": run.original_run_id,
                "replay_run_id": result["run_id"],
                "outcome": replayed["outcome"],
                "changes": len(changes),
                "same": not found,
            }
        )
    return ReplayReport(report, problems)

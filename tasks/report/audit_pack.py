"""The evidence pack of one run (`o2c audit pack RUN_ID --out FILE.zip`): everything an auditor needs
to see what the run read, how it checked and decided, and what it changed, in one zip file.

    manifest.json        the run, the pack's contents and the sha256 of every member
    run.json             the run's stage record(s): stage, business date, who or what started it,
                         outcome, counts, rule version, and the evidence map (path -> sha256)
    inputs.csv           input fingerprints: the batches it loaded (ingest), else those it saw
    checkpoints.json     each checkpoint's result, expectation by expectation
    changes.csv          what it changed in the ledger, row by row (the audit log)
    quarantine.csv       the rows it kept out, with every reason
    artifacts/           what it published in the Prefect UI (Markdown, tables, links)
    data_docs/           Great Expectations' Data Docs of its checkpoints, readable offline
    files/               the rule, template, contract and mapping files as the run used them
    history.json         every run up to this one, with its evidence map: what a replay runs again
    blobs/<sha256>       the content of every file history.json names, input files included

Building the pack is pure: the ledger's rows, the blobs and the artifacts come in, bytes go out.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.platform.evidence import sha256

PACK_FORMAT = 1
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # members carry no clock time: the same evidence packs the same


@dataclass
class PackInputs:
    run_id: str
    runs: pd.DataFrame  # stage_runs rows of the run
    inputs: pd.DataFrame
    checkpoints: pd.DataFrame
    changes: pd.DataFrame
    quarantine: pd.DataFrame
    history: pd.DataFrame  # stage_runs rows up to the run, oldest first
    manual: pd.DataFrame  # people's decisions between runs, up to the run
    blobs: dict[str, bytes]
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    artifacts_note: str = ""
    data_docs: dict[str, bytes] = field(default_factory=dict)  # relative path -> content


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(frame.to_json(orient="records", date_format="iso"))


def _evidence(row: dict[str, Any]) -> dict[str, Any]:
    return json.loads(row.get("evidence") or "{}")


def referenced_shas(history: pd.DataFrame) -> list[str]:
    """Every sha256 the history's evidence maps name: policy files, inputs and mappings."""
    shas: set[str] = set()
    for row in history.to_dict("records"):
        evidence = _evidence(row)
        shas.update(evidence.get("files", {}).values())
        for entry in evidence.get("inputs", []):
            shas.update(v for k, v in entry.items() if k.endswith("sha256"))
    return sorted(shas)


def _artifact_member(index: int, artifact: dict[str, Any]) -> tuple[str, bytes]:
    key = artifact.get("key") or f"artifact-{index}"
    kind = artifact.get("type") or "markdown"
    if kind == "markdown":
        return f"artifacts/{index:02d}-{key}.md", str(artifact.get("data") or "").encode("utf-8")
    return f"artifacts/{index:02d}-{key}.json", json.dumps(artifact, indent=2, default=str).encode("utf-8")


def build_pack(pack: PackInputs, *, made_at: datetime | None = None) -> bytes:
    """The zip file's bytes."""
    members: dict[str, bytes] = {}
    runs = _records(pack.runs)
    for run in runs:
        run["counts"] = json.loads(run["counts"])
        run["evidence"] = json.loads(run["evidence"])
    members["run.json"] = json.dumps(runs, indent=2).encode()
    members["inputs.csv"] = _csv(pack.inputs)
    checkpoints = _records(pack.checkpoints)
    for cp in checkpoints:
        cp["details"] = json.loads(cp["details"]) if isinstance(cp["details"], str) else cp["details"]
    members["checkpoints.json"] = json.dumps(checkpoints, indent=2).encode()
    members["changes.csv"] = _csv(pack.changes)
    members["quarantine.csv"] = _csv(pack.quarantine)
    for index, artifact in enumerate(pack.artifacts, start=1):
        name, content = _artifact_member(index, artifact)
        members[name] = content
    for path, content in sorted(pack.data_docs.items()):
        members[f"data_docs/{path}"] = content
    for run in runs:
        for path, digest in run["evidence"].get("files", {}).items():
            if digest in pack.blobs:
                members[f"files/{path}"] = pack.blobs[digest]
    history = _records(pack.history)
    for run in history:
        run["counts"] = json.loads(run["counts"])
        run["evidence"] = json.loads(run["evidence"])
    members["history.json"] = json.dumps(
        {"runs": history, "manual_decisions": _records(pack.manual)}, indent=2
    ).encode()
    for digest in referenced_shas(pack.history):
        if digest in pack.blobs:
            members[f"blobs/{digest}"] = pack.blobs[digest]
    missing = [d for d in referenced_shas(pack.history) if d not in pack.blobs]
    manifest = {
        "pack_format": PACK_FORMAT,
        "run_id": pack.run_id,
        "stages": [r["stage"] for r in runs],
        "as_of": runs[0]["as_of"][:10] if runs else None,
        "made_at": (made_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        "artifacts": len(pack.artifacts),
        "artifacts_note": pack.artifacts_note,
        "changes": len(pack.changes),
        "checkpoints": len(pack.checkpoints),
        "runs_in_history": len(history),
        "manual_decisions_in_history": len(pack.manual),
        "missing_blobs": missing,
        "members": {name: sha256(content) for name, content in sorted(members.items())},
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in [("manifest.json", json.dumps(manifest, indent=2).encode()), *members.items()]:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()


def read_data_docs(folder: Path) -> dict[str, bytes]:
    """The run's Data Docs files, by path relative to the run's folder."""
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


class PackProblem(ValueError):
    """A pack that cannot be read or checked."""


def open_pack(path: Path) -> tuple[dict[str, Any], zipfile.ZipFile]:
    """The manifest of a pack, checked member by member against its sha256, and the open archive."""
    try:
        archive = zipfile.ZipFile(path)
        manifest = json.loads(archive.read("manifest.json"))
    except (OSError, zipfile.BadZipFile, KeyError, json.JSONDecodeError) as exc:
        raise PackProblem(f"{path}: not an o2c evidence pack ({exc})") from None
    for name, digest in manifest.get("members", {}).items():
        try:
            content = archive.read(name)
        except KeyError:
            raise PackProblem(f"{path}: {name} is missing from the pack") from None
        if sha256(content) != digest:
            raise PackProblem(f"{path}: {name} does not match its sha256 in the manifest (changed?)")
    return manifest, archive

"""What a run keeps as evidence of how it decided: the rule, template, contract and mapping files as
they were when it ran, and the input files it read, each by its sha256.

`snapshot` reads the project's policy files; `input_evidence` an ingest source's file and mapping.
The ledger stores each content once (`evidence_files`) and each run's map of path -> sha256
(`stage_runs.evidence`), so `o2c audit pack` can hand an auditor the files exactly as they were,
and `o2c audit replay` can run the history again with them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.platform.config import Settings

EVIDENCE_SUFFIXES = {".yaml", ".yml", ".txt", ".html"}


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@dataclass
class Evidence:
    files: dict[str, str] = field(default_factory=dict)  # project-relative path -> sha256
    inputs: list[dict[str, Any]] = field(default_factory=list)
    blobs: dict[str, bytes] = field(default_factory=dict)  # sha256 -> content

    def as_json(self) -> dict[str, Any]:
        return {"files": dict(sorted(self.files.items())), "inputs": self.inputs}


def evidence_folders(settings: Settings) -> tuple[tuple[str, Path], ...]:
    """The folders whose files decide what a run does (policy, templates, contracts, mappings), by
    the name their files are recorded under."""
    return (("rules", settings.rules_dir), ("data_contracts", settings.contracts_dir))


def snapshot(folders: tuple[tuple[str, Path], ...]) -> Evidence:
    """Every rule, template, contract and mapping file under `folders`, by content."""
    evidence = Evidence()
    for label, folder in folders:
        for path in sorted(folder.rglob("*")):
            if (
                path.is_file()
                and path.suffix.lower() in EVIDENCE_SUFFIXES
                and "__pycache__" not in path.parts
            ):
                content = path.read_bytes()
                digest = sha256(content)
                evidence.files[f"{label}/{path.relative_to(folder).as_posix()}"] = digest
                evidence.blobs[digest] = content
    return evidence


def input_evidence(evidence: Evidence, source: str, dataset: str, mapping_path: str | None) -> None:
    """Add an ingested file (and the mapping it was read with) to a run's evidence. A SQL source
    has no file: only its name is recorded, and a replay cannot read it again."""
    path = Path(source)
    entry: dict[str, Any] = {"source": source, "name": path.name, "dataset": dataset}
    if path.is_file():
        content = path.read_bytes()
        entry["sha256"] = sha256(content)
        evidence.blobs[entry["sha256"]] = content
    if mapping_path:
        mapping = Path(mapping_path)
        if mapping.is_file():
            content = mapping.read_bytes()
            entry["mapping"] = mapping.name
            entry["mapping_sha256"] = sha256(content)
            evidence.blobs[entry["mapping_sha256"]] = content
    evidence.inputs.append(entry)

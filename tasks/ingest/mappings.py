"""Mapping files: where one may come from, how it is read and checked, and how it renames a
source's columns to the canonical ones.

A mapping file must be a small regular UTF-8 YAML file of keys, without aliases, naming only
columns its dataset has (`tasks.ingest.model.Mapping` checks them). A mapping named by whoever
starts a run must lie inside the workspace or the shipped `data_contracts/mappings/`; a sidecar
mapping (`<file>.mapping.yaml`) may not be a link leading out of its file's folder. A file that is
not a mapping is refused without quoting it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import ValidationError

from tasks.ingest.model import Mapping, SourceRejected
from tasks.platform.config import SHIPPED_CONTRACTS
from tasks.platform.contracts import load_contract

MAX_MAPPING_BYTES = 256 * 1024  # a mapping is a page of YAML


def load_mapping(path: Path, contracts_dir: Path = SHIPPED_CONTRACTS) -> Mapping:
    """Read and check a mapping file: a small regular UTF-8 YAML file of keys, without aliases.

    A file that is not a mapping is refused without quoting it: a mistaken path (`/etc/passwd`)
    never shows its content in the message."""
    if not path.exists():
        raise SourceRejected(f"{path}: mapping file not found")
    if not path.is_file():
        raise SourceRejected(f"{path.name}: a mapping must be a regular file (this is a folder or a device)")
    size = path.stat().st_size
    if size > MAX_MAPPING_BYTES:
        raise SourceRejected(
            f"{path.name}: not a valid mapping ({size:,} bytes; a mapping file is at most {MAX_MAPPING_BYTES:,})"
        )
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SourceRejected(f"{path.name}: not a valid mapping (not UTF-8 text)") from None
    try:
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=yaml.SafeLoader)):
            raise SourceRejected(
                f"{path.name}: not a valid mapping (it uses YAML aliases, *name; write each value out)"
            )
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise SourceRejected(f"{path.name}: not a valid mapping (not YAML{where})") from None
    if not isinstance(data, dict):
        raise SourceRejected(
            f"{path.name}: not a valid mapping (a mapping file is YAML keys such as dataset: and columns:)"
        )
    try:
        return Mapping.model_validate(data, context={"contracts_dir": contracts_dir})
    except ValidationError as exc:
        detail = "; ".join(_validation_problem(error) for error in exc.errors(include_input=False)[:3])
        raise SourceRejected(f"{path.name}: not a valid mapping ({detail})") from None


def _validation_problem(error: Any) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()))
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def named_mapping(path: Path, workspace: Path | None, contracts_dir: Path = SHIPPED_CONTRACTS) -> Path:
    """A mapping named by whoever started the run, refused when it lies outside the places a mapping
    may come from (the workspace, the shipped `data_contracts/mappings/` and the run's contracts
    folder's `mappings/`): a mistaken or hostile path (`../../etc/passwd`, a link out) is never read."""
    if workspace is None:
        return path
    real = path.resolve()
    shipped = (SHIPPED_CONTRACTS / "mappings", contracts_dir / "mappings")
    roots = [workspace.resolve(), *(folder.resolve() for folder in shipped)]
    if any(real.is_relative_to(root) for root in roots):
        return path
    shown = f"{path} (a link to {real})" if path.is_symlink() else str(path)
    raise SourceRejected(
        f"{shown}: a mapping file must lie inside the workspace ({roots[0]}) or data_contracts/mappings/;"
        " copy it there"
    )


def sidecar_mapping(path: Path) -> Path | None:
    """The `<file>.mapping.yaml` beside a file, if there is one; a link that leads out of the file's
    folder is refused (a mapping dropped into an inbox is read from the inbox only)."""
    sidecar = path.with_name(path.name + ".mapping.yaml")
    if not sidecar.is_symlink():
        return sidecar if sidecar.exists() else None
    real = sidecar.resolve()
    if not real.is_relative_to(path.parent.resolve()):
        raise SourceRejected(
            f"{sidecar.name}: a mapping beside a file must lie in its folder, not link to {real}"
        )
    return sidecar if sidecar.exists() else None


def apply_mapping(
    frame: pd.DataFrame,
    dataset: str,
    mapping: Mapping | None,
    source: str,
    contracts_dir: Path = SHIPPED_CONTRACTS,
) -> pd.DataFrame:
    """Rename source columns to canonical ones and check that every required column is there."""
    contract = load_contract(dataset, contracts_dir)
    frame = frame.rename(columns=lambda c: str(c).strip())
    renames = {src: canonical for canonical, src in (mapping.columns if mapping else {}).items()}
    missing_sources = [src for src in renames if src not in frame.columns]
    if missing_sources:
        raise SourceRejected(f"{source}: mapped column(s) not in the file: {', '.join(missing_sources)}")
    frame = frame.rename(columns=renames)
    if mapping and mapping.default_currency and "currency" not in frame.columns:
        frame["currency"] = mapping.default_currency
    missing = [c for c in contract.required if c not in frame.columns]
    if missing:
        raise SourceRejected(
            f"{source}: missing required column(s) {', '.join(missing)} for dataset {dataset}"
            f" (found: {', '.join(map(str, frame.columns[:12]))})"
        )
    for name in contract.columns:
        if name not in frame.columns:
            frame[name] = ""
    return frame[list(contract.columns)].reset_index(drop=True).fillna("")

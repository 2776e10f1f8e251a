"""Data contracts: what `data_contracts/<dataset>.yaml` says a dataset must hold, read and validated.

A contract names the dataset's grain, its key, its columns (type, required, unique, allowed and
refused values, minimum, and for text the longest value and whether line breaks may occur), row
rules comparing two columns, references to other datasets, and what a failure does: `quarantine`
(bad rows leave, the rest goes on) or `halt` (nothing is published), with a ceiling on the
quarantined share above which it halts anyway. `load_contract(dataset)` returns it as a `Contract`
or raises `ContractError` naming everything the file gets wrong; tasks/platform/checkpoint.py runs
it on a frame.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tasks.platform.config import SHIPPED_CONTRACTS

# text kept as text, bounded by `max_length`; the identifiers are checked (tasks/platform/bank_ids.py)
TEXT_TYPES = {"string", "terms", "email", "vat_id", "account", "accounts", "bic"}
COLUMN_TYPES = {"date", "integer", "money", "minor", "currency", "rate", *TEXT_TYPES}
TYPED_SUFFIX = {"money": "_minor", "rate": "_ppm"}
# The longest value a text column takes when its contract names no `max_length`: far beyond any
# name, reference or note a business file carries, far below what would hurt the ledger or a mailer.
DEFAULT_MAX_LENGTH = 1_000


class ContractError(ValueError):
    """A contract file that does not say what a contract must say."""


@dataclass(frozen=True)
class Contract:
    dataset: str
    grain: str
    key: tuple[str, ...]
    columns: dict[str, dict[str, Any]]
    row_rules: tuple[dict[str, Any], ...]
    references: dict[str, str]
    on_failure: str
    max_quarantine_share: float
    version: str

    def typed_column(self, name: str) -> str:
        """The column that holds `name` once parsed: money `amount` is held as `amount_minor`."""
        return name + TYPED_SUFFIX.get(self.columns[name]["type"], "")

    @property
    def required(self) -> list[str]:
        return [name for name, spec in self.columns.items() if spec.get("required")]

    def max_length(self, name: str) -> int | None:
        """The most characters a value of text column `name` may have (None: not a text column)."""
        spec = self.columns[name]
        if spec["type"] not in TEXT_TYPES:
            return None
        return int(spec.get("max_length", DEFAULT_MAX_LENGTH))

    def multiline(self, name: str) -> bool:
        """Whether values of column `name` may hold tabs and line breaks (free text, as a note)."""
        return bool(self.columns[name].get("multiline", False))


@cache
def load_contract(dataset: str, directory: Path = SHIPPED_CONTRACTS) -> Contract:
    """Read and validate `data_contracts/<dataset>.yaml`."""
    path = directory / f"{dataset}.yaml"
    if not path.exists():
        raise ContractError(f"no contract for dataset {dataset!r} ({path})")
    raw_text = path.read_bytes()
    try:
        data = yaml.safe_load(raw_text) or {}
    except yaml.YAMLError as exc:
        raise ContractError(f"{path.name}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ContractError(
            f"{path.name}: a contract is a mapping of dataset, grain, key, columns, on_failure"
        )
    problems = []
    for required_key in ("dataset", "grain", "key", "columns", "on_failure"):
        if required_key not in data:
            problems.append(f"missing '{required_key}'")
    if data.get("on_failure") not in ("quarantine", "halt"):
        problems.append("on_failure must be 'quarantine' or 'halt'")
    columns = data.get("columns") or {}
    for name, spec in columns.items():
        if (spec or {}).get("type") not in COLUMN_TYPES:
            problems.append(f"column {name}: type must be one of {sorted(COLUMN_TYPES)}")
        problems.extend(_text_rule_problems(name, spec or {}))
    for key_column in data.get("key") or []:
        if key_column not in columns:
            problems.append(f"key column {key_column} is not a declared column")
    for rule in data.get("row_rules") or []:
        for side in ("a", "b"):
            if rule.get(side) not in columns:
                problems.append(
                    f"row rule {rule.get('name', '?')}: column {rule.get(side)!r} is not declared"
                )
    for column in data.get("references") or {}:
        if column not in columns:
            problems.append(f"reference on undeclared column {column!r}")
    if problems:
        raise ContractError(f"{path.name}: " + "; ".join(problems))
    return Contract(
        dataset=data["dataset"],
        grain=data["grain"],
        key=tuple(data["key"]),
        columns={name: dict(spec) for name, spec in columns.items()},
        row_rules=tuple(data.get("row_rules") or ()),
        references=dict(data.get("references") or {}),
        on_failure=data["on_failure"],
        max_quarantine_share=float(data.get("max_quarantine_share", 1.0)),
        version=hashlib.sha256(raw_text).hexdigest()[:12],
    )


def _text_rule_problems(name: str, spec: dict[str, Any]) -> list[str]:
    """What is wrong with a column's `max_length` and `multiline`, which only text columns take."""
    problems = []
    text = spec.get("type") in TEXT_TYPES
    if "max_length" in spec:
        limit = spec["max_length"]
        if not text:
            problems.append(
                f"column {name}: max_length is for text columns ({', '.join(sorted(TEXT_TYPES))})"
            )
        elif isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            problems.append(f"column {name}: max_length must be a whole number of characters, at least 1")
    if "multiline" in spec:
        if spec.get("type") != "string":
            problems.append(f"column {name}: multiline is for string columns")
        elif not isinstance(spec["multiline"], bool):
            problems.append(f"column {name}: multiline must be true or false")
    return problems

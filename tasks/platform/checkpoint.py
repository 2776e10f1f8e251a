"""Checkpoints: a data contract run on a pandas frame between stages, and what it decides.

`run_checkpoint(frame, contract, ...)` validates the frame with the Great Expectations suite the
contract compiles to (tasks/platform/expectations.py) and returns a `CheckpointResult`: the
outcome (`passed`, `quarantined`: bad rows leave, the rest goes on; `halted`: nothing is
published), the rows that failed with every reason, and one detail entry per expectation for the
evidence. A halted result lists its first reasons (`failure_lines`), so the halt message says what
to fix in the file. The contracts themselves are read by tasks/platform/contracts.py; `Contract`,
`ContractError` and `load_contract` are importable from here too, as the stages import them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.platform.contracts import Contract
from tasks.platform.expectations import (
    compile_suite,
    quiet_great_expectations,
    validate,
    with_reference_flags,
)
from tasks.platform.parse import shown

__all__ = [
    "HALT_LINES",
    "CheckpointResult",
    "run_checkpoint",
]

HALT_LINES = 10  # reason lines under a halt's first line, the count of the rest among them


@dataclass
class CheckpointResult:
    dataset: str
    source: str
    contract_version: str
    rows_checked: int
    failed_rows: dict[int, list[str]] = field(default_factory=dict)
    details: list[dict[str, Any]] = field(default_factory=list)
    outcome: str = "passed"  # passed, quarantined, halted
    halt_reason: str | None = None
    validation: Any = field(default=None, repr=False, compare=False)  # GX's result, for the Data Docs
    # How the failed rows are named in a halt's listing: by the number a person sees in the file
    # (ingest), else by their key; and the file's own name of each mapped column.
    first_row_number: int | None = None
    row_keys: dict[int, str] = field(default_factory=dict)  # of the first failed rows only
    column_labels: dict[str, str] = field(default_factory=dict)
    row_values: dict[int, dict[str, str]] = field(default_factory=dict)  # the first failed rows, as read

    def failure_lines(self, limit: int = HALT_LINES) -> list[str]:
        """The first reasons, one line each (file, row, column, value, rule), at most `limit` lines
        with the count of the rest as the last: what a person needs to fix the file."""
        found = [(row, reason) for row in sorted(self.failed_rows) for reason in self.failed_rows[row]]
        if limit <= 0 or not found:
            return []
        shown = found if len(found) <= limit else found[: limit - 1]
        lines = [f"{self._row_label(row)}: {self._labelled(row, reason)}" for row, reason in shown]
        if len(found) > len(shown):
            rest = len(found) - len(shown)
            rows = len({row for row, _ in found[len(shown) :]})
            lines.append(f"... and {rest:,} more reason(s) in {rows:,} row(s)")
        return lines

    def _row_label(self, row: int) -> str:
        if self.first_row_number is not None:  # a file's row, numbered as a person sees it
            return f"{Path(self.source).name or self.source} row {self.first_row_number + row}"
        key = self.row_keys.get(row)  # a stage's output: the row's key
        return f"{self.dataset} {key}" if key else f"{self.dataset} row {row + 1}"

    def _labelled(self, row: int, reason: str) -> str:
        """`column: value: rule`, the column also by its name in the file where a mapping renamed it;
        the value as read is added where the rule does not quote it (a bound, a duplicate key)."""
        column, sep, rest = reason.partition(": ")
        if not sep:
            return reason
        value = self.row_values.get(row, {}).get(column)
        if value is not None and value.strip() and not rest.startswith(("'", '"')):
            rest = f"{shown(value)}: {rest}"
        label = self.column_labels.get(column)
        named = f"{column} ({label} in the file)" if label and label != column else column
        return f"{named}: {rest}"

    def as_record(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "source": self.source,
            "contract_hash": self.contract_version,
            "outcome": self.outcome,
            "rows_checked": self.rows_checked,
            "rows_failed": len(self.failed_rows),
            "details": self.details,
        }


def run_checkpoint(
    frame: pd.DataFrame,
    contract: Contract,
    *,
    source: str,
    known_keys: dict[str, set[str]] | None = None,
    prior_failures: dict[int, list[str]] | None = None,
    ceiling: float | None = None,
    first_row_number: int | None = None,
    column_labels: dict[str, str] | None = None,
    raw_rows: pd.DataFrame | None = None,
) -> CheckpointResult:
    """Validate `frame` (index = row positions) against `contract` with Great Expectations.

    `prior_failures` are reasons found while parsing (a malformed amount); they are merged with the
    expectations' findings so each failed row carries every reason once. A failed expectation whose
    `exception_info` says it raised is treated as a halt: a check that could not run is no pass.
    `ceiling` overrides the contract's `max_quarantine_share`.
    `first_row_number` (the number a person sees for position 0 of a file), `column_labels`
    (canonical column -> the file's own name) and `raw_rows` (the text as read, same index) only say
    how a halt's listing names rows, columns and values.
    """
    quiet_great_expectations()
    result = CheckpointResult(
        contract.dataset,
        source,
        contract.version,
        rows_checked=len(frame),
        first_row_number=first_row_number,
        column_labels=dict(column_labels or {}),
    )
    failed: dict[int, list[str]] = {int(k): list(v) for k, v in (prior_failures or {}).items()}
    if len(frame):
        _check_expectations(result, failed, frame, contract, known_keys)
    result.failed_rows = failed
    if result.outcome != "halted" and failed:
        result.outcome, result.halt_reason = _verdict(contract, len(failed), len(frame), ceiling)
    if result.outcome == "halted":
        _name_first_failures(result, frame, contract, raw_rows)
    return result


def _check_expectations(
    result: CheckpointResult,
    failed: dict[int, list[str]],
    frame: pd.DataFrame,
    contract: Contract,
    known_keys: dict[str, set[str]] | None,
) -> None:
    """Validate `frame` with the contract's suite: one detail per expectation on `result` (halted if
    one could not run), each unexpected row's reason added to `failed` unless the parser already
    gave one for the same column."""
    parse_failed_columns = {
        (row, reason.split(":", 1)[0]) for row, reasons in failed.items() for reason in reasons
    }
    validation = validate(with_reference_flags(frame, contract, known_keys), compile_suite(contract))
    result.validation = validation
    for outcome in validation.results:
        config = outcome.expectation_config
        column = (
            config.kwargs.get("column")
            or config.kwargs.get("column_A")
            or ",".join(config.kwargs.get("column_list") or [])
        )
        raised = _raised(outcome.exception_info)
        unexpected = [int(i) for i in (outcome.result or {}).get("unexpected_index_list") or []]
        result.details.append(
            {
                "expectation": config.type,
                "column": column,
                "success": bool(outcome.success),
                "unexpected_count": len(unexpected),
                "raised": raised,
            }
        )
        if raised:
            result.outcome = "halted"
            result.halt_reason = f"expectation {config.type} on {column} could not run"
            continue
        meta = config.meta or {}
        reason = _reason(contract, config.type, column, config.kwargs, meta)
        base_column = meta.get("column") or _base_column(contract, column)
        for row in unexpected:
            if (row, base_column) in parse_failed_columns:
                continue  # the parser already said what is wrong with this value
            failed.setdefault(row, []).append(reason)


def _raised(exception_info: dict[str, Any] | None) -> bool:
    """Whether GX says an expectation raised instead of checking."""
    if exception_info and exception_info.get("raised_exception"):
        return True
    # GX 1.x reports per-metric exceptions in a dict keyed by metric id.
    return any(isinstance(v, dict) and v.get("raised_exception") for v in (exception_info or {}).values())


def _verdict(contract: Contract, failed: int, rows: int, ceiling: float | None) -> tuple[str, str | None]:
    """The outcome and halt reason of a check where `failed` of `rows` rows break the contract."""
    share = failed / max(rows, 1)
    limit = contract.max_quarantine_share if ceiling is None else ceiling
    if contract.on_failure == "halt":
        return "halted", f"{failed} row(s) break the contract"
    if share > limit:
        return "halted", f"{share:.0%} of rows break the contract, above the ceiling of {limit:.0%}"
    return "quarantined", None


def _name_first_failures(
    result: CheckpointResult, frame: pd.DataFrame, contract: Contract, raw_rows: pd.DataFrame | None
) -> None:
    """Keep on a halted `result` what its listing needs to name its first failed rows: their keys
    (a frame no file numbers) and their values as read."""
    first_failed = sorted(result.failed_rows)[:HALT_LINES]
    if result.first_row_number is None:
        result.row_keys = _row_keys(frame, contract, first_failed)
    if raw_rows is not None:
        result.row_values = {
            row: {str(c): str(v) for c, v in raw_rows.loc[row].items()}
            for row in first_failed
            if row in raw_rows.index
        }


def _row_keys(frame: pd.DataFrame, contract: Contract, rows: list[int]) -> dict[int, str]:
    """The key of each of `rows` as text (`P1/I1`), for naming rows of a frame no file numbers."""
    columns = [contract.typed_column(k) for k in contract.key if contract.typed_column(k) in frame.columns]
    if not columns:
        return {}
    keys = {}
    for row in rows:
        if row in frame.index:
            keys[row] = "/".join(str(frame.at[row, c]) for c in columns)
    return keys


def _base_column(contract: Contract, column: str) -> str:
    for name in contract.columns:
        if contract.typed_column(name) == column:
            return name
    return column


def _reason(
    contract: Contract, expectation: str, column: str, kwargs: dict[str, Any], meta: dict[str, Any]
) -> str:
    name = meta.get("column") or _base_column(contract, column)
    if expectation == "expect_column_values_to_not_be_null":
        return f"{name}: required value is missing"
    if (
        expectation == "expect_column_values_to_be_unique"
        or expectation == "expect_compound_columns_to_be_unique"
    ):
        return f"{name}: duplicate key in this batch"
    if expectation == "expect_column_values_to_be_between":
        bounds = []
        if kwargs.get("min_value") is not None:
            bounds.append(f">= {kwargs['min_value']:g}")
        if kwargs.get("max_value") is not None:
            bounds.append(f"<= {kwargs['max_value']:g}")
        return f"{name}: must be {' and '.join(bounds)}"
    if expectation == "expect_column_values_to_be_in_set":
        if meta.get("references"):
            return f"{name}: unknown {meta['references'][:-1] if meta['references'].endswith('s') else meta['references']}"
        allowed = ", ".join(map(str, kwargs.get("value_set", [])))
        return f"{name}: not one of {allowed}"
    if expectation == "expect_column_values_to_not_be_in_set":
        return f"{name}: must not be {', '.join(map(str, kwargs.get('value_set', [])))}"
    if expectation == "expect_column_pair_values_a_to_be_greater_than_b":
        other = _base_column(contract, kwargs["column_B"])
        op = ">=" if kwargs.get("or_equal") else ">"
        return f"{name}: must be {op} {other} ({meta.get('rule', 'row rule')})"
    return f"{name}: fails {expectation}"

"""Checkpoints: a data contract run on a batch (a pandas frame or an Arrow table) between stages,
and what it decides.

`run_checkpoint(frame, contract, ...)` runs every check of the contract
(tasks/platform/contract_checks.py) as SQL over every row in the compute engine
(tasks/platform/checkpoint_sql.py), and Great Expectations on a bounded sample of the rows, held
against the SQL on the same rows (tasks/platform/checkpoint_gx.py), for the Data Docs. It returns a
`CheckpointResult`: the outcome (`passed`, `quarantined`: bad rows leave, the rest goes on;
`halted`: nothing is published), the rows that failed with every reason, and one detail entry per
expectation for the evidence, its counts those of the SQL over every row. A halted result lists its first reasons (`failure_lines`), so the halt message says what
to fix in the file. The contracts themselves are read by tasks/platform/contracts.py; `Contract`,
`ContractError` and `load_contract` are importable from here too, as the stages import them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from tasks.platform.checkpoint_gx import gx_on_sample
from tasks.platform.checkpoint_sql import Found, checked_table, key_tables, run_checks
from tasks.platform.contract_checks import contract_checks
from tasks.platform.contracts import Contract
from tasks.platform.expectations import quiet_great_expectations
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
    # GX's result on a sample of the rows, for the Data Docs; its meta["o2c_sample"] says on what
    validation: Any = field(default=None, repr=False, compare=False)
    # How the failed rows are named in a halt's listing: by the number a person sees in the file
    # (ingest), else by their key; and the file's own name of each mapped column.
    first_row_number: int | None = None
    row_keys: dict[int, str] = field(default_factory=dict)  # of the first failed rows only
    column_labels: dict[str, str] = field(default_factory=dict)
    row_values: dict[int, dict[str, str]] = field(default_factory=dict)  # the first failed rows, as read
    # seconds spent: "sql" (the checks over every row), "gx" (GX on the sample and its comparison)
    seconds: dict[str, float] = field(default_factory=dict, repr=False, compare=False)

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
    frame: pd.DataFrame | pa.Table,
    contract: Contract,
    *,
    source: str,
    known_keys: dict[str, set[str]] | None = None,
    prior_failures: dict[int, list[str]] | None = None,
    ceiling: float | None = None,
    first_row_number: int | None = None,
    column_labels: dict[str, str] | None = None,
    raw_rows: pd.DataFrame | pa.Table | None = None,
) -> CheckpointResult:
    """Check `frame` against `contract`: every rule as SQL over every row, and Great Expectations on
    a sample of the rows, for the Data Docs.

    `frame` is a pandas frame (its index labels are the row positions the result names) or an Arrow
    table (rows named by their place in it). `prior_failures` are reasons found while parsing (a
    malformed amount); they are merged with the checks' findings so each failed row carries every
    reason once, a parser's reason for a column standing in for the check's on the same column. A
    check that could not run (a column the frame lacks) halts: a check that could not run is no
    pass; so does a sampled row on which GX and the SQL checks disagree.
    `ceiling` overrides the contract's `max_quarantine_share`.
    `first_row_number` (the number a person sees for position 0 of a file), `column_labels`
    (canonical column -> the file's own name) and `raw_rows` (the text as read, same rows) only say
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
        _check_rows(result, failed, frame, contract, known_keys)
    result.failed_rows = failed
    if result.outcome != "halted" and failed:
        result.outcome, result.halt_reason = _verdict(contract, len(failed), len(frame), ceiling)
    if result.outcome == "halted":
        _name_first_failures(result, frame, contract, raw_rows)
    return result


def _check_rows(
    result: CheckpointResult,
    failed: dict[int, list[str]],
    frame: pd.DataFrame | pa.Table,
    contract: Contract,
    known_keys: dict[str, set[str]] | None,
) -> None:
    """Run the contract's checks as SQL over every row (the details and reasons on `result` and in
    `failed`), then GX on a sample (`result.validation`), halting where the two disagree."""
    began = time.perf_counter()
    table, keys = checked_table(frame, contract), key_tables(known_keys)
    found = run_checks(table, contract_checks(contract), keys)
    # in GX's order of results: the checks that could not run first
    _record(result, failed, [f for f in found if f.raised] + [f for f in found if not f.raised])
    checked = time.perf_counter()
    gx = gx_on_sample(frame, table, contract, found, known_keys, keys)
    result.seconds = {"sql": checked - began, "gx": time.perf_counter() - checked}
    result.validation = gx.validation
    if gx.disagreements:
        result.outcome = "halted"
        result.halt_reason = "; ".join([*filter(None, [result.halt_reason]), *gx.disagreements])


def _record(result: CheckpointResult, failed: dict[int, list[str]], found: list[Found]) -> None:
    """One detail per check on `result` (halted if one could not run), each failing row's reason
    added to `failed` unless the parser already gave one for the same column."""
    parse_failed_columns = {
        (row, reason.split(":", 1)[0]) for row, reasons in failed.items() for reason in reasons
    }
    for one in found:
        check = one.check
        result.details.append(
            {
                "expectation": check.expectation,
                "column": check.column,
                "success": not one.raised and one.count == 0,
                "unexpected_count": one.count,
                "raised": one.raised,
            }
        )
        if one.rows is None:
            result.outcome = "halted"
            result.halt_reason = f"expectation {check.expectation} on {check.column} could not run"
            continue
        for row in np.sort(one.rows).tolist():
            if parse_failed_columns and (row, check.base_column) in parse_failed_columns:
                continue  # the parser already said what is wrong with this value
            failed.setdefault(row, []).append(check.reason)


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
    result: CheckpointResult,
    frame: pd.DataFrame | pa.Table,
    contract: Contract,
    raw_rows: pd.DataFrame | pa.Table | None,
) -> None:
    """Keep on a halted `result` what its listing needs to name its first failed rows: their keys
    (a frame no file numbers) and their values as read."""
    first_failed = sorted(result.failed_rows)[:HALT_LINES]
    if result.first_row_number is None:
        result.row_keys = _row_keys(frame, contract, first_failed)
    if raw_rows is not None:
        result.row_values = {
            row: {str(c): str(v) for c, v in record.items()}
            for row, record in _records(raw_rows, first_failed).items()
        }


def _row_keys(frame: pd.DataFrame | pa.Table, contract: Contract, rows: list[int]) -> dict[int, str]:
    """The key of each of `rows` as text (`P1/I1`), for naming rows of a frame no file numbers."""
    names = frame.column_names if isinstance(frame, pa.Table) else frame.columns
    columns = [contract.typed_column(k) for k in contract.key if contract.typed_column(k) in names]
    if not columns:
        return {}
    return {
        row: "/".join(str(record[c]) for c in columns)
        for row, record in _records(frame, rows, columns).items()
    }


def _records(
    frame: pd.DataFrame | pa.Table, rows: list[int], columns: list[str] | None = None
) -> dict[int, dict[Any, Any]]:
    """The values of each of `rows` that `frame` holds (by index label, or by place in an Arrow
    table), of `columns` or of all."""
    if isinstance(frame, pa.Table):
        held = [row for row in rows if 0 <= row < frame.num_rows]
        part = frame.select(columns) if columns is not None else frame
        return dict(zip(held, part.take(pa.array(held, pa.int64())).to_pylist(), strict=True))
    held = [row for row in rows if row in frame.index]
    names = list(frame.columns) if columns is None else columns
    return {row: {c: frame.at[row, c] for c in names} for row in held}

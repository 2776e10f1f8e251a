"""Data contracts compiled to Great Expectations suites, run on pandas frames between stages.

A contract (`data_contracts/<dataset>.yaml`) names the dataset's grain, its key, its columns
(type, required, unique, allowed and refused values, minimum, and for text the longest value and
whether line breaks may occur), row rules comparing two columns, references to
other datasets, and what a failure does: `quarantine` (bad rows leave, the rest goes on) or `halt`
(nothing is published), with a ceiling on the quarantined share above which it halts anyway.

`run_checkpoint(frame, contract, ...)` returns a `CheckpointResult`: the outcome, the rows that
failed with every reason, and one detail entry per expectation for the evidence. A halted result
lists its first reasons (`failure_lines`), so the halt message says what to fix in the file.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from tasks.platform.config import CONTRACTS_DIR
from tasks.platform.parse import shown

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

COLUMN_TYPES = {"string", "date", "integer", "money", "minor", "currency", "rate", "terms", "email"}
TEXT_TYPES = {"string", "terms", "email"}  # text kept as text: bounded by `max_length`
TYPED_SUFFIX = {"money": "_minor", "rate": "_ppm"}
# The longest value a text column takes when its contract names no `max_length`: far beyond any
# name, reference or note a business file carries, far below what would hurt the ledger or a mailer.
DEFAULT_MAX_LENGTH = 1_000
HALT_LINES = 10  # reason lines under a halt's first line, the count of the rest among them


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


@cache
def load_contract(dataset: str, directory: Path = CONTRACTS_DIR) -> Contract:
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


def compile_suite(contract: Contract) -> Any:
    """The Great Expectations suite that checks `contract` on a parsed frame.

    A reference such as `customer_id: customers` becomes an expectation on the flag column that
    `with_reference_flags` adds (does the value exist in the ledger or this batch?).
    """
    import great_expectations as gx
    import great_expectations.expectations as gxe

    _context()  # GX builds suites only while a data context is active
    suite = gx.ExpectationSuite(name=f"{contract.dataset}-{contract.version}")
    for name, spec in contract.columns.items():
        column = contract.typed_column(name)
        if spec.get("required"):
            suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=column))
        if spec.get("allowed"):
            suite.add_expectation(
                gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(spec["allowed"]))
            )
        if spec.get("not"):
            suite.add_expectation(
                gxe.ExpectColumnValuesToNotBeInSet(column=column, value_set=list(spec["not"]))
            )
        if "min" in spec or "max" in spec:
            suite.add_expectation(
                gxe.ExpectColumnValuesToBeBetween(
                    column=column, min_value=spec.get("min"), max_value=spec.get("max")
                )
            )
    if len(contract.key) == 1:
        suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column=contract.typed_column(contract.key[0])))
    elif contract.key:
        suite.add_expectation(
            gxe.ExpectCompoundColumnsToBeUnique(column_list=[contract.typed_column(k) for k in contract.key])
        )
    for rule in contract.row_rules:
        suite.add_expectation(
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=contract.typed_column(rule["a"]),
                column_B=contract.typed_column(rule["b"]),
                or_equal=rule.get("op", ">=") == ">=",
                ignore_row_if="either_value_is_missing",
                meta={"rule": rule["name"]},
            )
        )
    for column, dataset in contract.references.items():
        # GX's in-set check is slow on large key sets (20 s for 250,000 rows against 110,000 keys),
        # so the lookup is a hash join in pandas and GX checks its flag; the evidence stays in GX.
        suite.add_expectation(
            gxe.ExpectColumnValuesToBeInSet(
                column=_reference_flag(column, dataset),
                value_set=[True],
                meta={"references": dataset, "column": column},
            )
        )
    return suite


def _reference_flag(column: str, dataset: str) -> str:
    return f"{column}__exists_in_{dataset}"


def with_reference_flags(
    frame: pd.DataFrame, contract: Contract, known_keys: dict[str, set[str]] | None
) -> pd.DataFrame:
    """`frame` plus one boolean column per reference: does the value exist in the referenced dataset?
    A missing value counts as existing here; the required check reports it."""
    if not contract.references:
        return frame
    flagged = frame.copy()
    for column, dataset in contract.references.items():
        values = flagged[contract.typed_column(column)]
        keys = (known_keys or {}).get(dataset, set())
        flagged[_reference_flag(column, dataset)] = values.isna() | values.isin(keys)
    return flagged


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
    `first_row_number` (the number a person sees for position 0 of a file), `column_labels`
    (canonical column -> the file's own name) and `raw_rows` (the text as read, same index) only say
    how a halt's listing names rows, columns and values.
    """
    result = CheckpointResult(
        contract.dataset,
        source,
        contract.version,
        rows_checked=len(frame),
        first_row_number=first_row_number,
        column_labels=dict(column_labels or {}),
    )
    failed: dict[int, list[str]] = {int(k): list(v) for k, v in (prior_failures or {}).items()}
    parse_failed_columns = {
        (row, reason.split(":", 1)[0]) for row, reasons in failed.items() for reason in reasons
    }
    if len(frame):
        validation = _validate(with_reference_flags(frame, contract, known_keys), compile_suite(contract))
        result.validation = validation
        for outcome in validation.results:
            config = outcome.expectation_config
            column = (
                config.kwargs.get("column")
                or config.kwargs.get("column_A")
                or ",".join(config.kwargs.get("column_list") or [])
            )
            raised = bool(outcome.exception_info and outcome.exception_info.get("raised_exception"))
            if not raised:
                # GX 1.x reports per-metric exceptions in a dict keyed by metric id.
                raised = any(
                    isinstance(v, dict) and v.get("raised_exception")
                    for v in (outcome.exception_info or {}).values()
                )
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
    result.failed_rows = failed
    if result.outcome != "halted" and failed:
        share = len(failed) / max(len(frame), 1)
        limit = contract.max_quarantine_share if ceiling is None else ceiling
        if contract.on_failure == "halt":
            result.outcome, result.halt_reason = "halted", f"{len(failed)} row(s) break the contract"
        elif share > limit:
            result.outcome = "halted"
            result.halt_reason = f"{share:.0%} of rows break the contract, above the ceiling of {limit:.0%}"
        else:
            result.outcome = "quarantined"
    if result.outcome == "halted":
        first_failed = sorted(failed)[:HALT_LINES]
        if first_row_number is None:
            result.row_keys = _row_keys(frame, contract, first_failed)
        if raw_rows is not None:
            result.row_values = {
                row: {str(c): str(v) for c, v in raw_rows.loc[row].items()}
                for row in first_failed
                if row in raw_rows.index
            }
    return result


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


def _validate(frame: pd.DataFrame, suite: Any) -> Any:
    context = _context()
    source = context.data_sources.add_or_update_pandas("o2c")
    asset_name = f"{suite.name}"
    try:
        asset = source.get_asset(asset_name)
    except LookupError:
        asset = source.add_dataframe_asset(asset_name)
    try:
        batch_definition = asset.get_batch_definition("whole")
    except KeyError:
        batch_definition = asset.add_batch_definition_whole_dataframe("whole")
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    return batch.validate(suite, result_format={"result_format": "COMPLETE"})


@cache
def _context() -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        analytics_enabled=False,
    )
    return gx.get_context(project_config=config)

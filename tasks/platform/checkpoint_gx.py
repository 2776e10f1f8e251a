"""Great Expectations at a checkpoint: a real GX validation on a bounded sample of the batch, held
against the SQL checks on the same rows, for the Data Docs an auditor reads.

The SQL checks (tasks/platform/checkpoint_sql.py) decide a checkpoint over every row. GX validates
the contract's suite on a sample whose size does not grow with the batch: the first
`FAILING_PER_CHECK` rows each check found failing (a duplicate key's rows together) and
`PASSING_ROWS` of the rows failing none, spread evenly over the batch. The same SQL then runs on the
sample alone, and each expectation's unexpected rows as GX found them must be the rows the SQL
found: `gx_on_sample(...)` returns GX's result, with `meta["o2c_sample"]` saying what it was run
on, the counts of the whole batch and whether the two agree, and the disagreements, which halt the
checkpoint (tasks/platform/checkpoint.py): a check whose two readings differ is no pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from tasks.platform.checkpoint_sql import ROW, Found, run_checks
from tasks.platform.contracts import Contract
from tasks.platform.data_docs import SAMPLE_KEY
from tasks.platform.expectations import compile_suite, validate, with_reference_flags

FAILING_PER_CHECK = 100  # of each check's failing rows, the first so many
PASSING_ROWS = 1_000  # rows failing no check, spread evenly over the batch


@dataclass
class GxSample:
    """GX's result on the sample, and where it and the SQL checks on the same rows disagree."""

    validation: Any
    disagreements: list[str] = field(default_factory=list)


def gx_on_sample(
    frame: pd.DataFrame | pa.Table,
    table: pa.Table,
    contract: Contract,
    found: list[Found],
    known_keys: dict[str, set[str]] | None,
    keys: dict[str, pa.Table],
) -> GxSample:
    """Validate the contract's suite with GX on a sample of `frame` (`table`: the same rows as the
    SQL checks read them; `found`: what they found over every row; `keys`: `known_keys` as the SQL
    reads them) and hold GX's findings against the SQL's on the sample's rows."""
    positions, failing = sample_positions(table.column(ROW).to_numpy(), found)
    sample = _sample_frame(frame, positions)
    validation = validate(with_reference_flags(sample, contract, known_keys), compile_suite(contract))
    on_sample = run_checks(table.take(pa.array(positions)), [f.check for f in found], keys)
    checks, disagreements = _compared(validation, found, on_sample)
    validation.meta[SAMPLE_KEY] = {
        "rows_checked": table.num_rows,
        "rows_sampled": len(positions),
        "failing_rows_sampled": failing,
        "passing_rows_sampled": len(positions) - failing,
        "failing_per_check": FAILING_PER_CHECK,
        "passing_rows": PASSING_ROWS,
        "agrees": not disagreements,
        "checks": checks,
    }
    return GxSample(validation, disagreements)


def sample_positions(rows: np.ndarray, found: list[Found]) -> tuple[np.ndarray, int]:
    """The positions (in the batch's order) of the sampled rows, and how many of them fail a check.

    `rows` is each row's `o2c_row`, `found` each check's failing `o2c_row`s."""
    failing = [f.rows[:FAILING_PER_CHECK] for f in found if f.rows is not None]
    every_failing = [f.rows for f in found if f.rows is not None]
    chosen = np.unique(np.concatenate(failing)) if failing else np.empty(0, np.int64)
    failed = np.unique(np.concatenate(every_failing)) if every_failing else np.empty(0, np.int64)
    passing = np.flatnonzero(~np.isin(rows, failed))
    if len(passing) > PASSING_ROWS:
        passing = passing[np.linspace(0, len(passing) - 1, PASSING_ROWS).round().astype(np.int64)]
    chosen_positions = np.flatnonzero(np.isin(rows, chosen))
    positions = np.union1d(chosen_positions, passing).astype(np.int64)
    return positions, len(chosen_positions)


def _sample_frame(frame: pd.DataFrame | pa.Table, positions: np.ndarray) -> pd.DataFrame:
    """The sampled rows as GX reads them: a pandas frame indexed by each row's position label."""
    if isinstance(frame, pd.DataFrame):
        return frame.iloc[positions]
    sample = frame.take(pa.array(positions)).to_pandas(types_mapper=_nullable, date_as_object=False)
    sample.index = pd.Index(positions)
    return sample


def _nullable(kind: pa.DataType) -> Any:
    """Whole numbers stay whole numbers with missing values (not floats) in the frame GX reads."""
    if pa.types.is_integer(kind):
        return pd.Int64Dtype()
    return None


def _compared(
    validation: Any, found: list[Found], on_sample: list[Found]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Per check, in GX's order of results: the whole batch's count (SQL), the sample's (GX and SQL)
    and whether GX and SQL name the same rows; and a line for each check where they do not."""
    checks, disagreements = [], []
    by_key: dict[tuple[Any, ...], list[tuple[Found, Found]]] = {}
    for whole, sampled in zip(found, on_sample, strict=True):
        by_key.setdefault(_key(whole.check.expectation, whole.check.kwargs, whole.check.meta), []).append(
            (whole, sampled)
        )
    for outcome in validation.results:
        config = outcome.expectation_config
        pairs = by_key.get(_key(config.type, config.kwargs, config.meta or {})) or []
        if not pairs:
            disagreements.append(f"Great Expectations ran {config.type}, which no SQL check runs")
            continue
        whole, sampled = pairs.pop(0)
        check = whole.check
        gx_rows = None if raised(outcome.exception_info) else _gx_rows(outcome)
        same = _same_rows(gx_rows, sampled.rows)
        checks.append(
            {
                "expectation": check.expectation,
                "column": check.column,
                "batch_unexpected": None if whole.raised else whole.count,
                "sample_unexpected": None if gx_rows is None else len(gx_rows),
                "sample_unexpected_sql": None if sampled.raised else sampled.count,
                "agrees": same,
            }
        )
        if not same:
            disagreements.append(
                f"Great Expectations and the SQL checks disagree on {check.expectation} on {check.column}"
                f" in the sample (GX: {_counted(gx_rows)}, SQL: {_counted(sampled.rows)} unexpected row(s))"
            )
    left = [whole.check for pairs in by_key.values() for whole, _ in pairs]
    disagreements.extend(f"the SQL checks ran {c.expectation} on {c.column}, which GX did not" for c in left)
    return checks, disagreements


def _key(expectation: str, kwargs: Any, meta: dict[str, Any]) -> tuple[Any, ...]:
    """What tells one expectation of a suite from another (two row rules may share column_A)."""
    column_list = tuple(kwargs.get("column_list") or ())
    return (
        expectation,
        kwargs.get("column"),
        kwargs.get("column_A"),
        kwargs.get("column_B"),
        column_list,
        meta.get("rule"),
    )


def _gx_rows(outcome: Any) -> set[int]:
    return {int(i) for i in (outcome.result or {}).get("unexpected_index_list") or []}


def _same_rows(gx_rows: set[int] | None, sql_rows: np.ndarray | None) -> bool:
    if gx_rows is None or sql_rows is None:
        return gx_rows is None and sql_rows is None
    return gx_rows == set(sql_rows.tolist())


def _counted(rows: Any) -> str:
    return "could not run" if rows is None else str(len(rows))


def raised(exception_info: dict[str, Any] | None) -> bool:
    """Whether GX says an expectation raised instead of checking."""
    if exception_info and exception_info.get("raised_exception"):
        return True
    # GX 1.x reports per-metric exceptions in a dict keyed by metric id.
    return any(isinstance(v, dict) and v.get("raised_exception") for v in (exception_info or {}).values())

"""Great Expectations, as a checkpoint uses it: the suite a `Contract` compiles to, the reference
flags a frame gets so that GX can check references, and validating a frame in an in-memory data
context (no files, no progress bars, no analytics).

Great Expectations is imported inside the functions: importing it takes seconds. Its analytics are
switched off (`GX_ANALYTICS_ENABLED=false`, unless already set) by `quiet_great_expectations()`,
which every function here calls before GX is used.
"""

from __future__ import annotations

import logging
import os
from functools import cache
from typing import Any

import pandas as pd

from tasks.platform.contracts import Contract


def quiet_great_expectations() -> None:
    """Switch GX's analytics off for this process (and what it starts) unless the environment
    already says otherwise; called before a checkpoint runs."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


def compile_suite(contract: Contract) -> Any:
    """The Great Expectations suite that checks `contract` on a parsed frame.

    A reference such as `customer_id: customers` becomes an expectation on the flag column that
    `with_reference_flags` adds (does the value exist in the ledger or this batch?).
    """
    quiet_great_expectations()
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


def validate(frame: pd.DataFrame, suite: Any) -> Any:
    """GX's validation result (`result_format COMPLETE`: every unexpected row's index) of `suite` on
    `frame`, in the in-memory data context."""
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
    """The in-memory GX data context of this process, built once."""
    quiet_great_expectations()
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

"""Great Expectations, as a checkpoint uses it: the suite a `Contract` compiles to, the reference
flags a frame gets so that GX can check references, and validating a frame in an in-memory data
context (no files, no progress bars, no analytics).

Great Expectations is imported inside the functions: importing it takes seconds. Its analytics are
switched off (`GX_ANALYTICS_ENABLED=false`, unless already set) by `quiet_great_expectations()`,
which every function here calls before GX is used.
"""

from __future__ import annotations

import copy
import logging
import os
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from tasks.platform.contract_checks import (
    A_GREATER_THAN_B,
    BETWEEN,
    COMPOUND_UNIQUE,
    IN_SET,
    NOT_IN_SET,
    NOT_NULL,
    UNIQUE,
    contract_checks,
    reference_flag,
)
from tasks.platform.contracts import Contract


def quiet_great_expectations() -> None:
    """Switch GX's analytics off for this process (and what it starts) unless the environment
    already says otherwise; called before a checkpoint runs."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


def compile_suite(contract: Contract) -> Any:
    """The Great Expectations suite that checks `contract` on a parsed frame: one expectation per
    check of `contract_checks(contract)`, the list the SQL checks run too.

    A reference such as `customer_id: customers` becomes an expectation on the flag column that
    `with_reference_flags` adds (does the value exist in the ledger or this batch?).
    """
    quiet_great_expectations()
    import great_expectations as gx
    import great_expectations.expectations as gxe

    _context()  # GX builds suites only while a data context is active
    kinds = {
        NOT_NULL: gxe.ExpectColumnValuesToNotBeNull,
        IN_SET: gxe.ExpectColumnValuesToBeInSet,
        NOT_IN_SET: gxe.ExpectColumnValuesToNotBeInSet,
        BETWEEN: gxe.ExpectColumnValuesToBeBetween,
        UNIQUE: gxe.ExpectColumnValuesToBeUnique,
        COMPOUND_UNIQUE: gxe.ExpectCompoundColumnsToBeUnique,
        A_GREATER_THAN_B: gxe.ExpectColumnPairValuesAToBeGreaterThanB,
    }
    suite = gx.ExpectationSuite(name=f"{contract.dataset}-{contract.version}")
    for check in contract_checks(contract):
        meta = {"meta": dict(check.meta)} if check.meta else {}
        suite.add_expectation(kinds[check.expectation](**copy.deepcopy(check.kwargs), **meta))
    return suite


def with_reference_flags(
    frame: pd.DataFrame, contract: Contract, known_keys: dict[str, set[str]] | None
) -> pd.DataFrame:
    """`frame` plus one boolean column per reference: does the value exist in the referenced dataset?
    A missing value counts as existing here; the required check reports it. A frame without the
    column gets no flag, so GX's check of it cannot run, as the SQL check cannot."""
    if not contract.references:
        return frame
    flagged = frame.copy()
    for column, dataset in contract.references.items():
        typed = contract.typed_column(column)
        if typed not in flagged.columns:
            continue
        values = flagged[typed]
        keys = (known_keys or {}).get(dataset, set())
        # a set lookup per value: a sample is small, a ledger's keys are many (no hash table of them)
        known = [value in keys for value in values.astype(object)]
        flagged[reference_flag(column, dataset)] = values.isna().to_numpy() | np.array(known, dtype=bool)
    return flagged


def validate(frame: pd.DataFrame, suite: Any) -> Any:
    """GX's validation result (`result_format COMPLETE`: every unexpected row's index) of `suite` on
    `frame`, in the in-memory data context. A checkpoint hands it a sample of its batch
    (tasks/platform/checkpoint_gx.py), so what it costs does not grow with the batch."""
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

"""`row_dicts` and `dicts_by` give what pandas' own `to_dict` gives, value for value and type for
type, on every kind of column a ledger read or a stage's frame holds."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from tasks.platform.presentation import dicts_by, row_dicts


def frame() -> pd.DataFrame:
    arrow = pa.table(
        {
            "text": pa.array(["a", None, "c", "a"], pa.string()),
            "day": pa.array([date(2026, 1, 1), None, date(2026, 3, 1), date(2026, 4, 1)], pa.date32()),
            "minor": pa.array([1, None, 3, 4], pa.int64()),
        }
    ).to_pandas(types_mapper=pd.ArrowDtype)
    return pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C1"],
            "count": np.array([1, 2, 3, 4], dtype=np.int64),
            "share": [0.5, np.nan, 1.25, 2.0],
            "name": ["Ä", None, "c", "d"],
            "due": pd.to_datetime(["2026-01-31", None, "2026-02-28", "2026-03-31"]),
            "flag": [True, False, True, False],
            "maybe": pd.array([1, None, 3, 4], dtype="Int64"),
            "arrow_text": arrow["text"],
            "arrow_day": arrow["day"],
            "arrow_minor": arrow["minor"],
        }
    )


def shown(rows: Any) -> str:
    """Every value with its type, missing values included (NaN, NA and NaT are not equal to themselves)."""
    if isinstance(rows, dict):
        return repr({k: shown(v) for k, v in rows.items()})
    if isinstance(rows, list):
        return repr([shown(v) for v in rows])
    return f"{type(rows).__name__}:{rows!r}"


def test_rows_as_pandas_gives_them() -> None:
    assert shown(row_dicts(frame())) == shown(frame().to_dict("records"))


def test_rows_by_key_as_pandas_gives_them() -> None:
    by_pandas = frame().drop_duplicates("customer_id").set_index("customer_id").to_dict("index")
    assert list(dicts_by(frame(), "customer_id")) == ["C1", "C2", "C3"]
    assert shown(dicts_by(frame(), "customer_id")) == shown(by_pandas)


def test_no_rows() -> None:
    assert row_dicts(frame().iloc[:0]) == []
    assert dicts_by(frame().iloc[:0], "customer_id") == {}

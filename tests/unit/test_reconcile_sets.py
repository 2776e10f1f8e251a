"""`among`: membership of a frame column's ids in a set, as pandas' `isin` gives it."""

from __future__ import annotations

import pandas as pd
import pytest

from tasks.reconcile.sets import among

IDS = pd.Series(["P-1", "P-2", "P-3", "P-2"], dtype=object)


@pytest.mark.parametrize(
    "wanted",
    [{"P-2", "P-9"}, frozenset({"P-2"}), {"P-2": 1}.keys(), pd.Series(["P-2"]), ["P-2"]],
    ids=["set", "frozenset", "dict keys", "series", "list"],
)
def test_among_says_what_isin_says(wanted: object) -> None:
    assert among(IDS, wanted).tolist() == [False, True, False, True]  # type: ignore[arg-type]
    assert among(IDS, wanted).tolist() == IDS.isin(list(wanted)).tolist()  # type: ignore[call-overload]


def test_among_of_no_rows_is_empty() -> None:
    assert among(IDS.iloc[:0], {"P-1"}).tolist() == []


def test_frames_are_put_in_order_as_pandas_puts_them_missing_values_last_ties_kept() -> None:
    from datetime import date

    import numpy as np
    import pandas as pd

    from tasks.reconcile.sets import in_order

    rng = np.random.default_rng(4)
    days = pd.to_datetime(["2026-03-01", "2026-02-01", None, "2026-03-01"])
    frame = pd.DataFrame(
        {
            "value_date": rng.choice(days, 400),
            "payment_id": rng.choice(["P-10", "P-9", "Ä-1", "p-1", None], 400),
            "row": range(400),  # ties on both keys keep this order
        }
    )
    expected = frame.sort_values(["value_date", "payment_id"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(in_order(frame, ["value_date", "payment_id"]), expected)
    as_dates = frame.assign(value_date=[None if pd.isna(d) else d.date() for d in frame["value_date"]])
    expected = as_dates.sort_values(["value_date", "payment_id"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(in_order(as_dates, ["value_date", "payment_id"]), expected)
    mixed = pd.DataFrame({"key": [3, "b", date(2026, 1, 1)], "row": [0, 1, 2]})  # Arrow cannot type it
    with pytest.raises(TypeError):
        mixed.sort_values(["key"], kind="stable")
    with pytest.raises(TypeError):
        in_order(mixed, ["key"])

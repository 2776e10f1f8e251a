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

"""What a run can be limited to: a legal entity's customers, a pilot's file, a segment; refused
with one line when it names nobody; and a scoped replacement leaves every other row as it was."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tasks.platform.ledger import Publication
from tasks.platform.scope import ScopeProblem, read_customer_ids, replacing, resolve

from .tables import table

CUSTOMERS = table("""
    | customer_id | entity  | segment |
    | K1          | DE01    | pilot   |
    | K2          | FR01    |         |
    | K3          | DE01    |         |
    | K4          | default | pilot   |
""")


def test_an_entity_a_segment_or_a_list_names_its_customers() -> None:
    assert resolve(CUSTOMERS) is None
    assert resolve(CUSTOMERS, entity="DE01").customers == {"K1", "K3"}  # type: ignore[union-attr]
    assert resolve(CUSTOMERS, entity="default").customers == {"K4"}  # type: ignore[union-attr]
    assert resolve(CUSTOMERS, segment="pilot").customers == {"K1", "K4"}  # type: ignore[union-attr]
    chosen = resolve(CUSTOMERS, ids=["K2", " K3 ", "K2"])
    assert chosen is not None and chosen.customers == {"K2", "K3"} and chosen.label == "2 chosen customer(s)"


@pytest.mark.parametrize(
    ("asked", "says"),
    [
        (
            {"entity": "XX"},
            "no customer belongs to legal entity 'XX' (the customer master's: DE01, FR01, default)",
        ),
        ({"segment": "retail"}, "no customer is in segment 'retail' (the customer master's: pilot)"),
        ({"ids": ["K1", "K9", "K8"]}, "2 customer(s) the customer master does not know: K8, K9"),
        (
            {"entity": "DE01", "segment": "pilot"},
            "a run is limited by one of entity, customers and segment, not entity and segment",
        ),
    ],
)
def test_a_scope_naming_nobody_is_refused(asked: dict, says: str) -> None:
    with pytest.raises(ScopeProblem) as refused:
        resolve(CUSTOMERS, **asked)
    assert str(refused.value) == says


def test_a_pilots_file_is_one_id_per_line_or_a_customer_id_column(tmp_path: Path) -> None:
    plain = tmp_path / "pilot.txt"
    plain.write_text("# pilot\nK1\n\nK2\n")
    assert read_customer_ids(plain) == ["K1", "K2"]
    csv = tmp_path / "pilot.csv"
    csv.write_text("name,customer_id\nAlpha,K1\nBeta,K2\n")
    assert read_customer_ids(csv) == ["K1", "K2"]
    bad = tmp_path / "bad.csv"
    bad.write_text("K1,K2\n")
    with pytest.raises(ScopeProblem, match=r"bad.csv, row 1: 'K1,K2' is not one customer id"):
        read_customer_ids(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text("name,customer_id\nAlpha,\n")
    with pytest.raises(ScopeProblem, match="empty.csv, row 2, column customer_id: empty"):
        read_customer_ids(empty)


def test_a_scoped_replacement_leaves_the_other_customers_rows(ledger_of) -> None:  # type: ignore[no-untyped-def]
    worklist = table("""
        | customer_id | currency | reason | open_amount_minor | overdue_amount_minor | oldest_days_past_due | as_of      | rule |
        | K1          | EUR      | old    | 100               | 100                  | 10                   | 2026-11-20 | r    |
        | K2          | EUR      | old    | 200               | 200                  | 10                   | 2026-11-20 | r    |
        | K3          | EUR      | old    | 300               | 300                  | 10                   | 2026-11-20 | r    |
    """)
    ledger = ledger_of(worklist=worklist)
    scope = resolve(CUSTOMERS, entity="DE01")
    new = worklist[worklist["customer_id"] == "K1"].assign(
        reason="new", as_of=pd.Timestamp("2026-11-21").date()
    )
    replacements, scoped = replacing(scope, {"worklist": new})
    assert replacements == {}
    ledger.publish(
        Publication("r2", "escalate", pd.Timestamp("2026-11-21").date(), scoped_replacements=scoped)
    )
    got = ledger.con.execute("select customer_id, reason from worklist order by 1").fetchall()
    assert got == [("K1", "new"), ("K2", "old")]  # K3 (DE01, nothing now) gone; K2 (FR01) kept

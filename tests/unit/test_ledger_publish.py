"""Publishing: a stage's rows as pandas frames or Arrow tables land the same, with the same audit
rows; a replacement keeps the rows that stay, removes (and audits) the rows that go, within its
scope only; the quarantine loads from either."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tasks.platform.ledger import Ledger, Publication, memory_ledger
from tasks.platform.ledger.staging import staged

from .tables import table

AS_OF = date(2026, 11, 20)

INVOICES = """
| invoice_id | customer_id | issue_date | due_date   | currency | amount_minor | net_minor | order_id | discount_date | origin   |
| I1         | C1          | 2026-01-01 | 2026-01-31 | EUR      | 100_00       | 84_03     | SO-1     |               | ingested |
| I2         | C2          | 2026-01-05 | 2026-02-04 | JPY      | 5000         |           |          | 2026-01-15    | ingested |
| I3         | C1          | 2026-01-10 | 2026-02-09 | KWD      | 1_234        | 1_000     | SO-3     |               | billed   |
"""


def invoices() -> pd.DataFrame:
    frame = table(INVOICES)
    frame["net_minor"] = frame["net_minor"].astype("Int64")
    frame["extra"] = "not a column of the table"  # left out, as always
    return frame


def arrow(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False)


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    with memory_ledger() as opened:
        yield opened


def publish(ledger: Ledger, run: str, **writes: Any) -> dict[str, int]:
    return ledger.publish(Publication(run, "test", AS_OF, rule_version="v1", **writes))


def rows(ledger: Ledger, sql: str) -> list[tuple[Any, ...]]:
    return ledger.con.execute(sql).fetchall()


def audit(ledger: Ledger) -> list[tuple[Any, ...]]:
    return rows(ledger, "select run_id, entity, key, action, before, after from audit_log order by audit_id")


@pytest.mark.parametrize("shape", [lambda f: f, arrow], ids=["pandas", "arrow"])
def test_inserted_rows_and_their_audit_rows_are_the_same_from_a_frame_or_an_arrow_table(shape: Any) -> None:
    with memory_ledger() as from_frame, memory_ledger() as from_shape:
        assert publish(from_frame, "r1", inserts={"invoices": invoices()}) == {"invoices": 3}
        assert publish(from_shape, "r1", inserts={"invoices": shape(invoices())}) == {"invoices": 3}
        for sql in (
            "select * from invoices order by invoice_id",
            "select * exclude (created_at) from audit_log",
        ):
            assert rows(from_shape, sql) == rows(from_frame, sql)
        after = json.loads(audit(from_shape)[0][5])
        assert after["amount_minor"] == 10000 and after["run_id"] == "r1" and "extra" not in after


def test_the_audit_rows_json_is_the_json_of_the_frame_as_duckdb_reads_it(ledger: Ledger) -> None:
    frame = pd.DataFrame(
        {
            "text": ["a", None, "c"],
            "day": [date(2026, 1, 1), None, date(2026, 1, 3)],
            "moment": pd.to_datetime(["2026-01-01", None, "2026-01-03"]),
            "minor": pd.array([1, None, 3], dtype="Int64"),
            "count": np.array([1, 2, 3]),
            "score": [1.5, np.nan, 2.0],
            "flag": [True, False, True],
            "nothing": [None, None, None],
            "string": pd.array(["x", None, "z"], dtype="string"),
        }
    )
    con = ledger.con
    con.register("as_frame", frame)
    con.register("as_arrow", staged(frame, run_id="r1"))
    by_frame = con.execute(
        "select to_json(r)::varchar from (select *, 'r1' as run_id from as_frame) r"
    ).fetchall()
    assert con.execute("select to_json(r)::varchar from as_arrow r").fetchall() == by_frame


def test_publishing_again_changes_nothing(ledger: Ledger) -> None:
    publish(ledger, "r1", inserts={"invoices": arrow(invoices())})
    before = (rows(ledger, "select * from invoices order by 1"), audit(ledger))
    assert publish(ledger, "r2", inserts={"invoices": arrow(invoices())}) == {"invoices": 0}
    assert (rows(ledger, "select * from invoices order by 1"), audit(ledger)) == before


WORKLIST = """
| customer_id | currency | reason  | open_amount_minor | overdue_amount_minor | oldest_days_past_due | as_of      | rule | state |
| C1          | EUR      | overdue | 100_00            | 50_00                | 12                   | 2026-11-20 | r    | watch |
| C2          | EUR      | overdue | 200_00            | 0                    | 0                    | 2026-11-20 | r    |       |
| C3          | USD      | overdue | 300_00            | 300_00               | 45                   | 2026-11-20 | r    | call  |
"""


@pytest.mark.parametrize("shape", [lambda f: f, arrow], ids=["pandas", "arrow"])
def test_a_replacement_keeps_what_stays_and_replaces_what_changed(ledger: Ledger, shape: Any) -> None:
    worklist = table(WORKLIST)
    assert publish(ledger, "r1", replacements={"worklist": shape(worklist)}) == {"worklist": 3}
    changed = worklist.copy()
    changed.loc[2, "overdue_amount_minor"] = (
        1  # C3 changes, C2 goes, C4 comes, C1 and its missing values stay
    )
    changed.loc[1, "customer_id"] = "C4"
    assert publish(ledger, "r2", replacements={"worklist": shape(changed)}) == {"worklist": 2}
    assert rows(
        ledger, "select customer_id, overdue_amount_minor, state, run_id from worklist order by 1"
    ) == [
        ("C1", 5000, "watch", "r1"),
        ("C3", 1, "call", "r2"),
        ("C4", 0, None, "r2"),
    ]
    assert publish(ledger, "r3", replacements={"worklist": shape(changed)}) == {"worklist": 0}
    assert publish(ledger, "r4", replacements={"worklist": shape(changed.iloc[0:0])}) == {"worklist": 0}
    assert rows(ledger, "select count(*) from worklist") == [(0,)]


ESCALATIONS = """
| customer_id | currency | state   | entered_on | rule | rule_version | reason   | previous_state |
| C1          | EUR      | watch   | 2026-11-19 | r    | v1           | overdue  |                |
| C1          | EUR      | call    | 2026-11-20 | r    | v1           | overdue  | watch          |
| C2          | EUR      | watch   | 2026-11-20 | r    | v1           | overdue  |                |
"""


@pytest.mark.parametrize("shape", [lambda f: f, arrow], ids=["pandas", "arrow"])
def test_a_scoped_replacement_changes_only_its_scope_and_audits_what_goes(ledger: Ledger, shape: Any) -> None:
    entered = table(ESCALATIONS)
    publish(ledger, "r1", inserts={"escalations": shape(entered)})
    today = entered[entered["entered_on"] == date(2026, 11, 20)].iloc[[0]]  # C2's escalation of today goes
    scope = {"entered_on": date(2026, 11, 20)}
    assert publish(ledger, "r2", scoped_replacements={"escalations": (shape(today), scope)}) == {
        "escalations": 0
    }
    assert rows(ledger, "select customer_id, state, entered_on from escalations order by 1, 3") == [
        ("C1", "watch", date(2026, 11, 19)),
        ("C1", "call", date(2026, 11, 20)),
    ]
    gone = [row for row in audit(ledger) if row[3] == "delete"]
    assert [(run, entity, key) for run, entity, key, *_ in gone] == [("r2", "escalations", "C2")]
    assert json.loads(gone[0][4])["state"] == "watch" and gone[0][5] is None


QUARANTINE = """
| stage  | dataset  | source    | row_number | key | reasons              | raw_record    |
| ingest | invoices | in/x.csv  | 2          | I9  | amount: not a number | {"amount": "x"} |
"""


@pytest.mark.parametrize("shape", [lambda f: f, arrow], ids=["pandas", "arrow"])
def test_the_quarantine_loads_from_a_frame_or_an_arrow_table(ledger: Ledger, shape: Any) -> None:
    quarantine = table(QUARANTINE).astype({"row_number": "int64"})
    publish(ledger, "r1", quarantine=shape(quarantine))
    assert rows(
        ledger, "select stage, dataset, source, row_number, key, reasons, raw_record, run_id from quarantine"
    ) == [("ingest", "invoices", "in/x.csv", 2, "I9", "amount: not a number", '{"amount": "x"}', "r1")]


@pytest.mark.parametrize("shape", [lambda f: f, arrow], ids=["pandas", "arrow"])
def test_the_rows_holding_given_keys_are_found_by_their_key_as_read(ledger: Ledger, shape: Any) -> None:
    publish(ledger, "r1", inserts={"invoices": invoices()})
    keys = pd.DataFrame(
        {"invoice_id": [" I1 ", "I3", "I3", None, "I9"], "customer_id": ["x", "y", "z", "w", "v"]}
    )
    found = ledger.rows_with_keys("invoices", shape(keys[["invoice_id"]]))
    assert sorted(found["invoice_id"]) == ["I1", "I3"]
    assert sorted(
        ledger.rows_with_keys_arrow("invoices", shape(keys[["invoice_id"]])).column("invoice_id").to_pylist()
    ) == [
        "I1",
        "I3",
    ]
    assert ledger.rows_with_keys("invoices", shape(keys)).empty  # every column of the key must match


def test_rows_whose_key_is_held_are_left_out_whatever_the_path(ledger: Ledger) -> None:
    publish(ledger, "r1", inserts={"invoices": arrow(invoices().iloc[[0]])})
    again = invoices().assign(amount_minor=1)  # I1 held (left as it was), I2 and I3 new
    assert publish(ledger, "r2", inserts={"invoices": arrow(again)}) == {"invoices": 2}
    repeated = pd.concat([invoices(), invoices()]).assign(invoice_id=["I4", "I4", "I5", "I1", "I6", "I6"])
    assert publish(ledger, "r3", inserts={"invoices": repeated}) == {"invoices": 3}  # one of each new key
    held = "select invoice_id, amount_minor, run_id from invoices where invoice_id in ('I1', 'I2') order by 1"
    assert rows(ledger, held) == [("I1", 10000, "r1"), ("I2", 1, "r2")]
    assert rows(ledger, "select count(*), count(distinct invoice_id) from invoices") == [(6, 6)]


def test_a_table_with_two_unique_keys_leaves_out_a_row_holding_either(ledger: Ledger) -> None:
    allocation = {
        "payment_id": "P1",
        "invoice_id": "I1",
        "amount_minor": 5,
        "currency": "EUR",
        "payment_amount_minor": 5,
        "payment_currency": "EUR",
        "rule": "r",
        "rule_version": "v1",
        "score": 1.0,
        "evidence": "",
        "as_of": AS_OF,
    }
    publish(ledger, "r1", inserts={"allocations": pd.DataFrame([{**allocation, "allocation_id": "A1"}])})
    second = pd.DataFrame(
        [{**allocation, "allocation_id": "A2"}, {**allocation, "allocation_id": "A3", "invoice_id": "I2"}]
    )
    assert publish(ledger, "r2", inserts={"allocations": arrow(second)}) == {"allocations": 1}
    assert rows(ledger, "select allocation_id from allocations order by 1") == [("A1",), ("A3",)]


PROPOSALS = """
| invoice_id | customer_id | currency | amount_minor | reason          |
| I3         | C1          | EUR      | 30_00        | agency: 95 days |
| I1         | C1          | EUR      | 10_00        | agency: 95 days |
| I2         | C2          | GBP      | 20_00        | agency: 99 days |
| I1         | C1          | EUR      | 10_00        | agency: 95 days |
"""


def propose(ledger: Ledger, run: str, proposals: pd.DataFrame) -> list[tuple[Any, ...]]:
    publish(
        ledger,
        run,
        row_updates=[("escalate/propose_write_offs", proposals, {"now": AS_OF, "run_id": run})],
    )
    return rows(ledger, "select write_off_id, invoice_id, amount_minor, run_id from write_offs order by 1")


def test_write_offs_proposed_in_one_statement_are_numbered_in_the_order_given(ledger: Ledger) -> None:
    # a proposal already made (I2) is not made again; the second row for I1 is left out
    ledger.con.execute(
        "insert into write_offs (write_off_id, invoice_id, customer_id, currency, amount_minor, reason,"
        " source, proposed_by, proposed_at, status, run_id) select 'WO-' || lpad(cast("
        "nextval('write_off_seq') as varchar), 6, '0'), 'I2', 'C2', 'GBP', 20_00, 'by hand', 'manual',"
        " 'ann', now(), 'proposed', 'r0'"
    )
    first = propose(ledger, "r1", table(PROPOSALS))
    assert first == [
        ("WO-000001", "I2", 20_00, "r0"),
        ("WO-000002", "I3", 30_00, "r1"),
        ("WO-000003", "I1", 10_00, "r1"),
    ]
    # the same proposals again change nothing and draw no number: the next one is WO-000004
    assert propose(ledger, "r2", table(PROPOSALS)) == first
    again = propose(ledger, "r3", table(PROPOSALS.replace("| I2 ", "| I4 ")))
    assert again[-1] == ("WO-000004", "I4", 20_00, "r3")


def allocations(triples: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "allocation_id": [a for a, _, _ in triples],
            "payment_id": [p for _, p, _ in triples],
            "invoice_id": [i for _, _, i in triples],
            "amount_minor": 1_00,
            "currency": "EUR",
            "payment_amount_minor": 1_00,
            "payment_currency": "EUR",
            "rule": "exact_reference",
            "rule_version": "v1",
            "score": 1.0,
            "evidence": "{}",
            "as_of": AS_OF,
        }
    )


def one_by_one(batches: list[tuple[str, list[tuple[str, str, str]]]]) -> list[tuple[str, str, str, str]]:
    """What inserting each row in turn, ignoring a row that shares a key with one held, leaves."""
    held: list[tuple[str, str, str, str]] = []
    for run, triples in batches:
        for a, p, i in triples:
            if all(a != h[0] and (p, i) != (h[1], h[2]) for h in held):
                held.append((a, p, i, run))
    return sorted(held)


@pytest.mark.parametrize("seed", range(16))
def test_rows_for_a_table_of_two_keys_are_kept_as_if_inserted_one_by_one(seed: int) -> None:
    # allocations have two keys (allocation_id; payment and invoice): batches drawn from a few
    # values collide with the table, with each other, on one key or both, or not at all
    draw = np.random.default_rng(seed)

    def batch(size: int) -> list[tuple[str, str, str]]:
        return [(f"A{draw.integers(9)}", f"P{draw.integers(3)}", f"I{draw.integers(3)}") for _ in range(size)]

    first, second = batch(int(draw.integers(1, 4))), batch(int(draw.integers(1, 6)))
    if seed % 3 == 0:  # some batches without a repeated key, which take the anti-join
        second = list({(a, p, i): None for a, p, i in second}.keys())[:1]
    with memory_ledger() as ledger:
        for run, triples in (("r1", first), ("r2", second)):
            publish(ledger, run, inserts={"allocations": allocations(triples)})
        listing = "select allocation_id, payment_id, invoice_id, run_id from allocations order by all"
        assert rows(ledger, listing) == one_by_one([("r1", first), ("r2", second)])
        # one audit row per allocation inserted, none for a row left out
        assert rows(
            ledger, "select key, run_id from audit_log where entity = 'allocations' order by all"
        ) == [(a, run) for a, _, _, run in one_by_one([("r1", first), ("r2", second)])]

"""The context the next source is checked against while a batch is written: the ledger's customers
and orders plus the batch's new ones, the first of each key, the ledger's own rows as they are."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from tasks.ingest.canonical import PreparedBatch
from tasks.ingest.model import IngestContext
from tasks.ingest.pending import with_batch


def batch(**tables: pd.DataFrame) -> PreparedBatch:
    checkpoint: Any = None  # not read: only the rows the batch will write
    return PreparedBatch("x", "x.csv", "x:1", "1", tables, pd.DataFrame(), checkpoint, {}, 0)


def test_the_batch_s_new_customers_are_known_once_each() -> None:
    ledger = IngestContext(customers=pa.chunked_array([pa.array(["C1", "C2"])]))
    customers = pd.DataFrame({"customer_id": ["C2", "C3", "C3", None], "name": ["b", "c", "c2", "z"]})
    known = with_batch(ledger, batch(customers=customers)).customer_ids()
    assert known.to_pylist() == ["C1", "C2", "C3"]


def test_an_order_the_ledger_holds_keeps_its_currency_a_new_one_its_first_row_s() -> None:
    ledger = IngestContext(
        order_currency=pa.table({"order_id": ["O1"], "currency": ["EUR"]}), customers={"C1"}
    )
    orders = pd.DataFrame(
        {"order_id": ["O1", "O2", "O2", "O3"], "currency": ["USD", "GBP", "JPY", "CHF"], "customer_id": "C1"}
    )
    context = with_batch(ledger, batch(orders=orders))
    assert dict(zip(*context.orders().to_pydict().values(), strict=True)) == {
        "O1": "EUR",
        "O2": "GBP",
        "O3": "CHF",
    }
    assert context.orders().num_rows == 3
    assert context.customer_ids().to_pylist() == ["C1"]  # a batch without customers adds none


def test_a_batch_of_other_rows_leaves_the_context_as_it_is() -> None:
    ledger = IngestContext(customers={"C1"}, order_currency={"O1": "EUR"})
    invoices = pd.DataFrame({"invoice_id": ["I1"], "customer_id": ["C9"]})
    assert with_batch(ledger, batch(invoices=invoices)) is ledger

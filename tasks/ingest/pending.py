"""What the ledger will know once a checked batch is written, before it is.

Pure. Ingest checks a source against the customers and orders the ledger holds (`IngestContext`). To
check the next source while the one before it is being written, its context is the ledger's as read
now plus what that batch adds: the customers and orders whose key the ledger does not hold yet, the
first row of each key (as `Publishing._insert_new` writes them; rows whose key the ledger holds
stay as they are there). The rows of the next source's own dataset are never taken from a batch:
a source of the dataset being written waits for it (flows/ingest.py).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tasks.ingest.canonical import PreparedBatch
from tasks.ingest.model import IngestContext


def with_batch(context: IngestContext, batch: PreparedBatch) -> IngestContext:
    """`context` as the ledger will give it once `batch` is written."""
    customers = batch.tables.get("customers")
    orders = batch.tables.get("orders")
    if customers is not None and len(customers):
        held = context.customer_ids()
        added = _new_keys(_strings(customers, ["customer_id"]), "customer_id", held)
        context = replace(context, customers=pa.chunked_array([held, added.column("customer_id")]))
    if orders is not None and len(orders):
        known = _strings(context.orders(), ["order_id", "currency"])
        added = _new_keys(_strings(orders, ["order_id", "currency"]), "order_id", known.column("order_id"))
        context = replace(context, order_currency=pa.concat_tables([known, added]))
    return context


def _strings(rows: pd.DataFrame | pa.Table, columns: list[str]) -> pa.Table:
    """`columns` of `rows` as an Arrow table of strings."""
    table = (
        rows.select(columns)
        if isinstance(rows, pa.Table)
        else pa.Table.from_pandas(rows[columns], preserve_index=False)
    )
    return pa.table({c: table.column(c).cast(pa.string()) for c in columns})


def _new_keys(rows: pa.Table, key: str, held: pa.Array | pa.ChunkedArray) -> pa.Table:
    """The rows whose `key` is not null and not `held`, the first of each key."""
    keys = rows.column(key)
    if isinstance(held, pa.ChunkedArray):
        held = held.combine_chunks()
    fresh = pc.and_(pc.is_valid(keys), pc.invert(pc.is_in(keys, value_set=held)))
    rows = rows.filter(fresh)
    codes = pc.dictionary_encode(rows.column(key).combine_chunks()).indices.to_numpy(zero_copy_only=False)
    first = np.zeros(len(codes), dtype=bool)
    first[np.unique(codes, return_index=True)[1]] = True
    return rows.filter(pa.array(first))

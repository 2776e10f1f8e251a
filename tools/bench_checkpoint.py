"""`o2c bench checkpoint`: a checkpoint and a publication at volume, on generated invoice rows.

Times `run_checkpoint` on N invoice rows (the `invoices` contract, as ingest checks them) with one
row in 500 broken (a negative amount, due before issue, an unknown customer, a duplicate number, no
currency), handed over as an Arrow table and as a pandas frame: the SQL checks over every row, the
Great Expectations validation of the sample, and the whole. Then publishes the rows that passed
into a fresh ledger with their audit rows, once new and once again (nothing new), and replaces a
derived table (the worklist) with N rows, once new and once unchanged. Prints seconds, rows per
second and the process's peak memory; nothing is asserted.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

BROKEN_EVERY = 500
AS_OF = date(2026, 11, 20)


def invoice_batch(rows: int, seed: int) -> tuple[pa.Table, dict[str, set[str]]]:
    """N typed invoice rows as ingest checks them, one in `BROKEN_EVERY` broken, and the known
    customers."""
    rng = np.random.default_rng(seed)
    customers = max(rows // 10, 10)
    issue = np.datetime64("2026-01-01") + rng.integers(0, 300, rows).astype("timedelta64[D]")
    due = issue + np.timedelta64(30, "D")
    amount = rng.integers(1, 1_000_000, rows)
    customer = np.char.add("C", rng.integers(0, customers, rows).astype("U7"))
    invoice_id = np.char.add("INV-", np.arange(rows).astype("U8"))
    currency = np.array(["EUR", "USD", "GBP"], dtype=object)[rng.integers(0, 3, rows)]
    bad = np.arange(0, rows, BROKEN_EVERY)
    amount[bad[0::5]] = -5
    due[bad[1::5]] = issue[bad[1::5]] - np.timedelta64(1, "D")
    customer[bad[2::5]] = "UNKNOWN"
    invoice_id[bad[3::5]] = "INV-1"
    currency[bad[4::5]] = None
    none = pa.nulls(rows)
    table = pa.table(
        {
            "invoice_id": invoice_id.astype(object),
            "customer_id": customer.astype(object),
            "issue_date": pa.array(issue, pa.date32()),
            "due_date": pa.array(due, pa.date32()),
            "currency": pa.array(currency, pa.string()),
            "amount_minor": pa.array(amount, pa.int64()),
            "order_id": none.cast(pa.string()),
            "discount_date": none.cast(pa.date32()),
            "discount_amount_minor": none.cast(pa.int64()),
        }
    )
    return table, {"customers": {f"C{i}" for i in range(customers)}}


def run_checkpoint_benchmark(*, rows: int, seed: int, home: str | None) -> Iterator[str]:
    """Yield the report's lines as they are measured."""
    from tasks.platform.checkpoint import run_checkpoint
    from tasks.platform.contracts import load_contract
    from tasks.platform.ledger import Publication, open_ledger

    contract = load_contract("invoices")
    batch, known = invoice_batch(rows, seed)
    run_checkpoint(batch.slice(0, 10), contract, source="warm-up", known_keys=known)  # imports GX
    yield f"{rows:,} invoice rows, one in {BROKEN_EVERY} broken; seconds, rows per second, peak MB"
    result: Any = None
    shapes: list[tuple[str, Any]] = [("Arrow table", batch), ("pandas frame", batch.to_pandas())]
    for shape, rows_in in shapes:
        seconds, result, peak = _timed(
            partial(run_checkpoint, rows_in, contract, source="bench", known_keys=known)
        )
        sample = result.validation.meta["o2c_sample"]["rows_sampled"]
        yield (
            f"checkpoint, {shape}: SQL checks {result.seconds['sql']:.2f} s, Great Expectations on"
            f" {sample:,} sampled rows {result.seconds['gx']:.2f} s, total {seconds:.2f} s"
            f" ({rows / seconds:,.0f} rows/s, peak {peak / 2**20:,.0f} MB); {result.outcome},"
            f" {len(result.failed_rows):,} rows failed"
        )
    failed = pa.array(sorted(result.failed_rows), pa.int64())
    good = batch.filter(pc.invert(pc.is_in(pa.array(np.arange(rows)), value_set=failed)))
    invoices = good.append_column("origin", pa.array(["ingested"] * good.num_rows))
    worklist = _worklist(good)
    workspace = Path(home) if home else Path(tempfile.mkdtemp(prefix="o2c-bench-checkpoint-"))
    steps: list[tuple[str, dict[str, Any]]] = [
        (f"publish {good.num_rows:,} invoices with audit rows", {"inserts": {"invoices": invoices}}),
        ("publish them again (nothing new)", {"inserts": {"invoices": invoices}}),
        (f"replace the worklist with {good.num_rows:,} rows", {"replacements": {"worklist": worklist}}),
        ("replace it again, unchanged", {"replacements": {"worklist": worklist}}),
    ]
    with open_ledger(workspace / "ledger.duckdb") as ledger:
        for n, (what, writes) in enumerate(steps):
            publication = Publication(f"bench-{n}", "bench", AS_OF, **writes)
            seconds, written, peak = _timed(partial(ledger.publish, publication))
            yield (
                f"{what}: {seconds:.2f} s ({good.num_rows / seconds:,.0f} rows/s, peak"
                f" {peak / 2**20:,.0f} MB), {sum(written.values()):,} rows written"
            )


def _worklist(invoices: pa.Table) -> pa.Table:
    """A derived table of one row per invoice, shaped as the escalate stage's worklist."""
    rows = invoices.num_rows
    return pa.table(
        {
            "customer_id": invoices.column("invoice_id"),
            "currency": invoices.column("currency"),
            "reason": pa.array(["overdue"] * rows),
            "open_amount_minor": invoices.column("amount_minor"),
            "overdue_amount_minor": pa.array(np.zeros(rows, np.int64)),
            "oldest_days_past_due": pa.array(np.full(rows, 3, np.int32)),
            "as_of": pa.array([AS_OF] * rows, pa.date32()),
            "rule": pa.array(["bench"] * rows),
            "collector_group": pa.array(["default"] * rows),
            "state": pa.array(["watch"] * rows),
        }
    )


def _timed(call: Callable[[], Any]) -> tuple[float, Any, int]:
    from tools.bench import peak_memory

    with peak_memory() as memory:
        began = time.perf_counter()
        result = call()
        seconds = time.perf_counter() - began
    return seconds, result, memory["peak"]

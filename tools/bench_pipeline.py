"""`o2c bench`: the whole pipeline on a generated book of N invoices, stage by stage, through the
real flows, with each stage's floor beside it.

For every stage: wall seconds, rows worked through and rows per second, the peak resident memory
while it ran (the process's, plus that of the second processes it ran work in: reconcile's payer
names and second half, `tasks/platform/elsewhere.py`), the floor (the same core work done bare in
DuckDB on the same data, measured in the same process just before the stage: tools/floors/), and
where the stage's time went (its own work, Prefect, Great Expectations: tools/bench_sampler.py).
The stages run as the pipeline runs them (`deliver=False`); the delivery that follows (invoice
documents and every e-mail, to the file mailer at full speed) is timed on its own line. The
one-off start of Prefect's local API (and the first import of Great Expectations) is reported
apart and counted nowhere else.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from tools.bench import peak_memory, stage_rows, start_platform

AS_OF = date(2026, 11, 20)
MB = 2**20


def run_pipeline_benchmark(
    *, invoices: int, customers: int, seed: int, home: str | None
) -> Iterator[str | dict[str, Any]]:
    """Generate, then run each stage (its floor first) and the delivery; yield a line of text as
    each figure is measured, and last the whole result as a dict (the `--json` document)."""
    from tools.generate import generate_book, write_book

    os.environ.setdefault("O2C_MAIL_RATE", "0")  # the file mailer at full speed: no throttle to time
    workspace = Path(home) if home else Path(tempfile.mkdtemp(prefix="o2c-bench-"))
    began = time.perf_counter()
    book = generate_book(customers=customers, invoices=invoices, seed=seed, as_of=AS_OF)
    write_book(book, workspace / "inbox")
    book_rows = {
        n: len(getattr(book, n)) for n in ("customers", "orders", "order_lines", "invoices", "payments")
    }
    del book
    yield (
        f"book: {invoices:,} invoices, {customers:,} customers, "
        + ", ".join(f"{k} {v:,}" for k, v in book_rows.items())
        + f" (generated in {time.perf_counter() - began:.1f} s); workspace {workspace}"
    )
    began = time.perf_counter()
    start_platform()
    prefect_start = time.perf_counter() - began
    yield f"startup (Prefect API, Great Expectations import): {prefect_start:.1f} s, not counted below"
    yield f"{'stage':10} {'seconds':>8} {'rows':>10} {'rows/s':>10} {'peak MB':>8} {'floor s':>8} {'x floor':>8} {'prefect':>8} {'gx':>6}"
    stages: dict[str, dict[str, Any]] = {}
    for stage, figures in _stages(workspace, book_rows):
        stages[stage] = figures
        yield _stage_line(stage, figures)
    total = sum(f["seconds"] for f in stages.values())
    overhead = sum(f["prefect_seconds"] + f["gx_seconds"] for f in stages.values())
    yield f"{'all':10} {total:8.2f}   Prefect + Great Expectations {overhead:.1f} s ({overhead / total:.0%})"
    delivery = _delivery(workspace)
    yield (
        f"delivery: {delivery['seconds']:.2f} s for {delivery['documents']:,} invoice documents and"
        f" {delivery['emails']:,} e-mails ({delivery['rows_per_second']:,.0f} a second), not counted above"
    )
    peak = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        *(f["peak_rss_mb"] * MB for f in stages.values()),
    )
    yield f"peak memory of the process (with its second processes, while they ran): {peak / MB:,.0f} MB"
    yield {
        "invoices": invoices,
        "customers": customers,
        "book_rows": book_rows,
        "total_seconds": round(total, 3),
        "peak_rss_mb": round(peak / MB),
        "prefect_start_seconds": round(prefect_start, 3),
        "prefect_gx_seconds": round(overhead, 3),
        "prefect_gx_share": round(overhead / total, 4) if total else 0.0,
        "stages": stages,
        "delivery": delivery,
        "workspace": str(workspace),
    }


def _stages(workspace: Path, book_rows: dict[str, int]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each stage in pipeline order: its floor, then the stage itself, measured."""
    from functools import partial

    from flows.order_to_cash import DELIVERS, STAGE_FLOWS
    from tools.bench_sampler import sampled

    for stage, flow_fn in STAGE_FLOWS.items():
        floor_seconds, floor_rows = _floor(stage, workspace)
        options: dict[str, Any] = {"as_of": AS_OF, "home": str(workspace), "return_state": True}
        if stage in DELIVERS:
            options["deliver"] = False
        with sampled() as spent, peak_memory() as memory:
            began = time.perf_counter()
            state = partial(flow_fn, **options)()
            seconds = time.perf_counter() - began
        if state.is_failed() or state.is_crashed():
            raise RuntimeError(f"{stage} failed during the benchmark: {state.message}")
        from tasks.platform.flow_returns import result_of

        rows = stage_rows(stage, result_of(state), book_rows)
        yield (
            stage,
            {
                "seconds": round(seconds, 3),
                "rows": rows,
                "rows_per_second": round(rows / seconds) if seconds else 0,
                "peak_rss_mb": round(memory["peak"] / MB),
                "floor_seconds": None if floor_seconds is None else round(floor_seconds, 3),
                "floor_rows": floor_rows,
                "prefect_seconds": round(spent["prefect"], 3),
                "gx_seconds": round(spent["gx"], 3),
            },
        )


def _floor(stage: str, workspace: Path) -> tuple[float | None, int | None]:
    """The stage's floor on the ledger as the stage will find it, in a transaction rolled back."""
    from tasks.platform.config import load_settings
    from tasks.platform.ledger import open_ledger
    from tools.floors import floor_of

    floor = floor_of(stage)
    if floor is None:
        return None, None
    with open_ledger(load_settings(workspace).ledger_path) as ledger:
        ledger.con.begin()
        try:
            began = time.perf_counter()
            rows = floor(ledger, workspace / "inbox", AS_OF)
            return time.perf_counter() - began, rows
        finally:
            ledger.con.rollback()


def _delivery(workspace: Path) -> dict[str, Any]:
    """The delivery after the stages: the invoice documents, then every e-mail, timed."""
    from flows.delivery import deliver_flow
    from tasks.platform.flow_returns import result_of

    began = time.perf_counter()
    state = deliver_flow(as_of=AS_OF, home=str(workspace), return_state=True)
    seconds = time.perf_counter() - began
    if state.is_failed() or state.is_crashed():
        raise RuntimeError(f"the delivery failed during the benchmark: {state.message}")
    done = result_of(state)
    documents = int(done.get("documents", {}).get("documents_written", 0))
    emails = sum(int(v.get("sent", 0)) for k, v in done.items() if k != "documents")
    return {
        "seconds": round(seconds, 3),
        "documents": documents,
        "emails": emails,
        "rows_per_second": round((documents + emails) / seconds) if seconds else 0,
    }


def _stage_line(stage: str, f: dict[str, Any]) -> str:
    floor = f["floor_seconds"]
    ratio = f"{f['seconds'] / floor:8.1f}" if floor else f"{'-':>8}"
    shown_floor = f"{floor:8.2f}" if floor is not None else f"{'-':>8}"
    return (
        f"{stage:10} {f['seconds']:8.2f} {f['rows']:10,d} {f['rows_per_second']:10,d} {f['peak_rss_mb']:8,d}"
        f" {shown_floor} {ratio} {f['prefect_seconds']:8.2f} {f['gx_seconds']:6.2f}"
    )

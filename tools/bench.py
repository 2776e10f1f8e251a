"""`o2c bench`: time every stage on a generated book of N invoices, through the real flows.

Prints, per stage, wall seconds, rows per second and the peak resident memory while the stage ran
(this process's and its second processes', summed, sampled every 10 ms from /proc), so figures
are measured, never asserted by tests. The single-stage benchmarks (`o2c bench match`,
`reconcile`, `invoice`, `dunning`) time one stage on the generator's book or on the larger inputs
of `tools/bench_books.py`.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from tasks.platform.elsewhere import running


def _rss_bytes() -> int:
    """This process's resident memory, and that of the second processes it runs work in
    (`tasks/platform/elsewhere.py`: reconcile's payer names and second half) while they run."""
    total = 0
    for pid in ["self", *running()]:
        try:
            with open(f"/proc/{pid}/statm") as handle:
                total += int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue  # it ended between the listing and the reading
    return total


@contextmanager
def peak_memory() -> Iterator[dict[str, int]]:
    """Sample the resident memory of this process (and of its second processes, summed) while the
    block runs; yields {'peak': bytes}."""
    seen = {"peak": _rss_bytes()}
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.01):
            seen["peak"] = max(seen["peak"], _rss_bytes())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join()
        seen["peak"] = max(seen["peak"], _rss_bytes())


def stage_rows(stage: str, result: Any, book_rows: dict[str, int]) -> int:
    """The rows a stage worked through, for rows per second."""
    if stage == "ingest":
        return sum(book_rows.values())
    if stage == "invoice":
        return int(result["counts"]["orders_billed"])
    if stage == "reconcile":
        return int(result["counts"]["payments_considered"])
    return book_rows["invoices"]  # remind, escalate and report look at every invoice


def start_platform() -> None:
    """Start Prefect's API and import Great Expectations once, so stage figures measure stage work."""
    from prefect.client.orchestration import get_client

    from tasks.platform.checkpoint import run_checkpoint
    from tasks.platform.contracts import load_contract

    with get_client(sync_client=True) as client:
        client.api_healthcheck()
    import pandas as pd

    run_checkpoint(
        pd.DataFrame({"currency": ["EUR"], "open_amount_minor": [0], "buckets_total_minor": [0]}),
        load_contract("ageing"),
        source="warm-up",
    )


def _measure(call: Callable[[], Any], stage: str, book_rows: dict[str, int]) -> tuple[float, int, int]:
    with peak_memory() as memory:
        begin = time.perf_counter()
        state = call()
        seconds = time.perf_counter() - begin
    if state.is_failed():
        raise RuntimeError(f"{stage} failed during the benchmark: {state.message}")
    return seconds, stage_rows(stage, state.result(), book_rows), memory["peak"]


def run_match_benchmark(*, invoices: int, customers: int, seed: int, home: str | None) -> Iterator[str]:
    """Generate a book, ingest it and reconcile it through the real flows, then compare the
    allocations with the generator's truth; yield the report's lines."""
    import pandas as pd

    from flows.ingest import ingest_flow
    from flows.reconcile import reconcile_flow
    from tasks.platform.config import load_settings
    from tasks.platform.ledger import open_ledger
    from tasks.platform.money import to_minor
    from tasks.reconcile.match_quality import match_quality
    from tools.generate import generate_book, write_book
    from tools.match_shapes import shape_figures, with_shortened_lists, with_typos

    workspace = Path(home) if home else Path(tempfile.mkdtemp(prefix="o2c-bench-match-"))
    as_of = date(2026, 11, 20)
    book, shortened = with_shortened_lists(
        generate_book(customers=customers, invoices=invoices, seed=seed, as_of=as_of), seed
    )
    book, named_wrong = with_typos(book, seed)
    files = write_book(book, workspace / "inbox")
    yield (
        f"book: {invoices} invoices, {customers} customers, {len(book.payments)} payments (seed {seed});"
        f" {len(named_wrong)} references with a typo naming another invoice,"
        f" {len(shortened)} lists of invoices shortened"
    )
    paths = [str(files[name]) for name in ("customers", "orders", "order_lines", "invoices", "payments")]
    ingest_flow(paths=paths, as_of=as_of, home=str(workspace))
    begin = time.perf_counter()
    with peak_memory() as memory:
        summary = reconcile_flow(as_of=as_of, home=str(workspace))
    seconds = time.perf_counter() - begin
    with open_ledger(load_settings(workspace).ledger_path) as ledger:
        allocations = ledger.table("allocations")
        payments = ledger.table("payments")
        exceptions = ledger.table("payment_exceptions")
    truth = book.truth_allocations.assign(
        amount_minor=[
            to_minor(a, c)
            for a, c in zip(book.truth_allocations["amount"], book.truth_allocations["currency"], strict=True)
        ]
    )
    figures = match_quality(payments, allocations, pd.DataFrame(truth), summary["counts"]["exceptions"])
    yield f"reconcile: {seconds:.2f} s, peak {memory['peak'] / 2**20:.0f} MB"
    for name, value in figures.items():
        shown = f"{value:.2%}" if isinstance(value, float) else str(value)
        yield f"{name:34} {shown}"
    by_rule = {
        k.removeprefix("payments_by_"): v
        for k, v in summary["counts"].items()
        if k.startswith("payments_by_")
    }
    yield "payments by rule: " + ", ".join(f"{k} {v}" for k, v in by_rule.items())
    for shape, figures in shape_figures(book, named_wrong, shortened, allocations, exceptions).items():
        yield f"{shape}: " + ", ".join(
            f"{k} {v:.2%}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items()
        )


def run_checkpoint_benchmark(*, rows: int, seed: int, home: str | None) -> Iterator[str]:
    """Time a checkpoint (SQL checks, Great Expectations on its sample) on N generated invoice rows
    with some broken, and the publication of N rows with their audit rows (tools/bench_checkpoint.py)."""
    from tools.bench_checkpoint import run_checkpoint_benchmark as run

    yield from run(rows=rows, seed=seed, home=home)


def _ingest_frames(book: dict[str, Any], workspace: Path, as_of: date) -> Iterator[str]:
    """Write the book's frames as CSV files, start the platform and ingest them through the ingest
    flow, saying how long each took (none of it counted in the figures that follow)."""
    from flows.ingest import ingest_flow

    inbox = workspace / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in book.items():
        frame.to_csv(inbox / f"{name}.csv", index=False)
        paths.append(str(inbox / f"{name}.csv"))
    yield f"workspace: {workspace}"
    begin = time.perf_counter()
    start_platform()
    yield f"startup (Prefect API, Great Expectations import): {time.perf_counter() - begin:.1f} s, not counted below"
    begin = time.perf_counter()
    state = ingest_flow(paths=paths, as_of=as_of, home=str(workspace), return_state=True)
    if state.is_failed():
        raise RuntimeError(f"ingest failed during the benchmark: {state.message}")
    yield f"ingest: {time.perf_counter() - begin:.1f} s, not counted below"


def run_reconcile_benchmark(*, payments: int, seed: int, home: str | None) -> Iterator[str]:
    """Ingest `payments` open invoices and as many payments through the ingest flow, then time the
    reconcile stage through its flow (and the pure matcher alone on the same facts)."""
    from flows.reconcile import match, read_facts, reconcile_flow
    from rules.matching import MatchingPolicy
    from tasks.platform.config import load_settings
    from tasks.platform.policy import load_policy
    from tools.bench_books import scale_book

    workspace = Path(home) if home else Path(tempfile.mkdtemp(prefix="o2c-bench-reconcile-"))
    as_of = date(2026, 11, 20)
    begin = time.perf_counter()
    book = scale_book(payments, seed, as_of)
    yield f"book: {payments} open invoices, {payments} payments, {len(book['customers'])} customers (seed {seed}), built in {time.perf_counter() - begin:.1f} s"
    yield from _ingest_frames(book, workspace, as_of)
    settings = load_settings(workspace)
    policy, version = load_policy("matching", MatchingPolicy)
    begin = time.perf_counter()
    facts = read_facts.fn(settings, as_of)
    read = time.perf_counter() - begin
    with peak_memory() as memory:
        begin = time.perf_counter()
        cash = match.fn(facts, policy, version, as_of)
        matching = time.perf_counter() - begin
    yield f"reading the facts: {read:.2f} s; matching alone (pure, in memory): {matching:.2f} s, peak {memory['peak'] / 2**20:.0f} MB"
    del facts, cash
    seconds, _, peak = _measure(
        partial(reconcile_flow, as_of=as_of, home=str(workspace), return_state=True),
        "reconcile",
        {"invoices": payments},
    )
    summary = reconcile_flow(as_of=as_of, home=str(workspace), dry_run=True)
    yield f"reconcile stage (read, match, check, write): {seconds:.2f} s, {payments / seconds:.0f} payments/s, peak {peak / 2**20:.0f} MB"
    counts = summary["counts"]
    yield f"after the run, left for a second run to consider: {counts['payments_considered']} payments"


def run_dunning_benchmark(*, invoices: int, seed: int, render: bool) -> Iterator[str]:
    """Time the dunning policy (pure, in memory) over `invoices` open invoices; with `render`, also
    the consolidated messages (Jinja2, one per customer reminded)."""

    from rules.dunning import DunningPolicy, evaluate
    from tasks.platform.policy import load_policy
    from tasks.remind.plan import plan_reminders
    from tools.bench_books import dunning_facts

    as_of = date(2026, 11, 20)
    policy, version = load_policy("dunning", DunningPolicy)
    begin = time.perf_counter()
    facts = dunning_facts(invoices, seed, as_of)
    yield f"facts: {invoices} open invoices, {len(facts.customers)} customers, {len(facts.history)} reminded before, {len(facts.cases)} cases (built in {time.perf_counter() - begin:.1f} s)"
    with peak_memory() as memory:
        begin = time.perf_counter()
        result, _problems = evaluate(facts, policy, as_of)
        seconds = time.perf_counter() - begin
    yield (
        f"policy evaluated: {seconds:.2f} s, {invoices / seconds:.0f} invoices/s, peak {memory['peak'] / 2**20:.0f} MB;"
        f" {len(result.messages)} customers to remind, {len(result.items)} invoices in messages,"
        f" {len(result.exclusions)} exclusions"
    )
    if render:
        customers = facts.customers.assign(
            name=lambda f: "Customer " + f["customer_id"], email="ap@example.com", language="en"
        )
        with peak_memory() as memory:
            begin = time.perf_counter()
            dunning = plan_reminders(facts, customers, policy, as_of=as_of, rule_version=version)
            seconds = time.perf_counter() - begin
        yield f"messages rendered: {len(dunning.reminders)} in {seconds:.2f} s (with the evaluation), peak {memory['peak'] / 2**20:.0f} MB"


def run_invoice_benchmark(*, lines: int, seed: int, home: str | None) -> Iterator[str]:
    """Ingest fulfilled orders with `lines` order lines, then time the invoice stage through its flow."""
    from flows.invoice import invoice_flow
    from tools.bench_books import invoicing_book

    workspace = Path(home) if home else Path(tempfile.mkdtemp(prefix="o2c-bench-invoice-"))
    as_of = date(2026, 11, 20)
    book = invoicing_book(lines, seed, as_of)
    yield (
        f"book: {len(book['order_lines'])} order lines in {len(book['orders'])} fulfilled orders of"
        f" {len(book['customers'])} customers (seed {seed})"
    )
    yield from _ingest_frames(book, workspace, as_of)
    seconds, billed, peak = _measure(
        partial(invoice_flow, as_of=as_of, home=str(workspace), documents=False, return_state=True),
        "invoice",
        {},
    )
    count = len(book["order_lines"])
    yield (
        f"invoice stage without documents (read, bill, checkpoints, write): {seconds:.2f} s, {billed} invoices,"
        f" {count / seconds:.0f} order lines/s, peak {peak / 2**20:.0f} MB"
    )
    yield from _time_documents(workspace, sample=200)


def _time_documents(workspace: Path, sample: int) -> Iterator[str]:
    """Render the HTML and PDF documents of `sample` billed invoices and say what one costs."""

    from tasks.invoice.documents import write_documents
    from tasks.platform.config import load_settings
    from tasks.platform.ledger import open_ledger

    settings = load_settings(workspace)
    with open_ledger(settings.ledger_path) as ledger:
        invoices = ledger.con.execute(
            "select * from invoices where origin = 'billed' order by invoice_id limit ?", [sample]
        ).df()
        lines = ledger.con.execute(
            "select * from invoice_lines where invoice_id in (select invoice_id from invoices"
            " where origin = 'billed' order by invoice_id limit ?)",
            [sample],
        ).df()
        customers = ledger.query("invoice/customers")
    folder = workspace / "documents-sample"
    begin = time.perf_counter()
    written = write_documents(invoices, lines, customers, folder, settings.seller)["documents_written"]
    seconds = time.perf_counter() - begin

    yield f"documents (HTML and PDF): {written} in {seconds:.2f} s, {seconds / max(written, 1) * 1000:.1f} ms per invoice"

"""`o2c bench`: time every stage on a generated book of N invoices, through the real flows.

Prints, per stage, wall seconds, rows per second and the process's peak resident memory while the
stage ran (sampled every 10 ms from /proc), so figures are measured, never asserted by tests.
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

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * _PAGE


@contextmanager
def peak_memory() -> Iterator[dict[str, int]]:
    """Sample this process's resident memory while the block runs; yields {'peak': bytes}."""
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


def _rows(stage: str, result: Any, book_rows: dict[str, int]) -> int:
    """The rows a stage worked through, for rows per second."""
    if stage == "ingest":
        return sum(book_rows.values())
    if stage == "invoice":
        return int(result["counts"]["orders_billed"])
    if stage == "reconcile":
        return int(result["counts"]["payments_considered"])
    return book_rows["invoices"]  # remind, escalate and report look at every invoice


def run_benchmark(*, invoices: int, customers: int, seed: int, home: str | None) -> Iterator[str]:
    """Generate, then run each stage flow once; yield the lines of the report as they are measured."""
    from flows.order_to_cash import STAGE_FLOWS
    from tools.generate import generate_book, write_book

    workspace = Path(home) if home else Path(tempfile.mkdtemp(prefix="o2c-bench-"))
    as_of = date(2026, 11, 20)
    started = time.perf_counter()
    book = generate_book(customers=customers, invoices=invoices, seed=seed, as_of=as_of)
    write_book(book, workspace / "inbox")
    book_rows = {
        name: len(getattr(book, name))
        for name in ("customers", "orders", "order_lines", "invoices", "payments")
    }
    yield (
        f"book: {invoices} invoices, {customers} customers, "
        + ", ".join(f"{k} {v}" for k, v in book_rows.items())
        + f" (generated in {time.perf_counter() - started:.1f} s)"
    )
    yield f"workspace: {workspace}"
    begin = time.perf_counter()
    _start_platform()
    yield f"startup (Prefect API, Great Expectations import): {time.perf_counter() - begin:.1f} s, not counted below"
    yield f"{'stage':10} {'seconds':>9} {'rows':>9} {'rows/s':>10} {'peak MB':>9}"
    total = 0.0
    flows: dict[str, Any] = dict(STAGE_FLOWS)
    for stage, flow_fn in flows.items():
        seconds, rows, peak = _measure(
            partial(flow_fn, as_of=as_of, home=str(workspace), return_state=True), stage, book_rows
        )
        total += seconds
        yield f"{stage:10} {seconds:9.2f} {rows:9d} {rows / seconds if seconds else 0:10.0f} {peak / 2**20:9.0f}"
    yield f"{'all':10} {total:9.2f}"


def _start_platform() -> None:
    """Start Prefect's API and import Great Expectations once, so stage figures measure stage work."""
    from prefect.client.orchestration import get_client

    from tasks.platform.checkpoint import load_contract, run_checkpoint

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
    return seconds, _rows(stage, state.result(), book_rows), memory["peak"]


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

    workspace = Path(home) if home else Path(tempfile.mkdtemp(prefix="o2c-bench-match-"))
    as_of = date(2026, 11, 20)
    book = generate_book(customers=customers, invoices=invoices, seed=seed, as_of=as_of)
    files = write_book(book, workspace / "inbox")
    yield f"book: {invoices} invoices, {customers} customers, {len(book.payments)} payments (seed {seed})"
    paths = [str(files[name]) for name in ("customers", "orders", "order_lines", "invoices", "payments")]
    ingest_flow(paths=paths, as_of=as_of, home=str(workspace))
    begin = time.perf_counter()
    with peak_memory() as memory:
        summary = reconcile_flow(as_of=as_of, home=str(workspace))
    seconds = time.perf_counter() - begin
    with open_ledger(load_settings(workspace).ledger_path) as ledger:
        allocations = ledger.table("allocations")
        payments = ledger.table("payments")
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
    _start_platform()
    yield f"startup (Prefect API, Great Expectations import): {time.perf_counter() - begin:.1f} s, not counted below"
    begin = time.perf_counter()
    state = ingest_flow(paths=paths, as_of=as_of, home=str(workspace), return_state=True)
    if state.is_failed():
        raise RuntimeError(f"ingest failed during the benchmark: {state.message}")
    yield f"ingest: {time.perf_counter() - begin:.1f} s, not counted below"


def scale_book(payments: int, seed: int, as_of: date) -> dict[str, Any]:
    """A book for timing reconcile at volume: `payments` open invoices and as many payments.

    Mix (of payments): 80 % name their invoice in the remittance, spelled as banks carry it (exact,
    lower case, spaces, no separators, leading zeros dropped, inside other text); 10 % pay the exact
    amount from the customer's known account with no reference; 5 % pay part of a named invoice;
    5 % are receipts no rule can place. Returns frames for customers, invoices and payments.
    """
    import random

    import pandas as pd

    rng = random.Random(seed)
    customers = max(payments // 20, 10)
    ids = [f"INV-2026-{i:07d}" for i in range(1, payments + 1)]
    owners = [rng.randrange(customers) for _ in ids]
    issued = [as_of.toordinal() - rng.randrange(15, 200) for _ in ids]
    amounts = [rng.randrange(1_000, 2_000_000) for _ in ids]
    spellings = [
        lambda i: i,
        lambda i: f"Payment {i.lower()}",
        lambda i: f"INV {i[4:8]} {i[9:]} thank you",
        lambda i: i.replace("-", ""),
        lambda i: f"RE {i[:9]}{i[9:].lstrip('0')} ACME",
    ]
    references, paid, names, accounts = [], [], [], []
    for k, (invoice_id, owner, amount) in enumerate(zip(ids, owners, amounts, strict=True)):
        kind = rng.random()
        account = f"DE{owner:020d}"
        if kind < 0.80:
            references.append(spellings[k % len(spellings)](invoice_id))
            paid.append(amount)
        elif kind < 0.90:
            references.append("")
            paid.append(amount)
        elif kind < 0.95:
            references.append(f"part payment {invoice_id}")
            paid.append(amount // 2)
        else:
            references.append("transfer")
            paid.append(rng.randrange(100, 50_000))
            account = f"GB{rng.randrange(10**18):020d}"
        names.append(f"Customer {owner} Ltd")
        accounts.append(account)
    customer_frame = pd.DataFrame(
        {
            "customer_id": [f"C{c:07d}" for c in range(customers)],
            "name": [f"Customer {c} Ltd" for c in range(customers)],
            "currency": "EUR",
            "bank_accounts": [f"DE{c:020d}" for c in range(customers)],
        }
    )
    invoice_frame = pd.DataFrame(
        {
            "invoice_id": ids,
            "customer_id": [f"C{c:07d}" for c in owners],
            "issue_date": [date.fromordinal(d) for d in issued],
            "due_date": [date.fromordinal(d + 30) for d in issued],
            "currency": "EUR",
            "amount": [f"{a // 100}.{a % 100:02d}" for a in amounts],
        }
    )
    payment_frame = pd.DataFrame(
        {
            "payment_id": [f"P{k:09d}" for k in range(payments)],
            "value_date": [date.fromordinal(min(d + 30, as_of.toordinal())) for d in issued],
            "amount": [f"{a // 100}.{a % 100:02d}" for a in paid],
            "currency": "EUR",
            "payer_name": names,
            "payer_account": accounts,
            "reference": references,
        }
    )
    return {"customers": customer_frame, "invoices": invoice_frame, "payments": payment_frame}


def run_reconcile_benchmark(*, payments: int, seed: int, home: str | None) -> Iterator[str]:
    """Ingest `payments` open invoices and as many payments through the ingest flow, then time the
    reconcile stage through its flow (and the pure matcher alone on the same facts)."""
    from flows.reconcile import match, read_facts, reconcile_flow
    from rules.matching import MatchingPolicy
    from rules.policy import load_policy
    from tasks.platform.config import load_settings

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


def dunning_facts(invoices: int, seed: int, as_of: date) -> Any:
    """Facts for timing the dunning policy: `invoices` open invoices of invoices / 20 customers over
    the three profiles, due from 60 days ahead to 120 days ago; a third of the customers reminded
    before, some disputes and promises, some unapplied cash, a few customers tagged no-dunning."""
    import numpy as np
    import pandas as pd

    from rules.dunning import DunningFacts

    rng = np.random.default_rng(seed)
    customers = max(invoices // 20, 10)
    ids = np.array([f"INV-{i:08d}" for i in range(invoices)], dtype=object)
    owner = rng.integers(0, customers, invoices)
    customer_ids = np.array([f"C{c:07d}" for c in range(customers)], dtype=object)
    due = pd.Timestamp(as_of) + pd.to_timedelta(rng.integers(-120, 60, invoices), unit="D")
    items = pd.DataFrame(
        {
            "invoice_id": ids,
            "customer_id": customer_ids[owner],
            "currency": np.where(rng.random(invoices) < 0.8, "EUR", "USD"),
            "issue_date": due - pd.Timedelta(days=30),
            "due_date": due,
            "open_minor": rng.integers(500, 500_000, invoices),
        }
    )
    profiles = np.array(["standard", "strategic", "small-business"], dtype=object)
    tags = np.where(rng.random(customers) < 0.01, "no-dunning", "")
    customer_frame = pd.DataFrame(
        {
            "customer_id": customer_ids,
            "dunning_profile": profiles[rng.integers(0, 3, customers)],
            "tags": tags,
        }
    )
    reminded = items[items["customer_id"].isin(customer_ids[rng.random(customers) < 0.33])]
    reminded = reminded[reminded["due_date"] < pd.Timestamp(as_of) - pd.Timedelta(days=10)]
    history = pd.DataFrame(
        {
            "invoice_id": reminded["invoice_id"],
            "customer_id": reminded["customer_id"],
            "last_level": rng.integers(0, 3, len(reminded)),
            "last_reminded_on": pd.Timestamp(as_of)
            - pd.to_timedelta(rng.integers(5, 40, len(reminded)), unit="D"),
        }
    )
    disputed = items.sample(frac=0.01, random_state=seed)
    promised = customer_frame.sample(frac=0.02, random_state=seed + 1)
    cases = pd.concat(
        [
            pd.DataFrame(
                {
                    "case_id": "D-" + disputed["invoice_id"],
                    "kind": "dispute",
                    "customer_id": disputed["customer_id"],
                    "invoice_id": disputed["invoice_id"],
                    "status": "open",
                    "due_on": pd.NaT,
                }
            ),
            pd.DataFrame(
                {
                    "case_id": "P-" + promised["customer_id"],
                    "kind": "promise",
                    "customer_id": promised["customer_id"],
                    "invoice_id": "",
                    "status": "open",
                    "due_on": pd.Timestamp(as_of) + pd.Timedelta(days=10),
                }
            ),
        ],
        ignore_index=True,
    )
    cash_owners = customer_frame.sample(frac=0.05, random_state=seed + 2)["customer_id"]
    unapplied = pd.DataFrame(
        {
            "customer_id": cash_owners,
            "currency": "EUR",
            "unapplied_minor": rng.integers(100, 5_000_000, len(cash_owners)),
        }
    )
    return DunningFacts(items, customer_frame, history, cases, unapplied, None)


def run_dunning_benchmark(*, invoices: int, seed: int, render: bool) -> Iterator[str]:
    """Time the dunning policy (pure, in memory) over `invoices` open invoices; with `render`, also
    the consolidated messages (Jinja2, one per customer reminded)."""

    from rules.dunning import DunningPolicy, evaluate
    from rules.policy import load_policy
    from tasks.remind.plan import plan_reminders

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


def invoicing_book(lines: int, seed: int, as_of: date) -> dict[str, Any]:
    """Customers, fulfilled orders and `lines` order lines (four per order on average) for timing the
    invoice stage; a third of the customers on `2% 10 net 30`, a third on `eom 15`, the rest net."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    orders = max(lines // 4, 1)
    customers = max(orders // 25, 10)
    customer_ids = np.array([f"C{c:07d}" for c in range(customers)], dtype=object)
    terms = np.array(["2% 10 net 30", "eom 15", ""], dtype=object)[np.arange(customers) % 3]
    order_ids = np.array([f"SO-{o:08d}" for o in range(orders)], dtype=object)
    owner = rng.integers(0, customers, orders)
    fulfilled = pd.Timestamp(as_of) - pd.to_timedelta(rng.integers(0, 20, orders), unit="D")
    per_order = np.bincount(rng.integers(0, orders, lines), minlength=orders)
    per_order[per_order == 0] = 1  # every order has a line
    order_of_line = np.repeat(np.arange(orders), per_order)
    line_no = np.concatenate([np.arange(1, n + 1) for n in per_order])
    count = len(order_of_line)
    return {
        "customers": pd.DataFrame(
            {
                "customer_id": customer_ids,
                "name": ["Customer " + c for c in customer_ids],
                "currency": "EUR",
                "payment_terms_days": 30,
                "payment_terms": terms,
            }
        ),
        "orders": pd.DataFrame(
            {
                "order_id": order_ids,
                "customer_id": customer_ids[owner],
                "order_date": (fulfilled - pd.Timedelta(days=3)).strftime("%Y-%m-%d"),
                "currency": "EUR",
                "status": "fulfilled",
                "fulfilled_date": fulfilled.strftime("%Y-%m-%d"),
            }
        ),
        "order_lines": pd.DataFrame(
            {
                "order_id": order_ids[order_of_line],
                "line_no": line_no,
                "quantity": rng.integers(1, 20, count),
                "unit_price": [f"{p // 100}.{p % 100:02d}" for p in rng.integers(50, 100_000, count)],
                "tax_rate": np.array(["0.19", "0.07", "0"], dtype=object)[rng.integers(0, 3, count)],
            }
        ),
    }


def run_invoice_benchmark(*, lines: int, seed: int, home: str | None) -> Iterator[str]:
    """Ingest fulfilled orders with `lines` order lines, then time the invoice stage through its flow."""
    from flows.invoice import invoice_flow

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

    with open_ledger(load_settings(workspace).ledger_path) as ledger:
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
    written = write_documents(invoices, lines, customers, folder, "Example Trading Ltd")["documents_written"]
    seconds = time.perf_counter() - begin

    yield f"documents (HTML and PDF): {written} in {seconds:.2f} s, {seconds / max(written, 1) * 1000:.1f} ms per invoice"

"""`o2c bench daily`: time the daily stages over consecutive business dates on one book, to see
whether a run's time and memory grow with the ledger's history (they should stay about flat: a
day's run reads what is open and the recent history, not every reminder ever sent).

Generates a book of N invoices (customers N/10), runs every stage as of the book's date, then
reconcile, remind, escalate and report once per day for the following days, and prints each run's
seconds and the process's peak memory, then the first and the last run of each stage side by side
(with the second run and the medians of the early and the late runs, which the noise of a shared
machine and the first day's backlog would otherwise hide).
The e-mail throttle is off (O2C_MAIL_RATE=0, unless set), so that no stage waits on it.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from tools.bench import _measure, start_platform

DAILY_STAGES = ("reconcile", "remind", "escalate", "report")


def run_daily_benchmark(*, invoices: int, days: int, seed: int, home: str | None) -> Iterator[str]:
    """Yield the lines of the daily benchmark as they are measured."""
    from flows.order_to_cash import STAGE_FLOWS
    from tools.generate import generate_book, write_book

    os.environ.setdefault("O2C_MAIL_RATE", "0")  # the file mailer at full speed: no throttle to time
    workspace = Path(home) if home else Path(tempfile.mkdtemp(prefix="o2c-bench-daily-"))
    first_day = date(2026, 11, 20)
    book = generate_book(customers=max(1, invoices // 10), invoices=invoices, seed=seed, as_of=first_day)
    write_book(book, workspace / "inbox")
    rows = {
        name: len(getattr(book, name))
        for name in ("customers", "orders", "order_lines", "invoices", "payments")
    }
    yield f"book: {invoices} invoices, {rows['customers']} customers; workspace {workspace}"
    start_platform()
    for stage in ("ingest", "invoice"):
        seconds, _n, _peak = _measure(_run(STAGE_FLOWS[stage], first_day, workspace), stage, rows)
        yield f"{first_day} {stage:10} {seconds:8.2f} s (setup)"
    yield f"{'date':10} " + " ".join(f"{s:>10}" for s in DAILY_STAGES) + f" {'peak MB':>8} {'reminders':>10}"
    times: dict[str, list[float]] = {stage: [] for stage in DAILY_STAGES}
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        peak = 0
        for stage in DAILY_STAGES:
            seconds, _n, used = _measure(_run(STAGE_FLOWS[stage], day, workspace), stage, rows)
            times[stage].append(seconds)
            peak = max(peak, used)
        cells = " ".join(f"{times[s][-1]:10.2f}" for s in DAILY_STAGES)
        yield f"{day} {cells} {peak / 2**20:8.0f} {_reminders(workspace):10d}"
    yield from _summary(times)


def _summary(times: dict[str, list[float]]) -> Iterator[str]:
    """The first and the last run of each stage; and, since the first day works off the whole
    backlog of a book never reminded and the machine is noisy, the second run and the medians of
    the five runs after the first and of the last five, whose ratio says whether a run grows."""
    yield f"{'stage':10} {'first':>8} {'second':>8} {'last':>8} {'median 2-6':>11} {'median last 5':>14} {'ratio':>6}"
    for stage, runs in times.items():
        early, late = statistics.median(runs[1:6] or runs), statistics.median(runs[-5:])
        yield (
            f"{stage:10} {runs[0]:8.2f} {runs[min(1, len(runs) - 1)]:8.2f} {runs[-1]:8.2f}"
            f" {early:11.2f} {late:14.2f} {late / early if early else 0:6.2f}"
        )


def _run(flow: Any, day: date, workspace: Path) -> Any:
    return partial(flow, as_of=day, home=str(workspace), return_state=True)


def _reminders(workspace: Path) -> int:
    """How many reminders the ledger holds (the history a run could re-read)."""
    from tasks.platform.ledger import open_ledger

    with open_ledger(workspace / "ledger.duckdb") as ledger:
        return int(ledger.counts()["reminders"])


if __name__ == "__main__":  # pragma: no cover - a quick way to run it without the CLI
    started = time.perf_counter()
    for line in run_daily_benchmark(invoices=10_000, days=3, seed=7, home=None):
        print(line, flush=True)
    print(f"{time.perf_counter() - started:.1f} s")

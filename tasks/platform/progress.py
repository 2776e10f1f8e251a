"""Progress of long work: what a stage has done so far and how fast, for the people waiting on it.

A stage's flow reports a step (`report("ingest", "orders.csv", done=1_100_000, unit="rows")`) as
its work goes; each report goes to the Prefect run log at INFO (the run's Logs tab in the UI, also
for runs a worker or `o2c serve` started) and to whoever listens in this process: the `o2c` command
draws it as a progress line on a terminal. Stage logic itself never reports (it stays pure); the
flows do, between the steps they compose.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """One report: `done` of `total` (None: not known) `unit` of `what`, in `seconds` so far."""

    stage: str
    what: str
    done: int
    total: int | None
    unit: str
    seconds: float

    @property
    def rate(self) -> float:
        """Units a second so far."""
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def text(self) -> str:
        """`ingest: orders.csv 1,100,000 rows in 4.2 s (261,905 rows/s)`."""
        of = f" of {self.total:,}" if self.total is not None else ""
        return (
            f"{self.stage}: {self.what} {self.done:,}{of} {self.unit} in {self.seconds:.1f} s"
            f" ({self.rate:,.0f} {self.unit}/s)"
        )


Listener = Callable[[Step], None]
_listeners: list[Listener] = []
_lock = threading.Lock()


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Call `listener` with every step reported in this process while the block runs."""
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            _listeners.remove(listener)


def report(
    stage: str, what: str, done: int, *, total: int | None = None, unit: str = "rows", since: float
) -> Step:
    """Report a step of `stage`'s work begun at `since` (a `time.perf_counter()` reading): to the
    running flow's Prefect log, at INFO, and to every listener."""
    step = Step(stage, what, int(done), total, unit, time.perf_counter() - since)
    run_logger().info(step.text())
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(step)
    return step


def run_logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The running flow's or task's Prefect logger (its lines reach the run's Logs tab); outside a
    run, this module's own logger."""
    try:
        from prefect import get_run_logger
        from prefect.exceptions import MissingContextError

        try:
            return get_run_logger()
        except MissingContextError:
            pass
    except ImportError:  # pragma: no cover - Prefect is a dependency
        pass
    return logging.getLogger(__name__)

"""The writer lock: one exclusive file lock beside the ledger (`ledger.lock`), so that two runs at
once wait for each other instead of failing on DuckDB's own file lock.

The lock is re-entrant within one thread (a stage's tasks open the ledger while its flow holds
it); other threads of this process wait on an in-process lock, other processes on `flock`.
"""

from __future__ import annotations

import fcntl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class LedgerBusy(RuntimeError):
    """Another run held the ledger for longer than the lock timeout."""


_process_locks: dict[Path, threading.RLock] = {}
_process_guard = threading.Lock()
_depth = threading.local()


@contextmanager
def hold_ledger(path: Path, *, lock_timeout: float = 600.0, entity: str | None = None) -> Iterator[None]:
    """Hold the writer lock across a whole stage (read, compute, check, publish), so that no other
    run changes the ledger between this stage's read and its write. With a PostgreSQL ledger a run
    of one legal entity (`entity`) holds only that entity's lock, beside runs of other entities
    (tasks/platform/ledger/working_copy.py says how their writes land side by side).

    Re-entrant within one thread (a stage's tasks open the ledger while the flow holds it); other
    threads of this process and other processes wait for it."""
    from tasks.platform.ledger.working_copy import stage_hold, store_of

    path.parent.mkdir(parents=True, exist_ok=True)
    url = store_of(path)
    if url is not None:  # PostgreSQL's advisory lock, across machines; the file's lock per opening
        with stage_hold(url, path, lock_timeout, entity):
            yield
        return
    with writer_lock(path.with_suffix(".lock"), lock_timeout):
        yield


@contextmanager
def hold_outbox(path: Path, *, lock_timeout: float = 600.0) -> Iterator[None]:
    """Hold the ledger's outbox across a delivery: with a PostgreSQL ledger deliveries take turns
    across machines (`working_copy.delivery_hold`); with the file, a delivery's opening of the
    ledger holds the file's lock, so deliveries on one machine already take turns."""
    from tasks.platform.ledger.working_copy import delivery_hold, store_of

    url = store_of(path)
    if url is None:
        yield
        return
    with delivery_hold(url, lock_timeout):
        yield


def depth(lock_path: Path) -> int:
    """How many times this thread holds the writer lock `lock_path` (0: not at all)."""
    held: dict[Path, int] = _depth.__dict__.get("held", {})
    return held.get(lock_path, 0)


@contextmanager
def writer_lock(lock_path: Path, timeout: float) -> Iterator[None]:
    """Hold the lock file `lock_path`: re-entered in this thread, waited for by any other."""
    with _process_guard:
        in_process = _process_locks.setdefault(lock_path, threading.RLock())
    if not in_process.acquire(timeout=timeout):
        raise LedgerBusy(f"the ledger {lock_path.with_suffix('.duckdb')} stayed busy for {timeout:.0f} s")
    depths: dict[Path, int] = _depth.__dict__.setdefault("held", {})
    try:
        if depths.get(lock_path, 0) > 0:
            depths[lock_path] += 1
            try:
                yield
            finally:
                depths[lock_path] -= 1
            return
        with _flock(lock_path, timeout):
            depths[lock_path] = 1
            try:
                yield
            finally:
                depths[lock_path] = 0
    finally:
        in_process.release()


@contextmanager
def _flock(lock_path: Path, timeout: float) -> Iterator[None]:
    deadline = time.monotonic() + timeout
    with open(lock_path, "a+") as handle:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LedgerBusy(
                        f"the ledger {lock_path.with_suffix('.duckdb')} stayed busy for {timeout:.0f} s"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

"""Named crash points: the places where a process may die and the promises of the ledger must hold.

Every commit, every step between a ledger write and a delivery, each side of every provider call
and the publish of each checkpoint calls `crash_point(name)`. In production it does nothing but
count. The crash harness (`tests/crash/`, `make soak`) sets two variables:

- `O2C_CRASH_TRACE=FILE`: every point reached is appended to FILE as `<n>\t<name>`, so one
  uninterrupted run lists the points in the order a run meets them;
- `O2C_CRASH_AT=N` (or a point's name): the process exits at once, at the N-th point reached,
  with exit code 97 and without unwinding (no `finally`, no `atexit`, no flush), as a killed
  process would.

Then it checks that a re-run completes and leaves the ledger and the outbox as an uninterrupted
run does. A concurrency test sets a third pair: `O2C_PAUSE_AT=<name>` and `O2C_PAUSE_FILE=FILE`:
the first time the named point is reached the process creates FILE and waits (up to ten minutes)
until the test removes it, so that another process acts at exactly that point.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

CRASH_EXIT_CODE = 97


@dataclass
class _Plan:
    at: str  # a number (the n-th point reached) or a point's name; empty: never
    trace: str  # a file to append each point reached to; empty: none
    reached: int = 0
    pause_at: str = ""  # a point's name where the process waits once, until `pause_file` is removed
    pause_file: str = ""


_lock = threading.Lock()
_plan: _Plan | None = None


def _current() -> _Plan:
    global _plan
    if _plan is None:
        _plan = _Plan(
            os.environ.get("O2C_CRASH_AT", ""),
            os.environ.get("O2C_CRASH_TRACE", ""),
            pause_at=os.environ.get("O2C_PAUSE_AT", ""),
            pause_file=os.environ.get("O2C_PAUSE_FILE", ""),
        )
    return _plan


def crash_point(name: str) -> None:
    """Count this point; with the harness's settings, record it, and die here when asked to."""
    with _lock:
        plan = _current()
        if plan.pause_at and plan.pause_at == name:
            plan.pause_at = ""
            _pause(plan.pause_file)
        if not plan.at and not plan.trace:
            return
        plan.reached += 1
        if plan.trace:
            with open(plan.trace, "a", encoding="utf-8") as trace:
                trace.write(f"{plan.reached}\t{name}\n")
        if plan.at and plan.at in (str(plan.reached), name):
            os._exit(CRASH_EXIT_CODE)


def _pause(flag: str) -> None:
    """Create `flag` and wait until it is removed (ten minutes at most)."""
    import time

    with open(flag, "w", encoding="utf-8") as created:
        created.write(str(os.getpid()))
    deadline = time.monotonic() + 600
    while os.path.exists(flag) and time.monotonic() < deadline:
        time.sleep(0.05)


def reset() -> None:
    """Read the settings again (a forked process of the harness starts its own count)."""
    global _plan
    with _lock:
        _plan = None

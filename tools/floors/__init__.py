"""The floor of each stage: the same work done bare in DuckDB, on the same data, in the same process.

`o2c bench` runs each floor just before its stage, on the ledger as the stage will find it, and
prints the stage's time beside it, so a ratio can be read on a noisy machine. A floor is what a
hand-written SQL script would need for the stage's core work (read what it reads, compute the
decisions a plain join gives, build the rows it writes) without checks, evidence, audit, artifacts
or the careful cases: the lower bound the stage is measured against, not a competitor.

Each stage has its module `tools/floors/<stage>.py` with
`floor(ledger: Ledger, inbox: Path, as_of: date) -> int` (the rows it worked through). A floor runs
inside a transaction the bench rolls back: it may write scratch tables, it leaves the ledger as it
found it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

Floor = Callable[[Any, Path, date], int]


def floor_of(stage: str) -> Floor | None:
    """The floor function of `stage`, or None when it has none yet."""
    try:
        module = importlib.import_module(f"tools.floors.{stage}")
    except ModuleNotFoundError:
        return None
    return getattr(module, "floor", None)

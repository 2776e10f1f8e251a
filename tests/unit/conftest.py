"""Unit fixtures: a ledger in memory from literal tables (no file, no lock, no Prefect)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pandas as pd
import pytest

from tasks.platform.ledger import Ledger, memory_ledger


@pytest.fixture
def ledger_of() -> Iterator[Callable[..., Ledger]]:
    """`ledger_of(invoices=table(...), payments=table(...))`: a migrated ledger in memory holding
    those rows (`tests/unit/tables.py` writes them), closed when the test ends."""
    with ExitStack() as stack:

        def build(**tables: pd.DataFrame) -> Ledger:
            return stack.enter_context(memory_ledger(tables))

        yield build

"""Shared assertions for the bank statement reader tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tasks.ingest.bank.model import StatementRejected


def assert_refused_for(reader: Callable[[Path], object], path: Path, reason: str) -> None:
    """`reader` refuses `path` with one line that starts with the file's name and gives `reason`."""
    with pytest.raises(StatementRejected) as refused:
        reader(path)
    message = str(refused.value)
    assert message.startswith(f"{path.name}: ")
    assert "\n" not in message
    assert reason in message

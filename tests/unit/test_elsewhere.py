"""A function run in a second process (`tasks/platform/elsewhere.py`)."""

from __future__ import annotations

import math
import os

import pytest

from tasks.platform.elsewhere import Elsewhere


def test_the_other_process_returns_what_the_function_returns_and_is_another_process() -> None:
    other = Elsewhere("os", "getpid")
    try:
        assert other.result() != os.getpid()
    finally:
        other.close()
    exact = Elsewhere("math", "comb", 60, 30)
    try:
        assert exact.result() == math.comb(60, 30)
    finally:
        exact.close()
    assert not exact.asked.parent.exists()


def test_a_failure_there_is_an_os_error_here() -> None:
    failing = Elsewhere("math", "sqrt", -1.0)  # ValueError in the other process
    try:
        with pytest.raises(OSError, match="failed"):
            failing.result()
    finally:
        failing.close()
    closed = Elsewhere("math", "comb", 6, 3)
    closed.close()
    with pytest.raises(OSError, match="closed"):
        closed.result()

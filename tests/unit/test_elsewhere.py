"""A function run in a second process (`tasks/platform/elsewhere.py`)."""

from __future__ import annotations

import math
import os
from pathlib import Path

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


def test_a_process_running_is_listed_with_its_id_until_closed_and_its_memory_is_counted() -> None:
    from tasks.platform.elsewhere import running
    from tools.bench import _rss_bytes

    alone = _rss_bytes()
    other = Elsewhere("time", "sleep", 5)
    try:
        assert len(running()) == 1
        pid = running()[0]
        assert os.path.exists(f"/proc/{pid}")
        with open(f"/proc/{pid}/statm") as handle:
            theirs = int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        assert theirs > 0
        assert _rss_bytes() >= alone + theirs // 2  # this process's and the other's, summed
    finally:
        other.close()
    assert running() == []


def test_a_process_that_cannot_start_raises_an_os_error_and_leaves_no_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import tempfile

    from tasks.platform import elsewhere

    def no_process(*args: object, **kwargs: object) -> None:
        raise BlockingIOError("Resource temporarily unavailable")

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(elsewhere.subprocess, "Popen", no_process)
    with pytest.raises(OSError, match="temporarily unavailable"):
        Elsewhere("math", "comb", 6, 3)
    assert list(tmp_path.iterdir()) == []
    assert elsewhere.running() == []

"""Shared fixtures: a workspace per test and the real datasets folder beside the project."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

PROJECT = Path(__file__).resolve().parent.parent
DATASETS = PROJECT.parent / "shared" / "datasets"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty workspace (`O2C_HOME`) with the file mailer."""
    workspace = tmp_path / "home"
    monkeypatch.setenv("O2C_HOME", str(workspace))
    monkeypatch.setenv("O2C_MAILER", "file")
    return workspace

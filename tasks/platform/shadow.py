"""The shadow of a workspace: `o2c run --shadow` computes everything for the chosen customers in a
copy of the ledger, sending and booking nothing in the real one.

The shadow is `<home>/shadow/`, made again from the workspace's ledger as it stands at every shadow
run (so the same ledger and inputs give the same shadow): its own DuckDB file (also when the
workspace's ledger is PostgreSQL), its e-mails written as files to `shadow/outbox/` (never sent),
its documents and reports in its own folders. `o2c pilot compare --shadow` compares what it decided
with the legacy process's files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tasks.platform.config import SHADOW_MARKER, Settings, load_settings
from tasks.platform.ledger import copy_ledger

FOLDER = "shadow"


def shadow_home(settings: Settings) -> Path:
    """Where a workspace's shadow is."""
    return settings.home / FOLDER


def make_shadow(settings: Settings) -> Settings:
    """A fresh shadow of the workspace: the folder emptied, marked, the ledger copied in; its
    settings."""
    if (settings.home / SHADOW_MARKER).exists():
        raise ValueError(f"{settings.home} is itself a shadow: run --shadow from the workspace it shadows")
    home = shadow_home(settings)
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    (home / SHADOW_MARKER).write_text(
        "This folder is the shadow of the workspace above it (o2c run --shadow): remade at every\n"
        "shadow run, never sends e-mail, keeps its own ledger.\n",
        encoding="utf-8",
    )
    shadowed = load_settings(home)
    copy_ledger(settings.ledger_path, shadowed.ledger_path, lock_timeout=settings.lock_timeout_seconds)
    return shadowed

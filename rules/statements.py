"""Bank statement integrity policy (`rules/statements.yaml`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class StatementPolicy(BaseModel):
    version: int
    on_integrity_failure: Literal["quarantine", "report"] = "quarantine"

"""The typed parameters of the flows: what the Prefect UI shows as a form (with descriptions,
defaults, choices and bounds) and validates before a run starts.

Prefect builds each flow's parameter schema from these annotations; the descriptions come from the
flows' docstrings (`Args:`). The server rejects a deployment run whose parameters break the schema
(a stage that does not exist, a period of 0 days), and a direct call is validated the same way.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from rules.policy import STANDARD_PROFILE, policy_profiles

Stage = Literal["ingest", "invoice", "reconcile", "remind", "escalate", "report"]
ALL_STAGES: list[Stage] = ["ingest", "invoice", "reconcile", "remind", "escalate", "report"]

# A choice list in the UI: the profiles shipped in rules/profiles/ when the flow was loaded.
PolicyProfile = Literal[tuple(policy_profiles())]  # type: ignore[valid-type]

# Bounds live in the types (the UI enforces them); descriptions in the flows' docstrings.
AsOf = date | None
Stages = Annotated[list[Stage], Field(min_length=1)]
PeriodDays = Annotated[int, Field(ge=1, le=3660)]


class Sources(BaseModel):
    """Where the ingest stage reads from instead of the workspace's inbox."""

    model_config = ConfigDict(extra="forbid")

    paths: list[str] = Field(
        default_factory=list,
        title="Files",
        description="Files to load (CSV, Parquet, XLSX, bank statements), as paths on the worker.",
    )
    mapping: str | None = Field(
        default=None,
        title="Mapping file",
        description="A mapping (data_contracts/mappings/...) that says how the files' columns are read.",
    )
    sql_url: str | None = Field(
        default=None,
        title="SQL source",
        description="A SQLAlchemy URL to read the mapping's table or query from.",
    )


DEFAULT_PROFILE = STANDARD_PROFILE

"""The typed parameters of the flows: what the Prefect UI shows as a form (with descriptions,
defaults, choices and bounds) and validates before a run starts.

Prefect builds each flow's parameter schema from these annotations; the descriptions come from the
flows' docstrings (`Args:`). The server rejects a deployment run whose parameters break the schema
(a stage that does not exist, a period of 0 days), and a direct call is validated the same way.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import core_schema

from tasks.platform.policy import STANDARD_PROFILE, policy_profiles
from tasks.platform.stages import STAGES

if TYPE_CHECKING:
    Stage: TypeAlias = str
else:  # the registry's stage names, in pipeline order: a choice list in the UI
    Stage = Literal[STAGES]
ALL_STAGES: list[Stage] = list(STAGES)


def _known_profile(value: str) -> str:
    profiles = policy_profiles()
    if value not in profiles:
        raise ValueError(f"Input should be {' or '.join(repr(p) for p in profiles)}")
    return value


class _ProfileChoice:
    """How a policy profile is validated and shown: a text that names one of the profiles shipped in
    rules/profiles/ (or `standard`), offered in the UI as a choice list (a JSON-schema enum, as a
    Literal of those names gives). The profiles are listed when a schema is built or a value
    checked, not when this module is imported."""

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(_known_profile, core_schema.str_schema())

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {"enum": policy_profiles(), "type": "string"}


# A choice list in the UI: the profiles shipped in rules/profiles/ when the flow was loaded.
PolicyProfile: TypeAlias = Annotated[str, _ProfileChoice]

# Bounds live in the types (the UI enforces them); descriptions in the flows' docstrings.
AsOf = date | None
Stages = Annotated[list[Stage], Field(min_length=1)]
PeriodDays = Annotated[int, Field(ge=1, le=3660)]
LegalEntity = Annotated[str, Field(min_length=1, max_length=100)] | None


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


class RunScope(BaseModel):
    """Which customers a run is limited to (a legal entity's, a pilot's list, or a segment's); the
    others' rows are left exactly as they were. Give one of the three."""

    model_config = ConfigDict(extra="forbid")

    entity: str | None = Field(
        default=None,
        title="Legal entity",
        description="Only this legal entity's customers (the customer master's legal_entity; `default`: none given).",
    )
    customers: list[str] = Field(
        default_factory=list,
        title="Customers",
        description="Only these customers, by customer id (a pilot).",
    )
    segment: str | None = Field(
        default=None,
        title="Segment",
        description="Only the customers of this segment of the customer master.",
    )

    def asked(self) -> dict[str, Any]:
        """What the runner resolves (`tasks/platform/runner.py`)."""
        return self.model_dump()


def scope_of(scope: RunScope | dict[str, Any] | None) -> dict[str, Any] | None:
    """A flow's scope parameter as the runner takes it (a dict from a deployment run, a model from
    a call)."""
    if scope is None:
        return None
    return (scope if isinstance(scope, RunScope) else RunScope.model_validate(scope)).asked()


DEFAULT_PROFILE = STANDARD_PROFILE

# The parameters for engineers alone (a workspace folder, files, a SQL source): kept out of the
# Prefect form's schema (`flows/hooks.py` titled), so finance ops never see them; a flow run asked
# for through the API or `o2c` may still give them, and the flow still checks them.
ENGINEERS = frozenset({"home", "sources", "paths", "mapping", "sql_url"})

# What the Prefect form calls each parameter (`flows/hooks.py` titled): finance words, not names.
TITLES = {
    "as_of": "Business date",
    "dry_run": "Dry run (show, write and send nothing)",
    "home": "Workspace folder (engineers)",
    "policy_profile": "Rules to apply",
    "stages": "Stages to run",
    "sources": "Files or SQL source to read (engineers)",
    "scope": "Only these customers",
    "shadow": "Shadow (compute in a copy, send and book nothing)",
    "deliver": "Send at the end of the run",
    "documents": "Write invoice documents",
    "email": "E-mail the invoices",
    "period_days": "DSO period in days",
    "entity": "Legal entity",
    "paths": "Files to load",
    "mapping": "Mapping of the files' columns (engineers)",
    "sql_url": "SQL source URL (engineers)",
}

"""The ordered registry of the stages of order-to-cash: the one place that lists them.

Everything else that needs the stages is derived from `REGISTRY`: the stage names (`STAGES`), the
contracts each stage publishes (`STAGE_CONTRACTS`), the choices of the Prefect form
(`flows/parameters.py`), the flows `order_to_cash` runs and in which order, the stages a policy
profile applies to, the `o2c run` command's choices, and the companion checks in the tests.
Adding a stage is its own new files (`flows/<stage>.py`, `tasks/<stage>/`, `data_contracts/*.yaml`,
`sql/<stage>/`, tests, a deployment in `prefect.yaml`) and one `Stage(...)` entry here; see
docs/adding-a-stage.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    """One stage: its name, its flow, the data contracts it reads and writes, its policy files."""

    name: str
    flow: str
    """`module:function` of the Prefect flow that runs it (for instance `flows.ingest:ingest_flow`)."""
    reads: tuple[str, ...]
    """The contracts (`data_contracts/<name>.yaml`) of the ledger data it reads (besides its files)."""
    writes: tuple[str, ...]
    """The contracts its checkpoints validate before it publishes."""
    policies: tuple[str, ...] = ()
    """The policy files (`rules/<name>.yaml`) its decisions follow."""
    profiled: bool = False
    """Whether a policy profile (`rules/profiles/<profile>/`) may replace its policy."""
    takes_sources: bool = False
    """Whether it reads the pipeline's `sources` parameter (files or a SQL source) instead of the inbox."""


REGISTRY: tuple[Stage, ...] = (
    Stage(
        "ingest",
        "flows.ingest:ingest_flow",
        reads=("customers", "orders"),
        writes=("customers", "subscriptions", "orders", "order_lines", "invoices", "payments", "cases"),
        policies=("statements",),
        takes_sources=True,
    ),
    Stage(
        "invoice",
        "flows.invoice:invoice_flow",
        reads=("customers", "subscriptions", "orders", "order_lines", "cases"),
        writes=("billed_invoices", "invoice_lines", "invoice_control"),
    ),
    Stage(
        "reconcile",
        "flows.reconcile:reconcile_flow",
        reads=("customers", "invoices", "billed_invoices", "payments"),
        writes=("allocations", "invoice_adjustments", "deduction_cases"),
        policies=("matching",),
        profiled=True,
    ),
    Stage(
        "remind",
        "flows.remind:remind_flow",
        reads=("customers", "invoices", "billed_invoices", "allocations", "cases"),
        writes=("reminders",),
        policies=("dunning",),
        profiled=True,
    ),
    Stage(
        "escalate",
        "flows.escalate:escalate_flow",
        reads=("customers", "invoices", "billed_invoices", "allocations", "reminders", "cases", "orders"),
        writes=("worklist",),
        policies=("escalation",),
        profiled=True,
    ),
    Stage(
        "report",
        "flows.report:report_flow",
        reads=("customers", "invoices", "billed_invoices", "allocations", "invoice_adjustments", "payments"),
        writes=("ageing",),
    ),
)

STAGES: tuple[str, ...] = tuple(stage.name for stage in REGISTRY)
"""The stage names in pipeline order."""

STAGE_CONTRACTS: dict[str, tuple[str, ...]] = {stage.name: stage.writes for stage in REGISTRY}
"""The contracts that guard what each stage publishes (`data_contracts/<name>.yaml`)."""

PROFILED: frozenset[str] = frozenset(stage.name for stage in REGISTRY if stage.profiled)
"""The stages whose policy a profile may replace."""


def stage(name: str) -> Stage:
    """The registry entry of one stage; a name that is not a stage is a KeyError naming the choices."""
    for entry in REGISTRY:
        if entry.name == name:
            return entry
    raise KeyError(f"unknown stage {name!r}; the stages are {', '.join(STAGES)}")

"""The whole pipeline: every stage of the registry in order, each as its own subflow."""

from __future__ import annotations

import importlib
from typing import Any

from flows.delivery import deliver_flow
from flows.hooks import o2c_flow
from flows.lanes import entity_lane
from flows.parameters import ALL_STAGES, DEFAULT_PROFILE, AsOf, PolicyProfile, RunScope, Sources, Stages
from tasks.platform.artifacts import pipeline_summary_markdown, publish_markdown
from tasks.platform.failure_notice import STOPPED_AT
from tasks.platform.flow_returns import remember, result_of
from tasks.platform.outbox import OUTBOX_OF_STAGE
from tasks.platform.stage import resolve_as_of
from tasks.platform.stages import PROFILED, REGISTRY, Stage


def _flow(entry: Stage) -> Any:
    """The Prefect flow a registry entry names (`module:function`)."""
    module, name = entry.flow.split(":")
    return getattr(importlib.import_module(module), name)


STAGE_FLOWS: dict[str, Any] = {entry.name: _flow(entry) for entry in REGISTRY}
"""The flow of every stage, in pipeline order (`tasks/platform/stages.py`)."""
TAKES_SOURCES = {entry.name for entry in REGISTRY if entry.takes_sources}
SCOPED = {"invoice", "reconcile", "remind", "escalate"}
"""The stages a run can limit to some customers (`tasks/platform/scope.py`)."""
DELIVERS = set(OUTBOX_OF_STAGE)
"""The stages that queue e-mails (and, the invoice stage, documents) for the delivery."""


@o2c_flow("order_to_cash", "order-to-cash")
def order_to_cash(
    as_of: AsOf = None,
    dry_run: bool = False,
    stages: Stages = ALL_STAGES,  # noqa: B006 (Prefect shows the default in the form; never mutated)
    policy_profile: PolicyProfile = DEFAULT_PROFILE,
    sources: Sources | None = None,
    home: str | None = None,
    scope: RunScope | None = None,
    shadow: bool = False,
) -> Any:
    """Ingest the inbox, bill, apply cash, remind, escalate and report, as of one date; then write
    the invoice documents and send the e-mails the stages queued.

    A stage that fails stops the run there: later stages do not run on data it did not vouch for;
    what the earlier stages queued is still sent.

    Args:
        as_of: The business date the run works as of (YYYY-MM-DD). Empty: today. A past date
            re-runs the day as the ledger stood then.
        dry_run: Compute and show everything, write and send nothing.
        stages: Which stages to run; they always run in pipeline order.
        policy_profile: The set of rules to apply: `standard`, or a profile of rules/profiles/
            (for instance `holiday`: courtesy notes and first reminders only).
        sources: Files or a SQL source for the ingest stage instead of the workspace's inbox.
        home: The workspace folder (ledger, inbox, outbox, reports). Empty: $O2C_HOME.
        scope: Only these customers (a legal entity's, a list, a segment): billed, their cash
            applied, reminded and escalated; every other customer's rows are left exactly as they
            were. Ingest reads its files whole; report reports a legal entity's scope for that
            entity, otherwise the whole book. Empty: every customer.
        shadow: Compute everything in a fresh copy of the ledger (the workspace's `shadow/`
            folder) and send or book nothing in the workspace: the e-mails are written to
            shadow/outbox for people to read. Ingest does not run in a shadow.

    A run for one legal entity holds that entity's lane (`flows/lanes.py`): runs of one entity
    take turns, runs of different entities go at once.
    """
    entity = _entity_of(scope) if scope is not None and not shadow else None
    with entity_lane(entity):
        return _pipeline(as_of, dry_run, stages, policy_profile, sources, home, scope, shadow)


def _pipeline(
    as_of: AsOf,
    dry_run: bool,
    stages: Stages,
    policy_profile: PolicyProfile,
    sources: Sources | None,
    home: str | None,
    scope: RunScope | None,
    shadow: bool,
) -> Any:
    """`order_to_cash`'s stages in order, then the delivery."""
    from prefect.states import Failed

    day = resolve_as_of(as_of)
    chosen: list[str] = [stage for stage in ALL_STAGES if stage in stages]
    if shadow:
        from tasks.platform.config import load_settings
        from tasks.platform.shadow import make_shadow

        home = str(make_shadow(load_settings(home)).home)
        chosen = [stage for stage in chosen if stage != "ingest"]
    results: dict[str, Any] = {}
    stopped: tuple[str, Any] | None = None
    for stage in chosen:
        options: dict[str, Any] = {"as_of": day, "dry_run": dry_run, "home": home}
        if stage in PROFILED:
            options["policy_profile"] = policy_profile
        if stage in TAKES_SOURCES and sources is not None:
            options.update(sources.model_dump())
        if stage in DELIVERS:
            options["deliver"] = False  # everything leaves once, after the last stage
        if stage in SCOPED and scope is not None:
            options["scope"] = scope
        if stage == "report" and scope is not None and _entity_of(scope):
            options["entity"] = _entity_of(scope)  # an entity's run reports that entity
        state = STAGE_FLOWS[stage](**options, return_state=True)
        if state.is_failed() or state.is_crashed():
            stopped = (stage, state)
            break
        results[stage] = result_of(state)
    if not dry_run and any(stage in DELIVERS for stage in results):
        # What the stages that completed queued leaves now, also when a later stage stopped the run.
        delivered = deliver_flow(as_of=day, home=home, return_state=True)
        if (delivered.is_failed() or delivered.is_crashed()) and stopped is None:
            stopped = ("deliver", delivered)
        elif not (delivered.is_failed() or delivered.is_crashed()):
            _attach_deliveries(results, result_of(delivered))
    if stopped is not None:
        stage, state = stopped
        publish_markdown(
            "order-to-cash-summary",
            pipeline_summary_markdown(str(day), chosen, results, (stage, state.message or state.name)),
            f"order to cash as of {day}: stopped at {stage}",
        )
        return Failed(name=state.name, message=f"{STOPPED_AT}{stage}: {state.message}", data=results)
    publish_markdown(
        "order-to-cash-summary",
        pipeline_summary_markdown(str(day), chosen, results),
        f"order to cash as of {day}: every stage's outcome and counts",
    )
    return remember(results)


def _entity_of(scope: RunScope | dict[str, Any]) -> str | None:
    """The legal entity a scope names, if it names one."""
    return scope.entity if isinstance(scope, RunScope) else scope.get("entity")


def _attach_deliveries(results: dict[str, Any], delivered: dict[str, Any]) -> None:
    """Each stage's summary gets what the delivery sent of its messages (and the invoice stage the
    documents written), as a stage run on its own reports them."""
    for stage, summary in results.items():
        if stage in delivered and isinstance(summary, dict):
            summary["delivery"] = delivered[stage]
    if "invoice" in results and "documents" in delivered:
        results["invoice"]["documents"] = delivered["documents"]

"""The whole pipeline: every stage of the registry in order, each as its own subflow."""

from __future__ import annotations

import importlib
from typing import Any

from flows.hooks import o2c_flow
from flows.parameters import ALL_STAGES, DEFAULT_PROFILE, AsOf, PolicyProfile, Sources, Stages
from tasks.platform.artifacts import pipeline_summary_markdown, publish_markdown
from tasks.platform.failure_notice import STOPPED_AT
from tasks.platform.flow_returns import remember, result_of
from tasks.platform.stage import resolve_as_of
from tasks.platform.stages import PROFILED, REGISTRY, Stage


def _flow(entry: Stage) -> Any:
    """The Prefect flow a registry entry names (`module:function`)."""
    module, name = entry.flow.split(":")
    return getattr(importlib.import_module(module), name)


STAGE_FLOWS: dict[str, Any] = {entry.name: _flow(entry) for entry in REGISTRY}
"""The flow of every stage, in pipeline order (`tasks/platform/stages.py`)."""
TAKES_SOURCES = {entry.name for entry in REGISTRY if entry.takes_sources}


@o2c_flow("order_to_cash", "order-to-cash")
def order_to_cash(
    as_of: AsOf = None,
    dry_run: bool = False,
    stages: Stages = ALL_STAGES,  # noqa: B006 (Prefect shows the default in the form; never mutated)
    policy_profile: PolicyProfile = DEFAULT_PROFILE,
    sources: Sources | None = None,
    home: str | None = None,
) -> Any:
    """Ingest the inbox, bill, apply cash, remind, escalate and report, as of one date.

    A stage that fails stops the run there: later stages do not run on data it did not vouch for.

    Args:
        as_of: The business date the run works as of (YYYY-MM-DD). Empty: today. A past date
            re-runs the day as the ledger stood then.
        dry_run: Compute and show everything, write and send nothing.
        stages: Which stages to run; they always run in pipeline order.
        policy_profile: The set of rules to apply: `standard`, or a profile of rules/profiles/
            (for instance `holiday`: courtesy notes and first reminders only).
        sources: Files or a SQL source for the ingest stage instead of the workspace's inbox.
        home: The workspace folder (ledger, inbox, outbox, reports). Empty: $O2C_HOME.
    """
    from prefect.states import Failed

    day = resolve_as_of(as_of)
    chosen: list[str] = [stage for stage in ALL_STAGES if stage in stages]
    results: dict[str, Any] = {}
    for stage in chosen:
        options: dict[str, Any] = {"as_of": day, "dry_run": dry_run, "home": home}
        if stage in PROFILED:
            options["policy_profile"] = policy_profile
        if stage in TAKES_SOURCES and sources is not None:
            options.update(sources.model_dump())
        state = STAGE_FLOWS[stage](**options, return_state=True)
        if state.is_failed() or state.is_crashed():
            publish_markdown(
                "order-to-cash-summary",
                pipeline_summary_markdown(str(day), chosen, results, (stage, state.message or state.name)),
                f"order to cash as of {day}: stopped at {stage}",
            )
            return Failed(name=state.name, message=f"{STOPPED_AT}{stage}: {state.message}", data=results)
        results[stage] = result_of(state)
    publish_markdown(
        "order-to-cash-summary",
        pipeline_summary_markdown(str(day), chosen, results),
        f"order to cash as of {day}: every stage's outcome and counts",
    )
    return remember(results)

"""Escalate flow: decide who needs a collector, from the facts as of the date."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from rules.escalation import EscalationPolicy
from rules.policy import load_policy
from tasks import cases, escalate
from tasks.artifacts import current_run_id, publish_table
from tasks.checkpoint import load_contract, run_checkpoint
from tasks.config import Settings, load_settings
from tasks.ledger import Publication, hold_ledger, open_ledger
from tasks.stage import conclude, data_errors, failed, finish, resolve_as_of, run_name


@task(name="read open items and states", cache_policy=NO_CACHE)
def read_facts(settings: Settings, as_of: date) -> tuple[Any, Any]:
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        return ledger.query("report/open_items_as_of", as_of=as_of), ledger.query("escalate/current_states")


@task(name="settle promises to pay", cache_policy=NO_CACHE)
def settle_promises(settings: Settings, as_of: date) -> Any:
    """Kept or broken: each open promise against the cash applied to what it covers."""
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        promises, cash = ledger.query("cases/open_promises"), ledger.query("cases/promise_cash")
    return cases.promise_outcomes(promises, cash, as_of)


@task(name="evaluate escalation policy", cache_policy=NO_CACHE)
def decide(
    open_items: Any, current: Any, policy: EscalationPolicy, version: str, as_of: date
) -> escalate.Escalation:
    return escalate.escalate(open_items, current, policy, as_of=as_of, rule_version=version)


@task(name="check and publish worklist", cache_policy=NO_CACHE)
def publish(
    settings: Settings, result: escalate.Escalation, promises: Any, version: str, as_of: date, dry_run: bool
) -> dict[str, Any]:
    check = run_checkpoint(result.worklist, load_contract("worklist"), source="escalate stage")
    pub = Publication(
        current_run_id(),
        "escalate",
        as_of,
        inserts={"escalations": result.entered},
        replacements={"worklist": result.worklist},
        rule_version=version,
        counts={
            **result.counts,
            "promises_kept": int((promises["status"] == "kept").sum()),
            "promises_broken": int((promises["status"] == "broken").sum()),
        },
    )
    pub.updates = cases.outcome_updates(promises, pub.run_id)
    summary = finish(settings, pub, [check], dry_run=dry_run)
    publish_table(
        "escalate-worklist", result.worklist, "customers a collector should call, largest overdue first"
    )
    if len(promises):
        publish_table("escalate-promises", promises, "promises to pay kept or broken as of this run")
    return summary


@flow(name="escalate", flow_run_name=run_name("escalate"))
def escalate_flow(
    as_of: date | None = None, dry_run: bool = False, home: str | None = None
) -> dict[str, Any]:
    """Put customers whose debt is old and large enough on the collector worklist."""
    settings = load_settings(home)
    day = resolve_as_of(as_of)
    try:
        policy, version = load_policy("escalation", EscalationPolicy)
        with hold_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds):
            open_items, current = read_facts(settings, day)
            promises = settle_promises(settings, day)
            result = decide(open_items, current, policy, version, day)
            return conclude(publish(settings, result, promises, version, day, dry_run))
    except data_errors() as exc:
        return failed(exc)

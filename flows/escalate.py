"""Escalate flow: decide, from the facts as of the date, who needs a collector, a credit hold, a
collection agency, a write-off proposal or their account owner's attention."""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.delivery import deliver_outbox
from flows.hooks import o2c_flow
from flows.parameters import DEFAULT_PROFILE, PolicyProfile, RunScope, scope_of
from rules.escalation import EscalationPolicy
from tasks.escalate import cases, records
from tasks.escalate import decide as escalate
from tasks.platform.artifacts import current_run_id, publish_table
from tasks.platform.checkpoint import run_checkpoint
from tasks.platform.config import Settings
from tasks.platform.contracts import load_contract
from tasks.platform.crash import crash_point
from tasks.platform.ledger import Publication, open_ledger
from tasks.platform.progress import report
from tasks.platform.runner import StageRun, run_stage
from tasks.platform.scope import Scope, replacing
from tasks.platform.stage import finish


@task(name="read open items, customers, reminders, cases and settled invoices", cache_policy=NO_CACHE)
def read_facts(settings: Settings, as_of: date) -> dict[str, Any]:
    """The facts as of the date; the open items and settled invoices (a million rows) as Arrow
    tables, money as BIGINT."""
    begin = time.perf_counter()
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        facts = {
            "open_items": ledger.arrow("report/open_items_as_of", as_of=as_of),
            "current": ledger.query("escalate/current_states", as_of=as_of),
            "customers": ledger.query("escalate/customers"),
            "dunning_levels": ledger.query("escalate/dunning_levels", as_of=as_of),
            "open_cases": ledger.query("escalate/open_cases"),
            "settled": ledger.arrow("report/settled_as_of", as_of=as_of),
            "unbilled": ledger.query("escalate/unbilled_orders"),
            "active_holds": ledger.query("escalate/active_holds"),
            "proposed": set(ledger.query("escalate/writeoff_proposed")["invoice_id"]),
        }
    report("escalate", "open items read", len(facts["open_items"]), unit="items", since=begin)
    report("escalate", "settled invoices read", len(facts["settled"]), unit="invoices", since=begin)
    return facts


@task(name="settle promises to pay", cache_policy=NO_CACHE)
def settle_promises(
    settings: Settings, as_of: date, scope: Scope | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Kept or broken: each open promise against the cash applied to what it covers (the scope's
    customers' promises only, when the run is limited to them)."""
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        promises, cash = (
            ledger.query("escalate/cases/open_promises"),
            ledger.query("escalate/cases/promise_cash"),
        )
        broken_before = ledger.query("escalate/broken_promises", as_of=as_of)
    if scope is not None:
        promises = scope.of(promises)
    outcomes = cases.promise_outcomes(promises, cash, as_of)
    return outcomes, cases.broken_counts(broken_before, outcomes, promises)


@task(name="evaluate escalation policy", cache_policy=NO_CACHE)
def decide(
    facts: dict[str, Any], broken: Any, policy: EscalationPolicy, version: str, as_of: date
) -> escalate.Escalation:
    begin = time.perf_counter()
    result = escalate.escalate(
        facts["open_items"],
        facts["current"],
        policy,
        as_of=as_of,
        rule_version=version,
        customers=facts["customers"],
        dunning_levels=facts["dunning_levels"],
        broken_promises=broken,
        open_cases=facts["open_cases"],
        settled=facts["settled"],
        unbilled=facts["unbilled"],
        active_holds=facts["active_holds"],
        proposed=facts["proposed"],
    )
    counts = result.counts
    report("escalate", "open items decided", len(facts["open_items"]), unit="items", since=begin)
    get_run_logger().info(
        "escalate: %d customer and currency lines; %d state changes, %d worklist lines, %d holds,"
        " %d write-offs proposed",
        len(result.states),
        counts["state_changes"],
        counts["worklist"],
        counts["holds_placed"],
        counts["write_offs_proposed"],
    )
    return result


@task(name="check and publish states, worklist, holds and proposals", cache_policy=NO_CACHE)
def publish(
    settings: Settings,
    result: escalate.Escalation,
    promises: Any,
    version: str,
    as_of: date,
    dry_run: bool,
    now: datetime,
    scope: Scope | None = None,
) -> dict[str, Any]:
    """Check the worklist and publish the decisions; `now` is the moment the records are stamped
    with (the run's start). A run limited to a scope replaces only its customers' worklist lines,
    ratings and states entered that day."""
    check = run_checkpoint(
        result.worklist, load_contract("worklist", settings.contracts_dir), source="escalate stage"
    )
    run_id = current_run_id()
    holds = records.hold_rows(result.holds, as_of)
    notices = records.owner_notices(result.notices, as_of, settings.seller_of(""), settings.templates)
    mine = {"customer_id": sorted(scope.customers)} if scope else {}
    replacements, scoped = replacing(
        scope, {"worklist": result.worklist, "customer_ratings": result.ratings.assign(as_of=as_of)}
    )
    pub = Publication(
        run_id,
        "escalate",
        as_of,
        inserts={"credit_holds": holds, "owner_notices": notices},
        scoped_replacements={"escalations": (result.entered, {"entered_on": as_of} | mine), **scoped},
        replacements=replacements,
        rule_version=version,
        counts={
            **result.counts,
            **(scope.summary() if scope else {}),
            "owner_notices": len(notices),
            "promises_kept": int((promises["status"] == "kept").sum()),
            "promises_broken": int((promises["status"] == "broken").sum()),
        },
    )
    pub.updates = cases.outcome_updates(promises, run_id, now)
    pub.row_updates = records.proposal_updates(result.write_offs, now, run_id)
    summary = finish(settings, pub, [check], dry_run=dry_run)
    for group, lines in result.worklist.groupby("collector_group", sort=True):
        publish_table(
            f"escalate-worklist-{group}", lines, f"the {group} collectors' worklist, highest score first"
        )
    if len(holds):
        publish_table(
            "escalate-holds", holds[["customer_id", "currency", "placed_reason"]], "credit holds placed"
        )
    if len(result.write_offs):
        publish_table(
            "escalate-write-off-proposals", result.write_offs, "write-offs proposed, for a person to approve"
        )
    if len(promises):
        publish_table("escalate-promises", promises, "promises to pay kept or broken as of this run")
    if len(result.agency) and not dry_run and summary["outcome"] != "halted":
        crash_point("escalate: the states published, the agency hand-over not yet written")
        summary["agency_file"] = str(write_agency_file(settings.home, result.agency, as_of))
    return summary


def write_agency_file(home: Path, agency: Any, as_of: date) -> Path:
    """The hand-over for the collection agency: one CSV per run date, written whole."""
    from tasks.report.export import write_csv

    target = home / "agency" / f"agency-{as_of.isoformat()}.csv"
    write_csv(agency, target)
    return target


@o2c_flow("escalate")
def escalate_flow(
    as_of: date | None = None,
    dry_run: bool = False,
    home: str | None = None,
    policy_profile: PolicyProfile = DEFAULT_PROFILE,
    scope: RunScope | None = None,
    deliver: bool = True,
) -> dict[str, Any]:
    """Decide each customer's escalation state: collector worklists, credit holds, agency hand-overs,
    write-off proposals and notices to account owners; settle promises to pay.

    Args:
        as_of: The business date the run works as of (YYYY-MM-DD). Empty: today.
        dry_run: Compute and show, write and send nothing.
        home: The workspace folder (ledger, inbox, outbox, reports). Empty: $O2C_HOME.
        policy_profile: The set of rules to apply: `standard`, or a profile of rules/profiles/.
        scope: Only these customers (a legal entity's, a list, a segment); the others' rows
            are left exactly as they were. Empty: every customer.
        deliver: Send what this run queued at its end (off: at the next delivery, as the whole
            pipeline does after its last stage).
    """
    return run_stage(
        "escalate",
        _escalate,
        as_of=as_of,
        dry_run=dry_run,
        home=home,
        policy=EscalationPolicy,
        policy_profile=policy_profile,
        scope=scope_of(scope),
        deliver=deliver,
    )


def _escalate(run: StageRun) -> dict[str, Any]:
    """Read the facts, settle promises, decide the states, publish them, then deliver the notices."""
    facts = read_facts(run.settings, run.as_of)
    promises, broken = settle_promises(run.settings, run.as_of, run.scope)
    result = decide(facts, broken, run.policy, run.version, run.as_of)
    if run.scope is not None:  # decided as for every customer; only the scope's are published
        result = escalate.within(result, run.scope.customers)
    summary = publish(run.settings, result, promises, run.version, run.as_of, run.dry_run, run.now, run.scope)
    if run.delivers and summary["outcome"] != "halted":
        summary["delivery"] = deliver_outbox(run.settings, "escalate")
    return summary

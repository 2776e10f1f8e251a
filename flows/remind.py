"""Remind flow: queue consolidated reminders in the outbox, then deliver them."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.delivery import deliver_outbox
from flows.hooks import o2c_flow
from flows.parameters import DEFAULT_PROFILE, PolicyProfile, RunScope, scope_of
from rules.dunning import DunningFacts, DunningPolicy
from rules.dunning_policy import longest_wait
from tasks.platform.artifacts import current_run_id, publish_table
from tasks.platform.checkpoint import run_checkpoint
from tasks.platform.config import Settings
from tasks.platform.contracts import load_contract
from tasks.platform.ledger import Publication, open_ledger
from tasks.platform.progress import report
from tasks.platform.runner import StageRun, run_stage
from tasks.platform.scope import replacing
from tasks.platform.stage import finish
from tasks.remind import plan as remind


@task(name="read open items, reminder history, cases and unapplied cash", cache_policy=NO_CACHE)
def read_facts(
    settings: Settings, as_of: date, dry_run: bool, policy: DunningPolicy
) -> tuple[DunningFacts, Any, Any, Any]:
    """The facts as Arrow tables (money stays BIGINT): the reminder history of the open items and of
    the policy's longest wait, not of every reminder ever sent; the previous reminders only for a
    dry run, which shows how each planned reminder differs from the last one."""
    begin = time.perf_counter()
    since = as_of - timedelta(days=longest_wait(policy))
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        customers = ledger.arrow("remind/customers")
        items = remind.dunning_items(ledger.arrow("report/open_items_as_of", as_of=as_of), as_of)
        open_now = {"open_invoices": remind.open_invoices(items)}
        facts = DunningFacts(
            items=items,
            customers=customers,
            history=ledger.arrow_with("remind/history", open_now, as_of=as_of, since=since),
            cases=ledger.arrow("remind/cases"),
            unapplied=ledger.arrow("remind/unapplied", as_of=as_of),
            reconcile_pending=remind.reconcile_pending(ledger.row("remind/reconcile_pending")),
            charges=ledger.arrow_with("remind/charge_ids", open_now),
            charged=ledger.arrow_with("remind/interest_through", open_now, as_of=as_of),
        )
        reminded = ledger.query("remind/reminded_on", as_of=as_of)
        latest = ledger.query("remind/latest_run") if dry_run else None
    report("remind", "open items read", len(facts.items), unit="items", since=begin)
    report("remind", "invoices reminded before read", len(facts.history), unit="invoices", since=begin)
    return facts, customers, latest, reminded


@task(name="plan reminders", cache_policy=NO_CACHE)
def plan(
    facts: DunningFacts,
    customers: Any,
    reminded: Any,
    run: StageRun,
) -> remind.Dunning:
    begin = time.perf_counter()
    dunning = remind.plan_reminders(
        facts,
        customers,
        run.policy,
        as_of=run.as_of,
        rule_version=run.version,
        reminded_on_date=reminded,
        templates=run.settings.templates,
        seller_of=run.settings.seller,
    )
    counts = dunning.counts
    report("remind", "open items evaluated", len(facts.items), unit="items", since=begin)
    report("remind", "reminders queued", counts["customers_reminded"], unit="reminders", since=begin)
    logger = get_run_logger()
    logger.info(
        "remind: %d customers considered, %d invoices at a level, %d invoices in the reminders;"
        " left out: %d customers, %d invoices",
        len(customers),
        counts["invoices_at_a_level"],
        counts["invoices_in_messages"],
        counts["customers_left_out"],
        counts["invoices_left_out"],
    )
    for problem in dunning.problems:
        logger.warning("dunning policy: %s", problem)
    return dunning


@task(name="check and queue reminders", cache_policy=NO_CACHE)
def queue(settings: Settings, dunning: remind.Dunning, run: StageRun) -> dict[str, Any]:
    check = run_checkpoint(
        dunning.reminders, load_contract("reminders", settings.contracts_dir), source="remind stage"
    )
    replacements, scoped = replacing(run.scope, {"reminder_exclusions": dunning.exclusions})
    pub = Publication(
        current_run_id(),
        "remind",
        run.as_of,
        inserts={
            "reminders": dunning.reminders,
            "reminder_items": dunning.items,
            "invoices": dunning.charges,
        },
        replacements=replacements,
        scoped_replacements=scoped,
        rule_version=run.version,
        counts=dunning.counts | (run.scope.summary() if run.scope else {}),
    )
    summary = finish(settings, pub, [check], dry_run=run.dry_run)
    publish_table(
        "remind-reminders",
        dunning.reminders[["customer_id", "level", "level_name", "invoice_ids", "recipient"]],
        "reminders queued by this run",
    )
    publish_table("remind-exclusions", dunning.exclusions, "customers and invoices left out, and why")
    return summary


@o2c_flow("remind")
def remind_flow(
    as_of: date | None = None,
    dry_run: bool = False,
    home: str | None = None,
    policy_profile: PolicyProfile = DEFAULT_PROFILE,
    scope: RunScope | None = None,
    deliver: bool = True,
) -> dict[str, Any]:
    """Send each customer one reminder listing every invoice at the level it has reached.

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
        "remind",
        _remind,
        as_of=as_of,
        dry_run=dry_run,
        home=home,
        policy=DunningPolicy,
        policy_profile=policy_profile,
        scope=scope_of(scope),
        deliver=deliver,
    )


def _remind(run: StageRun) -> dict[str, Any]:
    """Read the open items and history, plan the reminders, queue them, then deliver."""
    facts, customers, latest, reminded = read_facts(run.settings, run.as_of, run.dry_run, run.policy)
    if run.scope is not None:  # only the scope's customers are reminded, or left out
        facts = replace(facts, items=run.scope.rows(facts.items), customers=run.scope.rows(facts.customers))
        customers = run.scope.rows(customers)
    dunning = plan(facts, customers, reminded, run)
    summary = queue(run.settings, dunning, run)
    if summary["outcome"] == "halted":
        return summary
    if run.dry_run:
        summary["planned"] = remind.dry_run_view(dunning, latest)
    elif run.delivers:
        summary["delivery"] = deliver_outbox(run.settings, "remind")
    return summary

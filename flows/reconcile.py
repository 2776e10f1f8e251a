"""Reconcile flow: apply incoming cash to the invoices it pays; the rest to the exception queue."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.hooks import o2c_flow
from flows.parameters import DEFAULT_PROFILE, PolicyProfile, RunScope, scope_of
from rules.matching import MatchingPolicy
from tasks.platform.artifacts import current_run_id, publish_table
from tasks.platform.checkpoint import run_checkpoint
from tasks.platform.config import Settings
from tasks.platform.contracts import load_contract
from tasks.platform.fx import Rates
from tasks.platform.ledger import Publication, open_ledger
from tasks.platform.runner import StageRun, run_stage
from tasks.platform.scope import Scope
from tasks.platform.stage import finish
from tasks.reconcile import scoped
from tasks.reconcile.apply import apply_cash
from tasks.reconcile.matching import PayerDirectory
from tasks.reconcile.outcome import CashApplication


@task(name="read unapplied cash, invoices and payers", cache_policy=NO_CACHE)
def read_facts(settings: Settings, as_of: date) -> dict[str, Any]:
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        return {
            "payments": ledger.query("reconcile/unapplied_payments", as_of=as_of),
            "invoices": ledger.query("reconcile/invoices", as_of=as_of),
            "accounts": ledger.query("reconcile/payer_accounts"),
            "names": ledger.query("reconcile/customer_names"),
            "rejected": ledger.query("reconcile/rejected_matches"),
            "paired": ledger.query("reconcile/paired", as_of=as_of),
            "rates": ledger.query("platform/rates/all"),
        }


@task(name="apply cash", cache_policy=NO_CACHE)
def match(facts: dict[str, Any], policy: MatchingPolicy, version: str, as_of: date) -> CashApplication:
    payers = PayerDirectory(
        dict(zip(facts["accounts"]["account"], facts["accounts"]["customer_id"], strict=True)),
        dict(zip(facts["names"]["customer_id"], facts["names"]["name"], strict=True)),
        policy.payer.name_threshold,
    )
    return apply_cash(
        facts["payments"],
        facts["invoices"],
        as_of=as_of,
        rule_version=version,
        policy=policy,
        payers=payers,
        rejected=set(zip(facts["rejected"]["payment_id"], facts["rejected"]["invoice_id"], strict=True)),
        paired=set(zip(facts["paired"]["payment_id"], facts["paired"]["invoice_id"], strict=True)),
        rates=Rates.of(facts["rates"]),  # none loaded: a payment naming another currency's invoice says so
    )


@task(name="check and publish allocations", cache_policy=NO_CACHE)
def publish(
    settings: Settings,
    cash: CashApplication,
    version: str,
    as_of: date,
    dry_run: bool,
    queued_of: list[str] | None = None,
    scope: Scope | None = None,
) -> dict[str, Any]:
    """Check and publish a run's cash application; limited to a scope, the queue rows of
    `queued_of` (the scope's payments) and the cash held on the scope's accounts are replaced,
    every other row is left as it was."""
    checks = [
        run_checkpoint(
            cash.allocations, load_contract("allocations", settings.contracts_dir), source="reconcile stage"
        ),
        run_checkpoint(
            cash.write_offs,
            load_contract("invoice_adjustments", settings.contracts_dir),
            source="reconcile stage",
        ),
        run_checkpoint(
            cash.cases, load_contract("deduction_cases", settings.contracts_dir), source="reconcile stage"
        ),
    ]
    inserts = {"allocations": cash.allocations, "invoice_adjustments": cash.write_offs, "cases": cash.cases}
    pub = Publication(
        current_run_id(),
        "reconcile",
        as_of,
        inserts=inserts,
        replacements={}
        if scope
        else {"payment_exceptions": cash.exceptions, "cash_on_account": cash.on_account},
        scoped_replacements={
            "payment_exceptions": (cash.exceptions, {"payment_id": queued_of or []}),
            "cash_on_account": (cash.on_account, {"customer_id": sorted(scope.customers)}),
        }
        if scope
        else {},
        rule_version=version,
        counts=cash.counts | (scope.summary() if scope else {}),
        updates=[
            ("reconcile/audit_settled_deductions", {"run_id": current_run_id(), "rule_version": version}),
            ("reconcile/resolve_settled_deductions", {}),
        ],
    )
    summary = finish(settings, pub, checks, dry_run=dry_run)
    publish_table(
        "reconcile-exceptions", cash.exceptions, "payments the matcher could not apply with confidence"
    )
    return summary


@o2c_flow("reconcile")
def reconcile_flow(
    as_of: date | None = None,
    dry_run: bool = False,
    home: str | None = None,
    policy_profile: PolicyProfile = DEFAULT_PROFILE,
    scope: RunScope | None = None,
) -> dict[str, Any]:
    """Apply each unapplied payment to the invoices it pays: by structured reference, by invoice
    numbers in the remittance, else by who paid and how much; doubtful ones go to the exception queue.

    Args:
        as_of: The business date the run works as of (YYYY-MM-DD). Empty: today.
        dry_run: Compute and show, write and send nothing.
        home: The workspace folder (ledger, inbox, outbox, reports). Empty: $O2C_HOME.
        policy_profile: The set of rules to apply: `standard`, or a profile of rules/profiles/.
        scope: Only these customers (a legal entity's, a list, a segment); the others' rows
            are left exactly as they were. Empty: every customer.
    """
    return run_stage(
        "reconcile",
        _reconcile,
        as_of=as_of,
        dry_run=dry_run,
        home=home,
        policy=MatchingPolicy,
        policy_profile=policy_profile,
        scope=scope_of(scope),
    )


def _reconcile(run: StageRun) -> dict[str, Any]:
    """Read unapplied cash and open invoices, apply the cash, check and publish."""
    facts = read_facts(run.settings, run.as_of)
    cash = match(facts, run.policy, run.version, run.as_of)
    if run.scope is None:
        return publish(run.settings, cash, run.version, run.as_of, run.dry_run)
    accounts = dict(zip(facts["accounts"]["account"], facts["accounts"]["customer_id"], strict=True))
    cash, queued_of = scoped.within(cash, facts["payments"], facts["invoices"], run.scope.customers, accounts)
    return publish(run.settings, cash, run.version, run.as_of, run.dry_run, queued_of, run.scope)

"""Reconcile flow: apply incoming cash to the open invoices it names."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from tasks import reconcile
from tasks.artifacts import current_run_id, publish_table
from tasks.checkpoint import load_contract, run_checkpoint
from tasks.config import Settings, load_settings
from tasks.ledger import Publication, hold_ledger, open_ledger
from tasks.stage import conclude, data_errors, failed, finish, resolve_as_of, run_name

RULE_VERSION = "reference-v1"


@task(name="read unapplied cash and open invoices", cache_policy=NO_CACHE)
def read_open(settings: Settings, as_of: date) -> tuple[Any, Any]:
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        return ledger.query("reconcile/unapplied_payments", as_of=as_of), ledger.query(
            "reconcile/open_invoices", as_of=as_of
        )


@task(name="apply cash", cache_policy=NO_CACHE)
def match(payments: Any, invoices: Any, as_of: date) -> reconcile.CashApplication:
    return reconcile.apply_cash(payments, invoices, as_of=as_of, rule_version=RULE_VERSION)


@task(name="check and publish allocations", cache_policy=NO_CACHE)
def publish(
    settings: Settings, cash: reconcile.CashApplication, as_of: date, dry_run: bool
) -> dict[str, Any]:
    check = run_checkpoint(cash.allocations, load_contract("allocations"), source="reconcile stage")
    pub = Publication(
        current_run_id(),
        "reconcile",
        as_of,
        inserts={"allocations": cash.allocations},
        rule_version=RULE_VERSION,
        counts=cash.counts,
    )
    summary = finish(settings, pub, [check], dry_run=dry_run)
    publish_table(
        "reconcile-unapplied",
        cash.unapplied[cash.unapplied["unapplied_minor"] > 0],
        "payments with cash left unapplied after this run",
    )
    return summary


@flow(name="reconcile", flow_run_name=run_name("reconcile"))
def reconcile_flow(
    as_of: date | None = None, dry_run: bool = False, home: str | None = None
) -> dict[str, Any]:
    """Apply each unapplied payment to the open invoices its remittance names."""
    settings = load_settings(home)
    day = resolve_as_of(as_of)
    try:
        with hold_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds):
            payments, invoices = read_open(settings, day)
            cash = match(payments, invoices, day)
            return conclude(publish(settings, cash, day, dry_run))
    except data_errors() as exc:
        return failed(exc)

"""Invoice flow: bill fulfilled orders that no invoice covers yet."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from tasks import documents as documents_logic
from tasks import invoice, subscriptions
from tasks.artifacts import current_run_id, publish_table
from tasks.checkpoint import load_contract, run_checkpoint
from tasks.config import Settings, load_settings
from tasks.ledger import Publication, hold_ledger, open_ledger
from tasks.stage import conclude, data_errors, failed, finish, resolve_as_of, run_name


@task(name="read unbilled orders", cache_policy=NO_CACHE)
def read_unbilled(settings: Settings, as_of: date) -> dict[str, Any]:
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        return {
            "orders": ledger.query("invoice/unbilled_orders", as_of=as_of),
            "lines": ledger.query("invoice/unbilled_lines", as_of=as_of),
            "sequences": ledger.query("invoice/sequences"),
            "customers": ledger.query("invoice/customers"),
            "billed": ledger.query("invoice/billed_orders"),
            "subscriptions": ledger.query("invoice/subscriptions", as_of=as_of),
            "billed_periods": ledger.query("invoice/billed_periods"),
        }


@task(name="bill orders", cache_policy=NO_CACHE)
def bill(facts: dict[str, Any], as_of: date, series: str) -> invoice.Billing:
    due = subscriptions.periods_to_bill(facts["subscriptions"], facts["billed_periods"], as_of)
    return invoice.bill_orders(
        facts["orders"],
        facts["lines"],
        facts["sequences"],
        as_of=as_of,
        series=series,
        billed=facts["billed"],
        periods=due,
    )


@task(name="check and publish invoices", cache_policy=NO_CACHE)
def publish(settings: Settings, billing: invoice.Billing, as_of: date, dry_run: bool) -> dict[str, Any]:
    checks = [
        run_checkpoint(billing.invoices, load_contract("billed_invoices"), source="invoice stage"),
        run_checkpoint(billing.lines, load_contract("invoice_lines"), source="invoice stage"),
        run_checkpoint(billing.control, load_contract("invoice_control"), source="invoice stage"),
        run_checkpoint(billing.adjustments, load_contract("invoice_adjustments"), source="invoice stage"),
    ]
    pub = Publication(
        current_run_id(),
        "invoice",
        as_of,
        inserts={
            "invoices": billing.invoices,
            "invoice_lines": billing.lines,
            "invoice_adjustments": billing.adjustments,
            "subscription_periods": billing.periods,
            "invoice_instalments": billing.instalments,
        },
        upserts={"invoice_sequences": billing.sequences},
    )
    pub.counts = billing.counts()
    summary = finish(settings, pub, checks, dry_run=dry_run)
    publish_table(
        "invoice-completeness",
        billing.control,
        "fulfilled orders in = invoiced + skipped with a reason, per currency, in count and amount",
    )
    publish_table("invoice-skipped", billing.skipped, "fulfilled orders not invoiced, and why")
    return summary


@task(name="write invoice documents", cache_policy=NO_CACHE)
def write_documents(settings: Settings, billing: invoice.Billing, customers: Any) -> dict[str, int]:
    """An HTML and a PDF document per invoice billed by this run, under `documents/`; an invoice
    whose documents exist keeps them (re-running writes nothing)."""
    return documents_logic.write_documents(
        billing.invoices,
        billing.lines,
        customers,
        settings.home / "documents",
        settings.seller_name,
        billing.instalments,
    )


@flow(name="invoice", flow_run_name=run_name("invoice"))
def invoice_flow(
    as_of: date | None = None, dry_run: bool = False, home: str | None = None, documents: bool = True
) -> dict[str, Any]:
    """Turn fulfilled, not yet billed orders into numbered invoices, each with its HTML and PDF
    document (`documents=False` bills without them)."""
    settings = load_settings(home)
    day = resolve_as_of(as_of)
    try:
        with hold_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds):
            facts = read_unbilled(settings, day)
            billing = bill(facts, day, settings.invoice_series)
            summary = publish(settings, billing, day, dry_run)
            if documents and not dry_run and summary["outcome"] != "halted":
                summary["documents"] = write_documents(settings, billing, facts["customers"])
            return conclude(summary)
    except data_errors() as exc:
        return failed(exc)

"""Invoice flow: bill fulfilled orders that no invoice covers yet."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.delivery import deliver_outbox, write_invoice_documents
from flows.hooks import o2c_flow
from flows.parameters import RunScope, scope_of
from tasks.invoice import billing as invoice
from tasks.invoice import einvoice, subscriptions, vat
from tasks.invoice import mail as invoice_mail
from tasks.platform.artifacts import current_run_id, publish_table
from tasks.platform.checkpoint import run_checkpoint
from tasks.platform.config import Settings
from tasks.platform.contracts import load_contract
from tasks.platform.ledger import Publication, open_ledger
from tasks.platform.progress import report, run_logger
from tasks.platform.runner import StageRun, run_stage
from tasks.platform.stage import finish


@task(name="read unbilled orders", cache_policy=NO_CACHE)
def read_unbilled(settings: Settings, as_of: date) -> dict[str, Any]:
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        return {
            "orders": ledger.query("invoice/unbilled_orders", as_of=as_of),
            "lines": ledger.query("invoice/unbilled_lines", as_of=as_of),
            "sequences": ledger.query("invoice/sequences"),
            "customers": ledger.query("invoice/customers"),
            "billed": ledger.query("invoice/billed_orders", as_of=as_of),
            "subscriptions": ledger.query("invoice/subscriptions", as_of=as_of),
            "billed_periods": ledger.query("invoice/billed_periods"),
        }


@task(name="bill orders", cache_policy=NO_CACHE)
def bill(facts: dict[str, Any], as_of: date, series: str, seller_of: Any = None) -> invoice.Billing:
    began = time.perf_counter()
    due = subscriptions.periods_to_bill(facts["subscriptions"], facts["billed_periods"], as_of)
    refused = (
        einvoice.refused_customers(
            pd.concat(
                [facts["orders"][["customer_id", "legal_entity"]], due[["customer_id", "legal_entity"]]]
            ),
            facts["customers"],
            seller_of,
            vat.zero_rated_customers(facts["orders"], facts["lines"], due),
        )
        if seller_of is not None
        else {}
    )
    for _, reason in sorted(refused.items())[:10]:
        run_logger().warning(f"invoice: {reason}")
    billing = invoice.bill_orders(
        facts["orders"],
        facts["lines"],
        facts["sequences"],
        as_of=as_of,
        series=series,
        billed=facts["billed"],
        periods=due,
        refused=refused,
    )
    report(
        "invoice", "fulfilled orders billed", len(billing.invoices), total=len(facts["orders"]), since=began
    )
    return billing


@task(name="plan invoice e-mails", cache_policy=NO_CACHE)
def plan_mails(settings: Settings, billing: invoice.Billing, customers: Any, as_of: date) -> Any:
    return invoice_mail.plan_invoice_mails(
        billing.invoices, customers, seller=settings.seller, as_of=as_of, templates=settings.templates
    )


@task(name="check and publish invoices", cache_policy=NO_CACHE)
def publish(
    settings: Settings,
    billing: invoice.Billing,
    mails: Any,
    as_of: date,
    dry_run: bool,
    customers: Any = None,
) -> dict[str, Any]:
    queued, unmailed = mails
    checks = [
        run_checkpoint(
            billing.invoices, load_contract("billed_invoices", settings.contracts_dir), source="invoice stage"
        ),
        run_checkpoint(
            billing.lines, load_contract("invoice_lines", settings.contracts_dir), source="invoice stage"
        ),
        run_checkpoint(
            billing.control, load_contract("invoice_control", settings.contracts_dir), source="invoice stage"
        ),
        run_checkpoint(
            billing.adjustments,
            load_contract("invoice_adjustments", settings.contracts_dir),
            source="invoice stage",
        ),
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
            "invoice_buyers": invoice.buyers_of(billing.invoices, customers),
            "invoice_mails": queued,  # in the same transaction: an invoice is never billed unmailed
        },
        upserts={"invoice_sequences": billing.sequences},
    )
    pub.counts = {**billing.counts(), "emails_queued": len(queued), "invoices_without_email": len(unmailed)}
    summary = finish(settings, pub, checks, dry_run=dry_run)
    publish_table(
        "invoice-completeness",
        billing.control,
        "fulfilled orders in = invoiced + skipped with a reason, per currency, in count and amount",
    )
    publish_table("invoice-skipped", billing.skipped, "fulfilled orders not invoiced, and why")
    if not unmailed.empty:
        publish_table("invoice-not-emailed", unmailed, "invoices billed but not e-mailed, and why")
    return summary


@o2c_flow("invoice")
def invoice_flow(
    as_of: date | None = None,
    dry_run: bool = False,
    home: str | None = None,
    documents: bool = True,
    email: bool = True,
    deliver: bool = True,
    scope: RunScope | None = None,
) -> dict[str, Any]:
    """Turn fulfilled, not yet billed orders into numbered invoices, each with its HTML and PDF
    document, and e-mail each customer its invoice with the PDF attached (`documents=False` bills
    without documents or e-mails; `email=False` without e-mails; `deliver=False` queues the e-mails
    and leaves the documents and the sending to the next delivery).

    Args:
        as_of: The business date the run works as of (YYYY-MM-DD). Empty: today.
        dry_run: Compute and show, write and send nothing.
        home: The workspace folder (ledger, inbox, outbox, reports). Empty: $O2C_HOME.
        documents: Write each invoice's HTML and PDF (off: no documents, so no e-mails either).
        email: E-mail each customer its invoice with the PDF attached.
        deliver: Write the documents and send the e-mails at the end of this run (off: at the next
            delivery, as the whole pipeline does after its last stage).
        scope: Only these customers (a legal entity's, a list, a segment); the others' orders
            stay unbilled. Empty: every customer.
    """

    def body(run: StageRun) -> dict[str, Any]:
        return _invoice(run, documents=documents, email=email)

    return run_stage(
        "invoice", body, as_of=as_of, dry_run=dry_run, home=home, deliver=deliver, scope=scope_of(scope)
    )


def _invoice(run: StageRun, *, documents: bool, email: bool) -> dict[str, Any]:
    """Read what is unbilled, bill it, plan the e-mails, publish; then the documents and delivery."""
    settings, day = run.settings, run.as_of
    facts = read_unbilled(settings, day)
    if run.scope is not None:  # only the scope's customers' orders and subscriptions are billed
        facts = invoice.within(facts, run.scope.customers)
    billing = bill(facts, day, settings.invoice_series, settings.seller)
    no_mail = invoice_mail.plan_invoice_mails(
        billing.invoices.iloc[0:0], facts["customers"], seller="", as_of=day
    )
    mails = plan_mails(settings, billing, facts["customers"], day) if documents and email else no_mail
    summary = publish(settings, billing, mails, day, run.dry_run, facts["customers"])
    if run.scope is not None:
        summary.update(run.scope.summary())
    if not run.delivers or summary["outcome"] == "halted":
        return summary
    if documents:
        summary["documents"] = write_invoice_documents(settings)
    if documents and email:
        summary["delivery"] = deliver_outbox(settings, "invoice")
    return summary

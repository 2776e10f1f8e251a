"""Delivery: what the stages queued leaves the workspace here, apart from the stages' own work.

The stages decide and publish; e-mails wait in the outbox and invoice documents are rendered
afterwards, so billing and dunning never wait on a mail provider or a PDF library. A stage run on
its own delivers what it queued in its last task (`deliver=True`, the default); `order_to_cash`
runs its stages with `deliver=False` and delivers everything once, at its end, through
`deliver_flow`, which is also a deployment of its own that sends what is due (retries, messages
held by the daily cap) between pipeline runs.

Documents are rendered on demand: for every billed invoice without them, in a pool of processes
(tasks/invoice/document_pool.py), before the invoice e-mails that attach them leave.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.hooks import o2c_flow
from tasks.invoice import ledger_documents
from tasks.platform.artifacts import current_run_id
from tasks.platform.config import Settings, load_settings
from tasks.platform.mail import make_mailer
from tasks.platform.outbox import OUTBOX_OF_STAGE, deliver_pending
from tasks.platform.progress import report
from tasks.platform.stage import resolve_as_of
from tasks.remind.statement_files import write_missing_statements


@task(name="write invoice documents", cache_policy=NO_CACHE)
def write_invoice_documents(settings: Settings) -> dict[str, int]:
    """An HTML and a PDF document for every billed invoice that has none under `documents/`: this
    run's, and any a stopped run left without (re-running writes nothing)."""
    began = time.perf_counter()
    written = ledger_documents.write_missing(settings)
    report("deliver", "invoice documents", written["documents_written"], unit="documents", since=began)
    return written


@task(name="deliver e-mails", task_run_name="deliver {stage} e-mails", cache_policy=NO_CACHE)
def deliver_outbox(settings: Settings, stage: str) -> dict[str, int]:
    """Send what `stage` queued that is due; the counts: sent, failed, retrying, unknown, held.
    The reminders that attach a statement of account get its PDF written first."""
    if stage == "remind":
        began = time.perf_counter()
        written = write_missing_statements(settings)
        report("deliver", "statements of account", written, unit="statements", since=began)
    return deliver_pending(settings, make_mailer(settings), current_run_id(), outbox=OUTBOX_OF_STAGE[stage])


def deliver_everything(settings: Settings, stages: list[str] | None = None) -> dict[str, Any]:
    """Write the missing invoice documents, then deliver every outbox (of `stages`, default all);
    the documents' counts under `documents` and each outbox's under its stage's name."""
    chosen = [stage for stage in OUTBOX_OF_STAGE if stages is None or stage in stages]
    done: dict[str, Any] = {}
    if "invoice" in chosen:
        done["documents"] = write_invoice_documents(settings)
    for stage in chosen:
        done[stage] = deliver_outbox(settings, stage)
    return done


@o2c_flow("deliver")
def deliver_flow(as_of: date | None = None, home: str | None = None) -> dict[str, Any]:
    """Write the invoice documents still missing and send every e-mail that is due: invoices,
    reminders, notices to account owners and reports; messages that failed for a passing reason
    are tried again once their next attempt has come.

    Args:
        as_of: The business date the run is named by (YYYY-MM-DD). Empty: today. Messages leave now.
        home: The workspace folder (ledger, inbox, outbox, reports). Empty: $O2C_HOME.
    """
    resolve_as_of(as_of)
    return deliver_everything(load_settings(home))

"""Report flow: the receivables report as of a date, kept as a KPI snapshot, written as JSON, Markdown
and a page with charts, and e-mailed to a distribution list."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.delivery import deliver_outbox
from flows.hooks import o2c_flow
from flows.parameters import LegalEntity, PeriodDays
from tasks.platform.artifacts import current_run_id, publish_link, publish_markdown, workspace_link
from tasks.platform.checkpoint import run_checkpoint
from tasks.platform.config import Settings
from tasks.platform.contracts import load_contract
from tasks.platform.crash import crash_point
from tasks.platform.entities import DEFAULT_ENTITY
from tasks.platform.files import write_whole
from tasks.platform.ledger import Publication, open_ledger
from tasks.platform.progress import report as report_step
from tasks.platform.runner import StageRun, run_stage
from tasks.platform.stage import finish
from tasks.report import figures as report
from tasks.report import html as report_html
from tasks.report.ageing import DEFAULT_PERIOD_DAYS, ageing_check_frame


@task(name="read the ledger as of the date", cache_policy=NO_CACHE)
def read_items(settings: Settings, as_of: date, period_days: int, entity: str | None = None) -> Any:
    """Open items as of the date and as of the period's first day, settled invoices, cases,
    allocations and reminders of the period: of every legal entity, or of `entity` alone."""
    from tasks.platform.sellers import bank_accounts

    begin = time.perf_counter()
    banks = bank_accounts(settings.rules_dir) if entity is not None else None
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        inputs = report.read_inputs(ledger, as_of, period_days, entity, banks)
    report_step("report", "open items read (as of the date)", len(inputs["now"]), unit="items", since=begin)
    report_step("report", "settled invoices read", len(inputs["settled"]), unit="invoices", since=begin)
    return inputs


@task(name="compute figures", cache_policy=NO_CACHE)
def compute(
    items: Any, as_of: date, period_days: int, templates: Path, reporting_currency: str | None = None
) -> Any:
    begin = time.perf_counter()
    figures, document = report.compute_all(items, as_of, period_days, reporting_currency)
    page = report_html.render(document, items["history"], templates, items.get("month_ends"))
    charts = report_html.charts_markdown(document, items["history"], items.get("month_ends"))
    rows = len(items["now"]) + len(items["then"]) + len(items["settled"])
    report_step("report", f"rows computed into the figures of {len(figures)} currencies", rows, since=begin)
    return figures, document, page, charts


@task(name="check and publish report", cache_policy=NO_CACHE)
def publish(
    settings: Settings, computed: Any, as_of: date, dry_run: bool, entity: str | None = None
) -> dict[str, Any]:
    """The checked figures kept as the date's KPI snapshot (of the whole book, or of `entity` beside
    it), the files and artifacts written (an entity's named after it) and the e-mails queued."""
    figures, document, html, charts = computed
    name = report_name(as_of, entity)
    check = run_checkpoint(
        ageing_check_frame(figures), load_contract("ageing", settings.contracts_dir), source="report stage"
    )
    run_id = current_run_id()
    snapshots = [
        {"as_of": as_of, "currency": c, "entity": entity or "", "figures": json.dumps(f)}
        for c, f in document["currencies"].items()
    ]
    import pandas as pd

    markdown = report.as_markdown(document) + charts  # the charts' figures, where no chart is drawn
    mails = report_html.report_mails(
        document,
        markdown,
        settings.report_recipients,
        f"reports/{name}.html",
        settings.seller_of(entity if entity and entity != DEFAULT_ENTITY else ""),
        settings.templates,
        entity,
    )
    pub = Publication(
        run_id,
        "report",
        as_of,
        inserts={"report_mails": mails},
        scoped_replacements={
            "kpi_snapshots": (
                pd.DataFrame(snapshots, columns=["as_of", "currency", "entity", "figures"]),
                {"as_of": as_of, "entity": entity or ""},
            )
        },
        counts={"currencies": len(figures), "report_emails_queued": len(mails)},
    )
    summary = finish(settings, pub, [check], dry_run=dry_run)
    of = f" of {entity}" if entity else ""
    key = f"-{slug(entity).lower().replace('_', '-')}" if entity else ""  # Prefect's key alphabet
    publish_markdown(f"report-headline{key}", markdown, f"Receivables{of} as of {as_of}")
    if not dry_run:
        write_whole(settings.reports / f"{name}.json", json.dumps(document, indent=2) + "\n")
        crash_point("report: the JSON written, the Markdown and the page not yet")
        write_whole(settings.reports / f"{name}.md", markdown)
        page = write_whole(settings.reports / f"{name}.html", html)
        summary["report_files"] = [str(settings.reports / f"{name}.{ext}") for ext in ("md", "json", "html")]
        publish_link(
            f"report-page{key}",
            workspace_link(settings, page),
            f"Receivables{of} as of {as_of}: the report with its charts",
        )
    summary["report"] = document
    return summary


def slug(entity: str) -> str:
    """An entity's key as a file name holds it: letters, digits, `_` and `-` as they are (`DE01`); a
    key that had to be changed gets a short digest, so two entities never share a name."""
    import hashlib
    import re

    plain = re.sub(r"[^A-Za-z0-9_-]+", "-", entity).strip("-") or "entity"
    if plain == entity:
        return plain
    return f"{plain}-{hashlib.sha256(entity.encode()).hexdigest()[:8]}"


def report_name(as_of: date, entity: str | None) -> str:
    """The report files' name without suffix: `report-<date>`, `report-<date>-<entity>` for one."""
    return f"report-{as_of}" + (f"-{slug(entity)}" if entity else "")


@o2c_flow("report")
def report_flow(
    as_of: date | None = None,
    dry_run: bool = False,
    home: str | None = None,
    period_days: PeriodDays = DEFAULT_PERIOD_DAYS,
    deliver: bool = True,
    entity: LegalEntity = None,
) -> dict[str, Any]:
    """Publish the receivables report as of the date: open amount, ageing, DSO, CEI, payment habits,
    forecast and collection work per currency, as JSON, Markdown and a page with charts, and e-mail
    it to the distribution list (`O2C_REPORT_RECIPIENTS`).

    Args:
        as_of: The business date the run works as of (YYYY-MM-DD). Empty: today.
        dry_run: Compute and show, write and send nothing.
        home: The workspace folder (ledger, inbox, outbox, reports). Empty: $O2C_HOME.
        period_days: The period DSO and CEI look back over, in days (1 to 3660).
        deliver: Send what this run queued at its end (off: at the next delivery, as the whole
            pipeline does after its last stage).
        entity: One legal entity's report (its customers, invoices and payments), kept beside the
            whole book's under its own name. Empty: every entity.
    """

    def body(run: StageRun) -> dict[str, Any]:
        return _report(run, period_days, entity)

    return run_stage(
        "report", body, as_of=as_of, dry_run=dry_run, home=home, deliver=deliver, entity=entity or None
    )


def _report(run: StageRun, period_days: int, entity: str | None = None) -> dict[str, Any]:
    """Read the items as of the date, compute the figures, publish them, then e-mail the report."""
    items = read_items(run.settings, run.as_of, period_days, entity)
    figures = compute(items, run.as_of, period_days, run.settings.templates, run.settings.reporting_currency)
    summary = publish(run.settings, figures, run.as_of, run.dry_run, entity)
    if run.settings.report_recipients and run.delivers and summary["outcome"] != "halted":
        summary["delivery"] = deliver_outbox(run.settings, "report")
    return summary

"""The receivables report as of a date (`o2c report`): of every legal entity, or of one."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from cli.common import AsJson, AsOf, Home, as_date, echo_json, fail, reading
from tasks.platform.config import load_settings


def report(
    as_of: AsOf = None,
    as_json: AsJson = False,
    period_days: Annotated[int, typer.Option("--period-days", min=1, help="DSO period in days.")] = 90,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write the report with its charts to this HTML file.")
    ] = None,
    entity: Annotated[
        str | None,
        typer.Option(
            "--entity", help="Only one legal entity's customers, invoices and payments (default: all)."
        ),
    ] = None,
    home: Home = None,
) -> None:
    """Receivables, ageing, DSO, CEI, payment habits, forecast and collection work per currency, as the
    ledger stood on a date, of every legal entity or of one (`--entity`); `--html` also writes the
    report with its charts."""
    from tasks.platform.sellers import bank_accounts
    from tasks.report import figures
    from tasks.report.scope import UnknownEntity

    settings = load_settings(home)
    day = as_date(as_of) or date.today()
    banks = bank_accounts(settings.rules_dir) if entity is not None else None
    with reading(settings) as ledger:
        try:
            inputs = figures.read_inputs(ledger, day, period_days, entity, banks)
        except UnknownEntity as exc:
            fail(str(exc))
    _figures, document = figures.compute_all(inputs, day, period_days, settings.reporting_currency)
    if html is not None:
        from tasks.report.html import render

        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(render(document, inputs["history"], settings.templates), encoding="utf-8")
    if as_json:
        echo_json(document)
    else:
        typer.echo(figures.as_markdown(document))

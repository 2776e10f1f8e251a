"""What o2c hands to accounting: `o2c journal`, the ledger's money events as balanced double-entry
lines for the general ledger the company keeps elsewhere ([accounting.md](../docs/accounting.md))."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from cli.common import Home, as_date, fail, reading
from tasks.platform.config import load_settings

EARLIEST = date(1900, 1, 1)


def journal(
    out: Annotated[Path, typer.Option("--out", help="File to write: .csv, or .json (columns described).")],
    date_from: Annotated[
        str | None, typer.Option("--from", help="First posting date YYYY-MM-DD (default: the beginning).")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="Last posting date YYYY-MM-DD (default: today).")
    ] = None,
    entity: Annotated[
        str | None, typer.Option("--entity", help="One legal entity (default: every entity).")
    ] = None,
    home: Home = None,
) -> None:
    """Write the journal of a period: balanced lines per invoice, credit note, payment, allocation and
    adjustment, booked to the accounts of rules/accounts.yaml; prints the totals per entity and
    currency and the receivable's movement."""
    from rules.accounts import AccountMap
    from tasks.platform.money import to_major_str
    from tasks.platform.policy import PolicyError, load_policy
    from tasks.report.journal import JournalProblem, balances, journal_lines, totals, write

    first = as_date(date_from, EARLIEST) or EARLIEST
    last = as_date(date_to, date.today()) or date.today()
    if first > last:
        fail(f"--from {first.isoformat()} is after --to {last.isoformat()}")
    settings = load_settings(home)
    try:
        accounts, version = load_policy("accounts", AccountMap, rules_dir=settings.rules_dir)
        with reading(settings) as ledger:
            made = journal_lines(ledger, accounts, version, date_from=first, date_to=last, entity=entity)
        write(made, out)
    except (PolicyError, JournalProblem) as exc:
        fail(str(exc))
    period = f"{'the beginning' if date_from is None else first.isoformat()} to {last.isoformat()}"
    typer.echo(f"{made.lines.num_rows} line(s) posted {period} written to {out} (accounts {version})")
    receivable = balances(made.lines)
    for row in totals(made.lines):
        key = (row["entity"], row["currency"])
        cur = row["currency"]
        typer.echo(
            f"  {row['entity']:<10} {cur}  {row['lines']:>8} lines  debits {to_major_str(row['debit_minor'], cur):>16}"
            f" = credits {to_major_str(row['credit_minor'], cur):>16}  receivable"
            f" {'balance' if date_from is None else 'movement'} {to_major_str(receivable.get(key, 0), cur)}"
        )

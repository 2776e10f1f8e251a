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
    from tasks.platform.sellers import bank_accounts
    from tasks.report.journal import JournalProblem, balances, journal_lines, totals, write

    first = as_date(date_from, EARLIEST) or EARLIEST
    last = as_date(date_to, date.today()) or date.today()
    if first > last:
        fail(f"--from {first.isoformat()} is after --to {last.isoformat()}")
    settings = load_settings(home)
    try:
        accounts, version = load_policy("accounts", AccountMap, rules_dir=settings.rules_dir)
        banks = bank_accounts(settings.rules_dir)
        with reading(settings) as ledger:
            made = journal_lines(
                ledger, accounts, version, date_from=first, date_to=last, entity=entity, bank_accounts=banks
            )
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


pilot_app = typer.Typer(
    no_args_is_help=True, help="A pilot on a few customers: o2c beside the legacy process."
)


@pilot_app.command("compare")
def pilot_compare(
    legacy: Annotated[
        list[Path],
        typer.Option(
            "--legacy",
            help="A CSV of the legacy process: payment_id, invoice_id, amount[, currency] (cash applied)"
            " or customer_id, reminder_date[, level] (reminders sent). Repeat for both.",
        ),
    ],
    customers: Annotated[
        Path | None, typer.Option("--customers", help="The pilot's customers: a file of ids, one per line.")
    ] = None,
    segment: Annotated[
        str | None, typer.Option("--segment", help="The pilot's customers: a segment of the customer master.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="CSV of every row compared, with its reason.")
    ] = None,
    shadow: Annotated[
        bool, typer.Option("--shadow", help="Compare what the last o2c run --shadow decided (<home>/shadow).")
    ] = False,
    home: Home = None,
) -> None:
    """Compare o2c's applications of cash and reminders for the pilot's customers with the legacy
    process's: agreements, differences and why; prints the totals per kind."""
    import pandas as pd

    from tasks.report import pilot
    from tasks.report.export import write_csv

    settings = load_settings(home)
    if shadow:
        from tasks.platform.shadow import shadow_home

        if not shadow_home(settings).exists():
            fail(f"no shadow in {settings.home}: run the pilot first (o2c run all --shadow --customers FILE)")
        settings = load_settings(shadow_home(settings))
    with reading(settings) as ledger:
        facts = pilot.Facts.of(ledger.query("report/pilot/facts"))
        ours_alloc = ledger.query("report/pilot/allocations")
        ours_rem = ledger.query("report/pilot/reminders")
        currency_of = dict(ledger.con.execute("select invoice_id, currency from invoices").fetchall())
    try:
        read = [pilot.read_legacy(path, currency_of) for path in legacy]
        chosen = pilot.pilot_customers(customers, segment, facts)
    except (pilot.LegacyProblem, OSError) as exc:
        fail(str(exc))
    rows: list[dict] = []
    for kind, frame in read:
        if kind == "allocations":
            rows += pilot.compare_allocations(frame, ours_alloc, facts, chosen)
        else:
            rows += pilot.compare_reminders(frame, ours_rem, facts, chosen)
    scope = "every customer" if chosen is None else f"{len(chosen)} pilot customer(s)"
    typer.echo(f"compared for {scope}:")
    for kind, counts in pilot.totals(rows).items():
        compared = sum(counts.values())
        agreed = 100 * counts["agree"] / compared if compared else 0.0
        typer.echo(
            f"  {kind:<11} {compared:>6} compared  {counts['agree']:>6} agree ({agreed:.1f} %)  {counts['differ']} differ"
            f"  {counts['legacy only']} legacy only  {counts['o2c only']} o2c only"
        )
    for kind, cause, count in pilot.causes(rows):
        typer.echo(f"  {kind:<11} {count:>6}  {cause}")
    if out is not None:
        write_csv(pd.DataFrame(rows, columns=pilot.COMPARED), out)
        typer.echo(f"{len(rows)} row(s) written to {out}")


rates_app = typer.Typer(
    no_args_is_help=True, help="Exchange rates: load the company's rates file, list what is known."
)


@rates_app.command("load")
def rates_load(
    path: Annotated[
        Path,
        typer.Argument(
            help="The ECB's reference-rate CSV (eurofxref-hist.csv), or rate_date, base_currency, currency, rate."
        ),
    ],
    home: Home = None,
) -> None:
    """Load exchange rates into the ledger: every quote once; a file giving another rate for a day
    already known is refused whole, naming the quote."""
    import hashlib
    import uuid

    from tasks.platform import fx
    from tasks.platform.ledger import Publication

    try:
        rows = fx.read_rates(path)
    except fx.RatesProblem as exc:
        fail(str(exc))
    settings = load_settings(home)
    with reading(settings) as ledger:
        clash = fx.conflicts(rows, ledger.query("platform/rates/all"))
        if clash:
            fail(f"{path.name}: another rate for a day already known ({'; '.join(clash)}); nothing loaded")
        run_id = f"cli:{uuid.uuid4()}"
        content = path.read_bytes()
        digest = hashlib.sha256(content).hexdigest()
        written = ledger.publish(
            Publication(
                run_id,
                "rates",
                date.today(),
                inserts={"exchange_rates": rows.assign(source=path.name)},
                counts={"rates_read": len(rows)},
                started_by="cli",
                evidence={"files": {path.name: digest}},
                blobs={digest: content},
            )
        )
    added = written.get("exchange_rates", 0)
    if not len(rows):
        typer.echo(f"{path.name}: no rates in it")
        return
    span = f"{rows['rate_date'].min().isoformat()} to {rows['rate_date'].max().isoformat()}"
    typer.echo(
        f"{path.name}: {len(rows)} rate(s) of {rows['currency'].nunique()} currencies, {span};"
        f" {added} new, {len(rows) - added} already known"
    )

"""The commands developers use, over `tools/`: a synthetic book of business to work on (`generate`)
and the benchmarks that print measured figures (`bench`, `bench match`, `bench reconcile`,
`bench invoice`, `bench dunning`, `bench daily`, `bench checkpoint`).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from cli.common import AsOf, as_date

bench_app = typer.Typer(help="Benchmarks that print measured figures.")
BenchInvoices = Annotated[int, typer.Option("--invoices", min=1, help="Invoices in the generated book.")]
BenchCustomers = Annotated[int | None, typer.Option("--customers", help="Default: one per 50 invoices.")]
BenchHome = Annotated[str | None, typer.Option("--home", help="Workspace (default: a fresh temporary one).")]
Seed = Annotated[int, typer.Option("--seed")]


def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the book into.")],
    customers: Annotated[int, typer.Option(min=1)] = 50,
    invoices: Annotated[int, typer.Option(min=1)] = 500,
    seed: int = 42,
    as_of: AsOf = None,
) -> None:
    """Write a synthetic, realistic book of business (deterministic for a seed) as canonical CSVs."""
    from tools.generate import generate_book, write_book

    day = as_date(as_of) or date.today()
    book = generate_book(customers=customers, invoices=invoices, seed=seed, as_of=day)
    written = write_book(book, out)
    for name, path in written.items():
        typer.echo(f"{name:18} {path}")


def _customers(customers: int | None, invoices: int) -> int:
    return customers or max(invoices // 50, 10)


@bench_app.callback(invoke_without_command=True)
def bench(
    ctx: typer.Context,
    invoices: BenchInvoices = 10_000,
    customers: Annotated[
        int | None, typer.Option("--customers", help="Default: one per 10 invoices.")
    ] = None,
    seed: Seed = 7,
    home: BenchHome = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as one JSON document.")] = False,
) -> None:
    """Generate a book of N invoices and time each stage beside its floor: wall seconds, rows per
    second, peak memory, Prefect's and Great Expectations' share; then the delivery on its own."""
    if ctx.invoked_subcommand is not None:
        return
    from tools.bench_pipeline import run_pipeline_benchmark

    for item in run_pipeline_benchmark(
        invoices=invoices, customers=customers or max(invoices // 10, 10), seed=seed, home=home
    ):
        if isinstance(item, dict):
            if as_json:
                typer.echo(json.dumps(item, indent=2))
        elif not as_json:
            typer.echo(item)


@bench_app.command("match")
def bench_match(
    invoices: BenchInvoices = 5_000,
    customers: BenchCustomers = None,
    seed: Seed = 7,
    home: BenchHome = None,
) -> None:
    """Generate, ingest and reconcile a book; print cash-application quality against the truth."""
    from tools.bench import run_match_benchmark

    for line in run_match_benchmark(
        invoices=invoices, customers=_customers(customers, invoices), seed=seed, home=home
    ):
        typer.echo(line)


@bench_app.command("reconcile")
def bench_reconcile(
    payments: Annotated[
        int, typer.Option("--payments", min=1, help="Open invoices, and as many payments.")
    ] = 100_000,
    seed: Seed = 1,
    home: BenchHome = None,
) -> None:
    """Time reconcile at volume: N payments against N open invoices, through the real flow."""
    from tools.bench import run_reconcile_benchmark

    for line in run_reconcile_benchmark(payments=payments, seed=seed, home=home):
        typer.echo(line)


@bench_app.command("invoice")
def bench_invoice(
    lines: Annotated[int, typer.Option("--lines", min=1, help="Order lines to bill.")] = 1_000_000,
    seed: Seed = 1,
    home: BenchHome = None,
) -> None:
    """Time the invoice stage billing N order lines of fulfilled orders, through the real flow."""
    from tools.bench import run_invoice_benchmark

    for line in run_invoice_benchmark(lines=lines, seed=seed, home=home):
        typer.echo(line)


@bench_app.command("daily")
def bench_daily(
    invoices: Annotated[int, typer.Option("--invoices", min=1, help="Invoices in the book.")] = 100_000,
    days: Annotated[int, typer.Option("--days", min=1, help="Consecutive daily runs.")] = 30,
    seed: Seed = 7,
    home: BenchHome = None,
) -> None:
    """Run reconcile, remind, escalate and report once a day for D days on one book: each run's time
    and peak memory, and the first run of each stage beside its last."""
    from tools.bench_daily import run_daily_benchmark

    for line in run_daily_benchmark(invoices=invoices, days=days, seed=seed, home=home):
        typer.echo(line)


@bench_app.command("dunning")
def bench_dunning(
    invoices: Annotated[int, typer.Option("--invoices", min=1, help="Open invoices.")] = 1_000_000,
    seed: Seed = 1,
    render: Annotated[bool, typer.Option("--render", help="Also render the messages.")] = False,
) -> None:
    """Time the dunning policy over N open invoices (pure, in memory): seconds and peak memory."""
    from tools.bench import run_dunning_benchmark

    for line in run_dunning_benchmark(invoices=invoices, seed=seed, render=render):
        typer.echo(line)


@bench_app.command("checkpoint")
def bench_checkpoint(
    rows: Annotated[int, typer.Option("--rows", min=1, help="Invoice rows to check and publish.")] = 100_000,
    seed: Seed = 7,
    home: BenchHome = None,
) -> None:
    """Time a checkpoint on N invoice rows (SQL checks, GX on a sample) and publishing N rows with audit."""
    from tools.bench import run_checkpoint_benchmark

    for line in run_checkpoint_benchmark(rows=rows, seed=seed, home=home):
        typer.echo(line)

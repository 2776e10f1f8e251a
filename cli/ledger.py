"""`o2c ledger`: the store itself, for the data engineer who moves a workspace to PostgreSQL:
`migrate` (the schema, in the workspace's file or an empty PostgreSQL database) and `copy` (a
ledger from a file or PostgreSQL into an empty PostgreSQL database or a new file, checked table by
table)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import AsJson, Home, echo_json, fail
from tasks.platform.config import load_settings

ledger_app = typer.Typer(no_args_is_help=True, help="The ledger's schema, and copying it to PostgreSQL.")

Target = Annotated[
    str | None,
    typer.Option(
        "--to",
        help="An empty PostgreSQL database: postgresql://user@host:5432/db (the password in PGPASSWORD).",
    ),
]


@ledger_app.command("migrate")
def migrate(home: Home = None, to: Target = None, as_json: AsJson = False) -> None:
    """Bring the workspace's ledger file to the newest schema (every command also does this on
    opening it), or with --to create that schema in an empty PostgreSQL database."""
    from tasks.platform.ledger import open_ledger
    from tasks.platform.ledger.postgres import CopyProblem, migrate_postgres, shown

    settings = load_settings(home)
    if to:
        try:
            tables = migrate_postgres(to)
        except CopyProblem as exc:
            fail(str(exc))
        where = shown(to)
    else:
        with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
            tables = len(ledger.con.execute("select 1 from duckdb_tables() where not internal").fetchall())
        # a PostgreSQL ledger is at the newest schema when its working copy could be made
        where = shown(settings.ledger_url) if settings.ledger_url else str(settings.ledger_path)
    if as_json:
        echo_json({"ledger": where, "tables": tables})
    else:
        typer.echo(f"{where}: the newest schema, {tables} tables")


@ledger_app.command("copy")
def copy(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="An empty PostgreSQL database (postgresql://user@host:5432/db), or a new ledger file.",
        ),
    ],
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="A PostgreSQL ledger (postgresql://...) or a ledger file (default: the workspace's).",
        ),
    ] = None,
    home: Home = None,
    as_json: AsJson = False,
) -> None:
    """Copy a ledger, checked table by table: a workspace's file into an empty PostgreSQL database
    (the same schema, every row, the sequences, in one transaction), a PostgreSQL ledger into a new
    file, or one PostgreSQL database into another. Each table's row count and the sum of each
    whole-number column (the amounts among them) are compared on both sides: any difference, and
    nothing is kept."""
    from tasks.platform.ledger.from_postgres import copy_from_postgres
    from tasks.platform.ledger.postgres import CopyProblem, copy_workspace, is_postgres, shown

    settings = load_settings(home)
    origin = source or str(settings.home / "ledger.duckdb")
    try:
        if is_postgres(origin):
            copied = copy_from_postgres(origin, to)
        else:
            copied = copy_workspace(Path(origin), to, lock_timeout=settings.lock_timeout_seconds)
    except CopyProblem as exc:
        fail(str(exc))
    if as_json:
        echo_json({"from": shown(origin), "to": shown(to), "tables": [c.__dict__ for c in copied]})
        return
    for c in copied:
        money = {k: v for k, v in c.totals.items() if k.endswith("_minor")}
        shown_money = ", ".join(f"{k} {v:,}" for k, v in money.items())
        typer.echo(
            f"{c.table:<26} {c.rows:>12,} rows  same on both sides{'  ' + shown_money if money else ''}"
        )
    typer.echo(
        f"copied {shown(origin)} to {shown(to)}: {len(copied)} tables, {sum(c.rows for c in copied):,} rows"
    )

"""The `o2c` command: the public interface finance ops, schedules and scripts call.

Every command takes `--home DIR` (default `$O2C_HOME`, else `./var`). Stages run as Prefect flows
(the ephemeral API unless `PREFECT_API_URL` points at a server). A data problem ends the command
with one line naming the file, row and column and a non-zero exit, never a traceback.

The commands live by audience: `cli/operate.py` (finance ops running the pipeline; the report in
`cli/reporting.py`),
`cli/collect.py` (collectors' decisions), `cli/accounting.py` (what accounting imports), `cli/audit.py` (auditors), `cli/ledger.py` (the store, for
data engineers) and `cli/develop.py` (developers); `cli/common.py` holds what they share. Importing this package imports neither Prefect
nor Great Expectations: `main` gives both the CLI's environment defaults (no analytics, quiet
logs) before a command imports them.
"""

from __future__ import annotations

import typer

from cli import accounting, audit, collect, develop, ledger, operate, reporting
from cli.common import EXIT_DATA_PROBLEM, set_environment_defaults

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Order-to-cash pipeline.")
for _name, _command in (
    ("generate", develop.generate),
    ("ingest", operate.ingest),
    ("run", operate.run),
    ("report", reporting.report),
    ("summary", operate.summary),
    ("status", operate.status),
    ("export", operate.export),
    ("deliver", operate.deliver),
    ("apply", collect.apply),
    ("unapply", collect.unapply),
    ("statement", collect.statement),
    ("journal", accounting.journal),
    ("serve", operate.serve),
    ("site", operate.site),
    ("webhook", operate.webhook),
    ("demo", operate.demo),
):
    app.command(_name)(_command)
for _name, _group in (
    ("audit", audit.audit_app),
    ("case", collect.case_app),
    ("hold", collect.hold_app),
    ("writeoff", collect.writeoff_app),
    ("outbox", collect.outbox_app),
    ("bench", develop.bench_app),
    ("ledger", ledger.ledger_app),
    ("pilot", accounting.pilot_app),
    ("rates", accounting.rates_app),
):
    app.add_typer(_group, name=_name)


def main() -> None:
    """The console script: run the command line, a bad setting or Ctrl-C ending it in one line."""
    import sys

    from tasks.platform.config import SettingsError
    from tasks.platform.ledger import LedgerBusy, StoreProblem

    set_environment_defaults()
    try:
        app()
    except (SettingsError, StoreProblem, LedgerBusy) as exc:
        # a bad environment variable, a PostgreSQL ledger out of reach, a ledger that stayed busy:
        # one line, never a traceback
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_DATA_PROBLEM)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)

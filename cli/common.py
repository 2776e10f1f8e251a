"""What every `o2c` command shares: the option types, the exit codes, and the helpers that turn a
task's answer or refusal into the command's output and exit code.

A data problem ends a command with one line naming what is wrong and exit code 2, a failed stage
with exit code 1, never a traceback. The helpers import Prefect and the ledger only when a command
runs, so `o2c --help` stays quick.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from tasks.platform.config import Settings, load_settings

if TYPE_CHECKING:
    from tasks.platform.ledger import Ledger

Home = Annotated[str | None, typer.Option("--home", help="Workspace folder (default $O2C_HOME or ./var).")]
AsOf = Annotated[str | None, typer.Option("--as-of", help="Business date YYYY-MM-DD (default today).")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Compute and show, write and send nothing.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
By = Annotated[str, typer.Option("--by", help="Name of the person who decides.")]

EXIT_DATA_PROBLEM = 2
EXIT_STAGE_FAILED = 1

# Set before Prefect is imported: no analytics, and time for the ephemeral API to start on a slow disk.
# A run logs what it did at INFO to its run log in Prefect (the UI's Logs tab, also for runs a
# worker or `o2c serve` starts); the terminal shows Prefect's warnings and errors only, and the
# command's own output.
ENVIRONMENT_DEFAULTS = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_LEVEL": "INFO",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
    "GX_ANALYTICS_ENABLED": "false",
}


def set_environment_defaults() -> None:
    """Give Prefect and Great Expectations the CLI's defaults, where the environment sets none."""
    for name, value in ENVIRONMENT_DEFAULTS.items():
        os.environ.setdefault(name, value)


def fail(message: str, code: int = EXIT_DATA_PROBLEM) -> NoReturn:
    """End the command with one line on stderr and the exit code."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def business_date(text: str | None) -> date:
    """The business date a person's decision is made as of: `--as-of` when given, else today. A
    promise's date, a case's opening, a hold and a write-off are dated by it, so a decision taken
    for a past business date (re-working March in April) is dated in March."""
    return as_date(text, date.today()) or date.today()


def as_date(text: str | None, default: date | None = None) -> date | None:
    """A YYYY-MM-DD option as a date (`default` where it was not given); anything else ends the
    command."""
    if text is None:
        return default
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        fail(f"--as-of {text!r} is not a date in the form YYYY-MM-DD")


def run_flow(flow_fn: Any, **params: Any) -> Any:
    """Run a flow through Prefect and return its result; a failed run exits with its message."""
    from prefect.exceptions import MissingResult, PrefectHTTPStatusError

    from tasks.platform.artifacts import started_from_the_cli
    from tasks.platform.stage import DATA_PROBLEM_STATES, data_errors

    one_line_api_errors()
    try:
        with (
            started_from_the_cli(),
            progress_on_terminal(),
        ):  # the run's record says the o2c command started it
            state = flow_fn(**params, return_state=True)
    except data_errors() as exc:
        fail(str(exc))
    except PrefectHTTPStatusError as exc:  # the run could not even be recorded: say so in one line
        fail(_api_refused(exc), EXIT_STAGE_FAILED)
    except MissingResult:
        fail(_API_LOST_STATE, EXIT_STAGE_FAILED)
    if state.is_failed() or state.is_crashed():
        cause = _exception_of(state)
        if isinstance(cause, PrefectHTTPStatusError):  # a run the API stopped recording part-way
            fail(_api_refused(cause), EXIT_STAGE_FAILED)
        if isinstance(cause, MissingResult):
            fail(_API_LOST_STATE, EXIT_STAGE_FAILED)
        code = EXIT_DATA_PROBLEM if state.name in DATA_PROBLEM_STATES else EXIT_STAGE_FAILED
        fail(state.message or "the flow run failed", code)
    from tasks.platform.flow_returns import result_of

    return result_of(state)


@contextmanager
def progress_on_terminal() -> Iterator[None]:
    """While a flow runs, the steps its stages report as one line redrawn on the terminal (stderr),
    cleared when the run ends; nothing when stderr is not a terminal (a script, a log file)."""
    import sys

    from tasks.platform.progress import Step, listening

    if not sys.stderr.isatty():
        yield
        return
    shown = [0]

    def draw(step: Step) -> None:
        text = step.text()[:118]
        sys.stderr.write("\r" + text.ljust(shown[0]))
        sys.stderr.flush()
        shown[0] = len(text)

    try:
        with listening(draw):
            yield
    finally:
        if shown[0]:
            sys.stderr.write("\r" + " " * shown[0] + "\r")
            sys.stderr.flush()


# A step's result the Prefect API handed back without its data: its own database could not record
# the step in time (seen with the SQLite database of Prefect's local API under load).
_API_LOST_STATE = (
    "the Prefect API at its local address lost the state of a step of the run (its database was too"
    " busy to record it); a stage that had not published changed nothing: run it again"
)


def _api_refused(exc: Any) -> str:
    """One line for a request the Prefect API refused: which API, what it answered, to what."""
    from prefect.settings import PREFECT_API_URL

    response = exc.response
    return (
        f"the Prefect API at {PREFECT_API_URL.value() or 'its local address'} answered"
        f" {response.status_code} {response.reason_phrase} to {response.request.method}"
        f" {response.request.url.path}; a stage that had not published changed nothing: run it again"
    )


def _exception_of(state: Any) -> BaseException | None:
    """The exception a failed run ended with, where Prefect still holds it in this process."""
    try:
        outcome = state.result(raise_on_failure=False)
    except Exception:  # noqa: BLE001 - a result that cannot be read back names no cause
        return None
    return outcome if isinstance(outcome, BaseException) else None


class _OneLineApiErrorFormatter(logging.Formatter):
    """The terminal's formatter, except that an error of the Prefect API (or of the connection to
    it) is shown as its message alone: o2c says what happened in its own `error:` line. The record
    is left as it was, so the run's log in the API keeps the traceback."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        error = record.exc_info[1] if record.exc_info else None
        if not _is_api_error(error):
            return self.inner.format(record)
        kept = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            return f"{self.inner.format(record)} ({type(error).__name__})"
        finally:
            record.exc_info, record.exc_text = kept


def _is_api_error(error: BaseException | None) -> bool:
    import httpx
    from prefect.exceptions import MissingResult, PrefectHTTPStatusError

    seen = 0
    while error is not None and seen < 10:  # the cause chain, bounded
        if isinstance(error, PrefectHTTPStatusError | httpx.TransportError | MissingResult):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def one_line_api_errors() -> None:
    """Give the terminal's log handlers the one-line form of Prefect API errors (idempotent)."""
    from prefect.logging.handlers import PrefectConsoleHandler

    for handler in logging.getLogger().handlers + logging.getLogger("prefect").handlers:
        if isinstance(handler, PrefectConsoleHandler) and not isinstance(
            handler.formatter, _OneLineApiErrorFormatter
        ):
            handler.setFormatter(_OneLineApiErrorFormatter(handler.formatter))


def show(value: Any, as_json: bool) -> None:
    """Print a flow's summary or a document: as JSON, or as readable text."""
    if as_json:
        typer.echo(json.dumps(value, indent=2, default=str))
        return
    from cli.views import describe

    typer.echo(describe(value))


def echo_json(value: Any) -> None:
    """Print a list or document of plain values as indented JSON."""
    typer.echo(json.dumps(value, indent=2))


def show_rows(
    rows: list[dict[str, Any]], as_json: bool, line: Callable[[dict[str, Any]], str], empty: str | None = None
) -> None:
    """A register as JSON (`--json`), else one line a row, or `empty` when there is none."""
    if as_json:
        echo_json(rows)
        return
    if not rows and empty:
        typer.echo(empty)
    for row in rows:
        typer.echo(line(row))


@contextmanager
def reading(settings: Settings) -> Iterator[Ledger]:
    """The workspace's ledger, open for a command that reads it."""
    from tasks.platform.ledger import open_ledger

    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        yield ledger


@contextmanager
def deciding(home: str | None) -> Iterator[tuple[Ledger, Settings, str]]:
    """A person's decision on the ledger: the open ledger, the settings and the decision's run id; a
    refused decision, a busy ledger or a bad policy ends the command with one line."""
    import uuid

    from tasks.platform.cash_decisions import DecisionRefused
    from tasks.platform.ledger import LedgerBusy
    from tasks.platform.policy import PolicyError

    settings = load_settings(home)
    try:
        with reading(settings) as ledger:
            yield ledger, settings, f"cli:{uuid.uuid4()}"
    except (DecisionRefused, LedgerBusy, PolicyError) as exc:
        fail(str(exc))

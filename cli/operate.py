"""The commands finance operations run the pipeline with: load files (`ingest`), run a stage or all
six (`run`), look at the workspace (`status`), what became of one
file (`summary`), ledger views as files (`export`), serving the scheduled deployments (`serve`), the
report pages and Data Docs over HTTP (`site`), and the demo on a generated book (`demo`). The
receivables report (`report`) is in `cli/reporting.py`.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import (
    EXIT_STAGE_FAILED,
    AsJson,
    AsOf,
    DryRun,
    Home,
    as_date,
    echo_json,
    fail,
    reading,
    run_flow,
    show,
)
from tasks.platform.config import load_settings
from tasks.platform.stages import STAGES

_LISTEN = "Address the site listens on (0.0.0.0: every interface)."


def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files to load (CSV, Parquet, XLSX).")] = None,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="Mapping YAML for another layout.")
    ] = None,
    sql: Annotated[str | None, typer.Option("--sql", help="SQLAlchemy URL of an SQL source.")] = None,
    as_of: AsOf = None,
    dry_run: DryRun = False,
    home: Home = None,
    as_json: AsJson = False,
) -> None:
    """Load files or an SQL source into the ledger; bad rows go to quarantine with every reason."""
    from flows.ingest import ingest_flow
    from tasks.platform.artifacts import SecretURL

    if not paths and not sql:
        fail("name one or more files, or --sql URL --mapping FILE")
    settings = load_settings(home)
    result = run_flow(
        ingest_flow,
        paths=[str(p) for p in paths or []],
        mapping=str(mapping) if mapping else None,
        sql_url=SecretURL(sql) if sql else None,  # Prefect keeps the run's parameters: no password
        as_of=as_date(as_of),
        dry_run=dry_run,
        home=str(settings.home),
    )
    show(result, as_json)


def run(
    stage: Annotated[str, typer.Argument(help=f"One of {', '.join(STAGES)}, or all.")],
    as_of: AsOf = None,
    dry_run: DryRun = False,
    home: Home = None,
    as_json: AsJson = False,
    no_documents: Annotated[
        bool, typer.Option("--no-documents", help="invoice: bill without documents or e-mails.")
    ] = False,
    no_email: Annotated[bool, typer.Option("--no-email", help="invoice: bill without e-mailing.")] = False,
    policy_profile: Annotated[
        str | None,
        typer.Option("--policy-profile", help="Rules to apply: standard, or a folder of rules/profiles/."),
    ] = None,
    no_deliver: Annotated[
        bool,
        typer.Option(
            "--no-deliver",
            help="invoice, remind, escalate, report: queue, and leave the sending to o2c deliver.",
        ),
    ] = False,
    entity: Annotated[
        str | None, typer.Option("--entity", help="Only this legal entity's customers (all by default).")
    ] = None,
    customers: Annotated[
        Path | None,
        typer.Option(
            "--customers", help="Only the customers of this file (one id per line, or a customer_id column)."
        ),
    ] = None,
    segment: Annotated[
        str | None,
        typer.Option("--segment", help="Only the customers of this segment of the customer master."),
    ] = None,
    shadow: Annotated[
        bool,
        typer.Option(
            "--shadow",
            help="Compute in a fresh copy of the ledger (<home>/shadow): nothing is sent or booked in"
            " the workspace; e-mails are written to shadow/outbox.",
        ),
    ] = False,
) -> None:
    """Run one stage, or all six in order (then the delivery), through Prefect; `--entity`,
    `--customers` or `--segment` limit it to some customers, leaving the others' rows as they were."""
    from flows.order_to_cash import STAGE_FLOWS, order_to_cash

    if stage != "all" and stage not in STAGE_FLOWS:
        fail(f"unknown stage {stage!r}; use one of {', '.join(STAGES)} or all")
    settings = load_settings(home)
    flow_fn = order_to_cash if stage == "all" else STAGE_FLOWS[stage]
    options = _stage_options(stage, no_documents, no_email, policy_profile, settings.rules_dir)
    if no_deliver:
        from flows.order_to_cash import DELIVERS

        if stage not in DELIVERS:
            fail(f"--no-deliver applies to {', '.join(sorted(DELIVERS))}, not {stage}")
        options["deliver"] = False
    scope = _scope(stage, entity, customers, segment)
    if scope is not None:
        options["scope"] = scope
    if shadow:
        settings = _shadow(stage, settings, options)
    result = run_flow(flow_fn, as_of=as_date(as_of), dry_run=dry_run, home=str(settings.home), **options)
    show(result, as_json)
    if shadow:
        typer.echo(
            f"shadow: {settings.home} (its ledger, the e-mails it would send in outbox/, its documents);"
            " compare it with the legacy process: o2c pilot compare --shadow --legacy FILE",
            err=True,
        )


def _shadow(stage: str, settings: Any, options: dict[str, Any]) -> Any:
    """A fresh shadow of the workspace for `run --shadow`, and the stages it runs (not ingest: the
    workspace ingests, the shadow computes on what it holds)."""
    from tasks.platform.shadow import make_shadow
    from tasks.platform.stages import STAGES

    if stage == "ingest":
        fail("--shadow runs the stages after ingest: ingest into the workspace, then run them in shadow")
    if stage == "all":
        options["stages"] = [s for s in STAGES if s != "ingest"]  # and made a shadow here, not twice
    try:
        return make_shadow(settings)
    except ValueError as exc:
        fail(str(exc))


def _scope(stage: str, entity: str | None, customers: Path | None, segment: str | None) -> Any:
    """The run's scope from `run`'s options, refused for a stage that cannot be limited."""
    from flows.order_to_cash import SCOPED
    from flows.parameters import RunScope
    from tasks.platform.scope import ScopeProblem, read_customer_ids

    if entity is None and customers is None and segment is None:
        return None
    if stage != "all" and stage not in SCOPED:
        fail(f"--entity, --customers and --segment apply to {', '.join(sorted(SCOPED))} and all, not {stage}")
    if sum(x is not None for x in (entity, customers, segment)) > 1:
        fail("give one of --entity, --customers and --segment")
    try:
        ids = read_customer_ids(customers) if customers is not None else []
    except ScopeProblem as exc:
        fail(str(exc))
    return RunScope(entity=entity, customers=ids, segment=segment)


def _stage_options(
    stage: str, no_documents: bool, no_email: bool, policy_profile: str | None, rules_dir: Path
) -> dict[str, Any]:
    """The flow parameters `run`'s options give, refused where the stage has no such option."""
    from flows.order_to_cash import PROFILED
    from tasks.platform.policy import policy_profiles

    options: dict[str, Any] = {}
    if no_documents or no_email:
        if stage != "invoice":
            fail("--no-documents and --no-email are options of the invoice stage")
        options = {"documents": not no_documents, "email": not no_email}
    if policy_profile is not None:
        known = policy_profiles(rules_dir)
        if policy_profile not in known:
            fail(f"unknown policy profile {policy_profile!r}; one of {', '.join(known)}")
        if stage != "all" and stage not in PROFILED:
            fail(f"--policy-profile applies to {', '.join(sorted(PROFILED))} and all, not {stage}")
        options["policy_profile"] = policy_profile
    return options


def deliver(as_of: AsOf = None, home: Home = None, as_json: AsJson = False) -> None:
    """Write the invoice documents still missing and send every e-mail that is due: what a stage run
    with --no-deliver or the whole pipeline queued, and the retries whose time has come."""
    from cli.views import delivery_lines
    from flows.delivery import deliver_flow

    settings = load_settings(home)
    result = run_flow(deliver_flow, as_of=as_date(as_of), home=str(settings.home))
    if as_json:
        echo_json(result)
    else:
        typer.echo(delivery_lines(result))


def summary(
    path: Annotated[
        Path, typer.Argument(help="A file of orders, order lines or an order book, as ingested.")
    ],
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="The mapping it was ingested with.")
    ] = None,
    as_json: AsJson = False,
    home: Home = None,
) -> None:
    """What became of a file's rows: in, quarantined by reason, loaded, invoiced and credited,
    with counts and amounts, and whether they balance."""
    from tasks.ingest import file_trace
    from tasks.ingest.model import SourceRejected

    settings = load_settings(home)
    try:
        sources = file_trace.read_sources(path, mapping)
    except SourceRejected as exc:
        fail(str(exc))
    if "order_lines" not in sources:
        fail(f"{path.name}: summary is for files holding order lines (an order book or order_lines*.csv)")
    with reading(settings) as ledger:
        result = file_trace.summarise(ledger, path, sources)
    if as_json:
        echo_json(result)
        return
    typer.echo(f"{path.name} ({result['currency']})")
    for row in result["figures"]:
        amount = f"{row['amount']:>16}" if row["amount"] is not None else ""
        typer.echo(f"  {row['what']:<72} {row['rows']:>9,} {amount}")
    for name, ok in result["controls"].items():
        typer.echo(f"  control: {name}: {'balances' if ok else 'DOES NOT BALANCE'}")
    if not all(result["controls"].values()):
        raise typer.Exit(EXIT_STAGE_FAILED)


def status(as_json: AsJson = False, home: Home = None) -> None:
    """Row counts of the ledger's tables and the latest run of each stage."""
    from tasks.report.views import workspace_status

    settings = load_settings(home)
    with reading(settings) as ledger:
        document = workspace_status(ledger, settings.home)
    show(document, as_json)


def export(
    name: Annotated[str, typer.Argument(help="allocations, unapplied, reminders, worklist or quarantine.")],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write (.xlsx: an XLSX workbook).")],
    entity: Annotated[
        str | None,
        typer.Option("--entity", help="Only the rows of one legal entity (default: every entity)."),
    ] = None,
    home: Home = None,
) -> None:
    """Write a ledger view as CSV or XLSX, amounts in major units, formulas neutralised."""
    from tasks.platform.sellers import bank_accounts
    from tasks.report.export import EXPORTS, to_major_units, write
    from tasks.report.views import NotPartitioned, export_view

    if name not in EXPORTS:
        fail(f"unknown export {name!r}; use one of {', '.join(EXPORTS)}")
    settings = load_settings(home)
    banks = bank_accounts(settings.rules_dir)
    with reading(settings) as ledger:
        try:
            frame = export_view(ledger, name, entity, banks)
        except NotPartitioned as exc:
            fail(str(exc))
        names = None
        if out.suffix.lower() == ".xlsx" and "customer_id" in frame.columns:
            known = ledger.query("invoice/customers")
            names = dict(zip(known["customer_id"].astype(str), known["name"].astype(str), strict=True))
    write(to_major_units(frame), out, names)
    typer.echo(f"{len(frame)} row(s) written to {out}")


def serve(
    home: Home = None,
    list_only: Annotated[
        bool, typer.Option("--list", help="Print the deployments and their schedules, and serve nothing.")
    ] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="At most this many runs at once (default: no limit).")
    ] = None,
    site_port: Annotated[
        int | None,
        typer.Option(
            "--site-port", min=0, max=65535, help="Also serve the reports and Data Docs on this port."
        ),
    ] = None,
    site_host: Annotated[str, typer.Option("--site-host", help=_LISTEN)] = "127.0.0.1",
) -> None:
    """Serve every deployment of prefect.yaml from this process, with its schedules, until stopped
    (Ctrl-C pauses their schedules): for a team without a work pool. Needs PREFECT_API_URL."""
    from flows.serve import read_specs, serve_all

    specs = read_specs()
    for spec in specs:
        flow_name = spec.entrypoint.rsplit(":", 1)[1]
        typer.echo(f"{spec.name:<32} {flow_name:<16} {spec.schedule_text()}")
    if list_only:
        return
    settings = load_settings(home)
    os.environ["O2C_HOME"] = str(settings.home)  # every run this process starts works in this workspace
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        fail("o2c serve needs a Prefect server: set PREFECT_API_URL (prefect server start prints it)")
    if site_port is None:
        serve_all(specs, limit=limit)
        return
    from tasks.platform.site import running, site_url

    server = _site(settings, site_host, site_port)
    with running(server):
        typer.echo(_site_line(settings, site_url(server)))
        serve_all(specs, limit=limit)


def site(
    home: Home = None,
    host: Annotated[str, typer.Option("--host", help=_LISTEN)] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to listen on (0: a free one).")
    ] = 8040,
) -> None:
    """Serve the workspace's report pages and Data Docs over HTTP, read-only, until stopped (Ctrl-C
    or SIGTERM): the address O2C_PUBLIC_URL names, so the links in the Prefect UI open from any desk."""

    from tasks.platform.site import site_url

    settings = load_settings(home)
    server = _site(settings, host, port)
    typer.echo(_site_line(settings, site_url(server)))
    _serve_until_stopped(server, "site stopped")


def _serve_until_stopped(server: Any, stopped: str) -> None:
    """Serve until Ctrl-C or SIGTERM, then say `stopped` and let the port go."""
    import signal

    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        typer.echo(stopped)
    finally:
        server.server_close()


def _site(settings: Any, host: str, port: int) -> Any:
    """The workspace's site bound to `host`:`port`; a port that cannot be had ends the command."""
    from tasks.platform.site import make_site

    try:
        return make_site(settings.home, host, port)
    except OSError as exc:
        fail(f"the site cannot listen on {host}:{port}: {exc.strerror or exc}")


def _site_line(settings: Any, url: str) -> str:
    public = settings.public_url or "not set: the UI's links point at files on this machine"
    return f"reports and Data Docs of {settings.home} at {url}/ (O2C_PUBLIC_URL: {public})"


def demo(
    home: Home = None,
    customers: Annotated[int, typer.Option(min=1)] = 60,
    invoices: Annotated[int, typer.Option(min=1)] = 800,
    seed: int = 42,
    as_of: AsOf = None,
) -> None:
    """Generate a book into the inbox and run all six stages on it, on the embedded ledger."""
    from cli.views import demo_summary
    from flows.order_to_cash import order_to_cash
    from tasks.report.views import export_view
    from tools.generate import generate_book, write_book

    settings = load_settings(home)
    day = as_date(as_of) or date.today()
    book = generate_book(customers=customers, invoices=invoices, seed=seed, as_of=day)
    written = write_book(book, settings.inbox)
    typer.echo(f"generated {invoices} invoices for {customers} customers into {settings.inbox}")
    result = run_flow(order_to_cash, as_of=day, home=str(settings.home))
    with reading(settings) as ledger:
        worklist = export_view(ledger, "worklist")
    typer.echo(demo_summary(result, settings, truth=written.get("truth_allocations"), worklist=worklist))


def webhook(
    home: Home = None,
    host: Annotated[str, typer.Option("--host", help=_LISTEN)] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to listen on (0: a free one).")
    ] = 8025,
) -> None:
    """Receive SendGrid's signed event webhook (POST /sendgrid/events) until stopped: delivered,
    bounced, dropped and spam-report events, each request verified with O2C_SENDGRID_WEBHOOK_KEY
    (unsigned or altered ones refused) and kept in the ledger. No reminder goes to an address that
    bounced, and its customer lands on the worklist."""

    from tasks.platform.webhook import PATH, make_server

    settings = load_settings(home)
    try:
        server = make_server(settings, host, port)
    except OSError as exc:
        fail(f"the webhook cannot listen on {host}:{port}: {exc.strerror or exc}")
    typer.echo(f"webhook: POST SendGrid's events to http://{host}:{server.server_address[1]}{PATH}")
    _serve_until_stopped(server, "webhook stopped")

"""The `o2c` command: the public interface finance ops, schedules and scripts call.

Every command takes `--home DIR` (default `$O2C_HOME`, else `./var`). Stages run as Prefect flows
(the ephemeral API unless `PREFECT_API_URL` points at a server). A data problem ends the command
with one line naming the file, row and column and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

# Before Prefect is imported: no analytics, and time for the ephemeral API to start on a slow disk.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import typer  # noqa: E402

from tasks.platform.config import STAGES, load_settings  # noqa: E402

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Order-to-cash pipeline.")

Home = Annotated[str | None, typer.Option("--home", help="Workspace folder (default $O2C_HOME or ./var).")]
AsOf = Annotated[str | None, typer.Option("--as-of", help="Business date YYYY-MM-DD (default today).")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Compute and show, write and send nothing.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]

EXIT_DATA_PROBLEM = 2
EXIT_STAGE_FAILED = 1


def _date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        _fail(f"--as-of {text!r} is not a date in the form YYYY-MM-DD")
    return None


def _fail(message: str, code: int = EXIT_DATA_PROBLEM) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _run_flow(flow_fn: Any, **params: Any) -> Any:
    """Run a flow through Prefect and return its result; a failed run exits with its message."""
    from prefect.exceptions import PrefectHTTPStatusError

    from tasks.platform.stage import DATA_PROBLEM_STATES, data_errors

    try:
        state = flow_fn(**params, return_state=True)
    except data_errors() as exc:
        _fail(str(exc))
    except PrefectHTTPStatusError as exc:  # the run could not even be recorded: say so in one line
        from prefect.settings import PREFECT_API_URL

        response = exc.response
        _fail(
            f"the Prefect API at {PREFECT_API_URL.value() or 'its local address'} answered"
            f" {response.status_code} {response.reason_phrase} to {response.request.method}"
            f" {response.request.url.path}; a stage that had not published changed nothing: run it again",
            EXIT_STAGE_FAILED,
        )
    if state.is_failed() or state.is_crashed():
        code = EXIT_DATA_PROBLEM if state.name in DATA_PROBLEM_STATES else EXIT_STAGE_FAILED
        _fail(state.message or "the flow run failed", code)
    from tasks.platform.flow_returns import result_of

    return result_of(state)


def _print(value: Any, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(value, indent=2, default=str))
        return
    from tasks.platform.presentation import describe

    typer.echo(describe(value))


@contextmanager
def _deciding(home: str | None) -> Iterator[tuple[Any, Any, str]]:
    """A person's decision on the ledger: the open ledger, the settings and the decision's run id; a
    refused decision, a busy ledger or a bad policy ends the command with one line."""
    import uuid

    from rules.policy import PolicyError
    from tasks.platform.cash_decisions import DecisionRefused
    from tasks.platform.ledger import LedgerBusy, open_ledger

    settings = load_settings(home)
    try:
        with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
            yield ledger, settings, f"cli:{uuid.uuid4()}"
    except (DecisionRefused, LedgerBusy, PolicyError) as exc:
        _fail(str(exc))


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the book into.")],
    customers: Annotated[int, typer.Option(min=1)] = 50,
    invoices: Annotated[int, typer.Option(min=1)] = 500,
    seed: int = 42,
    as_of: AsOf = None,
) -> None:
    """Write a synthetic, realistic book of business (deterministic for a seed) as canonical CSVs."""
    from tools.generate import generate_book, write_book

    book = generate_book(
        customers=customers, invoices=invoices, seed=seed, as_of=_date(as_of) or date.today()
    )
    written = write_book(book, out)
    for name, path in written.items():
        typer.echo(f"{name:18} {path}")


@app.command("ingest")
def ingest_command(
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
        _fail("name one or more files, or --sql URL --mapping FILE")
    settings = load_settings(home)
    result = _run_flow(
        ingest_flow,
        paths=[str(p) for p in paths or []],
        mapping=str(mapping) if mapping else None,
        sql_url=SecretURL(sql) if sql else None,  # Prefect keeps the run's parameters: no password
        as_of=_date(as_of),
        dry_run=dry_run,
        home=str(settings.home),
    )
    _print(result, as_json)


@app.command()
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
) -> None:
    """Run one stage, or all six in order, through Prefect."""
    from flows.order_to_cash import PROFILED, STAGE_FLOWS, order_to_cash
    from rules.policy import policy_profiles

    if stage != "all" and stage not in STAGE_FLOWS:
        _fail(f"unknown stage {stage!r}; use one of {', '.join(STAGES)} or all")
    settings = load_settings(home)
    flow_fn = order_to_cash if stage == "all" else STAGE_FLOWS[stage]
    options: dict[str, Any] = {}
    if no_documents or no_email:
        if stage != "invoice":
            _fail("--no-documents and --no-email are options of the invoice stage")
        options = {"documents": not no_documents, "email": not no_email}
    if policy_profile is not None:
        if policy_profile not in policy_profiles():
            _fail(f"unknown policy profile {policy_profile!r}; one of {', '.join(policy_profiles())}")
        if stage != "all" and stage not in PROFILED:
            _fail(f"--policy-profile applies to {', '.join(sorted(PROFILED))} and all, not {stage}")
        options["policy_profile"] = policy_profile
    result = _run_flow(flow_fn, as_of=_date(as_of), dry_run=dry_run, home=str(settings.home), **options)
    _print(result, as_json)


@app.command()
def report(
    as_of: AsOf = None,
    as_json: AsJson = False,
    period_days: Annotated[int, typer.Option("--period-days", min=1, help="DSO period in days.")] = 90,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write the report with its charts to this HTML file.")
    ] = None,
    home: Home = None,
) -> None:
    """Receivables, ageing, DSO, CEI, payment habits, forecast and collection work per currency, as the
    ledger stood on a date; `--html` also writes the report with its charts."""
    from tasks.platform.ledger import open_ledger
    from tasks.report import figures as report_logic

    settings = load_settings(home)
    day = _date(as_of) or date.today()
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        inputs = report_logic.read_inputs(ledger, day, period_days)
    _figures, document = report_logic.compute_all(inputs, day, period_days)
    if html is not None:
        from tasks.report.html import render

        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(render(document, inputs["history"]), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(document, indent=2))
    else:
        typer.echo(report_logic.as_markdown(document))


@app.command()
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
    from tasks.ingest import canonical as ingest
    from tasks.ingest import file_summary
    from tasks.platform.ledger import open_ledger

    settings = load_settings(home)
    try:
        sidecar = path.with_name(path.name + ".mapping.yaml")
        chosen = mapping or (sidecar if sidecar.exists() else None)
        sources = {
            s.dataset: s
            for s in ingest.read_file_sources(path, ingest.load_mapping(chosen) if chosen else None)
        }
    except ingest.SourceRejected as exc:
        _fail(str(exc))
    if "order_lines" not in sources:
        _fail(f"{path.name}: summary is for files holding order lines (an order book or order_lines*.csv)")
    batch = {d: f"{d}:{s.fingerprint[:24]}" for d, s in sources.items()}
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        loaded = ledger.query(
            "summary/loaded",
            customers_batch=batch.get("customers", ""),
            orders_batch=batch.get("orders", ""),
            lines_batch=batch["order_lines"],
        )
        quarantined = ledger.query("summary/quarantined", source=str(path))
    lines = sources["order_lines"]
    result = file_summary.summarise(
        lines.rows, lines.first_row_number, {d: len(s.rows) for d, s in sources.items()}, quarantined, loaded
    )
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    typer.echo(f"{path.name} ({result['currency']})")
    for row in result["figures"]:
        amount = f"{row['amount']:>16}" if row["amount"] is not None else ""
        typer.echo(f"  {row['what']:<72} {row['rows']:>9,} {amount}")
    for name, ok in result["controls"].items():
        typer.echo(f"  control: {name}: {'balances' if ok else 'DOES NOT BALANCE'}")
    if not all(result["controls"].values()):
        raise typer.Exit(EXIT_STAGE_FAILED)


audit_app = typer.Typer(no_args_is_help=True, help="For auditors: every run, and what one run changed.")
app.add_typer(audit_app, name="audit")


@audit_app.command("runs")
def audit_runs(
    since: Annotated[
        str | None, typer.Option("--since", help="YYYY-MM-DD: runs finished on or after it.")
    ] = None,
    as_json: AsJson = False,
    home: Home = None,
) -> None:
    """Every stage run: stage, business date, who or what started it, outcome, counts, the rule
    version and the hash of each contract it used."""
    from tasks.platform.ledger import open_ledger

    settings = load_settings(home)
    day = _date(since) or date(1970, 1, 1)
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        rows = ledger.query("audit/runs", since=day).to_dict("records")
    shown = [
        {
            "run_id": r["run_id"],
            "stage": r["stage"],
            "as_of": str(r["as_of"])[:10],
            "started_by": r["started_by"],
            "outcome": r["outcome"],
            "counts": json.loads(r["counts"]),
            "rule_version": r["rule_version"],
            "contracts": r["contracts"],
            "finished_at": str(r["finished_at"]),
        }
        for r in rows
    ]
    if as_json:
        typer.echo(json.dumps(shown, indent=2))
        return
    for r in shown:
        counts = ", ".join(f"{k} {v}" for k, v in r["counts"].items())
        typer.echo(
            f"{r['finished_at']}  {r['stage']:<10} {r['as_of']}  {r['outcome']:<9} by {r['started_by'] or '?'}"
            f"  {r['run_id']}  [{counts}]"
            + (f"  rules {r['rule_version']}" if r["rule_version"] else "")
            + (f"  contracts {r['contracts']}" if r["contracts"] else "")
        )


@audit_app.command("show")
def audit_show(
    run_id: Annotated[str, typer.Argument(help="The run's id (from `o2c audit runs`).")],
    as_json: AsJson = False,
    home: Home = None,
) -> None:
    """What one run changed in the ledger, row by row, from the audit log."""
    from tasks.platform.ledger import open_ledger

    settings = load_settings(home)
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        rows = ledger.query("audit/changes", run_id=run_id).to_dict("records")
    if not rows:
        _fail(f"no changes recorded for run {run_id!r} (see `o2c audit runs`)")
    shown = [{k: (str(v) if k == "created_at" else v) for k, v in r.items() if k != "audit_id"} for r in rows]
    if as_json:
        typer.echo(json.dumps(shown, indent=2, default=str))
        return
    for r in shown:
        typer.echo(
            f"{r['entity']:<20} {r['key']:<28} {r['action']:<8} {r['before'] or ''} -> {r['after'] or ''}"
        )


@audit_app.command("pack")
def audit_pack(
    run_id: Annotated[str, typer.Argument(help="The run's id (from `o2c audit runs`).")],
    out: Annotated[Path, typer.Option("--out", help="The zip file to write.")],
    home: Home = None,
) -> None:
    """The evidence of one run in one zip file: input fingerprints, checkpoint results, its changes,
    its artifacts, its Data Docs, the rule and contract files as they were, and the history a replay
    needs."""
    from tasks.platform.artifacts import read_run_artifacts
    from tasks.platform.ledger import open_ledger
    from tasks.report import audit_pack as pack_logic

    settings = load_settings(home)
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        runs = ledger.query("audit/run_rows", run_id=run_id)
        if runs.empty:
            _fail(f"no run {run_id!r} in the ledger (see `o2c audit runs`)")
        until = runs["finished_at"].max()
        history = ledger.query("audit/history", until=until)
        inputs = ledger.query(
            "audit/inputs", run_id=run_id, ingest=bool((runs["stage"] == "ingest").any()), until=until
        )
        pack = pack_logic.PackInputs(
            run_id=run_id,
            runs=runs,
            inputs=inputs,
            checkpoints=ledger.query("audit/checkpoints", run_id=run_id),
            changes=ledger.query("audit/changes", run_id=run_id),
            quarantine=ledger.query("audit/quarantine", run_id=run_id),
            history=history,
            manual=ledger.query("audit/manual_decisions", until=until),
            blobs=ledger.evidence_blobs(pack_logic.referenced_shas(history)),
        )
    pack.artifacts, pack.artifacts_note = read_run_artifacts(run_id)
    pack.data_docs = pack_logic.read_data_docs(settings.home / "data_docs" / run_id)
    content = pack_logic.build_pack(pack)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    partial.write_bytes(content)
    partial.replace(out)
    typer.echo(
        f"{out}: run {run_id} ({', '.join(runs['stage'])}), {len(pack.changes)} change(s),"
        f" {len(pack.checkpoints)} checkpoint(s), {len(pack.artifacts)} artifact(s),"
        f" {len(pack.data_docs)} Data Docs file(s), {len(history)} run(s) of history; {len(content):,} bytes"
    )


@audit_app.command("replay")
def audit_replay(
    pack_file: Annotated[Path, typer.Argument(help="An evidence pack written by `o2c audit pack`.")],
    home: Annotated[str, typer.Option("--home", help="An empty workspace folder to replay into.")],
    as_json: AsJson = False,
) -> None:
    """Run a pack's history again on an empty ledger, with the rule, contract and input files as they
    were, and compare every run's outcome, counts and changes with the original's; exit 1 on any
    difference."""
    import subprocess
    import tempfile

    from prefect.settings import PREFECT_API_URL

    from tasks.platform.ledger import open_ledger
    from tasks.report import replay
    from tasks.report.audit_pack import PackProblem, open_pack

    settings = load_settings(home)
    if settings.ledger_path.exists():
        _fail(f"{settings.ledger_path} exists: a replay needs an empty workspace")
    try:
        manifest, archive = open_pack(pack_file)
        history = json.loads(archive.read("history.json"))
        runs = replay.plan(history)
    except (PackProblem, replay.ReplayRefused) as exc:
        _fail(f"cannot replay {pack_file.name}: {exc}")
    env = {**os.environ, "O2C_HOME": str(settings.home), "O2C_MAILER": "file"}  # a replay mails no one
    env.pop("O2C_CLI", None)
    if PREFECT_API_URL.value():
        env["PREFECT_API_URL"] = str(PREFECT_API_URL.value())
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="o2c-replay-") as work:
        steps = replay.materialise(runs, lambda digest: archive.read(f"blobs/{digest}"), Path(work))
        groups: list[list[dict[str, Any]]] = []
        for step in steps:
            if groups and groups[-1][0]["rules_dir"] == step["rules_dir"]:
                groups[-1].append(step)
            else:
                groups.append([step])
        for number, group in enumerate(groups, start=1):
            steps_file, results_file = (
                Path(work) / f"steps-{number}.json",
                Path(work) / f"results-{number}.json",
            )
            steps_file.write_text(json.dumps(group))
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "flows.replay",
                    str(steps_file),
                    str(results_file),
                    str(settings.home),
                ],
                env={
                    **env,
                    "O2C_RULES_DIR": group[0]["rules_dir"],
                    "O2C_CONTRACTS_DIR": group[0]["contracts_dir"],
                },
                capture_output=True,
                text=True,
            )
            if done.returncode != 0 or not results_file.exists():
                tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
                _fail(f"the replay process stopped: {' / '.join(tail)}", EXIT_STAGE_FAILED)
            results.extend(json.loads(results_file.read_text()))
    original_changes = _pack_changes(archive, manifest["run_id"])
    report = []
    problems: list[str] = []
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        for run, result in zip(runs, results, strict=True):
            record = ledger.row("audit/run", run_id=result["run_id"]) or {}
            replayed = {"outcome": record.get("outcome"), "counts": json.loads(record.get("counts") or "{}")}
            changes = ledger.query("audit/changes", run_id=result["run_id"]).to_dict("records")
            # The pack holds the changes of its own run; the earlier runs compare by outcome and counts.
            mine = original_changes if run.original_run_id == manifest["run_id"] else changes
            found = replay.compare_run(run, replayed, mine, changes)
            problems.extend(found)
            report.append(
                {
                    "stage": run.stage,
                    "as_of": run.as_of,
                    "original_run_id": run.original_run_id,
                    "replay_run_id": result["run_id"],
                    "outcome": replayed["outcome"],
                    "changes": len(changes),
                    "same": not found,
                }
            )
    if as_json:
        typer.echo(json.dumps({"runs": report, "differences": problems, "same": not problems}, indent=2))
    else:
        for r in report:
            typer.echo(
                f"{r['stage']:<10} {r['as_of']}  {r['outcome'] or '?':<9} {r['changes']:>6} change(s)"
                f"  {'same' if r['same'] else 'DIFFERENT'}  {r['original_run_id']} -> {r['replay_run_id']}"
            )
        typer.echo("\n".join(problems) if problems else f"replayed {len(report)} run(s): the same outputs")
    if problems:
        raise typer.Exit(EXIT_STAGE_FAILED)


def _pack_changes(archive: Any, run_id: str) -> list[dict[str, Any]]:
    import io

    import pandas as pd

    frame = pd.read_csv(io.BytesIO(archive.read("changes.csv")), dtype=str, keep_default_na=False)
    return frame.to_dict("records")


case_app = typer.Typer(no_args_is_help=True, help="Open, resolve and list disputes, deductions and promises.")
app.add_typer(case_app, name="case")


@case_app.command("open")
def case_open(
    kind: Annotated[str, typer.Option("--kind", help="dispute, deduction or promise.")],
    customer: Annotated[str, typer.Option("--customer", help="Customer id.")],
    amount: Annotated[
        str, typer.Option("--amount", help="Decimal in major units of the invoices' currency.")
    ],
    reason: Annotated[
        str, typer.Option("--reason", help="Reason code (pricing, quality, not_received, ...).")
    ],
    by: Annotated[str, typer.Option("--by", help="Name of the person who decides.")],
    invoice: Annotated[
        list[str] | None, typer.Option("--invoice", help="An invoice the case is about (repeat for several).")
    ] = None,
    text: Annotated[str | None, typer.Option("--text", help="What the customer said.")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Who works the case (default: --by).")] = None,
    due: Annotated[
        str | None,
        typer.Option("--due", help="YYYY-MM-DD: a promise's date, or when the case should be done."),
    ] = None,
    home: Home = None,
) -> None:
    """Open a case; prints its id (CASE-000001)."""

    from tasks.escalate import cases

    with _deciding(home) as (ledger, settings, run_id):
        row = cases.open_case(
            ledger,
            kind=kind,
            customer_id=customer,
            invoice_ids=invoice or [],
            amount_text=amount,
            reason_code=reason,
            reason_text=text,
            owner=owner,
            due_on=_date(due) if due else None,
            by=by,
            run_id=run_id,
            today=date.today(),
        )
    typer.echo(row["case_id"])


@case_app.command("resolve")
def case_resolve(
    case_id: Annotated[str, typer.Argument(help="The case id (CASE-000001, or a deduction's D-...).")],
    by: Annotated[str, typer.Option("--by", help="Name of the person who decides.")],
    rejected: Annotated[
        bool, typer.Option("--rejected", help="The claim is rejected (or a promise withdrawn).")
    ] = False,
    credit_note: Annotated[
        str | None,
        typer.Option(
            "--credit-note", help="A dispute resolved for the customer: credit this much (major units)."
        ),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="What was decided.")] = None,
    home: Home = None,
) -> None:
    """Close an open case: resolved (optionally with a credit note) or rejected."""

    from tasks.escalate import cases
    from tasks.invoice import documents as documents_logic

    with _deciding(home) as (ledger, settings, run_id):
        closed = cases.resolve_case(
            ledger,
            case_id,
            by=by,
            rejected=rejected,
            note=note,
            credit_text=credit_note,
            series=settings.invoice_series,
            run_id=run_id,
            today=date.today(),
        )
        if closed["credit_note_id"]:
            ids = [closed["credit_note_id"]]
            documents_logic.write_documents(
                ledger.query("invoice/document_invoices", ids=ids),
                ledger.query("invoice/document_lines", ids=ids),
                ledger.query("invoice/customers"),
                settings.home / "documents",
                settings.seller_of,
                ledger.query("invoice/document_instalments", ids=ids),
            )
    extra = f", credit note {closed['credit_note_id']}" if closed["credit_note_id"] else ""
    typer.echo(f"{closed['case_id']} {closed['status']} by {closed['resolved_by']}{extra}")


@case_app.command("list")
def case_list(
    status: Annotated[
        str | None, typer.Option("--status", help="open, resolved, rejected, kept or broken.")
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="dispute, deduction or promise.")] = None,
    as_json: AsJson = False,
    home: Home = None,
) -> None:
    """Cases, open ones first by due date: kind, customer, invoices, amount, reason, owner, status."""
    from tasks.platform.ledger import open_ledger
    from tasks.platform.money import to_major_str

    settings = load_settings(home)
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        rows = ledger.query("cases/list").to_dict("records")
    shown = [
        {
            "case_id": r["case_id"],
            "kind": r["kind"],
            "customer_id": r["customer_id"],
            "invoices": [i for i in r["invoice_id"].split(";") if i],
            "amount": to_major_str(int(r["amount_minor"]), r["currency"]),
            "currency": r["currency"],
            "reason_code": r["reason_code"],
            "reason_text": r["reason_text"],
            "owner": r["owner"],
            "opened_on": _day(r["opened_on"]),
            "due_on": _day(r["due_on"]),
            "status": r["status"],
            "resolved_on": _day(r["resolved_on"]),
            "resolved_by": r["resolved_by"],
            "resolution": r["resolution"],
            "credit_note_id": r["credit_note_id"],
        }
        for r in rows
        if (status is None or r["status"] == status) and (kind is None or r["kind"] == kind)
    ]
    if as_json:
        typer.echo(json.dumps(shown, indent=2))
        return
    if not shown:
        typer.echo("no cases")
    for r in shown:
        due_text = f" due {r['due_on']}" if r["due_on"] else ""
        typer.echo(
            f"{r['case_id']}  {r['kind']:<9} {r['customer_id']:<10} {','.join(r['invoices']) or '(customer)'}"
            f"  {r['amount']:>12} {r['currency']}  {r['reason_code']}  {r['status']}{due_text}  owner {r['owner']}"
        )


def _day(value: Any) -> str | None:
    """A date cell as YYYY-MM-DD, or None where there is none."""
    import pandas as pd

    return None if value is None or pd.isna(value) else str(value)[:10]


hold_app = typer.Typer(no_args_is_help=True, help="Place and release credit holds (who, when, why).")
app.add_typer(hold_app, name="hold")


@hold_app.command("place")
def hold_place(
    customer: Annotated[str, typer.Option("--customer", help="Customer id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the customer is held.")],
    by: Annotated[str, typer.Option("--by", help="Name of the person who decides.")],
    home: Home = None,
) -> None:
    """Put a customer on credit hold; prints the hold id."""

    from tasks.escalate import holds

    with _deciding(home) as (ledger, settings, run_id):
        hold = holds.place(ledger, customer, reason, by, run_id=run_id, today=date.today())
    typer.echo(hold["hold_id"])


@hold_app.command("release")
def hold_release(
    target: Annotated[str, typer.Argument(help="A hold id, or a customer id (every hold in force on it).")],
    reason: Annotated[str, typer.Option("--reason", help="Why the hold may go (required).")],
    by: Annotated[str, typer.Option("--by", help="Name of the person who decides.")],
    home: Home = None,
) -> None:
    """Release a credit hold, with the reason; prints the holds released."""

    from tasks.escalate import holds

    with _deciding(home) as (ledger, settings, run_id):
        released = holds.release(ledger, target, reason, by, run_id=run_id, today=date.today())
    for hold in released:
        typer.echo(
            f"{hold['hold_id']} released ({hold['customer_id']}, placed {str(hold['placed_on'])[:10]} by {hold['placed_by']})"
        )


writeoff_app = typer.Typer(no_args_is_help=True, help="Propose, list and approve write-offs (four eyes).")
app.add_typer(writeoff_app, name="writeoff")
By = Annotated[str, typer.Option("--by", help="Name of the person who decides.")]


@writeoff_app.command("propose")
def writeoff_propose(
    invoice: Annotated[str, typer.Option("--invoice", help="Invoice id.")],
    amount: Annotated[
        str, typer.Option("--amount", help="Decimal in major units of the invoice's currency.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why the amount is written off.")],
    by: By,
    home: Home = None,
) -> None:
    """Propose writing an amount off an invoice; prints the proposal id (WO-000001)."""

    from tasks.escalate import writeoffs

    with _deciding(home) as (ledger, settings, run_id):
        row = writeoffs.propose(ledger, invoice, amount, reason, by, run_id=run_id)
    typer.echo(row["write_off_id"])


def _writeoff_decision(write_off_id: str, by: str, approve: bool, note: str | None, home: str | None) -> None:

    from rules.policy import load_policy
    from rules.writeoffs import WriteOffPolicy
    from tasks.escalate import writeoffs
    from tasks.platform.money import to_major_str

    with _deciding(home) as (ledger, _settings, run_id):
        policy, version = load_policy("writeoffs", WriteOffPolicy)
        row = writeoffs.decide(
            ledger,
            write_off_id,
            by,
            policy,
            approve=approve,
            note=note,
            run_id=run_id,
            rule_version=version,
            today=date.today(),
        )
    amount = to_major_str(int(row["amount_minor"]), str(row["currency"]))
    typer.echo(
        f"{row['write_off_id']} {row['status']} by {row['decided_by']}: {amount} {row['currency']} on {row['invoice_id']}"
    )


@writeoff_app.command("approve")
def writeoff_approve(
    write_off_id: Annotated[str, typer.Argument(help="The proposal id (WO-000001).")],
    by: By,
    home: Home = None,
) -> None:
    """Approve a proposal (not your own, within your limit): it closes that much of the invoice."""
    _writeoff_decision(write_off_id, by, True, None, home)


@writeoff_app.command("reject")
def writeoff_reject(
    write_off_id: Annotated[str, typer.Argument(help="The proposal id (WO-000001).")],
    by: By,
    reason: Annotated[str, typer.Option("--reason", help="Why it is rejected.")],
    home: Home = None,
) -> None:
    """Reject a proposal, with the reason; the invoice stays open."""
    _writeoff_decision(write_off_id, by, False, reason, home)


@writeoff_app.command("list")
def writeoff_list(as_json: AsJson = False, home: Home = None) -> None:
    """Every write-off, newest first: amount, invoice, status, who proposed and who decided."""
    from tasks.platform.ledger import open_ledger
    from tasks.platform.money import to_major_str

    settings = load_settings(home)
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        rows = ledger.query("writeoffs/list").to_dict("records")
    shown = [
        {
            "write_off_id": r["write_off_id"],
            "invoice_id": r["invoice_id"],
            "customer_id": r["customer_id"],
            "amount": to_major_str(int(r["amount_minor"]), r["currency"]),
            "currency": r["currency"],
            "reason": r["reason"],
            "source": r["source"],
            "status": r["status"],
            "proposed_by": r["proposed_by"],
            "proposed_at": str(r["proposed_at"]),
            "decided_by": r["decided_by"] if isinstance(r["decided_by"], str) else None,
            "decided_at": None
            if r["decided_at"] is None or str(r["decided_at"]) == "NaT"
            else str(r["decided_at"]),
            "open_now": None
            if r["open_minor"] is None
            else to_major_str(int(r["open_minor"]), r["currency"]),
        }
        for r in rows
    ]
    if as_json:
        typer.echo(json.dumps(shown, indent=2))
        return
    if not shown:
        typer.echo("no write-offs")
    for r in shown:
        decided = f", {r['status']} by {r['decided_by']}" if r["decided_by"] else ""
        typer.echo(
            f"{r['write_off_id']}  {r['invoice_id']}  {r['amount']:>12} {r['currency']}  {r['status']:<8}"
            f"  proposed by {r['proposed_by']}{decided}: {r['reason']}"
        )


outbox_app = typer.Typer(
    no_args_is_help=True, help="E-mails that need a person: in doubt, failed or retrying; retry or mark sent."
)
app.add_typer(outbox_app, name="outbox")


@outbox_app.command("list")
def outbox_list(
    status: Annotated[
        str | None,
        typer.Option("--status", help="Any state: queued, sending, sent, retrying, failed or unknown."),
    ] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help="reminder, invoice, escalation or report.")
    ] = None,
    as_json: AsJson = False,
    home: Home = None,
) -> None:
    """Messages needing attention (unknown, failed, retrying), newest first: id, kind, recipient,
    status, attempts, next attempt, reason."""
    from tasks.platform import outbox_decisions

    with _deciding(home) as (ledger, _settings, _run_id):
        rows = outbox_decisions.needing_attention(ledger, status=status, kind=kind)
    shown = [
        {
            "message_id": r["message_id"],
            "kind": r["kind"],
            "customer_id": r["customer_id"],
            "recipient": r["recipient"],
            "as_of": _day(r["as_of"]),
            "status": r["status"],
            "attempts": int(r["attempts"] or 0),
            "last_attempt_at": _moment(r["last_attempt_at"]),
            "next_attempt_at": _moment(r["next_attempt_at"]),
            "reason": r["status_reason"],
        }
        for r in rows
    ]
    if as_json:
        typer.echo(json.dumps(shown, indent=2))
        return
    if not shown:
        typer.echo("no messages need attention" if status is None else f"no messages {status}")
    for r in shown:
        typer.echo(
            f"{r['message_id']}  {r['kind']:<10} {r['recipient'] or '(no address)'}  {r['status']:<8}"
            f"  attempts {r['attempts']}  next {r['next_attempt_at'] or '-'}  {r['reason'] or ''}"
        )


def _moment(value: Any) -> str | None:
    """A timestamp cell as YYYY-MM-DDTHH:MM:SS, or None where there is none."""
    import pandas as pd

    return None if value is None or pd.isna(value) else pd.Timestamp(value).isoformat(timespec="seconds")


def _outbox_decision(message_id: str, by: str, home: str | None, *, retry: bool) -> None:
    from tasks.platform import outbox_decisions

    decide = outbox_decisions.retry if retry else outbox_decisions.mark_sent
    with _deciding(home) as (ledger, _settings, run_id):
        row = decide(ledger, message_id, by, run_id=run_id, now=datetime.now().replace(microsecond=0))
    if retry:
        typer.echo(
            f"{row['message_id']} queued again by {row['decided_by']} (was {row['before']});"
            f" the next {outbox_decisions.stage_of(row)} run delivers it"
        )
    else:
        typer.echo(f"{row['message_id']} marked sent by {row['decided_by']} (was {row['before']})")


@outbox_app.command("retry")
def outbox_retry(
    message_id: Annotated[str, typer.Argument(help="The message id (from `o2c outbox list`).")],
    by: By,
    home: Home = None,
) -> None:
    """Queue a message in doubt (unknown) or given up (failed after its retries) again, once you
    have checked the provider did not deliver it: the next delivery sends it."""
    _outbox_decision(message_id, by, home, retry=True)


@outbox_app.command("mark-sent")
def outbox_mark_sent(
    message_id: Annotated[str, typer.Argument(help="The message id (from `o2c outbox list`).")],
    by: By,
    home: Home = None,
) -> None:
    """Mark a message in doubt (unknown) sent, once you have checked the provider delivered it."""
    _outbox_decision(message_id, by, home, retry=False)


@app.command()
def status(as_json: AsJson = False, home: Home = None) -> None:
    """Row counts of the ledger's tables and the latest run of each stage."""
    from tasks.platform.ledger import open_ledger

    settings = load_settings(home)
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        counts = ledger.counts()
        runs = ledger.query("status/latest_stage_runs")
    document = {
        "home": str(settings.home),
        "tables": counts,
        "latest_runs": json.loads(runs.to_json(orient="records", date_format="iso")),
    }
    _print(document, as_json)


@app.command()
def export(
    name: Annotated[str, typer.Argument(help="allocations, unapplied, reminders, worklist or quarantine.")],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write (.xlsx: an XLSX workbook).")],
    home: Home = None,
) -> None:
    """Write a ledger view as CSV or XLSX, amounts in major units, formulas neutralised."""
    from tasks.platform.ledger import open_ledger
    from tasks.report.export import EXPORTS, to_major_units, write

    if name not in EXPORTS:
        _fail(f"unknown export {name!r}; use one of {', '.join(EXPORTS)}")
    settings = load_settings(home)
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        frame = ledger.query(f"export/{name}")
    write(to_major_units(frame), out)
    typer.echo(f"{len(frame)} row(s) written to {out}")


@app.command("apply")
def apply_command(
    payment: Annotated[str, typer.Option("--payment", help="Payment id to take the cash from.")],
    invoice: Annotated[str, typer.Option("--invoice", help="Invoice id to apply the cash to.")],
    by: Annotated[str, typer.Option("--by", help="Name of the person who decides.")],
    amount: Annotated[
        str | None,
        typer.Option(
            "--amount",
            help="Decimal in major units of the payment's currency"
            " (default: the lesser of its unapplied and the invoice's open amount).",
        ),
    ] = None,
    home: Home = None,
) -> None:
    """Apply cash from a payment to an invoice by hand (working the exception queue); prints the allocation id."""

    from tasks.platform.cash_decisions import apply_manually

    with _deciding(home) as (ledger, settings, run_id):
        applied = apply_manually(ledger, payment, invoice, amount, by, run_id=run_id, today=date.today())
    typer.echo(applied["allocation_id"])


@app.command()
def unapply(
    allocation: Annotated[str, typer.Option("--allocation", help="Allocation id (`<payment>/<invoice>`).")],
    by: Annotated[str, typer.Option("--by", help="Name of the person who decides.")],
    home: Home = None,
) -> None:
    """Take an allocation back: the cash is unapplied on its payment and open on its invoice again."""

    from tasks.platform.cash_decisions import unapply as unapply_allocation

    with _deciding(home) as (ledger, settings, run_id):
        removed = unapply_allocation(ledger, allocation, by, run_id=run_id)
    typer.echo(
        f"removed {removed['allocation_id']}: {removed['amount']} {removed['currency']} from payment"
        f" {removed['payment_id']} to invoice {removed['invoice_id']} (rule {removed['rule']})"
    )


@app.command()
def serve(
    home: Home = None,
    list_only: Annotated[
        bool, typer.Option("--list", help="Print the deployments and their schedules, and serve nothing.")
    ] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="At most this many runs at once (default: no limit).")
    ] = None,
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
    os.environ.pop("O2C_CLI", None)  # runs it serves were started by a schedule or the UI, not the CLI
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        _fail("o2c serve needs a Prefect server: set PREFECT_API_URL (prefect server start prints it)")
    serve_all(specs, limit=limit)


@app.command()
def demo(
    home: Home = None,
    customers: Annotated[int, typer.Option(min=1)] = 60,
    invoices: Annotated[int, typer.Option(min=1)] = 800,
    seed: int = 42,
    as_of: AsOf = None,
) -> None:
    """Generate a book into the inbox and run all six stages on it, on the embedded ledger."""
    from flows.order_to_cash import order_to_cash
    from tasks.platform.presentation import demo_summary
    from tools.generate import generate_book, write_book

    settings = load_settings(home)
    day = _date(as_of) or date.today()
    book = generate_book(customers=customers, invoices=invoices, seed=seed, as_of=day)
    written = write_book(book, settings.inbox)
    typer.echo(f"generated {invoices} invoices for {customers} customers into {settings.inbox}")
    result = _run_flow(order_to_cash, as_of=day, home=str(settings.home))
    from tasks.platform.ledger import open_ledger

    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        worklist = ledger.query("export/worklist")
    typer.echo(demo_summary(result, settings, truth=written.get("truth_allocations"), worklist=worklist))


bench_app = typer.Typer(help="Benchmarks that print measured figures.")
app.add_typer(bench_app, name="bench")
BenchInvoices = Annotated[int, typer.Option("--invoices", min=1, help="Invoices in the generated book.")]
BenchCustomers = Annotated[int | None, typer.Option("--customers", help="Default: one per 50 invoices.")]
BenchHome = Annotated[str | None, typer.Option("--home", help="Workspace (default: a fresh temporary one).")]


@bench_app.callback(invoke_without_command=True)
def bench(
    ctx: typer.Context,
    invoices: BenchInvoices = 10_000,
    customers: BenchCustomers = None,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    home: BenchHome = None,
) -> None:
    """Generate a book of N invoices and time each stage: wall seconds, rows per second, peak memory."""
    if ctx.invoked_subcommand is not None:
        return
    from tools.bench import run_benchmark

    for line in run_benchmark(
        invoices=invoices, customers=customers or max(invoices // 50, 10), seed=seed, home=home
    ):
        typer.echo(line)


@bench_app.command("match")
def bench_match(
    invoices: BenchInvoices = 5_000,
    customers: BenchCustomers = None,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    home: BenchHome = None,
) -> None:
    """Generate, ingest and reconcile a book; print cash-application quality against the truth."""
    from tools.bench import run_match_benchmark

    for line in run_match_benchmark(
        invoices=invoices, customers=customers or max(invoices // 50, 10), seed=seed, home=home
    ):
        typer.echo(line)


@bench_app.command("reconcile")
def bench_reconcile(
    payments: Annotated[
        int, typer.Option("--payments", min=1, help="Open invoices, and as many payments.")
    ] = 100_000,
    seed: Annotated[int, typer.Option("--seed")] = 1,
    home: BenchHome = None,
) -> None:
    """Time reconcile at volume: N payments against N open invoices, through the real flow."""
    from tools.bench import run_reconcile_benchmark

    for line in run_reconcile_benchmark(payments=payments, seed=seed, home=home):
        typer.echo(line)


@bench_app.command("invoice")
def bench_invoice(
    lines: Annotated[int, typer.Option("--lines", min=1, help="Order lines to bill.")] = 1_000_000,
    seed: Annotated[int, typer.Option("--seed")] = 1,
    home: BenchHome = None,
) -> None:
    """Time the invoice stage billing N order lines of fulfilled orders, through the real flow."""
    from tools.bench import run_invoice_benchmark

    for line in run_invoice_benchmark(lines=lines, seed=seed, home=home):
        typer.echo(line)


@bench_app.command("dunning")
def bench_dunning(
    invoices: Annotated[int, typer.Option("--invoices", min=1, help="Open invoices.")] = 1_000_000,
    seed: Annotated[int, typer.Option("--seed")] = 1,
    render: Annotated[bool, typer.Option("--render", help="Also render the messages.")] = False,
) -> None:
    """Time the dunning policy over N open invoices (pure, in memory): seconds and peak memory."""
    from tools.bench import run_dunning_benchmark

    for line in run_dunning_benchmark(invoices=invoices, seed=seed, render=render):
        typer.echo(line)


def main() -> None:
    from tasks.platform.config import SettingsError

    os.environ["O2C_CLI"] = "1"  # runs started here say so in the audit trail
    try:
        app()
    except SettingsError as exc:  # a bad environment variable: one line, never a traceback
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_DATA_PROBLEM)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()

"""The commands auditors use (`o2c audit ...`): every stage run with who started it and the rules
and contracts it used (`runs`), what one run changed row by row (`show`), one run's evidence in one
zip file (`pack`), and a pack's history run again on an empty ledger and compared (`replay`).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from cli.common import EXIT_STAGE_FAILED, AsJson, Home, as_date, echo_json, fail, reading
from tasks.platform.config import load_settings

audit_app = typer.Typer(no_args_is_help=True, help="For auditors: every run, and what one run changed.")
RunId = Annotated[str, typer.Argument(help="The run's id (from `o2c audit runs`).")]


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
    from tasks.report import audit

    settings = load_settings(home)
    day = as_date(since) or date(1970, 1, 1)
    with reading(settings) as ledger:
        shown = audit.runs_since(ledger, day)
    if as_json:
        echo_json(shown)
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
def audit_show(run_id: RunId, as_json: AsJson = False, home: Home = None) -> None:
    """What one run changed in the ledger, row by row, from the audit log."""
    from tasks.report import audit

    settings = load_settings(home)
    with reading(settings) as ledger:
        shown = audit.changes_shown(ledger, run_id)
    if not shown:
        fail(f"no changes recorded for run {run_id!r} (see `o2c audit runs`)")
    if as_json:
        typer.echo(json.dumps(shown, indent=2, default=str))
        return
    for r in shown:
        typer.echo(
            f"{r['entity']:<20} {r['key']:<28} {r['action']:<8} {r['before'] or ''} -> {r['after'] or ''}"
        )


@audit_app.command("pack")
def audit_pack(
    run_id: RunId,
    out: Annotated[Path, typer.Option("--out", help="The zip file to write.")],
    home: Home = None,
) -> None:
    """The evidence of one run in one zip file: input fingerprints, checkpoint results, its changes,
    its artifacts, its Data Docs, the rule and contract files as they were, and the history a replay
    needs."""
    from tasks.platform.ledger.evidence_files import EvidenceMissing
    from tasks.report import audit
    from tasks.report.audit_pack import build_pack

    settings = load_settings(home)
    try:
        with reading(settings) as ledger:
            pack = audit.pack_inputs(ledger, run_id)
    except EvidenceMissing as missing:
        fail(str(missing))
    if pack is None:
        fail(f"no run {run_id!r} in the ledger (see `o2c audit runs`)")
    audit.add_outside_evidence(pack, settings.home)
    content = build_pack(pack, made_at=datetime.now(UTC))
    audit.write_pack(content, out)
    typer.echo(
        f"{out}: run {run_id} ({', '.join(pack.runs['stage'])}), {len(pack.changes)} change(s),"
        f" {len(pack.checkpoints)} checkpoint(s), {len(pack.artifacts)} artifact(s),"
        f" {len(pack.data_docs)} Data Docs file(s), {len(pack.history)} run(s) of history; {len(content):,} bytes"
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
    from dataclasses import replace

    from tasks.report import replay
    from tasks.report.audit_pack import PackProblem

    # the replay's own ledger: an empty file in the replay's workspace, never the team's PostgreSQL
    settings = replace(load_settings(home), ledger_url=None)
    if settings.ledger_path.exists():
        fail(f"{settings.ledger_path} exists: a replay needs an empty workspace")
    try:
        pack = replay.load(pack_file)
    except (PackProblem, replay.ReplayRefused) as exc:
        fail(f"cannot replay {pack_file.name}: {exc}")
    try:
        results = replay.run_steps(pack, settings.home)
    except replay.ReplayStopped as exc:
        fail(str(exc), EXIT_STAGE_FAILED)
    with reading(settings) as ledger:
        report = replay.compare(pack, results, ledger)
    if as_json:
        echo_json({"runs": report.runs, "differences": report.differences, "same": report.same})
    else:
        for r in report.runs:
            typer.echo(
                f"{r['stage']:<10} {r['as_of']}  {r['outcome'] or '?':<9} {r['changes']:>6} change(s)"
                f"  {'same' if r['same'] else 'DIFFERENT'}  {r['original_run_id']} -> {r['replay_run_id']}"
            )
        typer.echo(
            "\n".join(report.differences)
            if report.differences
            else f"replayed {len(report.runs)} run(s): the same outputs"
        )
    if not report.same:
        raise typer.Exit(EXIT_STAGE_FAILED)

"""What every stage run does around its own logic: check, publish or halt, and report.

A stage reads, computes and hands its `Publication` and checkpoint results here. A passing batch is
published in one transaction; a halted checkpoint stores its evidence (checkpoint result and
quarantine) and leaves everything else as it was. Data problems end a flow run in a Failed state
with a message that names the source, row and column, never with a traceback.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from tasks.platform.artifacts import (
    publish_link,
    publish_markdown,
    publish_table,
    run_parameters,
    stage_summary_markdown,
    started_by,
    workspace_link,
)
from tasks.platform.checkpoint import HALT_LINES, CheckpointResult
from tasks.platform.config import Settings
from tasks.platform.crash import crash_point
from tasks.platform.evidence import evidence_folders, snapshot
from tasks.platform.flow_returns import remember
from tasks.platform.ledger import Publication, open_ledger
from tasks.platform.ledger.staging import as_frame, row_count
from tasks.platform.progress import run_logger

# Names of the Failed states that mean "the input or the policy is wrong", not "the system broke".
DATA_PROBLEM_STATES = ("Halted", "Rejected")


class StageHalted(RuntimeError):
    """A checkpoint stopped the stage; nothing of its output was published."""


def data_errors() -> tuple[type[Exception], ...]:
    """The problems that come from input or policy, reported as one clear line, never a traceback."""
    from tasks.platform.contracts import ContractError
    from tasks.platform.ledger import LedgerBusy, StoreProblem
    from tasks.platform.money import MoneyError
    from tasks.platform.policy import PolicyError
    from tasks.platform.problems import InputRejected

    return (StageHalted, InputRejected, PolicyError, ContractError, MoneyError, LedgerBusy, StoreProblem)


def conclude(result: Any) -> Any:
    """The flow's return: its summary, or a Failed state when a checkpoint halted the stage."""
    from prefect.states import Failed

    if isinstance(result, dict) and result.get("outcome") == "halted":
        return Failed(name="Halted", message=result["halt_message"], data=result)
    return remember(result)


def failed(exc: Exception) -> Any:
    """A Failed state carrying a data problem's one-line message."""
    from prefect.states import Failed

    return Failed(name="Rejected", message=str(exc))


def finish(
    settings: Settings, pub: Publication, checkpoints: list[CheckpointResult], *, dry_run: bool = False
) -> dict[str, Any]:
    """Publish a stage's output unless a checkpoint halted it or it is a dry run; return its summary."""
    pub.checkpoints = [cp.as_record() for cp in checkpoints]
    halted = [cp for cp in checkpoints if cp.outcome == "halted"]
    if halted:
        pub.outcome = "halted"
    summary = {
        "stage": pub.stage,
        "as_of": pub.as_of.isoformat(),
        "run_id": pub.run_id,
        "dry_run": dry_run,
        "outcome": pub.outcome,
        "counts": pub.counts,
        "checkpoints": [{k: v for k, v in cp.as_record().items() if k != "details"} for cp in checkpoints],
    }
    pub.started_by = pub.started_by or started_by()
    if not dry_run:
        kept = snapshot(evidence_folders(settings))
        pub.evidence = {
            "files": kept.files,
            "inputs": pub.evidence.get("inputs", []),
            "parameters": run_parameters(),
        }
        pub.blobs = {**kept.blobs, **pub.blobs}
        crash_point(f"{pub.stage}: checkpoints validated, not yet published")
        with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
            if halted:
                ledger.record_checkpoints(pub)
            else:
                summary["inserted"] = ledger.publish(pub)
        docs = write_data_docs(settings, pub, checkpoints)
        crash_point(f"{pub.stage}: published, Data Docs written")
        if docs is not None:
            summary["data_docs"] = str(docs)
            publish_link(
                f"{pub.stage}-data-docs",
                workspace_link(settings, docs),
                f"{pub.stage}: Great Expectations Data Docs of this run's checkpoints (offline)",
            )
    _log_outcome(pub, checkpoints, summary)
    publish_markdown(
        f"{pub.stage}-summary",
        stage_summary_markdown(pub.stage, pub.as_of.isoformat(), pub.counts, checkpoints, dry_run),
        f"{pub.stage} run summary",
    )
    quarantined = row_count(pub.quarantine) > 0
    if quarantined:
        publish_table(
            f"{pub.stage}-quarantine",
            as_frame(pub.quarantine)[["dataset", "source", "row_number", "key", "reasons"]],
            "rows kept out of the ledger, with every reason",
        )
    if halted:
        quarantine_kept = not dry_run and quarantined
        summary["halt_message"] = halt_message(pub.stage, halted, quarantine_kept=quarantine_kept)
    return summary


def halt_message(stage: str, halted: list[CheckpointResult], *, quarantine_kept: bool = False) -> str:
    """What a halted stage says (the CLI's stderr, the Prefect state's message): a first line with
    what happened, then at most `HALT_LINES` lines of reasons (file, row, column, value, rule), the
    last of them the count of the rest, so a person can fix the file without opening the ledger."""
    reasons = "; ".join(f"{cp.dataset} ({cp.source}): {cp.halt_reason}" for cp in halted)
    lines = [f"{stage} halted, nothing published: {reasons}"]
    budget = HALT_LINES
    for cp in halted:
        listed = cp.failure_lines(budget)
        budget -= len(listed)
        lines.extend(f"  {line}" for line in listed)
    if quarantine_kept and lines[-1].startswith("  ... and "):
        lines[-1] += " (every row and reason: o2c export quarantine)"
    return "\n".join(lines)


def _log_outcome(pub: Publication, checkpoints: list[CheckpointResult], summary: dict[str, Any]) -> None:
    """What the run did, at INFO in its Prefect run log (the UI's Logs tab, for runs a worker or
    `o2c serve` started too): each checkpoint's outcome, the rows kept out, the counts and control
    totals, the rows written per table."""
    log = run_logger()
    for cp in checkpoints:
        log.info(
            "%s: checkpoint %s from %s %s: %d rows checked, %d failed",
            pub.stage,
            cp.dataset,
            cp.source,
            cp.outcome,
            cp.rows_checked,
            len(cp.failed_rows),
        )
    quarantined = row_count(pub.quarantine)
    if quarantined:
        log.info(
            "%s: %d rows kept out of the ledger (quarantine), every reason in its artifact",
            pub.stage,
            quarantined,
        )
    counts = ", ".join(f"{k} {v}" for k, v in pub.counts.items()) or "nothing counted"
    done = "dry run, nothing written" if summary["dry_run"] else pub.outcome
    log.info("%s as of %s: %s; %s", pub.stage, pub.as_of, done, counts)
    written = {t: n for t, n in (summary.get("inserted") or {}).items() if n}
    if written:
        log.info("%s: rows written: %s", pub.stage, ", ".join(f"{t} {n:,}" for t, n in written.items()))


def write_data_docs(settings: Settings, pub: Publication, checkpoints: list[CheckpointResult]) -> Path | None:
    """Great Expectations' Data Docs page of each checkpoint GX validated, and the run's index of
    every checkpoint (one on no rows is listed without a page), under
    `$O2C_HOME/data_docs/<run id>/<stage>/`, readable offline. A run that checks in several steps
    (ingest: one per source) adds its pages; the index lists them all. Returns the index."""
    from tasks.platform import data_docs, data_docs_site

    if not checkpoints:
        return None
    folder = settings.home / "data_docs" / pub.run_id / pub.stage
    listing = folder / "checkpoints.json"
    entries = json.loads(listing.read_text()) if listing.exists() else []
    pages = []
    for cp in checkpoints:
        name = ""  # a checkpoint on no rows: listed, with nothing for GX to show
        if cp.validation is not None:
            name = _page_name(cp, {e["page"] for e in entries})
            title = f"{pub.stage} as of {pub.as_of}: {cp.dataset} from {cp.source}"
            pages.append((name, data_docs.validation_page(cp.validation, title=title)))
        entries.append({**{k: v for k, v in cp.as_record().items() if k != "details"}, "page": name})
    title = f"Data Docs: {pub.stage} as of {pub.as_of} (run {pub.run_id})"
    data_docs_site.write_docs(folder, pages, data_docs_site.index_page(entries, title=title))
    partial = listing.with_name(listing.name + ".part")
    partial.write_text(json.dumps(entries, indent=2, default=str))
    partial.replace(listing)
    return folder / "index.html"


def _page_name(cp: CheckpointResult, taken: set[str]) -> str:
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in f"{cp.dataset}-{Path(cp.source).name}")
    name, n = f"{stem}.html", 1
    while name in taken:
        n += 1
        name = f"{stem}-{n}.html"
    return name


def summary_json(summary: dict[str, Any]) -> str:
    return json.dumps(summary, default=str, indent=2)


def run_name(stage: str) -> Any:
    """A flow-run name generator: the stage and its business date (`reconcile 2026-11-20`)."""

    def name() -> str:
        from prefect.runtime import flow_run

        return f"{stage} {flow_run.parameters.get('as_of') or date.today()}"

    return name


def resolve_as_of(as_of: date | None) -> date:
    """The run's business date: the one asked for, else today."""
    return as_of or date.today()

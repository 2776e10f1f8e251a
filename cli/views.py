"""The terminal's views of run summaries: one stage's line, a remind dry run, the demo's summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from tasks.platform.config import Settings
from tasks.platform.money import to_major_str
from tasks.report.figures import as_markdown


def describe(value: Any) -> str:
    """A readable rendering of a flow's summary (one stage, a list of sources, or all stages)."""
    if isinstance(value, list):
        return "\n".join(describe(v) for v in value) or "nothing to do"
    if isinstance(value, dict) and "stage" in value:
        return _stage_line(value)
    if isinstance(value, dict) and "tables" in value:
        lines = [f"workspace {value.get('home', '')}", f"ledger    {value.get('ledger', '')}"]
        lines += [f"  {name:24} {count:>10}" for name, count in value["tables"].items()]
        for run in value.get("latest_runs", []):
            lines.append(
                f"  last {run['stage']:10} {str(run['as_of'])[:10]} {run['outcome']:10} run {run['run_id']}"
            )
        return "\n".join(lines)
    if isinstance(value, dict):
        return "\n".join(describe(v) if isinstance(v, dict | list) else f"{k}: {v}" for k, v in value.items())
    return str(value)


def delivery_lines(delivered: dict[str, Any]) -> str:
    """What a delivery did: the documents written, then each outbox's counts."""
    lines = []
    documents = delivered.get("documents")
    if documents:
        lines.append(
            f"documents  written {documents['documents_written']}, already there {documents['documents_already_there']}"
        )
    for stage, counts in delivered.items():
        if stage != "documents":
            lines.append(f"{stage:10} " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return "\n".join(lines)


def _stage_line(summary: dict[str, Any]) -> str:
    head = f"{summary['stage']:10} {summary['as_of']}  {summary['outcome']}"
    if summary.get("dry_run"):
        head += " (dry run: nothing written)"
    if summary.get("source"):
        head += f"  {summary['source']}"
    counts = ", ".join(f"{k} {v}" for k, v in summary.get("counts", {}).items())
    lines = [head + (f"  [{counts}]" if counts else "")]
    for note in summary.get("notes", []):
        lines.append(f"    {note}")
    planned = summary.get("planned")
    if planned:
        lines += _planned_lines(planned)
    if summary.get("delivery"):
        lines.append("    delivery: " + ", ".join(f"{k} {v}" for k, v in summary["delivery"].items()))
    if summary.get("report"):
        lines.append(as_markdown(summary["report"]))
    return "\n".join(lines)


def _planned_lines(planned: dict[str, Any]) -> list[str]:
    """A remind dry run: who would get which level, totals, changes, and who is left out."""
    lines = []
    for r in planned["reminders"]:
        totals = ", ".join(f"{amount} {cur}" for cur, amount in r["totals"].items())
        lines.append(
            f"    would remind {r['customer_id']} at {r['level_name']} ({r['change']}): {r['invoices']}  total {totals}"
        )
    if planned["by_level"]:
        lines.append("    by level: " + ", ".join(f"{k} {v}" for k, v in planned["by_level"].items()))
    if planned["totals"]:
        lines.append("    total asked: " + ", ".join(f"{v} {k}" for k, v in planned["totals"].items()))
    for left in planned["left_out"]:
        what = f"{left['customer_id']} {left['invoice_id']}".strip()
        lines.append(f"    left out {what}: {left['reason']}")
    return lines


def demo_summary(
    result: dict[str, Any],
    settings: Settings,
    truth: Path | None = None,
    worklist: pd.DataFrame | None = None,
) -> str:
    """What the demo did, the KPI summary, the collectors' worklists, and where the report and the
    outbox are."""
    lines = ["", "stages:"]
    for stage, summary in result.items():
        if isinstance(summary, list):
            loaded = sum(s.get("counts", {}).get("rows_checked_ok", 0) for s in summary)
            quarantined = sum(s.get("counts", {}).get("rows_quarantined", 0) for s in summary)
            lines.append(
                f"  {stage:10} {len(summary)} source(s), {loaded} rows loaded, {quarantined} quarantined"
            )
        else:
            counts = ", ".join(f"{k} {v}" for k, v in summary.get("counts", {}).items())
            lines.append(f"  {stage:10} {summary['outcome']}  {counts}")
    report = result.get("report", {})
    if report.get("report"):
        lines += ["", as_markdown(report["report"])]
    if worklist is not None and len(worklist):
        lines += ["", f"worklist ({len(worklist)} customer(s); `o2c export worklist` for all of it):"]
        for group, rows in worklist.groupby("collector_group", sort=True):
            lines.append(f"  {group}:")
            for row in rows.head(10).itertuples(index=False):
                overdue = to_major_str(int(row.overdue_amount_minor), str(row.currency))
                lines.append(
                    f"    {row.score:7.2f}  {row.customer_id:<8} {row.state:<18} {overdue:>12} {row.currency}"
                    f"  oldest {row.oldest_days_past_due} days"
                )
            if len(rows) > 10:
                lines.append(f"    ... and {len(rows) - 10} more")
    files = report.get("report_files", [])
    lines.append(f"report:  {', '.join(files) if files else settings.reports}")
    outbox = sorted(settings.outbox.glob("*.eml")) if settings.outbox.exists() else []
    lines.append(f"outbox:  {settings.outbox} ({len(outbox)} message(s))")
    documents = settings.home / "documents"
    pdfs = sorted(documents.glob("*.pdf")) if documents.exists() else []
    lines.append(f"documents: {documents} ({len(pdfs)} invoice(s) and credit note(s), HTML and PDF)")
    lines.append(f"ledger:  {settings.ledger_path}")
    if truth and truth.exists():
        lines.append(
            f"truth:   {truth} (the true payment-to-invoice allocations, to compare with `o2c export allocations`)"
        )
    return "\n".join(lines)

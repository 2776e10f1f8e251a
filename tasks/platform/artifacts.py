"""What a person reads in the Prefect UI: artifacts for each stage run, and the run's identity.

Stage logic never imports Prefect; this module is the one place that turns stage results into
Prefect artifacts and asks Prefect which flow run is writing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import SecretStr

from tasks.platform.checkpoint import CheckpointResult
from tasks.platform.config import Settings


def current_run_id() -> str:
    """The Prefect flow-run id of the running flow ("local" outside a flow run)."""
    from prefect.runtime import flow_run

    return str(flow_run.id) if flow_run.id else "local"


def started_by() -> str:
    """Who or what started the running flow: `schedule` (a deployment's schedule), `ui or api` (a
    deployment run asked for by hand), `order_to_cash run` (a stage inside the whole pipeline),
    `cli` (the `o2c` command) or `python` (a direct call)."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    run = context.flow_run if context is not None else None
    return started_by_of(run)


def run_parameters() -> dict[str, Any]:
    """The running flow's parameters as JSON values, without the workspace folder (kept as evidence,
    so a replay runs the stage as it ran), an SQL source's URL without its password."""
    from prefect.runtime import flow_run

    try:
        parameters = dict(flow_run.parameters or {})
    except Exception:  # outside a flow run there are none
        return {}
    parameters.pop("home", None)
    return _without_passwords(json.loads(json.dumps(parameters, default=str)))


def hide_password(url: str) -> str:
    """A SQLAlchemy URL with its password shown as `***`; a text SQLAlchemy cannot read as a URL is
    not shown at all."""
    import sqlalchemy as sa

    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "***"


class SecretURL(SecretStr):
    """A SQLAlchemy URL that shows itself without its password: what Prefect stores as a run's
    parameter, and what a log, a repr or the evidence print, is `hide_password` of it; the code that
    connects asks for `get_secret_value()`."""

    def _display(self) -> str:
        return hide_password(self.get_secret_value())


def _without_passwords(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: hide_password(v) if k == "sql_url" and isinstance(v, str) else _without_passwords(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_without_passwords(v) for v in value]
    return value


_FROM_THE_CLI: ContextVar[bool] = ContextVar("o2c_started_from_the_cli", default=False)


@contextmanager
def started_from_the_cli() -> Iterator[None]:
    """The flow runs started inside this block were started by the `o2c` command."""
    token = _FROM_THE_CLI.set(True)
    try:
        yield
    finally:
        _FROM_THE_CLI.reset(token)


def started_by_of(run: Any) -> str:
    """Who or what started a given flow run (see `started_by`)."""
    if run is not None and run.parent_task_run_id is not None:
        return "order_to_cash run"
    if run is not None and run.deployment_id is not None:
        return "schedule" if getattr(run, "auto_scheduled", False) else "ui or api"
    return "cli" if _FROM_THE_CLI.get() else "python"


def _key(text: str) -> str:
    # Artifact keys allow lower-case letters, digits and dashes only.
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")


def publish_markdown(key: str, markdown: str, description: str) -> None:
    from prefect.artifacts import create_markdown_artifact
    from prefect.context import FlowRunContext

    if FlowRunContext.get() is None:
        return
    create_markdown_artifact(key=_key(key), markdown=markdown, description=description)


SERVED_FOLDERS = ("reports", "data_docs")  # what `o2c site` shows of a workspace


def workspace_link(settings: Settings, path: Path) -> str:
    """Where a person opens `path`, a page of the workspace: under `O2C_PUBLIC_URL` when it is set
    and the page is one the site serves (the reports, the Data Docs), else the file itself."""
    from urllib.parse import quote

    path = path.resolve()
    home = settings.home.resolve()
    if settings.public_url and path.is_relative_to(home):
        relative = path.relative_to(home)
        if relative.parts and relative.parts[0] in SERVED_FOLDERS:
            return f"{settings.public_url}/{quote(relative.as_posix())}"
    return path.as_uri()


def publish_link(key: str, link: str, description: str) -> None:
    from prefect.artifacts import create_link_artifact
    from prefect.context import FlowRunContext

    if FlowRunContext.get() is None:
        return
    create_link_artifact(key=_key(key), link=link, link_text=description, description=description)


def publish_table(key: str, frame: pd.DataFrame, description: str, limit: int = 500) -> None:
    from prefect.artifacts import create_table_artifact
    from prefect.context import FlowRunContext

    if FlowRunContext.get() is None or frame.empty:
        return
    rows = json.loads(for_people(frame.head(limit)).to_json(orient="records", date_format="iso"))
    create_table_artifact(key=_key(key), table=rows, description=description)


def for_people(frame: pd.DataFrame) -> pd.DataFrame:
    """A table as the Prefect UI shows it: amounts held in minor units (`<name>_minor` beside a
    `currency` column) written with the currency's symbol and thousands separators, under the
    name without the suffix (`amount_in_minor` -> `amount_in`)."""
    from tasks.platform import localized

    money = [c for c in frame.columns if str(c).endswith("_minor")]
    if not money or "currency" not in frame.columns:
        return frame
    out = frame.copy()
    for column in money:
        out[column] = [
            localized.money(int(v), str(c), "en") if pd.notna(v) and localized.is_known(str(c)) else v
            for v, c in zip(frame[column], frame["currency"], strict=True)
        ]
    return out.rename(columns={c: str(c).removesuffix("_minor") for c in money})


def stage_summary_markdown(
    stage: str, as_of: str, counts: dict[str, Any], checkpoints: list[CheckpointResult], dry_run: bool = False
) -> str:
    """Counts in and out and each checkpoint's outcome, as the stage's run summary."""
    lines = [
        f"# {stage} as of {as_of}{' (dry run: nothing written)' if dry_run else ''}",
        "",
        "| count | value |",
        "|---|---:|",
    ]
    lines += [f"| {_words(name)} | {_figure(value)} |" for name, value in counts.items()]
    if checkpoints:
        lines += [
            "",
            "## Checkpoints",
            "",
            "| dataset | source | outcome | rows checked | rows failed | contract |",
            "|---|---|---|---:|---:|---|",
        ]
        for cp in checkpoints:
            lines.append(
                f"| {cp.dataset} | {cp.source} | {cp.outcome} | {cp.rows_checked} | {len(cp.failed_rows)} |"
                f" {cp.contract_version} |"
            )
            if cp.halt_reason:
                lines.append(f"| | | halted: {cp.halt_reason} | | | |")
    return "\n".join(lines) + "\n"


def read_run_artifacts(run_id: str) -> tuple[list[dict[str, Any]], str]:
    """What a flow run published, read back from the Prefect API, and a note on where from (or why
    none could be read)."""
    import uuid

    try:
        wanted = uuid.UUID(run_id)
    except ValueError:
        return [], f"{run_id!r} is not a Prefect flow-run id: no artifacts"
    try:
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
        from prefect.settings import PREFECT_API_URL

        with get_client(sync_client=True) as client:
            found = client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[wanted]))
            )
        source = PREFECT_API_URL.value() or "Prefect's local database"
    except Exception as exc:  # the API is elsewhere and down: the pack says so and goes on
        return [], f"the Prefect API could not be read: {str(exc).splitlines()[0]}"
    artifacts = [
        {
            "key": a.key,
            "type": a.type,
            "description": a.description,
            "created": a.created.isoformat() if a.created else None,
            "data": a.data,
        }
        for a in sorted(found, key=lambda a: (a.created or 0, a.key or ""))
    ]
    return artifacts, f"read from {source}"


def pipeline_summary_markdown(
    as_of: str, stages: list[str], results: dict[str, Any], failed: tuple[str, str] | None = None
) -> str:
    """The whole pipeline's run on one page: each stage's outcome and counts, where it stopped."""

    def outcome_and_counts(result: Any) -> tuple[str, dict[str, Any]]:
        parts = result if isinstance(result, list) else [result]
        counts: dict[str, Any] = {}
        outcomes = set()
        for part in parts:
            if not isinstance(part, dict):
                continue
            outcomes.add(str(part.get("outcome", "completed")))
            for name, value in (part.get("counts") or {}).items():
                counts[name] = counts.get(name, 0) + value if isinstance(value, int) else value
        return (", ".join(sorted(outcomes)) or "nothing to do"), counts

    lines = [f"# Order to cash as of {as_of}", "", "| stage | outcome |", "|---|---|"]
    tables: list[str] = []
    for stage in stages:
        if stage in results:
            outcome, counts = outcome_and_counts(results[stage])
            if counts:
                tables += ["", f"## {stage}", "", "| count | value |", "|---|---:|"]
                tables += [f"| {_words(k)} | {_figure(v)} |" for k, v in counts.items()]
        elif failed and failed[0] == stage:
            outcome = "**failed**: " + failed[1].replace("|", "/")
        else:
            outcome = "did not run"
        lines.append(f"| {stage} | {outcome} |")
    lines += tables
    lines += ["", "Each stage's own summary, checkpoints and tables are on its subflow run's Artifacts tab."]
    return "\n".join(lines) + "\n"


def _words(name: str) -> str:
    """A count's name as words (`orders_billed` -> `orders billed`)."""
    return str(name).replace("_", " ")


def _figure(value: Any) -> str:
    """A count with thousands separators; anything else as it is, safe in a table cell."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value).replace("|", "/")

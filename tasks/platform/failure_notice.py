"""The e-mail finance ops get when a run fails: which flow and stage, the reason, and what was left
unchanged, rendered from `rules/templates/run_failed.en.txt` and sent through the mailer.

Pure except `send_failure_notice`, which hands the rendered messages to a mailer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.platform.config import SHIPPED_TEMPLATES
from tasks.platform.mail import Mailer
from tasks.platform.messages import RenderedMessage, render_plain

STOPPED_AT = "stopped at "


@dataclass(frozen=True)
class RunFailure:
    flow: str  # order_to_cash or a stage
    run_name: str
    run_id: str
    reason: str
    as_of: str
    started_by: str
    stage: str | None = None  # the stage that failed
    unchanged: str = ""
    run_url: str | None = None


def pipeline_outcome(message: str, stages: list[str]) -> tuple[str | None, str]:
    """From an order_to_cash failure message (`stopped at STAGE: ...`), the stage that failed and a
    sentence on what that left unchanged: earlier stages published, later ones did not run."""
    if not message.startswith(STOPPED_AT):
        return None, "the run failed before any stage finished: the ledger is as it was before it."
    stage = message[len(STOPPED_AT) :].split(":", 1)[0].strip()
    if stage not in stages:
        return stage, f"{stage} published nothing."
    position = stages.index(stage)
    done, after = stages[:position], stages[position + 1 :]
    parts = [f"{stage} published nothing: the ledger holds what it held before {stage} started."]
    if done:
        parts.append(f"{', '.join(done)} ran before it and published their results.")
    if after:
        parts.append(f"{', '.join(after)} did not run.")
    return stage, " ".join(parts)


def stage_outcome(run: dict[str, Any] | None, run_id: str) -> str:
    """What a failed stage run left unchanged, from its `stage_runs` row (None: it recorded nothing)."""
    if run is None:
        return "nothing was written to the ledger: it is as it was before the run."
    if run["outcome"] == "halted":
        return (
            "nothing was published: a checkpoint halted the stage. Only its checkpoint results and "
            "quarantined rows are kept, as evidence."
        )
    return (
        "the stage had published its results before the failure; the rest of the run did not "
        f"happen. `o2c audit show {run_id}` lists what it changed."
    )


def render_failure_notice(
    failure: RunFailure, *, seller: str, folder: Path = SHIPPED_TEMPLATES
) -> RenderedMessage:
    where = f" at {failure.stage}" if failure.stage and failure.stage != failure.flow else ""
    subject = f"o2c: {failure.run_name} failed{where}"
    context = {**failure.__dict__, "seller": seller}
    return render_plain("run_failed.en.txt", context, subject, kind="run_failed", folder=folder)


def failure_messages(
    failure: RunFailure, recipients: tuple[str, ...], *, seller: str, folder: Path = SHIPPED_TEMPLATES
) -> list[dict[str, Any]]:
    """One message per finance-ops recipient, with an id stable for the run and the address."""
    rendered = render_failure_notice(failure, seller=seller, folder=folder)
    messages = []
    for recipient in recipients:
        digest = hashlib.sha256(f"{failure.run_id}|{recipient}".encode()).hexdigest()[:16]
        messages.append(
            {
                "message_id": f"run-failed-{digest}",
                "kind": "run_failed",
                "ref_name": "flow_run_id",
                "ref_value": failure.run_id,
                "recipient": recipient,
                "subject": rendered.subject,
                "body_text": rendered.text,
                "body_html": rendered.html,
                "attachments": [],
            }
        )
    return messages


def send_failure_notice(mailer: Mailer, messages: list[dict[str, Any]]) -> list[str]:
    """Hand each message to the mailer; return the mailer's references."""
    return [mailer.send(message) for message in messages]

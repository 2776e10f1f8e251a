"""A person's decisions on outbox messages: what needs attention, and the two ways out of doubt.

Delivery retries passing failures by itself (tasks/platform/outbox.py); only a message `unknown` (the request
went out and no answer came: the provider may have accepted it) waits for a person, who checks the
provider's activity and then either queues it again (`retry`: it was not delivered) or marks it
`sent` (it was). A message given up after its retries (`failed`, failure `transient`) may be queued
again too; one the provider refused for good may not. Each decision lands in one transaction with
its audit row (stage `outbox`, who decided, the state before and after); a refused one raises
`DecisionRefused` with one line and writes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tasks.platform.cash_decisions import DecisionRefused, person
from tasks.platform.ledger import OUTBOX_TABLES, Ledger
from tasks.platform.outbox import OUTBOXES
from tasks.platform.presentation import day_text, moment_text

KINDS = tuple(o.kind for o in OUTBOXES)
STATUSES = ("queued", "sending", "sent", "retrying", "failed", "unknown")
STAGE = "outbox"


def needing_attention(
    ledger: Ledger, *, status: str | None = None, kind: str | None = None
) -> list[dict[str, Any]]:
    """Outbox messages newest first: those `unknown`, `failed` or `retrying`, or with `status`
    those in that state; of one `kind` (reminder, invoice, escalation, report) or of all."""
    if status is not None and status not in STATUSES:
        raise DecisionRefused(f"--status must be one of {', '.join(STATUSES)}, not {status!r}")
    if kind is not None and kind not in KINDS:
        raise DecisionRefused(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}")
    rows: list[dict[str, Any]] = ledger.query("platform/outbox/list", status=status, kind=kind).to_dict(
        "records"
    )
    return rows


def attention_list(
    ledger: Ledger, *, status: str | None = None, kind: str | None = None
) -> list[dict[str, Any]]:
    """The messages of `needing_attention` as `o2c outbox list` shows them: id, kind, recipient,
    business date, status, attempts, last and next attempt, reason."""
    return [
        {
            "message_id": r["message_id"],
            "kind": r["kind"],
            "customer_id": r["customer_id"],
            "recipient": r["recipient"],
            "as_of": day_text(r["as_of"]),
            "status": r["status"],
            "attempts": int(r["attempts"] or 0),
            "last_attempt_at": moment_text(r["last_attempt_at"]),
            "next_attempt_at": moment_text(r["next_attempt_at"]),
            "reason": r["status_reason"],
        }
        for r in needing_attention(ledger, status=status, kind=kind)
    ]


def retry(ledger: Ledger, message_id: str, by: str, *, run_id: str, now: datetime) -> dict[str, Any]:
    """Queue a message in doubt (or given up after its retries) again, as `by` decided after
    checking the provider did not deliver it; the next delivery of its stage sends it, with a fresh
    round of retries. Returns the message as it was, with `status` now `queued`."""
    by = person(by)
    message = _message(ledger, message_id)
    status = message["status"]
    if status == "failed" and message["failure"] != "transient":
        raise DecisionRefused(
            f"{message_id} was refused for good ({message['status_reason']}): it is not sent again"
        )
    if status not in ("unknown", "failed"):
        raise DecisionRefused(
            f"{message_id} is {status}: only a message in doubt (unknown) or given up (failed after"
            " its retries) can be queued again"
        )
    move = {
        "message_id": message_id,
        "expected": status,
        "status": "queued",
        "reason": f"queued again by {by}",
        "transient_failures": 0,
    }
    return _decide(ledger, message, move, by, run_id=run_id, now=now)


def mark_sent(ledger: Ledger, message_id: str, by: str, *, run_id: str, now: datetime) -> dict[str, Any]:
    """Mark a message in doubt `sent`, as `by` decided after checking the provider delivered it; its
    time sent is when it was last handed over. Returns the message as it was, with `status` now
    `sent`."""
    by = person(by)
    message = _message(ledger, message_id)
    if message["status"] != "unknown":
        raise DecisionRefused(
            f"{message_id} is {message['status']}: only a message in doubt (unknown) can be marked sent"
        )
    move = {
        "message_id": message_id,
        "expected": "unknown",
        "status": "sent",
        "reason": f"marked sent by {by}",
    }
    return _decide(ledger, message, move, by, run_id=run_id, now=now)


def stage_of(message: dict[str, Any]) -> str:
    """The stage whose delivery sends a message (remind, invoice, escalate, report)."""
    return OUTBOX_TABLES[message["entity"]][1]


def _message(ledger: Ledger, message_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = ledger.query("platform/outbox/one", message_id=message_id).to_dict(
        "records"
    )
    if not found:
        raise DecisionRefused(f"no outbox message {message_id!r}")
    if len(found) > 1:  # ids carry their kind's prefix (R-, MAIL-, OWN-, RPT-): never expected
        raise DecisionRefused(f"{message_id!r} names {len(found)} outbox messages")
    return found[0]


def _decide(
    ledger: Ledger, message: dict[str, Any], move: dict[str, Any], by: str, *, run_id: str, now: datetime
) -> dict[str, Any]:
    moved = ledger.move_messages(
        message["entity"], [move], run_id=run_id, now=now, stage=STAGE, decided_by=by
    )
    if not moved:  # the ledger is locked while deciding: only a change outside o2c gets here
        raise DecisionRefused(f"{message['message_id']} changed while deciding; look again")
    return {**message, "before": message["status"], "status": move["status"], "decided_by": by}

"""SendGrid's event webhook: what became of each message (delivered, bounced, dropped, reported as
spam), verified and read into rows for the ledger.

Pure. A request is taken only when SendGrid signed it: the `X-Twilio-Email-Event-Webhook-Signature`
header is an ECDSA (P-256, SHA-256) signature of the `X-Twilio-Email-Event-Webhook-Timestamp`
header followed by the raw body, checked against the verification key of the account's Mail
Settings (`O2C_SENDGRID_WEBHOOK_KEY`) with the sendgrid library's own verifier. An unsigned or
altered request is refused, and nothing of it is read.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"
BOUNCING = ("bounce", "dropped", "spamreport")
"""Events after which no reminder goes to the address."""
# the custom argument each outbox's messages carry (tasks/platform/mail.py: `<kind>_id`)
REFERENCES = ("reminder_id", "invoice_id", "notice_id", "report_id", "mail_id")


class Refused(ValueError):
    """A request the webhook does not take: `status` is the HTTP status it answers."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def verify(body: bytes, signature: str | None, timestamp: str | None, public_key: str) -> None:
    """Raise `Refused` unless SendGrid signed `body` at `timestamp` (401 unsigned, 403 forged)."""
    from sendgrid.helpers.eventwebhook import EventWebhook

    if not signature or not timestamp:
        raise Refused(401, f"unsigned: the {SIGNATURE} and {TIMESTAMP} headers are required")
    try:
        hook = EventWebhook(public_key)
        good = hook.verify_signature(body.decode("utf-8"), signature, timestamp)
    except (ValueError, UnicodeDecodeError) as exc:  # a malformed signature or body
        raise Refused(403, f"the signature does not verify ({type(exc).__name__})") from None
    if not good:
        raise Refused(
            403, "the signature does not verify: the request was not signed by SendGrid or was altered"
        )


def event_rows(body: bytes, received_at: datetime) -> list[dict[str, Any]]:
    """The events of a verified body as `mail_events` rows; a body that is not a JSON list of
    events is refused (400)."""
    try:
        events = json.loads(body)
    except ValueError:
        raise Refused(400, "the body is not JSON") from None
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise Refused(400, "the body is not a list of events")
    rows = []
    for event in events:
        if not event.get("email") or not event.get("event"):
            raise Refused(400, "an event without `email` or `event`")
        kind, ref = next(
            ((k.removesuffix("_id"), str(event[k])) for k in REFERENCES if event.get(k)), ("", "")
        )
        rows.append(
            {
                "event_id": str(event.get("sg_event_id") or _digest(event)),
                "kind": kind or None,
                "message_ref": ref or None,
                "customer_id": str(event["customer_id"]) if event.get("customer_id") else None,
                "email": str(event["email"]).strip(),
                "event": str(event["event"]),
                "reason": _reason(event),
                "occurred_at": _when(event.get("timestamp"), received_at),
                "received_at": received_at,
            }
        )
    return rows


def _reason(event: dict[str, Any]) -> str | None:
    parts = [str(event[k]) for k in ("type", "status", "reason", "response") if event.get(k)]
    return "; ".join(parts)[:500] or None


def _when(stamp: Any, fallback: datetime) -> datetime:
    try:
        return datetime.fromtimestamp(int(stamp), tz=UTC).replace(tzinfo=None)
    except (TypeError, ValueError, OverflowError, OSError):
        return fallback


def _digest(event: dict[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(json.dumps(event, sort_keys=True).encode()).hexdigest()[:32]

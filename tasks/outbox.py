"""Delivering the outbox at most once: reminders and invoice e-mails.

Messages are marked `sending` in the ledger (one transaction per batch) before the mailer is called,
and `sent`, `failed` (with the reason) or `unknown` after. A message left `sending` by a crash is
never re-sent blindly: the next delivery marks it `unknown` for a person to resolve. A message the
mailer could not hand over at all, or held back by the per-customer daily cap, stays `queued`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tasks.config import Settings
from tasks.ledger import open_ledger
from tasks.notify import DeliveryDeferred, DeliveryInDoubt, Mailer

BATCH_SIZE = 100  # messages committed as `sending` together: the most a crash can leave in doubt


@dataclass(frozen=True)
class Outbox:
    """One kind of message the outbox delivers."""

    kind: str  # the SendGrid category and the name of the custom argument `<kind>_id`
    table: str
    key: str
    pending: str  # the query of queued messages
    capped: bool  # whether the per-customer daily cap applies (reminders: yes; invoices: no)


REMINDERS = Outbox("reminder", "reminders", "reminder_id", "remind/pending", capped=True)
INVOICE_MAILS = Outbox("invoice", "invoice_mails", "mail_id", "invoice/pending_mails", capped=False)
OWNER_NOTICES = Outbox("escalation", "owner_notices", "mail_id", "escalate/pending_notices", capped=False)
REPORT_MAILS = Outbox("report", "report_mails", "mail_id", "report/pending_mails", capped=False)


def deliver_pending(
    settings: Settings,
    mailer: Mailer,
    run_id: str,
    *,
    outbox: Outbox = REMINDERS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, int]:
    """Deliver every queued message of one kind; return how many were sent, failed, found in doubt
    and held.

    At most `settings.mail_daily_cap` reminders go to one customer per day (the rest wait in the
    queue), and at most `settings.mail_rate_per_second` messages leave per second.
    """
    counts = {"sent": 0, "failed": 0, "unknown": 0, "held": 0}
    today = datetime.now(UTC).date()
    gap = 1.0 / settings.mail_rate_per_second if settings.mail_rate_per_second > 0 else 0.0
    next_slot = clock()
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        in_doubt = ledger.table(outbox.table).query("status == 'sending'")[outbox.key].tolist()
        ledger.set_message_statuses(
            outbox.table,
            [(mid, "unknown", "found 'sending' after an interrupted delivery", None) for mid in in_doubt],
            run_id,
        )
        counts["unknown"] = len(in_doubt)
        params = {"today": today} if outbox.capped else {}
        pending: list[dict[str, Any]] = ledger.query(outbox.pending, **params).to_dict("records")
        sent_today: dict[str, int] = {}
        ready = []
        for message in pending:
            if outbox.capped:
                already = sent_today.setdefault(message["customer_id"], int(message["sent_today"]))
                if already >= settings.mail_daily_cap:
                    counts["held"] += 1
                    continue
                sent_today[message["customer_id"]] = already + 1
            ready.append(message)
        for start in range(0, len(ready), BATCH_SIZE):
            batch = ready[start : start + BATCH_SIZE]
            ids = [m[outbox.key] for m in batch]
            ledger.set_message_statuses(outbox.table, [(mid, "sending", None, None) for mid in ids], run_id)
            outcomes: list[tuple[str, str, str | None, str | None]] = []
            for row in batch:
                wait = next_slot - clock()
                if wait > 0:
                    sleep(wait)
                next_slot = max(next_slot, clock()) + gap
                outcomes.append(_deliver(mailer, outbox, row, settings.home, counts))
            ledger.set_message_statuses(outbox.table, outcomes, run_id)
    return counts


def message_of(outbox: Outbox, row: dict[str, Any], home: Path) -> dict[str, Any]:
    """The mailer's view of one queued row: its id, kind, addressing, bodies and attachments
    (filename, MIME type, bytes)."""
    attachments: list[tuple[str, str, bytes]] = []
    if row.get("statement_csv"):
        attachments.append((f"statement-{row['customer_id']}.csv", "text/csv", row["statement_csv"].encode()))
    if row.get("document"):
        path = home / row["document"]
        mime = {".pdf": "application/pdf", ".html": "text/html"}.get(
            path.suffix.lower(), "application/octet-stream"
        )
        attachments.append((path.name, mime, path.read_bytes()))
    if row.get("attachment_json"):
        name = Path(str(row.get("document") or "report")).with_suffix(".json").name
        attachments.append((name, "application/json", row["attachment_json"].encode()))
    return {
        **row,
        "message_id": row[outbox.key],
        "kind": outbox.kind,
        "ref_name": f"{outbox.kind}_id",
        "ref_value": row.get(f"{outbox.kind}_id") or row[outbox.key],
        "attachments": attachments,
    }


def _deliver(
    mailer: Mailer, outbox: Outbox, row: dict[str, Any], home: Path, counts: dict[str, int]
) -> tuple[str, str, str | None, str | None]:
    """One message through the mailer: its new state, the reason and the provider's reference."""
    mid = row[outbox.key]
    try:
        ref = mailer.send(message_of(outbox, row, home))
    except DeliveryInDoubt as exc:
        counts["unknown"] += 1
        return mid, "unknown", str(exc)[:500], None
    except DeliveryDeferred as exc:
        counts["held"] += 1
        return mid, "queued", str(exc)[:500], None
    except Exception as exc:  # one message failing must not stop the others
        counts["failed"] += 1
        return mid, "failed", str(exc)[:500], None
    counts["sent"] += 1
    return mid, "sent", None, ref

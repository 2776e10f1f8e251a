"""Delivering the outbox at most once.

Each queued message is marked `sending` in the ledger before the mailer is called and `sent` (or
`failed`, with the reason) after. A message left `sending` by a crash is never re-sent blindly: it
is marked `unknown` for a person to resolve.
"""

from __future__ import annotations

from tasks.config import Settings
from tasks.ledger import open_ledger
from tasks.notify import Mailer


def deliver_pending(settings: Settings, mailer: Mailer, run_id: str) -> dict[str, int]:
    """Deliver every queued reminder; return how many were sent, failed and found in doubt."""
    counts = {"sent": 0, "failed": 0, "unknown": 0}
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        in_doubt = ledger.table("reminders").query("status == 'sending'")["reminder_id"].tolist()
        for reminder_id in in_doubt:
            ledger.set_reminder_status(reminder_id, "unknown", "found 'sending' after an interrupted delivery",
                                       None, run_id)
            counts["unknown"] += 1
        pending = ledger.query("remind/pending")
        for message in pending.to_dict("records"):
            ledger.set_reminder_status(message["reminder_id"], "sending", None, None, run_id)
            try:
                ref = mailer.send(message)
            except Exception as exc:  # one message failing must not stop the others
                ledger.set_reminder_status(message["reminder_id"], "failed", str(exc)[:500], None, run_id)
                counts["failed"] += 1
                continue
            ledger.set_reminder_status(message["reminder_id"], "sent", None, ref, run_id)
            counts["sent"] += 1
    return counts

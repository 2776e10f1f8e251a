"""Delivering the outbox at most once.

Messages are marked `sending` in the ledger (one transaction per batch) before the mailer is called,
and `sent` or `failed` (with the reason) after. A message left `sending` by a crash is never re-sent
blindly: the next delivery marks it `unknown` for a person to resolve.
"""

from __future__ import annotations

from typing import Any

from tasks.config import Settings
from tasks.ledger import open_ledger
from tasks.notify import Mailer

BATCH_SIZE = 100  # messages committed as `sending` together: the most a crash can leave in doubt


def deliver_pending(settings: Settings, mailer: Mailer, run_id: str) -> dict[str, int]:
    """Deliver every queued reminder; return how many were sent, failed and found in doubt."""
    counts = {"sent": 0, "failed": 0, "unknown": 0}
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        in_doubt = ledger.table("reminders").query("status == 'sending'")["reminder_id"].tolist()
        ledger.set_reminder_statuses(
            [(rid, "unknown", "found 'sending' after an interrupted delivery", None) for rid in in_doubt],
            run_id,
        )
        counts["unknown"] = len(in_doubt)
        pending: list[dict[str, Any]] = ledger.query("remind/pending").to_dict("records")
        for start in range(0, len(pending), BATCH_SIZE):
            batch = pending[start : start + BATCH_SIZE]
            ledger.set_reminder_statuses([(m["reminder_id"], "sending", None, None) for m in batch], run_id)
            outcomes: list[tuple[str, str, str | None, str | None]] = []
            for message in batch:
                try:
                    ref = mailer.send(message)
                except Exception as exc:  # one message failing must not stop the others
                    outcomes.append((message["reminder_id"], "failed", str(exc)[:500], None))
                    counts["failed"] += 1
                    continue
                outcomes.append((message["reminder_id"], "sent", None, ref))
                counts["sent"] += 1
            ledger.set_reminder_statuses(outcomes, run_id)
    return counts

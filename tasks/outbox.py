"""Delivering the outbox at most once.

Messages are marked `sending` in the ledger (one transaction per batch) before the mailer is called,
and `sent`, `failed` (with the reason) or `unknown` after. A message left `sending` by a crash is
never re-sent blindly: the next delivery marks it `unknown` for a person to resolve. A message the
mailer could not hand over at all, or held back by the per-customer daily cap, stays `queued`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tasks.config import Settings
from tasks.ledger import open_ledger
from tasks.notify import DeliveryDeferred, DeliveryInDoubt, Mailer

BATCH_SIZE = 100  # messages committed as `sending` together: the most a crash can leave in doubt


def deliver_pending(
    settings: Settings,
    mailer: Mailer,
    run_id: str,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, int]:
    """Deliver every queued reminder; return how many were sent, failed, found in doubt and held.

    At most `settings.mail_daily_cap` messages go to one customer per day (the rest wait in the
    queue), and at most `settings.mail_rate_per_second` messages leave per second.
    """
    counts = {"sent": 0, "failed": 0, "unknown": 0, "held": 0}
    today = datetime.now(UTC).date()
    gap = 1.0 / settings.mail_rate_per_second if settings.mail_rate_per_second > 0 else 0.0
    next_slot = clock()
    with open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger:
        in_doubt = ledger.table("reminders").query("status == 'sending'")["reminder_id"].tolist()
        ledger.set_reminder_statuses(
            [(rid, "unknown", "found 'sending' after an interrupted delivery", None) for rid in in_doubt],
            run_id,
        )
        counts["unknown"] = len(in_doubt)
        pending: list[dict[str, Any]] = ledger.query("remind/pending", today=today).to_dict("records")
        sent_today: dict[str, int] = {}
        ready = []
        for message in pending:
            already = sent_today.setdefault(message["customer_id"], int(message["sent_today"]))
            if already >= settings.mail_daily_cap:
                counts["held"] += 1
                continue
            sent_today[message["customer_id"]] = already + 1
            ready.append(message)
        for start in range(0, len(ready), BATCH_SIZE):
            batch = ready[start : start + BATCH_SIZE]
            ledger.set_reminder_statuses([(m["reminder_id"], "sending", None, None) for m in batch], run_id)
            outcomes: list[tuple[str, str, str | None, str | None]] = []
            for message in batch:
                wait = next_slot - clock()
                if wait > 0:
                    sleep(wait)
                next_slot = max(next_slot, clock()) + gap
                outcomes.append(_deliver(mailer, message, counts))
            ledger.set_reminder_statuses(outcomes, run_id)
    return counts


def _deliver(
    mailer: Mailer, message: dict[str, Any], counts: dict[str, int]
) -> tuple[str, str, str | None, str | None]:
    """One message through the mailer: its new state, the reason and the provider's reference."""
    rid = message["reminder_id"]
    try:
        ref = mailer.send(message)
    except DeliveryInDoubt as exc:
        counts["unknown"] += 1
        return rid, "unknown", str(exc)[:500], None
    except DeliveryDeferred as exc:
        counts["held"] += 1
        return rid, "queued", str(exc)[:500], None
    except Exception as exc:  # one message failing must not stop the others
        counts["failed"] += 1
        return rid, "failed", str(exc)[:500], None
    counts["sent"] += 1
    return rid, "sent", None, ref

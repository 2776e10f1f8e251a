"""Delivering the outbox at most once, and trying again what failed for a passing reason.

Every outbox message (reminders, invoice e-mails, owner notices, report e-mails) is in one state:

- `queued`: waiting for the next delivery of its stage;
- `sending`: handed to the mailer (marked before the call, one transaction per batch);
- `sent`: the mailer accepted it;
- `failed`: refused for good (a 4xx other than 429, no address, any other error), never tried
  again; or given up after its retries (`failure` = `transient`), which a person may queue again;
- `retrying`: a passing failure (a 429 or 5xx once the mailer's own retries are used up, or the
  provider unreachable); a later delivery sends it again once `next_attempt_at` has come, after
  `RetrySchedule` (5 min, 30 min, 2 h, 12 h); the 5th such failure in a row gives up: `failed`,
  "gave up after 5 attempts: <reason>";
- `unknown`: the request went out and no answer came, or a crash left it `sending`: the provider
  may have accepted it, so it is never sent again by itself; a person checks and queues it again
  (`o2c outbox retry`) or marks it sent (`o2c outbox mark-sent`, tasks/platform/outbox_decisions.py).

A message held back by the per-customer daily cap stays as it is. Times come from the `now` clock a
delivery is given; nothing below reads the wall clock itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tasks.platform.config import Settings
from tasks.platform.crash import crash_point
from tasks.platform.ledger import Ledger, hold_outbox, open_ledger
from tasks.platform.mail import DeliveryInDoubt, DeliveryRetryable, Mailer
from tasks.platform.progress import report

BATCH_SIZE = 100  # messages committed as `sending` together: the most a crash can leave in doubt


@dataclass(frozen=True)
class Outbox:
    """One kind of message the outbox delivers."""

    kind: str  # the SendGrid category and the name of the custom argument `<kind>_id`
    table: str
    key: str
    pending: str  # the query of messages due: queued, or retrying with their next attempt come
    capped: bool  # whether the per-customer daily cap applies (reminders: yes; invoices: no)


REMINDERS = Outbox("reminder", "reminders", "reminder_id", "remind/pending", capped=True)
INVOICE_MAILS = Outbox("invoice", "invoice_mails", "mail_id", "invoice/pending_mails", capped=False)
OWNER_NOTICES = Outbox("escalation", "owner_notices", "mail_id", "escalate/pending_notices", capped=False)
REPORT_MAILS = Outbox("report", "report_mails", "mail_id", "report/pending_mails", capped=False)
OUTBOXES = (REMINDERS, INVOICE_MAILS, OWNER_NOTICES, REPORT_MAILS)
OUTBOX_OF_STAGE = {
    "invoice": INVOICE_MAILS,
    "remind": REMINDERS,
    "escalate": OWNER_NOTICES,
    "report": REPORT_MAILS,
}
"""The outbox each stage queues its messages in, in the order a delivery sends them."""


@dataclass(frozen=True)
class RetrySchedule:
    """How long a message that failed for a passing reason waits before a delivery tries it again:
    `delays[k - 1]` after its k-th such failure in a row; the attempt after the last delay is the
    last one (with the standard delays: 5 attempts, over at least 14 h 35 min)."""

    delays: tuple[timedelta, ...] = (
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=12),
    )

    @property
    def attempts(self) -> int:
        """How many attempts in a row a message gets before it is given up."""
        return len(self.delays) + 1

    def after_failure(self, failures: int, reason: str, now: datetime) -> tuple[str, str, datetime | None]:
        """The state of a message whose `failures`-th passing failure in a row (this one counted)
        happened at `now`: `retrying` with the reason and the earliest next attempt, or, with no
        attempt left, `failed` with "gave up after N attempts: <reason>" and no next attempt."""
        if failures < 1:
            raise ValueError("a failure is counted from 1")
        if failures >= self.attempts:
            return "failed", f"gave up after {failures} attempts: {reason}", None
        return "retrying", reason, now + self.delays[failures - 1]


RETRIES = RetrySchedule()


def wall_clock() -> datetime:
    """The local time to the second, as the ledger keeps its timestamps."""
    return datetime.now().replace(microsecond=0)


def deliver_pending(
    settings: Settings,
    mailer: Mailer,
    run_id: str,
    *,
    outbox: Outbox = REMINDERS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = wall_clock,
    retries: RetrySchedule = RETRIES,
) -> dict[str, int]:
    """Deliver every message of one kind that is due; return how many were sent, failed for good,
    are retrying, were found in doubt and were held.

    Due: `queued`, or `retrying` with its next attempt at or before `now()`. At most
    `settings.mail_daily_cap` reminders go to one customer per day (the rest wait), and at most
    `settings.mail_rate_per_second` messages leave per second (`clock` and `sleep` pace them).
    A mailer that may be called from several threads at once (`parallel`, SendGrid) is given up to
    `settings.mail_concurrency` messages at a time, within the same rate: the provider's limit.
    Deliveries take turns, across machines too (`hold_outbox`).
    """
    counts = {"sent": 0, "failed": 0, "retrying": 0, "unknown": 0, "held": 0}
    started = now()
    gap = 1.0 / settings.mail_rate_per_second if settings.mail_rate_per_second > 0 else 0.0
    pace = _Pace(clock, sleep, gap, clock())
    workers = settings.mail_concurrency if getattr(mailer, "parallel", False) else 1
    began = time.perf_counter()
    with (
        hold_outbox(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds),
        open_ledger(settings.ledger_path, lock_timeout=settings.lock_timeout_seconds) as ledger,
    ):
        counts["unknown"] = _mark_in_doubt(ledger, outbox, run_id, started)
        params: dict[str, Any] = {"now": started, **({"today": started.date()} if outbox.capped else {})}
        pending: list[dict[str, Any]] = ledger.query(outbox.pending, **params).to_dict("records")
        ready = _within_cap(pending, outbox, settings.mail_daily_cap, counts)
        for start in range(0, len(ready), BATCH_SIZE):
            batch = ready[start : start + BATCH_SIZE]
            sending = [
                {"message_id": m[outbox.key], "expected": m["status"], "status": "sending"} for m in batch
            ]
            ledger.move_messages(outbox.table, sending, run_id=run_id, now=now())
            results = _hand_over_batch(mailer, outbox, batch, settings.home, pace, workers)
            settled_at = now()
            moves = [
                settle(
                    row[outbox.key], _count(row.get("transient_failures")), ref, error, settled_at, retries
                )
                for row, ref, error in results
            ]
            for move in moves:
                counts[move["status"]] += 1
            ledger.move_messages(outbox.table, moves, run_id=run_id, now=settled_at)
            report(
                "deliver", outbox.table, start + len(batch), total=len(ready), unit="messages", since=began
            )
    return counts


def deliver_all(
    settings: Settings, mailer: Mailer, run_id: str, stages: tuple[str, ...] = tuple(OUTBOX_OF_STAGE)
) -> dict[str, dict[str, int]]:
    """Deliver what the outboxes of `stages` hold that is due, one outbox after the other; the
    counts of each, by the stage that queued its messages."""
    return {
        stage: deliver_pending(settings, mailer, run_id, outbox=OUTBOX_OF_STAGE[stage])
        for stage in OUTBOX_OF_STAGE
        if stage in stages
    }


def _hand_over_batch(
    mailer: Mailer, outbox: Outbox, batch: list[dict[str, Any]], home: Path, pace: _Pace, workers: int
) -> list[tuple[dict[str, Any], str | None, Exception | None]]:
    """Hand each message of a batch (already `sending`) to the mailer, `workers` at a time, paced;
    (row, reference, error) per message, in the batch's order."""

    def one(row: dict[str, Any]) -> tuple[dict[str, Any], str | None, Exception | None]:
        pace.wait()
        crash_point(f"{outbox.table}: a message is about to be handed to the mailer")
        ref, error = _hand_over(mailer, outbox, row, home)
        crash_point(f"{outbox.table}: the mailer took a message, its state not yet written")
        return row, ref, error

    if workers <= 1 or len(batch) <= 1:
        return [one(row) for row in batch]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="o2c-mail") as pool:
        return list(pool.map(one, batch))


@dataclass
class _Pace:
    """At most one message per `gap` seconds of `clock`, waiting with `sleep`; several threads may
    wait at once, each taking its own slot."""

    clock: Callable[[], float]
    sleep: Callable[[float], None]
    gap: float
    next_slot: float
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def wait(self) -> None:
        """Take the next slot, then wait for it."""
        with self.lock:
            slot = max(self.next_slot, self.clock())
            self.next_slot = slot + self.gap
        wait = slot - self.clock()
        if wait > 0:
            self.sleep(wait)


def _mark_in_doubt(ledger: Ledger, outbox: Outbox, run_id: str, started: datetime) -> int:
    """Move the messages an interrupted delivery left `sending` to `unknown`; return how many."""
    in_doubt = ledger.query("platform/outbox/in_doubt", entity=outbox.table)["message_id"].tolist()
    reason = "found 'sending' after an interrupted delivery"
    ledger.move_messages(
        outbox.table,
        [{"message_id": m, "expected": "sending", "status": "unknown", "reason": reason} for m in in_doubt],
        run_id=run_id,
        now=started,
    )
    return len(in_doubt)


def _within_cap(
    pending: list[dict[str, Any]], outbox: Outbox, daily_cap: int, counts: dict[str, int]
) -> list[dict[str, Any]]:
    """The due messages that may leave today: for a capped outbox, at most `daily_cap` per customer
    counting those sent today already; each one held back is counted in `counts["held"]`."""
    if not outbox.capped:
        return list(pending)
    sent_today: dict[str, int] = {}
    ready = []
    for message in pending:
        already = sent_today.setdefault(message["customer_id"], int(message["sent_today"]))
        if already >= daily_cap:
            counts["held"] += 1
            continue
        sent_today[message["customer_id"]] = already + 1
        ready.append(message)
    return ready


def settle(
    message_id: str,
    failures: int,
    ref: str | None,
    error: Exception | None,
    now: datetime,
    retries: RetrySchedule = RETRIES,
) -> dict[str, Any]:
    """The move of one message the mailer was just given (it is `sending`), from what the mailer
    said at `now`: `sent` with the provider's reference; `unknown` when no answer came; `retrying`
    (or, its attempts used up, `failed`) for a passing failure, `failures` being the passing
    failures in a row before this one; `failed` for good for anything else."""
    move: dict[str, Any] = {"message_id": message_id, "expected": "sending"}
    if error is None:
        return {**move, "status": "sent", "ref": ref, "transient_failures": 0}
    reason = str(error)[:500] or type(error).__name__
    if isinstance(error, DeliveryInDoubt):
        return {**move, "status": "unknown", "reason": reason}
    if isinstance(error, DeliveryRetryable):
        status, reason, next_attempt_at = retries.after_failure(failures + 1, reason, now)
        return {
            **move,
            "status": status,
            "reason": reason,
            "next_attempt_at": next_attempt_at,
            "transient_failures": failures + 1,
            "failure": "transient",
        }
    return {**move, "status": "failed", "reason": reason, "failure": "permanent"}


def message_of(outbox: Outbox, row: dict[str, Any], home: Path) -> dict[str, Any]:
    """The mailer's view of one queued row: its id, kind, addressing, bodies and attachments
    (filename, MIME type, bytes)."""
    attachments: list[tuple[str, str, bytes]] = []
    if row.get("statement_csv"):
        attachments.append((f"statement-{row['customer_id']}.csv", "text/csv", row["statement_csv"].encode()))
        pdf = home / "statements" / f"{row[outbox.key]}.pdf"  # written before delivery (statement_files)
        if pdf.is_file():
            attachments.append((f"statement-{row['customer_id']}.pdf", "application/pdf", pdf.read_bytes()))
    if row.get("document"):
        path = home / row["document"]
        mime = {".pdf": "application/pdf", ".html": "text/html", ".xml": "application/xml"}.get(
            path.suffix.lower(), "application/octet-stream"
        )
        attachments.append((path.name, mime, path.read_bytes()))
        beside = path.with_suffix(".pdf")  # an XRechnung XML goes with the PDF a person reads
        if path.suffix.lower() == ".xml" and beside.is_file():
            attachments.append((beside.name, "application/pdf", beside.read_bytes()))
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


def _hand_over(
    mailer: Mailer, outbox: Outbox, row: dict[str, Any], home: Path
) -> tuple[str | None, Exception | None]:
    """One message through the mailer: the provider's reference, or what went wrong."""
    try:
        return mailer.send(message_of(outbox, row, home)), None
    except Exception as exc:  # one message failing must not stop the others
        return None, exc


def _count(value: Any) -> int:
    """A count cell that may be empty (NULL, NaN, NA) as an int."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0

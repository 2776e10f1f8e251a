"""The outbox's retry schedule and delivery states, on a real ledger file and a scripted mailer with
the clock given (no Prefect, no network, no sleeping).

    queued -> sending -> sent | failed (refused) | retrying (passing failure) | unknown (no answer)
    retrying, when due -> sending; the 5th passing failure in a row -> failed, "gave up after 5 attempts"
    unknown -> queued (o2c outbox retry) | sent (o2c outbox mark-sent); given-up failed -> queued
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tasks.platform import outbox_decisions
from tasks.platform.cash_decisions import DecisionRefused
from tasks.platform.config import SQL_DIR, Settings
from tasks.platform.ledger import Ledger, open_ledger
from tasks.platform.mail import DeliveryDeferred, DeliveryInDoubt, DeliveryRefused, DeliveryRetryable
from tasks.platform.outbox import (
    INVOICE_MAILS,
    OUTBOXES,
    OWNER_NOTICES,
    REMINDERS,
    REPORT_MAILS,
    RETRIES,
    Outbox,
    RetrySchedule,
    deliver_pending,
    settle,
)

T0 = datetime(2026, 11, 20, 9, 0, 0)
MINUTE = timedelta(minutes=1)


# -- the schedule, pure -------------------------------------------------------------------------
def test_the_standard_schedule_waits_longer_each_time_and_gives_up_at_the_fifth() -> None:
    assert RETRIES.attempts == 5
    expected = [
        (1, T0 + 5 * MINUTE),
        (2, T0 + 30 * MINUTE),
        (3, T0 + 2 * 60 * MINUTE),
        (4, T0 + 12 * 60 * MINUTE),
    ]
    for failures, next_attempt in expected:
        assert RETRIES.after_failure(failures, "SendGrid answered 500: x", T0) == (
            "retrying",
            "SendGrid answered 500: x",
            next_attempt,
        )
    assert RETRIES.after_failure(5, "SendGrid answered 429: slow down", T0) == (
        "failed",
        "gave up after 5 attempts: SendGrid answered 429: slow down",
        None,
    )
    with pytest.raises(ValueError):
        RETRIES.after_failure(0, "x", T0)


def test_a_schedule_of_one_delay_gives_two_attempts() -> None:
    short = RetrySchedule((timedelta(seconds=30),))
    assert short.after_failure(1, "e", T0) == ("retrying", "e", T0 + timedelta(seconds=30))
    assert short.after_failure(2, "e", T0) == ("failed", "gave up after 2 attempts: e", None)


def test_settle_tells_sent_refused_passing_and_in_doubt_apart() -> None:
    assert settle("R-1", 2, "sg-1", None, T0) == {
        "message_id": "R-1",
        "expected": "sending",
        "status": "sent",
        "ref": "sg-1",
        "transient_failures": 0,
    }
    refused = settle("R-1", 0, None, DeliveryRefused("SendGrid answered 400: bad address"), T0)
    assert (refused["status"], refused["failure"], refused.get("next_attempt_at")) == (
        "failed",
        "permanent",
        None,
    )
    other = settle("R-1", 0, None, OSError("disk full"), T0)
    assert (other["status"], other["reason"], other["failure"]) == ("failed", "disk full", "permanent")
    doubt = settle("R-1", 1, None, DeliveryInDoubt("no answer"), T0)
    assert (doubt["status"], doubt["reason"], doubt.get("next_attempt_at")) == ("unknown", "no answer", None)
    passing = settle("R-1", 1, None, DeliveryRetryable("SendGrid answered 503: busy"), T0)
    assert passing == {
        "message_id": "R-1",
        "expected": "sending",
        "status": "retrying",
        "reason": "SendGrid answered 503: busy",
        "next_attempt_at": T0 + 30 * MINUTE,
        "transient_failures": 2,
        "failure": "transient",
    }
    unreachable = settle("R-1", 4, None, DeliveryDeferred("SendGrid could not be reached: refused"), T0)
    assert unreachable["status"] == "failed" and unreachable["failure"] == "transient"
    assert unreachable["reason"] == "gave up after 5 attempts: SendGrid could not be reached: refused"


# -- states on a real ledger --------------------------------------------------------------------
INSERTS = {
    "reminders": "insert into reminders (reminder_id, customer_id, level, level_name, invoice_ids, as_of,"
    " language, recipient, subject, body_text, body_html, status, rule_version, run_id)"
    " values ($id, $customer, 1, 'first_reminder', $id, $as_of, 'en', $to, 's', 't', '<p>h</p>', 'queued',"
    " 'v', 'test')",
    "invoice_mails": "insert into invoice_mails (mail_id, invoice_id, customer_id, language, recipient, subject,"
    " body_text, body_html, document, as_of, status, run_id) values ($id, $id, $customer, 'en', $to, 's', 't',"
    " '<p>h</p>', 'documents/doc.pdf', $as_of, 'queued', 'test')",
    "owner_notices": "insert into owner_notices (mail_id, customer_id, recipient, subject, body_text, body_html,"
    " as_of, status, run_id) values ($id, $customer, $to, 's', 't', '<p>h</p>', $as_of, 'queued', 'test')",
    "report_mails": "insert into report_mails (mail_id, as_of, recipient, subject, body_text, body_html, document,"
    " attachment_json, status, run_id) values ($id, $as_of, $to, 's', 't', '<p>h</p>', 'documents/doc.pdf',"
    " '{}', 'queued', 'test')",
}


class Scripted:
    """A mailer that answers each recipient with its scripted outcomes in turn (then accepts), and
    records every message it was handed."""

    def __init__(self, script: dict[str, list[Exception]] | None = None) -> None:
        self.script = {address: list(answers) for address, answers in (script or {}).items()}
        self.handed: list[str] = []

    def send(self, message: dict[str, Any]) -> str:
        self.handed.append(message["message_id"])
        answers = self.script.get(message["recipient"], [])
        if answers:
            raise answers.pop(0)
        return f"ref-{message['message_id']}-{len(self.handed)}"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    (tmp_path / "documents").mkdir()
    (tmp_path / "documents" / "doc.pdf").write_bytes(b"%PDF-1.4 test")
    return Settings(home=tmp_path, mail_rate_per_second=0, mail_daily_cap=5)


@pytest.fixture
def ledger(settings: Settings) -> Iterator[Ledger]:
    with open_ledger(settings.ledger_path) as opened:
        yield opened


def queue(settings: Settings, outbox: Outbox, *recipients: str) -> list[str]:
    """One queued message of `outbox` per recipient; returns their ids."""
    prefix = {"reminders": "R", "invoice_mails": "MAIL", "owner_notices": "OWN", "report_mails": "RPT"}
    ids = []
    with open_ledger(settings.ledger_path) as ledger:
        for number, to in enumerate(recipients, 1):
            message_id = f"{prefix[outbox.table]}-{number}"
            values = {"id": message_id, "customer": f"C{number}", "to": to, "as_of": T0.date()}
            sql = INSERTS[outbox.table]
            ledger.con.execute(sql, {k: v for k, v in values.items() if f"${k}" in sql})
            ids.append(message_id)
    return ids


def state(settings: Settings, outbox: Outbox, message_id: str) -> dict[str, Any]:
    with open_ledger(settings.ledger_path) as ledger:
        row = ledger.row("platform/outbox/one", message_id=message_id)
    assert row is not None
    return row


def run(settings: Settings, mailer: Scripted, at: datetime, outbox: Outbox = REMINDERS) -> dict[str, int]:
    return deliver_pending(settings, mailer, f"run@{at:%H%M}", outbox=outbox, now=lambda: at)


def audit(settings: Settings, message_id: str) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    with open_ledger(settings.ledger_path) as ledger:
        rows = ledger.con.execute(
            "select run_id, stage, before, after from audit_log where key = ? and action = 'status'"
            " order by audit_id",
            [message_id],
        ).fetchall()
    return [(r[0], r[1], json.loads(r[2]), json.loads(r[3])) for r in rows]


@pytest.mark.parametrize("outbox", OUTBOXES, ids=[o.kind for o in OUTBOXES])
def test_a_500_is_retried_by_a_later_run_once_its_time_has_come_and_ends_sent(
    settings: Settings, outbox: Outbox
) -> None:
    (mid,) = queue(settings, outbox, "ap@one.example")
    mailer = Scripted({"ap@one.example": [DeliveryRetryable("SendGrid answered 500: internal error")]})
    assert run(settings, mailer, T0, outbox)["retrying"] == 1
    first = state(settings, outbox, mid)
    assert (first["status"], first["status_reason"], first["next_attempt_at"]) == (
        "retrying",
        "SendGrid answered 500: internal error",
        T0 + 5 * MINUTE,
    )
    assert (first["attempts"], first["transient_failures"], first["failure"]) == (1, 1, "transient")
    too_early = run(settings, mailer, T0 + 4 * MINUTE, outbox)
    assert mailer.handed == [mid] and too_early["sent"] == 0
    assert run(settings, mailer, T0 + 5 * MINUTE, outbox)["sent"] == 1
    done = state(settings, outbox, mid)
    assert (done["status"], done["attempts"], done["transient_failures"], done["sent_at"]) == (
        "sent",
        2,
        0,
        T0 + 5 * MINUTE,
    )
    assert done["next_attempt_at"] is None or str(done["next_attempt_at"]) == "NaT"
    assert run(settings, mailer, T0 + 60 * MINUTE, outbox)["sent"] == 0
    assert mailer.handed == [mid, mid]  # once failed, once delivered, never again
    trail = [(b["status"], a["status"]) for _, _, b, a in audit(settings, mid)]
    assert trail == [
        ("queued", "sending"),
        ("sending", "retrying"),
        ("retrying", "sending"),
        ("sending", "sent"),
    ]
    assert audit(settings, mid)[1][3]["next_attempt_at"] == (T0 + 5 * MINUTE).isoformat()


def test_five_passing_failures_in_a_row_are_given_up_for_good(settings: Settings) -> None:
    (mid,) = queue(settings, REMINDERS, "ap@one.example")
    mailer = Scripted(
        {"ap@one.example": [DeliveryRetryable(f"SendGrid answered 50{n}: down") for n in range(5)]}
    )
    at = T0
    waits = []
    for _ in range(4):
        run(settings, mailer, at)
        row = state(settings, REMINDERS, mid)
        assert row["status"] == "retrying"
        waits.append(row["next_attempt_at"] - at)
        at = row["next_attempt_at"]
    assert waits == [5 * MINUTE, 30 * MINUTE, 120 * MINUTE, 720 * MINUTE]
    counts = run(settings, mailer, at)
    assert counts["failed"] == 1 and counts["retrying"] == 0
    row = state(settings, REMINDERS, mid)
    assert row["status"] == "failed" and row["failure"] == "transient"
    assert row["status_reason"] == "gave up after 5 attempts: SendGrid answered 504: down"
    assert row["attempts"] == 5
    run(settings, mailer, at + timedelta(days=3))
    assert len(mailer.handed) == 5  # given up: no sixth attempt


def test_a_refusal_fails_at_once_and_is_never_tried_again(settings: Settings) -> None:
    refused, fine = queue(settings, REMINDERS, "bad@one.example", "ap@two.example")
    mailer = Scripted({"bad@one.example": [DeliveryRefused("SendGrid answered 400: not a valid address")]})
    counts = run(settings, mailer, T0)
    assert (counts["failed"], counts["sent"], counts["retrying"]) == (1, 1, 0)
    row = state(settings, REMINDERS, refused)
    assert (row["status"], row["failure"], row["status_reason"]) == (
        "failed",
        "permanent",
        "SendGrid answered 400: not a valid address",
    )
    run(settings, mailer, T0 + timedelta(days=1))
    assert mailer.handed == [refused, fine]


def test_no_answer_waits_for_a_person_whatever_the_clock(settings: Settings) -> None:
    (mid,) = queue(settings, REMINDERS, "ap@one.example")
    mailer = Scripted({"ap@one.example": [DeliveryInDoubt("no answer from SendGrid (TimeoutError)")]})
    assert run(settings, mailer, T0)["unknown"] == 1
    for later in (timedelta(minutes=5), timedelta(hours=13), timedelta(days=7)):
        run(settings, mailer, T0 + later)
    assert mailer.handed == [mid]
    row = state(settings, REMINDERS, mid)
    assert (row["status"], row["last_attempt_at"]) == ("unknown", T0)


def test_a_crash_between_marking_and_recording_leaves_the_message_in_doubt(settings: Settings) -> None:
    (mid,) = queue(settings, REMINDERS, "ap@one.example")

    class Crash(Scripted):
        def send(self, message: dict[str, Any]) -> str:
            super().send(message)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(settings, Crash(), T0)
    assert state(settings, REMINDERS, mid)["status"] == "sending"
    mailer = Scripted()
    assert run(settings, mailer, T0 + timedelta(hours=1))["unknown"] == 1
    assert mailer.handed == [] and state(settings, REMINDERS, mid)["status"] == "unknown"


def test_the_daily_cap_holds_a_due_retry_and_reads_the_given_clock(settings: Settings) -> None:
    capped = Settings(home=settings.home, mail_rate_per_second=0, mail_daily_cap=1)
    first, second = queue(settings, REMINDERS, "ap@one.example", "ap@one.example")
    with open_ledger(settings.ledger_path) as ledger, ledger.transaction("test"):  # the same customer twice
        ledger.con.execute("update reminders set customer_id = 'C1'")
    mailer = Scripted({"ap@one.example": [DeliveryRetryable("SendGrid answered 500: x")]})
    counts = deliver_pending(capped, mailer, "r1", now=lambda: T0)
    assert (counts["retrying"], counts["held"]) == (1, 1)
    counts = deliver_pending(capped, mailer, "r2", now=lambda: T0 + 10 * MINUTE)
    assert counts["sent"] == 1 and counts["held"] == 1  # the retry, due, goes first; the other waits
    counts = deliver_pending(capped, mailer, "r3", now=lambda: T0 + 20 * MINUTE)
    assert counts["held"] == 1 and counts["sent"] == 0  # the cap counts what was sent on the given day
    counts = deliver_pending(capped, mailer, "r4", now=lambda: T0 + timedelta(days=1))
    assert counts["sent"] == 1
    assert mailer.handed == [first, first, second]


# -- a person's decisions -----------------------------------------------------------------------
def in_doubt(settings: Settings, *recipients: str) -> list[str]:
    ids = queue(settings, REMINDERS, *recipients)
    run(settings, Scripted({to: [DeliveryInDoubt("no answer")] for to in recipients}), T0)
    return ids


def test_retry_queues_a_message_in_doubt_for_the_next_delivery_with_a_fresh_round(settings: Settings) -> None:
    (mid,) = in_doubt(settings, "ap@one.example")
    with open_ledger(settings.ledger_path) as opened:
        row = outbox_decisions.retry(opened, mid, " Ann  Smith ", run_id="cli:1", now=T0 + 60 * MINUTE)
    assert (row["before"], row["status"], row["decided_by"]) == ("unknown", "queued", "Ann Smith")
    assert outbox_decisions.stage_of(row) == "remind"
    after = state(settings, REMINDERS, mid)
    assert (after["status"], after["status_reason"], after["transient_failures"]) == (
        "queued",
        "queued again by Ann Smith",
        0,
    )
    run_id, stage, before, decided = audit(settings, mid)[-1]
    assert (run_id, stage, before, decided) == (
        "cli:1",
        "outbox",
        {"status": "unknown"},
        {"status": "queued", "reason": "queued again by Ann Smith", "by": "Ann Smith"},
    )
    mailer = Scripted()
    assert run(settings, mailer, T0 + 61 * MINUTE)["sent"] == 1
    assert mailer.handed == [mid]


def test_mark_sent_closes_a_message_in_doubt_as_of_its_hand_over(settings: Settings) -> None:
    (mid,) = in_doubt(settings, "ap@one.example")
    with open_ledger(settings.ledger_path) as opened:
        outbox_decisions.mark_sent(opened, mid, "ann", run_id="cli:2", now=T0 + timedelta(days=2))
    row = state(settings, REMINDERS, mid)
    assert (row["status"], row["sent_at"], row["status_reason"]) == ("sent", T0, "marked sent by ann")
    assert audit(settings, mid)[-1][2:] == (
        {"status": "unknown"},
        {"status": "sent", "reason": "marked sent by ann", "by": "ann"},
    )
    mailer = Scripted()
    run(settings, mailer, T0 + timedelta(days=3))
    assert mailer.handed == []


def test_a_given_up_message_may_be_queued_again_and_gets_a_whole_new_schedule(settings: Settings) -> None:
    (mid,) = queue(settings, REMINDERS, "ap@one.example")
    short = RetrySchedule((MINUTE,))
    failing = Scripted({"ap@one.example": [DeliveryRetryable("SendGrid answered 503: x") for _ in range(4)]})
    deliver_pending(settings, failing, "a", now=lambda: T0, retries=short)
    deliver_pending(settings, failing, "b", now=lambda: T0 + MINUTE, retries=short)
    assert (
        state(settings, REMINDERS, mid)["status_reason"]
        == "gave up after 2 attempts: SendGrid answered 503: x"
    )
    with open_ledger(settings.ledger_path) as opened:
        outbox_decisions.retry(opened, mid, "ann", run_id="cli:3", now=T0 + 2 * MINUTE)
    deliver_pending(settings, failing, "c", now=lambda: T0 + 3 * MINUTE, retries=short)
    row = state(settings, REMINDERS, mid)
    assert (row["status"], row["transient_failures"], row["attempts"]) == ("retrying", 1, 3)


def test_decisions_are_refused_with_one_line_and_write_nothing(settings: Settings) -> None:
    unknown, refused, sent = queue(settings, REMINDERS, "a@one.example", "b@two.example", "c@three.example")
    run(
        settings,
        Scripted(
            {
                "a@one.example": [DeliveryInDoubt("no answer")],
                "b@two.example": [DeliveryRefused("SendGrid answered 400: bad")],
            }
        ),
        T0,
    )
    cases = [
        (outbox_decisions.retry, "R-404", "ann", "no outbox message 'R-404'"),
        (outbox_decisions.mark_sent, "R-404", "ann", "no outbox message 'R-404'"),
        (outbox_decisions.retry, refused, "ann", "R-2 was refused for good (SendGrid answered 400: bad)"),
        (outbox_decisions.retry, sent, "ann", "R-3 is sent: only a message in doubt"),
        (outbox_decisions.mark_sent, refused, "ann", "R-2 is failed: only a message in doubt"),
        (outbox_decisions.mark_sent, unknown, "  ", "--by must name the person"),
    ]
    with open_ledger(settings.ledger_path) as opened:
        before = opened.con.execute("select count(*) from audit_log").fetchone()
        for decide, message_id, by, message in cases:
            with pytest.raises(DecisionRefused, match=message.replace("(", r"\(").replace(")", r"\)")):
                decide(opened, message_id, by, run_id="cli:x", now=T0)
        assert opened.con.execute("select count(*) from audit_log").fetchone() == before
    assert [state(settings, REMINDERS, m)["status"] for m in (unknown, refused, sent)] == [
        "unknown",
        "failed",
        "sent",
    ]


def test_the_list_shows_what_needs_attention_newest_first_and_filters(settings: Settings) -> None:
    queue(settings, REMINDERS, "a@one.example", "b@two.example", "c@three.example")
    queue(settings, OWNER_NOTICES, "owner@example.com")
    run(settings, Scripted({"a@one.example": [DeliveryRetryable("SendGrid answered 429: slow")]}), T0)
    run(settings, Scripted(), T0, OWNER_NOTICES)
    with open_ledger(settings.ledger_path) as opened:
        opened.con.execute(
            "update reminders set status = 'unknown', last_attempt_at = ? where reminder_id = 'R-2'",
            [T0 + MINUTE],
        )
        listed = outbox_decisions.needing_attention(opened)
        assert [(r["message_id"], r["status"]) for r in listed] == [("R-2", "unknown"), ("R-1", "retrying")]
        assert listed[1]["next_attempt_at"] == T0 + 5 * MINUTE and listed[1]["kind"] == "reminder"
        sent = outbox_decisions.needing_attention(opened, status="sent")
        assert sorted(r["message_id"] for r in sent) == ["OWN-1", "R-3"]
        notices = outbox_decisions.needing_attention(opened, status="sent", kind="escalation")
        assert [r["message_id"] for r in notices] == ["OWN-1"]
        assert outbox_decisions.needing_attention(opened, kind="invoice") == []
        with pytest.raises(DecisionRefused, match="--status must be one of"):
            outbox_decisions.needing_attention(opened, status="lost")
        with pytest.raises(DecisionRefused, match="--kind must be one of"):
            outbox_decisions.needing_attention(opened, kind="fax")


def test_older_failures_are_kept_failed_but_those_that_passed_may_be_queued_again(tmp_path: Path) -> None:
    """A ledger from before migration 021: a reminder SendGrid answered 500, one it refused."""
    path = tmp_path / "ledger.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "create table schema_migrations (version integer primary key, name varchar, applied_at timestamp)"
    )
    for migration in sorted((SQL_DIR / "schema").glob("*.sql")):
        version = int(migration.name.split("_", 1)[0])
        if version >= 21:
            continue
        con.execute(migration.read_text(encoding="utf-8"))
        con.execute("insert into schema_migrations values (?, ?, now())", [version, migration.name])
    for message_id, reason in (
        ("R-1", "SendGrid answered 500: internal"),
        ("R-2", "SendGrid answered 400: bad"),
    ):
        con.execute(
            INSERTS["reminders"], {"id": message_id, "customer": "C1", "to": "a@b", "as_of": T0.date()}
        )
        con.execute(
            "update reminders set status = 'failed', status_reason = ?, attempts = 1 where reminder_id = ?",
            [reason, message_id],
        )
    con.close()
    with open_ledger(path) as ledger:
        rows = ledger.query("platform/outbox/list", status="failed", kind=None).set_index("message_id")
        assert rows.loc["R-1", "failure"] == "transient" and rows.loc["R-2", "failure"] == "permanent"
        assert rows.loc["R-1", "status"] == "failed" and int(rows.loc["R-1", "transient_failures"]) == 0
        outbox_decisions.retry(ledger, "R-1", "ann", run_id="cli:4", now=T0)
        with pytest.raises(DecisionRefused, match="refused for good"):
            outbox_decisions.retry(ledger, "R-2", "ann", run_id="cli:4", now=T0)


def test_every_outbox_table_has_the_columns_a_retry_needs(ledger: Ledger) -> None:
    for outbox in (REMINDERS, INVOICE_MAILS, OWNER_NOTICES, REPORT_MAILS):
        columns = set(ledger.table(outbox.table).columns)
        assert {"attempts", "last_attempt_at", "next_attempt_at", "transient_failures", "failure"} <= columns


def test_a_move_from_a_state_the_message_has_left_changes_nothing(settings: Settings) -> None:
    """The guard a person's decision relies on: a message is moved only from the state the move
    expects, and only a message that moved gets an audit row."""
    stale, fresh = queue(settings, REMINDERS, "a@one.example", "b@two.example")
    moves = [
        {"message_id": stale, "expected": "unknown", "status": "sent", "reason": "marked sent by ann"},
        {"message_id": fresh, "expected": "queued", "status": "sending"},
    ]
    with open_ledger(settings.ledger_path) as opened:
        moved = opened.move_messages(
            "reminders", moves, run_id="cli:5", now=T0, stage="outbox", decided_by="ann"
        )
    assert moved == 1
    assert (state(settings, REMINDERS, stale)["status"], state(settings, REMINDERS, stale)["sent_at"]) == (
        "queued",
        None,
    )
    assert (state(settings, REMINDERS, fresh)["status"], state(settings, REMINDERS, fresh)["attempts"]) == (
        "sending",
        1,
    )
    assert audit(settings, stale) == []
    assert [a[2:] for a in audit(settings, fresh)] == [
        ({"status": "queued"}, {"status": "sending", "reason": None, "by": "ann"})
    ]

"""Reminders delivered through the real `sendgrid` library against a local fake SendGrid v3 API:
the payloads, waiting on 429, retrying 5xx, failing one message on 4xx, a hang left in doubt, and
a crash between the call and the `sent` mark that never leads to a second e-mail; passing failures
retried by later runs (with the clock given) until sent or given up; and a person resolving a
message in doubt through `o2c outbox`."""

from __future__ import annotations

import base64
import dataclasses
import logging
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from flows.invoice import invoice_flow
from flows.remind import remind_flow
from tasks.platform.config import load_settings
from tasks.platform.ledger import open_ledger
from tasks.platform.mail import SendGridMailer, make_mailer
from tasks.platform.outbox import deliver_pending
from tests.fake_sendgrid import FakeSendGrid, fake_sendgrid
from tests.integration.ledger_builder import load

AS_OF = date(2026, 11, 20)
KEY = "SG.fake-key-never-to-be-logged"
CUSTOMERS = """
C1,Bold & Co,ap@bold.example,GB,GBP,30,,,standard,en,
C2,Müller GmbH,buchhaltung@mueller.example,DE,EUR,30,,,standard,de,
C3,No Mail SARL,,FR,EUR,30,,,standard,fr,
"""
INVOICES = """
A-1,C1,2026-10-11,2026-11-10,GBP,100.00,
B-1,C2,2026-09-01,2026-10-01,EUR,80.00,
C-1,C3,2026-09-01,2026-10-01,EUR,40.00,
"""


@pytest.fixture(autouse=True)
def one_message_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests script SendGrid's answers in the order its requests arrive, so messages are
    handed over one at a time (O2C_MAIL_CONCURRENCY=1); the tests of several at once set their own."""
    monkeypatch.setenv("O2C_MAIL_CONCURRENCY", "1")


@pytest.fixture
def fake() -> Iterator[FakeSendGrid]:
    with fake_sendgrid() as server:
        yield server


@pytest.fixture
def queued(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeSendGrid) -> Path:
    """Three reminders queued by the remind flow, none delivered yet (the file mailer is told to
    write nowhere useful: delivery is what each test drives)."""
    load(home, tmp_path / "in", AS_OF, customers=CUSTOMERS, invoices=INVOICES)
    monkeypatch.setenv("O2C_MAILER", "sendgrid")
    monkeypatch.setenv("SENDGRID_API_KEY", KEY)
    monkeypatch.setenv("O2C_SENDGRID_HOST", fake.host)
    fake.then("refuse", "refuse", "refuse")  # the flow's own delivery: refused, then re-queued below
    remind_flow(as_of=AS_OF, home=str(home))
    with open_ledger(load_settings(home).ledger_path) as ledger, ledger.transaction("test: queued again"):
        ledger.con.execute(
            "update reminders set status = 'queued', status_reason = null, attempts = 0,"
            " last_attempt_at = null, failure = null"
        )
    fake.requests.clear()
    fake.behaviours.clear()
    return home


def mailer(fake: FakeSendGrid, waits: list[float] | None = None, **options: Any) -> SendGridMailer:
    recorder = waits if waits is not None else []
    return SendGridMailer(KEY, "receivables@example.com", fake.host, sleep=recorder.append, **options)


def statuses(home: Path) -> dict[str, tuple[str, str | None]]:
    with open_ledger(load_settings(home).ledger_path) as ledger:
        rows = ledger.table("reminders")
    return {r.customer_id: (r.status, r.status_reason) for r in rows.itertuples()}


def test_the_remind_flow_delivers_through_sendgrid_with_categories_and_the_reminder_key(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeSendGrid
) -> None:
    load(home, tmp_path / "in", AS_OF, customers=CUSTOMERS, invoices=INVOICES)
    monkeypatch.setenv("O2C_MAILER", "sendgrid")
    monkeypatch.setenv("SENDGRID_API_KEY", KEY)
    monkeypatch.setenv("O2C_SENDGRID_HOST", fake.host)
    monkeypatch.setenv("O2C_SENDGRID_SANDBOX", "1")
    summary = remind_flow(as_of=AS_OF, home=str(home))
    assert summary["delivery"] == {"sent": 2, "failed": 1, "retrying": 0, "unknown": 0, "held": 0}
    assert len(fake.requests) == 2  # C3 has no address: refused before any request
    with open_ledger(load_settings(home).ledger_path) as ledger:
        reminders = ledger.table("reminders").set_index("customer_id")
    request = next(
        r for r in fake.requests if r.body["personalizations"][0]["to"][0]["email"] == "ap@bold.example"
    )
    assert request.path == "/v3/mail/send"
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    body = request.body
    assert body["from"] == {"email": "receivables@example.com"}
    assert body["subject"] == "Payment reminder: open invoices (C1)"
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    assert "Bold &amp; Co" in body["content"][1]["value"]
    assert sorted(body["categories"]) == ["o2c", "reminder"]
    assert body["custom_args"] == {"reminder_id": reminders.loc["C1", "reminder_id"], "customer_id": "C1"}
    assert body["mail_settings"] == {"sandbox_mode": {"enable": True}}
    assert reminders.loc["C1", "status"] == "sent"
    assert reminders.loc["C1", "delivered_ref"].startswith("fake-")
    assert reminders.loc["C3", "status"] == "failed"
    assert reminders.loc["C3", "status_reason"] == "the customer has no e-mail address"


def test_a_429_waits_as_sendgrid_asks_then_delivers_once(queued: Path, fake: FakeSendGrid) -> None:
    fake.retry_after = "7"
    fake.then("rate_limit")
    waits: list[float] = []
    counts = deliver_pending(load_settings(queued), mailer(fake, waits), "test")
    assert waits == [7.0]
    assert counts == {"sent": 2, "failed": 1, "retrying": 0, "unknown": 0, "held": 0}
    assert len(fake.requests) == 3  # one refused by the rate limit, then each message once


def test_a_5xx_is_retried_with_backoff_then_left_for_a_later_run(queued: Path, fake: FakeSendGrid) -> None:
    fake.then("error", "error", "error", "error")  # the first message: every attempt fails
    waits: list[float] = []
    counts = deliver_pending(load_settings(queued), mailer(fake, waits, attempts=4), "test")
    assert waits == [1.0, 2.0, 4.0]
    assert counts == {"sent": 1, "failed": 1, "retrying": 1, "unknown": 0, "held": 0}
    retrying = [reason for status, reason in statuses(queued).values() if status == "retrying"]
    assert len(retrying) == 1 and retrying[0] and retrying[0].startswith("SendGrid answered 500")


def test_a_4xx_fails_that_message_only_with_the_reason_stored(queued: Path, fake: FakeSendGrid) -> None:
    fake.then("refuse")
    waits: list[float] = []
    counts = deliver_pending(load_settings(queued), mailer(fake, waits), "test")
    assert waits == []  # a 400 is not retried
    assert counts == {"sent": 1, "failed": 2, "retrying": 0, "unknown": 0, "held": 0}
    reasons = [reason for status, reason in statuses(queued).values() if status == "failed"]
    assert any("SendGrid answered 400" in r and "valid address" in r for r in reasons if r)


def test_a_hang_leaves_the_message_in_doubt_and_it_is_never_sent_again(
    queued: Path, fake: FakeSendGrid
) -> None:
    fake.hang_seconds = 3.0
    fake.then("hang")
    settings = load_settings(queued)
    counts = deliver_pending(settings, mailer(fake, timeout=0.5), "test")
    assert counts == {"sent": 1, "failed": 1, "retrying": 0, "unknown": 1, "held": 0}
    asked = len(fake.requests)
    days_later = datetime.now() + timedelta(days=2)  # no answer is never retried, however long after
    again = deliver_pending(settings, mailer(fake, timeout=0.5), "test", now=lambda: days_later)
    assert again == {"sent": 0, "failed": 0, "retrying": 0, "unknown": 0, "held": 0}
    assert len(fake.requests) == asked == 2
    unknown = [reason for status, reason in statuses(queued).values() if status == "unknown"]
    assert unknown and "may have accepted" in unknown[0]


class CrashAfterSending(SendGridMailer):
    """The process dies after SendGrid accepted the message and before the ledger heard of it."""

    def send(self, message: dict[str, Any]) -> str:
        super().send(message)
        raise KeyboardInterrupt


def test_a_crash_between_the_call_and_the_sent_mark_never_sends_twice(
    queued: Path, fake: FakeSendGrid
) -> None:
    settings = load_settings(queued)
    crashing = CrashAfterSending(KEY, "receivables@example.com", fake.host)
    with pytest.raises(KeyboardInterrupt):
        deliver_pending(settings, crashing, "crashed-run")
    assert len(fake.requests) == 1
    assert sorted(s for s, _ in statuses(queued).values()) == ["sending", "sending", "sending"]
    counts = deliver_pending(settings, mailer(fake), "next-run")
    assert counts == {"sent": 0, "failed": 0, "retrying": 0, "unknown": 3, "held": 0}
    assert len(fake.requests) == 1  # nothing in doubt is sent again


def test_several_messages_at_once_each_leave_once(
    queued: Path, fake: FakeSendGrid, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Up to O2C_MAIL_CONCURRENCY messages are handed to SendGrid at once: each leaves exactly once."""
    monkeypatch.setenv("O2C_MAIL_CONCURRENCY", "3")
    counts = deliver_pending(load_settings(queued), mailer(fake), "test")
    assert counts == {"sent": 2, "failed": 1, "retrying": 0, "unknown": 0, "held": 0}  # C3 has no address
    assert len(fake.to("ap@bold.example")) == len(fake.to("buchhaltung@mueller.example")) == 1
    assert len(fake.requests) == 2


def test_a_crash_with_several_messages_in_flight_never_sends_one_twice(
    queued: Path, fake: FakeSendGrid, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash while several messages were with SendGrid leaves every one of the batch in doubt:
    none is sent again by itself."""
    monkeypatch.setenv("O2C_MAIL_CONCURRENCY", "3")
    settings = load_settings(queued)
    with pytest.raises(KeyboardInterrupt):
        deliver_pending(settings, CrashAfterSending(KEY, "receivables@example.com", fake.host), "crashed")
    sent_before = len(fake.requests)
    assert 1 <= sent_before <= 2
    assert sorted(s for s, _ in statuses(queued).values()) == ["sending", "sending", "sending"]
    counts = deliver_pending(settings, mailer(fake), "next-run")
    assert counts == {"sent": 0, "failed": 0, "retrying": 0, "unknown": 3, "held": 0}
    assert len(fake.requests) == sent_before


def test_the_daily_cap_holds_a_second_message_to_the_same_customer(queued: Path, fake: FakeSendGrid) -> None:
    settings = load_settings(queued)
    deliver_pending(settings, mailer(fake), "first")
    with open_ledger(settings.ledger_path) as ledger, ledger.transaction("test"):  # another for C1 that day
        ledger.con.execute(
            "insert into reminders (reminder_id, customer_id, level, level_name, invoice_ids, as_of, language,"
            " recipient, subject, body_text, body_html, status, rule_version, run_id)"
            " select 'R-second', customer_id, level, level_name, invoice_ids || ';X', as_of, language,"
            " recipient, subject, body_text, body_html, 'queued', rule_version, run_id"
            " from reminders where customer_id = 'C1'"
        )
    counts = deliver_pending(settings, mailer(fake), "second")
    assert counts == {"sent": 0, "failed": 0, "retrying": 0, "unknown": 0, "held": 1}
    assert statuses(queued)["C1"] in {("sent", None), ("queued", None)}


def test_the_global_send_rate_spaces_the_messages(
    queued: Path, fake: FakeSendGrid, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("O2C_MAIL_RATE", "2")
    now = [100.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(round(seconds, 3))
        now[0] += seconds

    deliver_pending(load_settings(queued), mailer(fake), "test", clock=lambda: now[0], sleep=sleep)
    assert waits == [0.5, 0.5]  # three messages at two a second


def test_the_api_key_is_never_logged(
    queued: Path, fake: FakeSendGrid, caplog: pytest.LogCaptureFixture
) -> None:
    fake.then("error")
    # python_http_client logs every request's headers (the key among them) at DEBUG: the mailer must
    # keep that logger quiet whatever level the rest of the process logs at
    with caplog.at_level(logging.DEBUG):
        deliver_pending(load_settings(queued), mailer(fake), "test")
    assert KEY not in caplog.text
    assert KEY not in repr(mailer(fake)) and KEY not in repr(load_settings(queued))


def test_the_api_key_can_come_from_a_prefect_secret_block(queued: Path, fake: FakeSendGrid) -> None:
    from prefect.blocks.system import Secret

    Secret(value="SG.key-from-a-block").save("o2c-test-sendgrid-key", overwrite=True)
    settings = dataclasses.replace(
        load_settings(queued), sendgrid_api_key=None, sendgrid_secret_block="o2c-test-sendgrid-key"
    )
    counts = deliver_pending(settings, make_mailer(settings), "test")
    assert counts["sent"] == 2
    assert {r.headers["Authorization"] for r in fake.requests} == {"Bearer SG.key-from-a-block"}
    missing = dataclasses.replace(settings, sendgrid_secret_block="no-such-block")
    with pytest.raises(
        ValueError, match="needs SENDGRID_API_KEY or a Prefect Secret block named 'no-such-block'"
    ):
        make_mailer(missing)


def test_an_invoice_e_mail_goes_through_sendgrid_with_its_pdf(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeSendGrid
) -> None:
    folder = tmp_path / "in"
    load(
        home,
        folder,
        AS_OF,
        customers=CUSTOMERS,
        orders="SO-9,C1,2026-11-01,GBP,fulfilled,2026-11-02,",
        order_lines="SO-9,1,W-1,Widget,2,10.00,0.2",
    )
    monkeypatch.setenv("O2C_MAILER", "sendgrid")
    monkeypatch.setenv("SENDGRID_API_KEY", KEY)
    monkeypatch.setenv("O2C_SENDGRID_HOST", fake.host)
    summary = invoice_flow(as_of=AS_OF, home=str(home))
    assert summary["delivery"] == {"sent": 1, "failed": 0, "retrying": 0, "unknown": 0, "held": 0}
    (request,) = fake.requests
    body = request.body
    assert body["subject"] == "Invoice O2C-2026-000001 from Example Trading Ltd"
    assert sorted(body["categories"]) == ["invoice", "o2c"]
    assert body["custom_args"] == {"invoice_id": "O2C-2026-000001", "customer_id": "C1"}
    (attachment,) = body["attachments"]
    assert attachment["filename"] == "O2C-2026-000001.pdf" and attachment["type"] == "application/pdf"
    assert (
        base64.b64decode(attachment["content"]) == (home / "documents" / "O2C-2026-000001.pdf").read_bytes()
    )
    with open_ledger(load_settings(home).ledger_path) as ledger:
        mails = ledger.table("invoice_mails")
    assert mails[["invoice_id", "status"]].values.tolist() == [["O2C-2026-000001", "sent"]]
    assert mails.at[0, "delivered_ref"].startswith("fake-")


# -- passing failures retried by later runs, and a person resolving what is in doubt ------------
BOLD = "ap@bold.example"  # C1's address
T0 = datetime(2026, 11, 20, 9, 0, 0)


def reminder(home: Path, customer_id: str) -> dict[str, Any]:
    with open_ledger(load_settings(home).ledger_path) as ledger:
        rows = ledger.table("reminders").set_index("customer_id")
    return {"reminder_id": rows.loc[customer_id, "reminder_id"], **rows.loc[customer_id].to_dict()}


def deliver_at(home: Path, sendgrid: SendGridMailer, at: datetime, run_id: str = "run") -> dict[str, int]:
    return deliver_pending(load_settings(home), sendgrid, run_id, now=lambda: at)


@pytest.mark.parametrize(("behaviour", "status"), [("error", 500), ("rate_limit", 429)])
def test_a_reminder_sendgrid_answered_a_passing_failure_is_sent_by_a_later_run(
    queued: Path, fake: FakeSendGrid, behaviour: str, status: int
) -> None:
    fake.for_recipient(BOLD, behaviour, behaviour)  # both of the mailer's attempts in the first run
    waits: list[float] = []
    first = deliver_at(queued, mailer(fake, waits, attempts=2), T0, "run-1")
    assert first == {"sent": 1, "failed": 1, "retrying": 1, "unknown": 0, "held": 0}
    assert len(waits) == 1  # the mailer's own retry, within the call
    c1 = reminder(queued, "C1")
    assert c1["status"] == "retrying" and c1["status_reason"].startswith(f"SendGrid answered {status}")
    assert (c1["next_attempt_at"], c1["attempts"], c1["transient_failures"]) == (
        T0 + timedelta(minutes=5),
        1,
        1,
    )
    too_soon = deliver_at(queued, mailer(fake, attempts=2), T0 + timedelta(minutes=4), "run-2")
    assert too_soon == {"sent": 0, "failed": 0, "retrying": 0, "unknown": 0, "held": 0}
    assert len(fake.to(BOLD)) == 2
    later = deliver_at(queued, mailer(fake, attempts=2), T0 + timedelta(minutes=5), "run-3")
    assert later == {"sent": 1, "failed": 0, "retrying": 0, "unknown": 0, "held": 0}
    c1 = reminder(queued, "C1")
    assert c1["status"] == "sent" and c1["delivered_ref"].startswith("fake-") and c1["attempts"] == 2
    deliver_at(queued, mailer(fake, attempts=2), T0 + timedelta(days=1), "run-4")
    assert len(fake.to(BOLD)) == 3  # two refused for a passing reason, one accepted: sent once


def test_after_five_passing_failures_in_a_row_the_reminder_is_given_up(
    queued: Path, fake: FakeSendGrid
) -> None:
    fake.for_recipient(BOLD, *["error"] * 5)
    at = T0
    for run in range(1, 6):
        deliver_at(queued, mailer(fake, attempts=1), at, f"run-{run}")
        c1 = reminder(queued, "C1")
        if run < 5:
            assert c1["status"] == "retrying" and c1["transient_failures"] == run
            at = c1["next_attempt_at"]
    assert at == T0 + timedelta(minutes=5 + 30 + 120 + 720)
    assert c1["status"] == "failed" and c1["failure"] == "transient"
    assert c1["status_reason"].startswith("gave up after 5 attempts: SendGrid answered 500")
    deliver_at(queued, mailer(fake, attempts=1), at + timedelta(days=7), "run-6")
    assert len(fake.to(BOLD)) == 5 and reminder(queued, "C1")["status"] == "failed"


def test_sendgrid_unreachable_is_retried_by_a_later_run(queued: Path, fake: FakeSendGrid) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on: the connection is never made
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    nowhere = SendGridMailer(
        KEY, "receivables@example.com", f"http://127.0.0.1:{closed}", attempts=2, sleep=[].append
    )
    first = deliver_at(queued, nowhere, T0, "run-1")
    assert first == {"sent": 0, "failed": 1, "retrying": 2, "unknown": 0, "held": 0}
    assert "could not be reached" in reminder(queued, "C1")["status_reason"]
    later = deliver_at(queued, mailer(fake), T0 + timedelta(minutes=6), "run-2")
    assert later == {"sent": 2, "failed": 0, "retrying": 0, "unknown": 0, "held": 0}
    assert len(fake.requests) == 2


def o2c(home: Path, *args: str) -> Any:
    from typer.testing import CliRunner

    from cli import app

    return CliRunner().invoke(app, [*args, "--home", str(home)])


def outbox_audit(home: Path, key: str) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    import json

    with open_ledger(load_settings(home).ledger_path) as ledger:
        rows = ledger.con.execute(
            "select run_id, stage, before, after from audit_log where key = ? and stage = 'outbox' order by audit_id",
            [key],
        ).fetchall()
    return [(r[0], r[1], json.loads(r[2]), json.loads(r[3])) for r in rows]


def test_a_message_in_doubt_is_listed_then_queued_again_by_a_person_and_sent_once(
    queued: Path, fake: FakeSendGrid
) -> None:
    import json

    fake.hang_seconds = 3.0
    fake.for_recipient(BOLD, "hang")
    deliver_at(queued, mailer(fake, timeout=0.5), T0, "run-1")
    c1, c3 = reminder(queued, "C1")["reminder_id"], reminder(queued, "C3")["reminder_id"]
    listed = o2c(queued, "outbox", "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert len(lines) == 2  # C1 in doubt, C3 refused (no address); C2's sent reminder needs nothing
    assert lines[0].startswith(
        f"{c1}  reminder   {BOLD}  unknown   attempts 1  next -  no answer from SendGrid"
    )
    assert lines[1].startswith(f"{c3}  reminder   (no address)  failed    attempts 1")
    shown = json.loads(
        o2c(queued, "outbox", "list", "--json", "--kind", "reminder", "--status", "unknown").stdout
    )
    assert [(r["message_id"], r["status"], r["attempts"], r["recipient"]) for r in shown] == [
        (c1, "unknown", 1, BOLD)
    ]
    assert json.loads(o2c(queued, "outbox", "list", "--json", "--kind", "invoice").stdout) == []

    refused = o2c(queued, "outbox", "retry", c3, "--by", "ann")
    assert refused.exit_code == 2 and refused.stdout == ""
    assert (
        refused.stderr
        == f"error: {c3} was refused for good (the customer has no e-mail address): it is not sent again\n"
    )
    retried = o2c(queued, "outbox", "retry", c1, "--by", "ann")
    assert retried.exit_code == 0, retried.output
    assert retried.stdout == f"{c1} queued again by ann (was unknown); the next remind run delivers it\n"
    twice = o2c(queued, "outbox", "retry", c1, "--by", "ann")
    assert twice.exit_code == 2 and twice.stderr.count("\n") == 1 and f"{c1} is queued" in twice.stderr
    assert outbox_audit(queued, c1) == [
        (
            outbox_audit(queued, c1)[0][0],
            "outbox",
            {"status": "unknown"},
            {"status": "queued", "reason": "queued again by ann", "by": "ann"},
        )
    ]
    assert outbox_audit(queued, c1)[0][0].startswith("cli:")

    counts = deliver_at(queued, mailer(fake), T0 + timedelta(hours=1), "run-2")
    assert counts == {"sent": 1, "failed": 0, "retrying": 0, "unknown": 0, "held": 0}
    deliver_at(queued, mailer(fake), T0 + timedelta(days=1), "run-3")
    assert len(fake.to(BOLD)) == 2  # the request that hung, and the one the person allowed
    assert reminder(queued, "C1")["status"] == "sent"


def test_mark_sent_closes_a_message_the_provider_did_deliver(queued: Path, fake: FakeSendGrid) -> None:
    fake.hang_seconds = 3.0
    fake.for_recipient(BOLD, "hang")
    deliver_at(queued, mailer(fake, timeout=0.5), T0, "run-1")
    c1 = reminder(queued, "C1")["reminder_id"]
    unknown_id = o2c(queued, "outbox", "mark-sent", "R-nothing", "--by", "bob")
    assert unknown_id.exit_code == 2 and unknown_id.stderr == "error: no outbox message 'R-nothing'\n"
    no_name = o2c(queued, "outbox", "mark-sent", c1, "--by", " ")
    assert no_name.exit_code == 2 and no_name.stderr == "error: --by must name the person who decides\n"
    marked = o2c(queued, "outbox", "mark-sent", c1, "--by", "bob")
    assert marked.exit_code == 0, marked.output
    assert marked.stdout == f"{c1} marked sent by bob (was unknown)\n"
    row = reminder(queued, "C1")
    assert (row["status"], row["sent_at"], row["status_reason"]) == ("sent", T0, "marked sent by bob")
    again = o2c(queued, "outbox", "mark-sent", c1, "--by", "bob")
    assert again.exit_code == 2 and again.stderr.startswith(f"error: {c1} is sent: only a message in doubt")
    assert [a[2:] for a in outbox_audit(queued, c1)] == [
        ({"status": "unknown"}, {"status": "sent", "reason": "marked sent by bob", "by": "bob"})
    ]
    assert c1 not in o2c(queued, "outbox", "list").stdout
    assert c1 in o2c(queued, "outbox", "list", "--status", "sent").stdout
    deliver_at(queued, mailer(fake), T0 + timedelta(days=1), "run-2")
    assert len(fake.to(BOLD)) == 1  # the one request, never repeated

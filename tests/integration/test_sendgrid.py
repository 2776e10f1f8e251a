"""Reminders delivered through the real `sendgrid` library against a local fake SendGrid v3 API:
the payloads, waiting on 429, retrying 5xx, failing one message on 4xx, a hang left in doubt, and
a crash between the call and the `sent` mark that never leads to a second e-mail."""

from __future__ import annotations

import base64
import dataclasses
import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from flows.invoice import invoice_flow
from flows.remind import remind_flow
from tasks.config import load_settings
from tasks.ledger import open_ledger
from tasks.notify import SendGridMailer, make_mailer
from tasks.outbox import deliver_pending
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
    with open_ledger(load_settings(home).ledger_path) as ledger:
        ledger.con.execute("update reminders set status = 'queued', status_reason = null")
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
    assert summary["delivery"] == {"sent": 2, "failed": 1, "unknown": 0, "held": 0}
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
    assert counts == {"sent": 2, "failed": 1, "unknown": 0, "held": 0}
    assert len(fake.requests) == 3  # one refused by the rate limit, then each message once


def test_a_5xx_is_retried_with_backoff_and_gives_up_after_the_last_attempt(
    queued: Path, fake: FakeSendGrid
) -> None:
    fake.then("error", "error", "error", "error")  # the first message: every attempt fails
    waits: list[float] = []
    counts = deliver_pending(load_settings(queued), mailer(fake, waits, attempts=4), "test")
    assert waits == [1.0, 2.0, 4.0]
    assert counts["failed"] == 2 and counts["sent"] == 1  # the other address still goes out
    failed = [s for s in statuses(queued).values() if s[0] == "failed"]
    assert any(reason and "SendGrid answered 500" in reason for _, reason in failed)


def test_a_4xx_fails_that_message_only_with_the_reason_stored(queued: Path, fake: FakeSendGrid) -> None:
    fake.then("refuse")
    waits: list[float] = []
    counts = deliver_pending(load_settings(queued), mailer(fake, waits), "test")
    assert waits == []  # a 400 is not retried
    assert counts == {"sent": 1, "failed": 2, "unknown": 0, "held": 0}
    reasons = [reason for status, reason in statuses(queued).values() if status == "failed"]
    assert any("SendGrid answered 400" in r and "valid address" in r for r in reasons if r)


def test_a_hang_leaves_the_message_in_doubt_and_it_is_never_sent_again(
    queued: Path, fake: FakeSendGrid
) -> None:
    fake.hang_seconds = 3.0
    fake.then("hang")
    settings = load_settings(queued)
    counts = deliver_pending(settings, mailer(fake, timeout=0.5), "test")
    assert counts == {"sent": 1, "failed": 1, "unknown": 1, "held": 0}
    asked = len(fake.requests)
    again = deliver_pending(settings, mailer(fake, timeout=0.5), "test")
    assert again == {"sent": 0, "failed": 0, "unknown": 0, "held": 0}
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
    assert counts == {"sent": 0, "failed": 0, "unknown": 3, "held": 0}
    assert len(fake.requests) == 1  # nothing in doubt is sent again


def test_the_daily_cap_holds_a_second_message_to_the_same_customer(queued: Path, fake: FakeSendGrid) -> None:
    settings = load_settings(queued)
    deliver_pending(settings, mailer(fake), "first")
    with open_ledger(settings.ledger_path) as ledger:  # another reminder for C1 the same day
        ledger.con.execute(
            "insert into reminders (reminder_id, customer_id, level, level_name, invoice_ids, as_of, language,"
            " recipient, subject, body_text, body_html, status, rule_version, run_id)"
            " select 'R-second', customer_id, level, level_name, invoice_ids || ';X', as_of, language,"
            " recipient, subject, body_text, body_html, 'queued', rule_version, run_id"
            " from reminders where customer_id = 'C1'"
        )
    counts = deliver_pending(settings, mailer(fake), "second")
    assert counts == {"sent": 0, "failed": 0, "unknown": 0, "held": 1}
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
    assert summary["delivery"] == {"sent": 1, "failed": 0, "unknown": 0, "held": 0}
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

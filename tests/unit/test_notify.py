"""Rendering reminders (autoescaped HTML, language fallback) and the file outbox."""

from __future__ import annotations

import email
import email.policy
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tasks.platform.config import SHIPPED_TEMPLATES, Settings
from tasks.platform.mail import (
    DeliveryDeferred,
    DeliveryInDoubt,
    DeliveryRefused,
    DeliveryRetryable,
    FileMailer,
    SendGridMailer,
    make_mailer,
)
from tasks.platform.messages import render_reminder
from tasks.platform.policy import PolicyError

ITEMS = [
    {
        "invoice_id": "O2C-2026-000001",
        "issue_date": "2026-01-01",
        "due_date": "2026-01-31",
        "days_past_due": 59,
        "open_amount": "119.00",
        "currency": "EUR",
        "level_name": "second_reminder",
        "interest": "1.25",
        "has_interest": True,
    },
    {
        "invoice_id": "O2C-2026-000002",
        "issue_date": "2026-03-01",
        "due_date": "2026-03-31",
        "days_past_due": 0,
        "open_amount": "<b>5.00</b>",
        "currency": "EUR",
        "level_name": "courtesy",
        "interest": "0.00",
        "has_interest": False,
    },
]


def render(name: str, language: str, max_level: int = 2) -> Any:
    return render_reminder(
        customer={"customer_id": "C1", "name": name},
        language=language,
        items=ITEMS,
        totals={
            "EUR": {
                "open": "124.00",
                "interest": "0.00",
                "fee": "<i>5.00</i>",
                "total": "129.00",
                "has_interest": False,
                "has_fee": True,
            }
        },
        max_level=max_level,
        level_name="second_reminder",
        as_of=date(2026, 3, 31),
        pay_by=date(2026, 4, 10),
    )


@pytest.mark.parametrize("language", ["en", "de", "fr", "es"])
def test_html_never_carries_markup_from_the_data(language: str) -> None:
    message = render('<script>alert("x")</script>', language)
    assert "<script>" not in message.html
    assert "&lt;script&gt;" in message.html
    assert "<b>5.00</b>" not in message.html
    assert "&lt;b&gt;5.00&lt;/b&gt;" in message.html
    assert "<i>" not in message.html and "&lt;i&gt;5.00&lt;/i&gt;" in message.html
    assert '<script>alert("x")</script>' in message.text  # text is text


@pytest.mark.parametrize(
    ("language", "subject", "greeting"),
    [
        ("en", "Payment reminder: open invoices (C1)", "Dear Acme,"),
        ("de", "Zahlungserinnerung: offene Rechnungen (C1)", "Sehr geehrte Damen und Herren (Acme),"),
        ("fr", "Relance : factures impayées (C1)", "Madame, Monsieur (Acme),"),
        ("es", "Payment reminder: open invoices (C1)", "Dear Acme,"),
    ],
)
def test_the_customers_language_with_english_as_fallback(language: str, subject: str, greeting: str) -> None:
    message = render("Acme", language)
    assert message.subject == subject
    assert message.text.startswith(greeting)
    assert message.language == (language if language != "es" else "en")
    assert message.level_name == "second_reminder"


def test_the_text_lists_each_invoice_and_the_total() -> None:
    text = render("Acme", "en").text
    assert (
        "- O2C-2026-000001 of 2026-01-01, due 2026-01-31: 119.00 (59 days overdue), interest 1.25\n" in text
    )
    assert "- O2C-2026-000002 of 2026-03-01, due 2026-03-31: <b>5.00</b>\n" in text
    assert "Open amount: 124.00\nReminder fee: <i>5.00</i>\nTotal due: 129.00\n" in text
    assert "by 10 Apr 2026" in text


def test_a_courtesy_note_has_its_own_subject_and_words() -> None:
    message = render("Acme", "en", max_level=0)
    assert message.subject == "Upcoming payment: invoices falling due (C1)"
    assert "fall due soon" in message.text
    assert "fall due soon" in message.html


MESSAGE = {
    "reminder_id": "R-0123456789abcdef",
    "message_id": "R-0123456789abcdef",
    "kind": "reminder",
    "ref_name": "reminder_id",
    "ref_value": "R-0123456789abcdef",
    "recipient": "ap@acme.example",
    "subject": "Payment reminder: open invoices (C1)",
    "body_text": "Dear Acme,\nplease pay.\n",
    "body_html": "<p>Dear Acme,</p>",
}


def test_the_file_mailer_writes_one_eml_per_message(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    mailer = FileMailer(outbox, "receivables@example.com")
    reference = mailer.send(MESSAGE)
    assert reference == str(outbox / "R-0123456789abcdef.eml")
    assert sorted(p.name for p in outbox.iterdir()) == ["R-0123456789abcdef.eml"]  # no .part left behind
    parsed = email.message_from_bytes(Path(reference).read_bytes(), policy=email.policy.default)
    assert parsed["From"] == "receivables@example.com"
    assert parsed["To"] == "ap@acme.example"
    assert parsed["Subject"] == "Payment reminder: open invoices (C1)"
    assert parsed["X-O2C-Reminder"] == "R-0123456789abcdef"
    assert "R-0123456789abcdef" in parsed["Message-ID"]
    assert parsed.get_body(("plain",)).get_content() == "Dear Acme,\nplease pay.\n"
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Dear Acme,</p>"


def test_the_file_mailer_without_a_recipient(tmp_path: Path) -> None:
    reference = FileMailer(tmp_path, "ar@example.com").send({**MESSAGE, "recipient": None})
    parsed = email.message_from_bytes(Path(reference).read_bytes(), policy=email.policy.default)
    assert parsed["To"] == "undisclosed-recipients:;"


def test_sending_the_same_message_again_overwrites_it(tmp_path: Path) -> None:
    mailer = FileMailer(tmp_path, "ar@example.com")
    mailer.send(MESSAGE)
    mailer.send(MESSAGE)
    assert len(list(tmp_path.iterdir())) == 1


def test_make_mailer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No Prefect Secret block either: looking one up starts Prefect's local API (tens of seconds);
    # reading the key from a real block is tests/integration/test_sendgrid.py's.
    monkeypatch.setattr("tasks.platform.mail._secret", lambda block_name: None)
    mailer = make_mailer(Settings(home=tmp_path))
    assert isinstance(mailer, FileMailer)
    assert mailer.folder == tmp_path / "outbox"
    with pytest.raises(ValueError, match="needs SENDGRID_API_KEY"):
        make_mailer(Settings(home=tmp_path, mailer="sendgrid"))
    with pytest.raises(ValueError, match="must be 'file' or 'sendgrid', not 'pigeon'"):
        make_mailer(Settings(home=tmp_path, mailer="pigeon"))


class ScriptedClient:
    """Stands in for the SendGrid client: raises each scripted answer in turn, then accepts."""

    def __init__(self, *answers: BaseException) -> None:
        self.answers, self.calls = list(answers), 0

    def send(self, mail: Any) -> Any:
        self.calls += 1
        if self.answers:
            raise self.answers.pop(0)
        return type("Response", (), {"headers": {"X-Message-Id": "sg-1"}})()


def http_error(status: int) -> BaseException:
    from python_http_client.exceptions import HTTPError

    return HTTPError(status, "reason", b'{"errors":[{"message":"said so"}]}', {"Retry-After": "3"})


def scripted(
    *answers: BaseException, attempts: int = 3
) -> tuple[SendGridMailer, ScriptedClient, list[float]]:
    waits: list[float] = []
    mailer = SendGridMailer(
        "SG.unit", "ar@example.com", "http://127.0.0.1:9", attempts=attempts, sleep=waits.append
    )
    client = ScriptedClient(*answers)
    mailer.client = client  # type: ignore[assignment]
    return mailer, client, waits


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_a_passing_failure_after_the_in_call_retries_is_retryable(status: int) -> None:
    mailer, client, waits = scripted(*(http_error(status) for _ in range(3)))
    with pytest.raises(DeliveryRetryable, match=f"SendGrid answered {status}: .*said so"):
        mailer.send(MESSAGE)
    assert client.calls == 3 and len(waits) == 2


def test_a_passing_failure_that_clears_within_the_call_delivers() -> None:
    mailer, client, waits = scripted(http_error(503), http_error(429))
    assert mailer.send(MESSAGE) == "sg-1"
    assert client.calls == 3 and waits == [1.0, 3.0]  # backoff, then Retry-After


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
def test_another_4xx_is_refused_for_good_at_once(status: int) -> None:
    mailer, client, waits = scripted(http_error(status))
    with pytest.raises(DeliveryRefused, match=f"SendGrid answered {status}") as raised:
        mailer.send(MESSAGE)
    assert not isinstance(raised.value, DeliveryRetryable)
    assert client.calls == 1 and waits == []


def test_no_recipient_is_refused_before_any_request() -> None:
    mailer, client, _ = scripted()
    with pytest.raises(DeliveryRefused, match="no e-mail address"):
        mailer.send({**MESSAGE, "recipient": ""})
    assert client.calls == 0


def test_a_provider_never_reached_is_retryable_and_no_answer_is_in_doubt() -> None:
    import urllib.error

    mailer, client, _ = scripted(*(urllib.error.URLError("refused") for _ in range(3)))
    with pytest.raises(DeliveryDeferred, match="could not be reached") as raised:
        mailer.send(MESSAGE)
    assert isinstance(raised.value, DeliveryRetryable) and client.calls == 3
    mailer, client, _ = scripted(TimeoutError("timed out"))
    with pytest.raises(DeliveryInDoubt, match="may have accepted"):
        mailer.send(MESSAGE)
    assert client.calls == 1  # a request that may have arrived is never repeated


def render_in(template: str = "reminder", folder: Path = SHIPPED_TEMPLATES) -> Any:
    return render_reminder(
        customer={"customer_id": "C1", "name": "Acme"},
        language="de",
        items=ITEMS,
        totals={},
        max_level=1,
        level_name="first_reminder",
        as_of=date(2026, 3, 31),
        pay_by=date(2026, 4, 10),
        template=template,
        folder=folder,
    )


def test_a_template_naming_something_unknown_fails_with_its_name(tmp_path: Path) -> None:
    (tmp_path / "reminder.en.txt").write_text("Dear {{ customer.nickname }}\n")
    with pytest.raises(PolicyError, match=r"rules/templates/reminder.en.txt: .*nickname"):
        render_in(folder=tmp_path)  # German asked, none there: English, which names something unknown


def test_a_template_that_does_not_exist_fails_with_its_name() -> None:
    with pytest.raises(PolicyError, match=r"rules/templates/gentle.en.txt"):
        render_in("gentle")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("O2C_MAIL_DAILY_CAP", "two", "O2C_MAIL_DAILY_CAP='two' is not a whole number"),
        ("O2C_MAIL_RATE", "fast", "O2C_MAIL_RATE='fast' is not a number"),
        ("O2C_SELLER_NAMES", "DE01", "O2C_SELLER_NAMES: 'DE01' is not ENTITY=Name"),
    ],
)
def test_a_setting_that_cannot_be_read_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str, message: str
) -> None:
    from tasks.platform.config import SettingsError, load_settings

    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path)
    assert str(caught.value) == message


def test_entity_names_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tasks.platform.config import load_settings

    monkeypatch.setenv("O2C_SELLER_NAMES", "DE01=Beispiel GmbH; FR01=Exemple SARL")
    settings = load_settings(tmp_path)
    assert settings.seller_of("FR01") == "Exemple SARL"
    assert settings.seller_of(None) == "Example Trading Ltd"  # the shipped entities.yaml's default

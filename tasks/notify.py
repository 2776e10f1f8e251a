"""Messages and mailers: rendering reminders, and delivering the outbox.

Rendering is pure (Jinja2 with autoescape on for HTML). Delivery goes through a `Mailer`: the file
outbox (default, one `.eml` per message under `$O2C_HOME/outbox/`) or SendGrid through its Python
library. The outbox is at most once: a message is marked `sending` before the mailer is called and
`sent` after; a message found `sending` after a crash is never re-sent blindly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from tasks.config import RULES_DIR, Settings

SUBJECTS = {
    "en": {0: "Upcoming payment: invoices falling due", "other": "Payment reminder: open invoices"},
    "de": {0: "Hinweis: bald fällige Rechnungen", "other": "Zahlungserinnerung: offene Rechnungen"},
    "fr": {0: "Rappel : factures bientôt échues", "other": "Relance : factures impayées"},
}


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str
    language: str
    level_name: str


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(RULES_DIR / "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render_reminder(
    *,
    customer: dict[str, Any],
    language: str,
    items: list[dict[str, Any]],
    totals: dict[str, str],
    max_level: int,
    level_name: str,
    as_of: date,
    pay_by: date,
    template: str = "reminder",
) -> RenderedMessage:
    """The text and HTML of one consolidated reminder, in the customer's language (fallback English),
    from `rules/templates/<template>.<language>.txt` (and `.html` where the layout exists)."""
    env = _environment()
    lang = language if language in SUBJECTS else "en"
    subject_parts = SUBJECTS[lang]
    subject = f"{subject_parts.get(max_level, subject_parts['other'])} ({customer['customer_id']})"
    context = {
        "customer": customer,
        "items": items,
        "totals": totals,
        "max_level": max_level,
        "as_of": as_of.isoformat(),
        "pay_by": pay_by.isoformat(),
        "subject": subject,
    }
    if f"{template}.{lang}.txt" not in env.list_templates():
        lang = "en"
    text = env.get_template(f"{template}.{lang}.txt").render(context)
    html_name = f"{template}.{lang}.html"
    if html_name in env.list_templates():
        html = env.get_template(html_name).render(context)
    else:  # no HTML layout in this language yet: the text, escaped, in a minimal page
        html = env.get_template("plain.html").render({**context, "text": text, "language": lang})
    return RenderedMessage(subject, text, html, lang, level_name)


class Mailer(Protocol):
    def send(self, message: dict[str, Any]) -> str:
        """Deliver one message; return a reference (file path or provider id); raise on failure."""


class FileMailer:
    """Writes each message as an RFC 5322 `.eml` file into the outbox folder."""

    def __init__(self, folder: Path, sender: str) -> None:
        self.folder = folder
        self.sender = sender

    def send(self, message: dict[str, Any]) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.get("recipient") or "undisclosed-recipients:;"
        email["Subject"] = message["subject"]
        email["Date"] = format_datetime(datetime.now(UTC))
        email["Message-ID"] = make_msgid(idstring=message["reminder_id"])
        email["X-O2C-Reminder"] = message["reminder_id"]
        email.set_content(message["body_text"])
        email.add_alternative(message["body_html"], subtype="html")
        target = self.folder / f"{message['reminder_id']}.eml"
        partial = target.with_suffix(".eml.part")
        partial.write_bytes(bytes(email))
        partial.replace(target)  # a crash never leaves half a message in the outbox
        return str(target)


class SendGridMailer:
    """Delivers through SendGrid's Python library; retries 429 and 5xx with backoff."""

    def __init__(self, api_key: str, sender: str, host: str | None = None, attempts: int = 4) -> None:
        from sendgrid import SendGridAPIClient

        self.client = SendGridAPIClient(api_key, host=host) if host else SendGridAPIClient(api_key)
        self.sender = sender
        self.attempts = attempts

    def send(self, message: dict[str, Any]) -> str:
        from python_http_client.exceptions import HTTPError
        from sendgrid.helpers.mail import CustomArg, Mail

        mail = Mail(
            from_email=self.sender,
            to_emails=message["recipient"],
            subject=message["subject"],
            plain_text_content=message["body_text"],
            html_content=message["body_html"],
        )
        mail.custom_arg = CustomArg("reminder_id", message["reminder_id"])
        delay = 1.0
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.client.send(mail)
                return str(response.headers.get("X-Message-Id", message["reminder_id"]))
            except HTTPError as exc:
                status = getattr(exc, "status_code", 0)
                if attempt == self.attempts or not (status == 429 or status >= 500):
                    raise RuntimeError(f"SendGrid answered {status}") from None
                time.sleep(delay)
                delay *= 2
        raise RuntimeError("SendGrid did not accept the message")


def make_mailer(settings: Settings) -> Mailer:
    """The mailer chosen by configuration (`O2C_MAILER=file|sendgrid`)."""
    if settings.mailer == "sendgrid":
        if not settings.sendgrid_api_key:
            raise ValueError("O2C_MAILER=sendgrid needs SENDGRID_API_KEY")
        return SendGridMailer(settings.sendgrid_api_key, settings.mail_from, settings.sendgrid_host)
    if settings.mailer != "file":
        raise ValueError(f"O2C_MAILER must be 'file' or 'sendgrid', not {settings.mailer!r}")
    return FileMailer(settings.outbox, settings.mail_from)

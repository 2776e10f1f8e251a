"""Messages and mailers: rendering reminders, and delivering the outbox.

Rendering is pure (Jinja2 with autoescape on for HTML). Delivery goes through a `Mailer`: the file
outbox (default, one `.eml` per message under `$O2C_HOME/outbox/`) or SendGrid through its Python
library. The outbox is at most once: a message is marked `sending` before the mailer is called and
`sent` after; a message found `sending` after a crash is never re-sent blindly.
"""

from __future__ import annotations

import base64
import http.client
import logging
import time
import urllib.error
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError, select_autoescape

from tasks.platform.config import SHIPPED_TEMPLATES, Settings
from tasks.platform.crash import crash_point
from tasks.platform.policy import PolicyError

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
def template_environment(folder: Path = SHIPPED_TEMPLATES) -> Environment:
    """The Jinja2 templates of `folder` (a run passes its Settings' `templates`), autoescaped for HTML."""
    return Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        auto_reload=False,  # a run's templates do not change under it: no stat of the file per message
    )


def render_reminder(
    *,
    customer: dict[str, Any],
    language: str,
    items: list[dict[str, Any]],
    totals: dict[str, dict[str, Any]],
    max_level: int,
    level_name: str,
    as_of: date,
    pay_by: date,
    template: str = "reminder",
    folder: Path = SHIPPED_TEMPLATES,
) -> RenderedMessage:
    """The text and HTML of one consolidated reminder, in the customer's language (fallback English),
    from `rules/templates/<template>.<language>.txt` (and `.html` where the layout exists)."""
    env = template_environment(folder)
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
    html_name = f"{template}.{lang}.html"
    name = f"{template}.{lang}.txt"
    try:
        text = env.get_template(name).render(context)
        if html_name in env.list_templates():
            name = html_name
            html = env.get_template(html_name).render(context)
        else:  # no HTML layout in this language yet: the text, escaped, in a minimal page
            name = "plain.html"
            html = env.get_template("plain.html").render({**context, "text": text, "language": lang})
    except TemplateError as exc:
        raise PolicyError(f"rules/templates/{name}: {exc.message or type(exc).__name__}") from None
    return RenderedMessage(subject, text, html, lang, level_name)


INVOICE_SUBJECTS = {
    "en": {"invoice": "Invoice {number} from {seller}", "credit_note": "Credit note {number} from {seller}"},
    "de": {"invoice": "Rechnung {number} von {seller}", "credit_note": "Gutschrift {number} von {seller}"},
    "fr": {"invoice": "Facture {number} de {seller}", "credit_note": "Avoir {number} de {seller}"},
}


def render_invoice_mail(
    *, invoice: dict[str, Any], customer: dict[str, Any], seller: str, folder: Path = SHIPPED_TEMPLATES
) -> RenderedMessage:
    """The e-mail that carries one invoice or credit note (its PDF attached at delivery), in the
    customer's language, from `rules/templates/invoice_mail.<language>.txt`; the HTML part is the
    text, escaped, in a minimal page. Amounts arrive in minor units and are printed exactly."""
    import pandas as pd

    from tasks.platform.money import to_major_str

    env = template_environment(folder)
    lang = customer.get("language") if customer.get("language") in INVOICE_SUBJECTS else "en"
    kind = "credit_note" if invoice.get("kind") == "credit_note" else "invoice"
    currency = str(invoice["currency"])
    discount = invoice.get("discount_amount_minor")
    has_discount = discount is not None and not pd.isna(discount) and int(discount) > 0
    subject = INVOICE_SUBJECTS[str(lang)][kind].format(number=invoice["invoice_id"], seller=seller)
    context = {
        "customer": customer,
        "seller": seller,
        "kind": kind,
        "invoice_id": invoice["invoice_id"],
        "issue_date": str(invoice["issue_date"])[:10],
        "due_date": str(invoice["due_date"])[:10],
        "currency": currency,
        "total": to_major_str(abs(int(invoice["amount_minor"])), currency),
        "credit_for": invoice.get("credit_for_invoice") or "",
        "discount": to_major_str(int(discount or 0), currency) if has_discount else "",
        "discount_date": str(invoice.get("discount_date"))[:10] if has_discount else "",
        "subject": subject,
    }
    name = f"invoice_mail.{lang}.txt"
    try:
        text = env.get_template(name).render(context)
        name = "plain.html"
        html = env.get_template(name).render({**context, "text": text, "language": lang})
    except TemplateError as exc:
        raise PolicyError(f"rules/templates/{name}: {exc.message or type(exc).__name__}") from None
    return RenderedMessage(subject, text, html, str(lang), kind)


def render_owner_notice(
    notice: dict[str, Any], *, as_of: date, seller: str, folder: Path = SHIPPED_TEMPLATES
) -> RenderedMessage:
    """The internal e-mail to a customer's account owner when escalation moves the customer into a
    state that says so (`notify_owner`), from `rules/templates/owner_notice.en.txt`."""
    from tasks.platform.money import to_major_str

    currency = str(notice["currency"])
    context = {
        "customer_id": notice["customer_id"],
        "name": notice.get("name") or notice["customer_id"],
        "state": notice["state"],
        "reason": notice["reason"],
        "currency": currency,
        "overdue": to_major_str(int(notice["overdue_amount_minor"]), currency),
        "oldest_days": int(notice["oldest_days_past_due"]),
        "as_of": as_of.isoformat(),
        "seller": seller,
    }
    subject = f"Escalation: {context['name']} ({notice['customer_id']}) is now {notice['state']}"
    return render_plain("owner_notice.en.txt", context, subject, kind=str(notice["state"]), folder=folder)


def render_plain(
    template: str, context: dict[str, Any], subject: str, *, kind: str, folder: Path = SHIPPED_TEMPLATES
) -> RenderedMessage:
    """An internal English e-mail: the text template, and the same text in the escaped HTML page."""
    env = template_environment(folder)
    name = template
    try:
        text = env.get_template(name).render(context)
        name = "plain.html"
        html = env.get_template(name).render({**context, "text": text, "language": "en", "subject": subject})
    except TemplateError as exc:
        raise PolicyError(f"rules/templates/{name}: {exc.message or type(exc).__name__}") from None
    return RenderedMessage(subject, text, html, "en", kind)


class DeliveryRefused(Exception):
    """The provider refused this message for good (a 4xx other than 429, or no recipient): the
    message is marked `failed` with the reason and never tried again."""


class DeliveryRetryable(Exception):
    """The provider did not take the message for a passing reason (a 429 or a 5xx once the mailer's
    own retries are used up): it was not delivered, and a later delivery tries again, a bounded
    number of times (`retrying`, see tasks/platform/outbox.py)."""


class DeliveryInDoubt(Exception):
    """The request went out and no answer came back: the provider may have accepted it. The
    message is marked `unknown` and never sent again automatically (at most once)."""


class DeliveryDeferred(DeliveryRetryable):
    """The message never left (the provider could not be reached): retried by a later delivery like
    any passing failure."""


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
        email["Message-ID"] = make_msgid(idstring=message["message_id"])
        email[f"X-O2C-{message['kind'].capitalize()}"] = message["ref_value"]
        email.set_content(message["body_text"])
        email.add_alternative(message["body_html"], subtype="html")
        for filename, mime, data in message.get("attachments", []):
            maintype, subtype = mime.split("/", 1)
            email.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
        target = self.folder / f"{message['message_id']}.eml"
        partial = target.with_suffix(".eml.part")
        partial.write_bytes(bytes(email))
        partial.replace(target)  # a crash never leaves half a message in the outbox
        return str(target)


class SendGridMailer:
    """Delivers through SendGrid's Python library (v3 mail/send).

    Each message carries the categories `o2c` and its kind (`reminder`, `invoice`) and the custom
    argument `reminder_id` or `invoice_id`, so SendGrid's event webhooks can be tied back to the outbox. A 429 waits as
    SendGrid asks (`Retry-After`, else `X-RateLimit-Reset`, at most `max_wait` seconds); a 5xx or a
    connection that could not be made is retried with exponential backoff; once those attempts are
    used up the failure is `DeliveryRetryable` (`DeliveryDeferred` when SendGrid was never reached),
    for a later delivery to try again. Any other 4xx is `DeliveryRefused`: that message only, for
    good. A request that went out and got no answer within the timeout is never retried
    (`DeliveryInDoubt`): SendGrid may have accepted it, and a customer must not get the same
    reminder twice.
    """

    parallel = True  # one request per message over urllib: several threads may send at once

    def __init__(
        self,
        api_key: str,
        sender: str,
        host: str | None = None,
        *,
        attempts: int = 4,
        timeout: float = 10.0,
        sandbox: bool = False,
        backoff: float = 1.0,
        max_wait: float = 60.0,
        sleep: Any = time.sleep,
    ) -> None:
        from sendgrid import SendGridAPIClient

        # python_http_client logs request headers, the API key among them, at DEBUG: never let it
        logging.getLogger("python_http_client").setLevel(logging.WARNING)
        logging.getLogger("python_http_client.client").setLevel(logging.WARNING)
        self.client = SendGridAPIClient(api_key, host=host) if host else SendGridAPIClient(api_key)
        self.client.client.timeout = timeout
        self.sender, self.attempts, self.sandbox = sender, attempts, sandbox
        self.backoff, self.max_wait, self.sleep = backoff, max_wait, sleep

    def __repr__(self) -> str:  # never print the API key
        return f"SendGridMailer(host={self.client.host!r}, sandbox={self.sandbox})"

    def mail(self, message: dict[str, Any]) -> Any:
        """The SendGrid request body of one outbox message."""
        from sendgrid.helpers.mail import (
            Attachment,
            Category,
            CustomArg,
            Mail,
            MailSettings,
            SandBoxMode,
        )

        mail = Mail(
            from_email=self.sender,
            to_emails=message["recipient"],
            subject=message["subject"],
            plain_text_content=message["body_text"],
            html_content=message["body_html"],
        )
        mail.category = [Category("o2c"), Category(message["kind"])]
        mail.custom_arg = [
            CustomArg(message["ref_name"], message["ref_value"]),
            CustomArg("customer_id", str(message.get("customer_id", ""))),
        ]
        mail.attachment = [
            Attachment(base64.b64encode(data).decode(), filename, mime, "attachment")
            for filename, mime, data in message.get("attachments", [])
        ]
        if self.sandbox:
            mail.mail_settings = MailSettings(sandbox_mode=SandBoxMode(True))
        return mail

    def send(self, message: dict[str, Any]) -> str:
        from python_http_client.exceptions import HTTPError

        if not message.get("recipient"):
            raise DeliveryRefused("the customer has no e-mail address")
        mail = self.mail(message)
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts
            try:
                crash_point("sendgrid: the request is about to go out")
                response = self.client.send(mail)
                crash_point("sendgrid: SendGrid answered, the answer not yet passed on")
                return str(response.headers.get("X-Message-Id") or message["message_id"])
            except HTTPError as exc:
                status = int(getattr(exc, "status_code", 0) or 0)
                passing = status == 429 or status >= 500
                if passing and last:
                    raise DeliveryRetryable(f"SendGrid answered {status}: {_body(exc)}") from None
                if not passing:
                    raise DeliveryRefused(f"SendGrid answered {status}: {_body(exc)}") from None
                self.sleep(self._rate_limit_wait(exc.headers, delay) if status == 429 else delay)
            except urllib.error.URLError as exc:  # the request never reached SendGrid
                if last:
                    raise DeliveryDeferred(f"SendGrid could not be reached: {exc.reason}") from None
                self.sleep(delay)
            except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
                raise DeliveryInDoubt(
                    f"no answer from SendGrid ({type(exc).__name__}); it may have accepted the message"
                ) from None
            delay *= 2
        raise DeliveryRefused("SendGrid did not accept the message")  # pragma: no cover

    def _rate_limit_wait(self, headers: Any, fallback: float) -> float:
        """Seconds SendGrid asks to wait: `Retry-After`, else until `X-RateLimit-Reset` (epoch)."""
        retry_after = headers.get("Retry-After") if headers is not None else None
        reset = headers.get("X-RateLimit-Reset") if headers is not None else None
        try:
            if retry_after:
                wait = float(retry_after)
            elif reset:
                wait = float(reset) - time.time()
            else:
                wait = fallback
        except ValueError:
            wait = fallback
        return min(max(wait, 0.0), self.max_wait)


def _body(exc: Any) -> str:
    body = getattr(exc, "body", b"") or b""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    return text[:300]


def make_mailer(settings: Settings) -> Mailer:
    """The mailer chosen by configuration (`O2C_MAILER=file|sendgrid`). SendGrid's API key comes from
    `SENDGRID_API_KEY`, else from the Prefect Secret block named by `O2C_SENDGRID_SECRET_BLOCK`."""
    if settings.mailer == "sendgrid":
        key = settings.sendgrid_api_key or _secret(settings.sendgrid_secret_block)
        if not key:
            raise ValueError(
                "O2C_MAILER=sendgrid needs SENDGRID_API_KEY or a Prefect Secret block named "
                f"{settings.sendgrid_secret_block!r}"
            )
        return SendGridMailer(
            key,
            settings.mail_from,
            settings.sendgrid_host,
            timeout=settings.sendgrid_timeout_seconds,
            sandbox=settings.sendgrid_sandbox,
        )
    if settings.mailer != "file":
        raise ValueError(f"O2C_MAILER must be 'file' or 'sendgrid', not {settings.mailer!r}")
    return FileMailer(settings.outbox, settings.mail_from)


def _secret(block_name: str) -> str | None:
    """The value of a Prefect Secret block, or None where there is none."""
    try:
        from prefect.blocks.system import Secret

        block: Any = Secret.load(block_name)
        return str(block.get())
    except (ValueError, ImportError):
        return None

"""Mailers: delivering the outbox (the messages are rendered by `tasks/platform/messages.py`).

Delivery goes through a `Mailer`: the file
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
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, Protocol

from tasks.platform.config import Settings
from tasks.platform.crash import crash_point


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

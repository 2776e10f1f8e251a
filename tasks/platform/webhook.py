"""The receiver of SendGrid's event webhook: `o2c webhook` serves `POST /sendgrid/events`.

Each request is verified first (`tasks/platform/mail_events.verify`): unsigned, 401; forged or
altered, 403; not a list of events, 400. Its events are then kept in the ledger in one transaction
(`mail_events`); a ledger held too long by a run answers 503, and SendGrid sends the events again
later (an event sent twice is kept once). Requests are written one at a time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tasks.platform.config import Settings, SettingsError
from tasks.platform.ledger.tables import now
from tasks.platform.mail_events import SIGNATURE, TIMESTAMP, Refused, event_rows, verify

PATH = "/sendgrid/events"
MAX_BODY = 16 * 2**20  # SendGrid posts batches of events; far below this
LOG = logging.getLogger("o2c.webhook")


def make_server(settings: Settings, host: str, port: int) -> ThreadingHTTPServer:
    """The receiver, bound to `host`:`port` (0: any free port), ready to `serve_forever`."""
    key = settings.sendgrid_webhook_key
    if not key:
        raise SettingsError(
            "O2C_SENDGRID_WEBHOOK_KEY is not set: give the verification key of SendGrid's signed event"
            " webhook (Mail Settings, Event Webhook, Signature Verification)"
        )
    writing = threading.Lock()
    handler = _handler(
        lambda body, signature, stamp: _receive(settings, key, writing, body, signature, stamp)
    )
    return ThreadingHTTPServer((host, port), handler)


def _receive(
    settings: Settings,
    key: str,
    writing: threading.Lock,
    body: bytes,
    signature: str | None,
    stamp: str | None,
) -> tuple[int, str]:
    from tasks.platform.ledger import LedgerBusy, StoreConflict, StoreProblem, open_ledger

    try:
        verify(body, signature, stamp, key)
        rows = event_rows(body, now())
        with writing, open_ledger(settings.ledger_path, lock_timeout=5) as ledger:
            new = ledger.record_mail_events(rows)
    except Refused as exc:
        return exc.status, str(exc)
    except (LedgerBusy, StoreConflict, StoreProblem) as exc:
        return 503, f"the ledger cannot take the events now ({type(exc).__name__}): send them again later"
    bounced = sum(1 for r in rows if r["event"] in ("bounce", "dropped", "spamreport"))
    return 200, f"{len(rows)} event(s) received, {new} new, {bounced} bounced, dropped or reported"


def _handler(receive: Callable[[bytes, str | None, str | None], tuple[int, str]]) -> Any:
    class Handler(BaseHTTPRequestHandler):
        server_version = "o2c-webhook"

        def do_POST(self) -> None:  # noqa: N802 (the name http.server calls)
            if self.path.split("?")[0].rstrip("/") != PATH:
                self._answer(404, f"not found: events go to {PATH}")
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._answer(413, "the request is too large")
                return
            body = self.rfile.read(length)
            status, text = receive(body, self.headers.get(SIGNATURE), self.headers.get(TIMESTAMP))
            self._answer(status, text)

        def do_GET(self) -> None:  # noqa: N802
            self._answer(405, f"POST SendGrid's events to {PATH}")

        def _answer(self, status: int, text: str) -> None:
            data = (text + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            LOG.info("%s %s -> %d %s", self.command, self.path, status, text)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
            return  # each answer is logged once, above

    return Handler

"""A local fake of SendGrid's v3 mail/send API, for tests that run the real `sendgrid` library.

It records every request (path, headers, JSON body) and answers each with the next behaviour
queued by the test: `accept` (202 with an `X-Message-Id`), `rate_limit` (429 with `Retry-After`),
`error` (500), `refuse` (400 with SendGrid's error body), or `hang` (reads the request, then
answers nothing for longer than any client waits). With nothing queued it accepts. Behaviours
queued for one recipient (`for_recipient`) answer that recipient's requests first, whatever the order
the messages leave in.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeSendGrid:
    port: int = 0
    requests: list[Recorded] = field(default_factory=list)
    behaviours: list[str] = field(default_factory=list)
    by_recipient: dict[str, list[str]] = field(default_factory=dict)
    retry_after: str = "1"
    hang_seconds: float = 5.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def then(self, *behaviours: str) -> FakeSendGrid:
        self.behaviours.extend(behaviours)
        return self

    def for_recipient(self, address: str, *behaviours: str) -> FakeSendGrid:
        """Answer the next requests to `address` with these behaviours, in turn."""
        self.by_recipient.setdefault(address, []).extend(behaviours)
        return self

    def next_behaviour(self, recipient: str | None = None) -> str:
        with self._lock:
            mine = self.by_recipient.get(recipient or "")
            if mine:
                return mine.pop(0)
            return self.behaviours.pop(0) if self.behaviours else "accept"

    def to(self, address: str) -> list[Recorded]:
        """The requests that were addressed to `address`."""
        return [r for r in self.requests if _recipient(r.body) == address]


def _recipient(body: dict[str, Any]) -> str | None:
    try:
        return str(body["personalizations"][0]["to"][0]["email"])
    except (KeyError, IndexError, TypeError):
        return None


def _handler(fake: FakeSendGrid) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:  # noqa: N802 (the http.server API)
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            with fake._lock:
                fake.requests.append(Recorded(self.path, dict(self.headers.items()), body))
                number = len(fake.requests)
            behaviour = fake.next_behaviour(_recipient(body))
            if behaviour == "hang":
                threading.Event().wait(fake.hang_seconds)
                return
            status, headers, payload = {
                "accept": (202, {"X-Message-Id": f"fake-{number}"}, b""),
                "rate_limit": (
                    429,
                    {"Retry-After": fake.retry_after},
                    b'{"errors":[{"message":"too many requests"}]}',
                ),
                "error": (500, {}, b'{"errors":[{"message":"internal error"}]}'),
                "refuse": (
                    400,
                    {},
                    b'{"errors":[{"message":"The to email does not contain a valid address.","field":"personalizations.0.to.0.email"}]}',
                ),
            }[behaviour]
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@contextmanager
def fake_sendgrid() -> Iterator[FakeSendGrid]:
    """A running fake on a free port of 127.0.0.1, stopped afterwards."""
    fake = FakeSendGrid()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()

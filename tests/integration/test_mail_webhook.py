"""SendGrid's signed event webhook through `o2c webhook`'s receiver over real HTTP: signed events are
kept, unsigned and forged requests refused, and an address that bounced gets no more reminders
while its customer lands on the worklist."""

from __future__ import annotations

import base64
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from flows.escalate import escalate_flow
from flows.remind import remind_flow
from tasks.platform.config import load_settings
from tasks.platform.ledger import open_ledger
from tasks.platform.mail_events import SIGNATURE, TIMESTAMP
from tasks.platform.webhook import PATH, make_server
from tests.integration.test_remind import AS_OF, _prepare

KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC = base64.b64encode(
    KEY.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
).decode()


def signed(body: bytes, stamp: str = "1764000000", key: Any = KEY) -> dict[str, str]:
    signature = key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {SIGNATURE: base64.b64encode(signature).decode(), TIMESTAMP: stamp}


@pytest.fixture
def receiver(home: Path) -> Iterator[str]:
    settings = replace(load_settings(home), sendgrid_webhook_key=PUBLIC)
    server = make_server(settings, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}{PATH}"
    server.shutdown()
    server.server_close()


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


EVENTS = [
    {
        "email": "ap@bold.example",
        "event": "bounce",
        "type": "bounce",
        "status": "5.1.1",
        "reason": "550 5.1.1 user unknown",
        "timestamp": 1763990000,
        "sg_event_id": "ev-1",
        "reminder_id": "R-x",
        "customer_id": "C1",
    },
    {
        "email": "buchhaltung@mueller.example",
        "event": "delivered",
        "timestamp": 1763990001,
        "sg_event_id": "ev-2",
    },
]


def test_signed_events_are_kept_once_and_unsigned_or_forged_ones_refused(
    home: Path, tmp_path: Path, receiver: str
) -> None:
    _prepare(home, tmp_path)
    body = json.dumps(EVENTS).encode()
    assert post(receiver, body, {}) == (
        401,
        f"unsigned: the {SIGNATURE} and {TIMESTAMP} headers are required\n",
    )
    altered = body.replace(b"bounce", b"delivr")
    status, text = post(receiver, altered, signed(body))
    assert status == 403 and "was not signed by SendGrid or was altered" in text
    other_key = ec.generate_private_key(ec.SECP256R1())
    assert post(receiver, body, signed(body, key=other_key))[0] == 403
    assert post(receiver, body, signed(body)) == (
        200,
        "2 event(s) received, 2 new, 1 bounced, dropped or reported\n",
    )
    assert post(receiver, body, signed(body)) == (
        200,
        "2 event(s) received, 0 new, 1 bounced, dropped or reported\n",
    )
    assert post(receiver, b"not json", signed(b"not json"))[0] == 400
    with open_ledger(load_settings(home).ledger_path) as ledger:
        kept = ledger.con.execute(
            "select event_id, kind, message_ref, customer_id, event, reason from mail_events order by event_id"
        ).fetchall()
    assert kept == [
        ("ev-1", "reminder", "R-x", "C1", "bounce", "bounce; 5.1.1; 550 5.1.1 user unknown"),
        ("ev-2", None, None, None, "delivered", None),
    ]


def test_an_address_that_bounced_gets_no_reminder_and_goes_on_the_worklist(
    home: Path, tmp_path: Path, receiver: str
) -> None:
    _prepare(home, tmp_path)
    body = json.dumps(EVENTS[:1]).encode()
    assert post(receiver, body, signed(body))[0] == 200
    summary = remind_flow(as_of=AS_OF, home=str(home))
    assert summary["counts"]["customers_reminded"] == 1  # C2 only: C1's address bounced
    with open_ledger(load_settings(home).ledger_path) as ledger:
        left_out = ledger.con.execute(
            "select customer_id, reason from reminder_exclusions where customer_id = 'C1'"
        ).fetchall()
    assert left_out and all(
        reason == "address bounced (ap@bold.example: bounce: bounce; 5.1.1; 550 5.1.1 user unknown)"
        for _, reason in left_out
    )
    escalate_flow(as_of=AS_OF, home=str(home))
    with open_ledger(load_settings(home).ledger_path) as ledger:
        lines = ledger.con.execute("select customer_id, reason from worklist").fetchall()
    assert [c for c, _ in lines] == ["C1"]
    assert lines[0][1].startswith("address bounced (ap@bold.example: bounce: ")

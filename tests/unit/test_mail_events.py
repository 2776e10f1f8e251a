"""SendGrid's event webhook, read: only what SendGrid signed is read, and its events become rows."""

from __future__ import annotations

import base64
import json
from datetime import datetime

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tasks.platform.mail_events import Refused, event_rows, verify

KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC = base64.b64encode(
    KEY.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
).decode()
BODY = json.dumps(
    [{"email": "a@x.example", "event": "dropped", "reason": "Bounced Address", "timestamp": 1}]
).encode()
STAMP = "1764000000"
SIGNED = base64.b64encode(KEY.sign(STAMP.encode() + BODY, ec.ECDSA(hashes.SHA256()))).decode()


def test_a_signed_body_verifies_and_anything_else_is_refused_with_its_status() -> None:
    verify(BODY, SIGNED, STAMP, PUBLIC)
    cases = [
        (BODY, None, STAMP, 401),
        (BODY, SIGNED, None, 401),
        (BODY + b" ", SIGNED, STAMP, 403),  # altered body
        (BODY, SIGNED, "1764000001", 403),  # altered timestamp
        (BODY, "bm90IGEgc2lnbmF0dXJl", STAMP, 403),  # not a signature at all
    ]
    for body, signature, stamp, status in cases:
        with pytest.raises(Refused) as refused:
            verify(body, signature, stamp, PUBLIC)
        assert refused.value.status == status


def test_events_become_rows_and_a_body_that_is_no_list_of_events_is_refused() -> None:
    now = datetime(2026, 12, 6, 12, 0)
    (row,) = event_rows(BODY, now)
    assert row["event"] == "dropped" and row["reason"] == "Bounced Address" and row["kind"] is None
    assert row["event_id"].startswith("sha256:") and row["occurred_at"] == datetime(1970, 1, 1, 0, 0, 1)
    assert event_rows(BODY, now)[0]["event_id"] == row["event_id"]  # the same event, the same id
    for bad in (b"{}", b"[1]", b'[{"event": "bounce"}]', b"nope"):
        with pytest.raises(Refused) as refused:
            event_rows(bad, now)
        assert refused.value.status == 400

"""A message's rendered body is kept once, in its outbox row: the audit row of the insert carries the
SHA-256 of each body instead of the text; an audit pack written before that compares equal in a
replay."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import date

import pandas as pd
import pytest

from tasks.platform.ledger import Ledger, Publication, memory_ledger
from tasks.report.replay import normalised

AS_OF = date(2026, 11, 20)
HTML = "<p>Dear Müller &amp; Söhne,</p>" + "<tr><td>INV-1</td></tr>" * 200
TEXT = "Dear Müller & Söhne,\n- INV-1\n"


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    with memory_ledger() as opened:
        yield opened


def mail(mail_id: str = "RPT-2026-11-20-ar@example.com") -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "mail_id": mail_id,
                "as_of": AS_OF,
                "recipient": "ar@example.com",
                "subject": "Receivables as of 2026-11-20",
                "body_text": TEXT,
                "body_html": HTML,
                "document": "reports/report-2026-11-20.html",
                "attachment_json": "{}",
                "status": "queued",
            }
        ]
    )


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_the_audit_row_of_a_message_holds_the_digest_of_each_body_not_the_body(ledger: Ledger) -> None:
    ledger.publish(Publication("run-1", "report", AS_OF, inserts={"report_mails": mail()}))
    (after,) = ledger.con.execute("select after from audit_log where entity = 'report_mails'").fetchone()
    audited = json.loads(after)
    assert "body_text" not in audited and "body_html" not in audited
    assert audited["body_text_sha256"] == sha256(TEXT)
    assert audited["body_html_sha256"] == sha256(HTML)
    assert audited["subject"] == "Receivables as of 2026-11-20" and audited["status"] == "queued"
    # the bodies themselves are in the outbox row, as rendered
    assert ledger.con.execute("select body_text, body_html from report_mails").fetchone() == (TEXT, HTML)


def test_a_table_without_bodies_is_audited_whole(ledger: Ledger) -> None:
    customers = pd.DataFrame(
        [
            {
                "customer_id": "C1",
                "name": "Müller & Söhne",
                "currency": "EUR",
                "payment_terms_days": 30,
                "dunning_profile": "standard",
                "language": "de",
                "batch_id": "B1",
            }
        ]
    )
    ledger.publish(Publication("run-1", "ingest", AS_OF, inserts={"customers": customers}))
    (after,) = ledger.con.execute("select after from audit_log where entity = 'customers'").fetchone()
    assert json.loads(after)["name"] == "Müller & Söhne"


def test_a_change_written_with_the_bodies_compares_equal_to_one_written_with_their_digests(
    ledger: Ledger,
) -> None:
    ledger.publish(Publication("run-1", "report", AS_OF, inserts={"report_mails": mail()}))
    (after,) = ledger.con.execute("select after from audit_log where entity = 'report_mails'").fetchone()
    digested = json.loads(after)
    whole = {k: v for k, v in digested.items() if not k.endswith("_sha256")} | {
        "body_text": TEXT,
        "body_html": HTML,
    }
    change = {"entity": "report_mails", "key": "RPT-2026-11-20-ar@example.com", "action": "insert"}
    assert normalised(change | {"after": json.dumps(whole)}) == normalised(change | {"after": after})
    altered = whole | {"body_html": HTML + "<p>changed</p>"}
    assert normalised(change | {"after": json.dumps(altered)}) != normalised(change | {"after": after})

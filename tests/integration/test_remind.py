"""The remind stage through Prefect: consolidated messages, the file outbox, at most once."""

from __future__ import annotations

from datetime import date
from email import message_from_bytes as _parse
from email import policy
from pathlib import Path
from typing import Any

import pandas as pd
from typer.testing import CliRunner

from cli import app
from flows.remind import remind_flow
from tasks.platform.config import load_settings
from tasks.platform.ledger import open_ledger
from tasks.platform.outbox import deliver_pending
from tests.integration.ledger_builder import load


def message_from_bytes(data: bytes) -> Any:
    return _parse(data, policy=policy.default)


AS_OF = date(2026, 11, 20)
CUSTOMERS = """
C1,<b>Bold</b> & Co,ap@bold.example,GB,GBP,30,,,standard,en,
C2,Müller GmbH,buchhaltung@mueller.example,DE,EUR,30,,,standard,de,
C3,Paid Up SARL,compta@paidup.example,FR,EUR,30,,,standard,fr,
"""
# C1: one invoice 10 days past due (level 1), one 25 days past due (level 2): one message, at the
# second reminder, since the standard profile's first contact goes by age.
# C2: one invoice due in 2 days: a courtesy note. C3: paid in full: nothing.
INVOICES = """
A-1,C1,2026-10-11,2026-11-10,GBP,100.00,
A-2,C1,2026-09-26,2026-10-26,GBP,250.50,
B-1,C2,2026-10-23,2026-11-22,EUR,80.00,
C-1,C3,2026-09-01,2026-10-01,EUR,40.00,
"""
PAYMENTS = """
P-1,2026-10-05,40.00,EUR,Paid Up,,C-1
"""


def _prepare(home: Path, tmp_path: Path) -> None:
    load(home, tmp_path / "in", AS_OF, customers=CUSTOMERS, invoices=INVOICES, payments=PAYMENTS)
    runner = CliRunner()
    result = runner.invoke(app, ["run", "reconcile", "--as-of", AS_OF.isoformat(), "--home", str(home)])
    assert result.exit_code == 0, result.output


def test_one_consolidated_message_per_customer_in_the_outbox(home: Path, tmp_path: Path) -> None:
    _prepare(home, tmp_path)
    summary = remind_flow(as_of=AS_OF, home=str(home))
    assert summary["counts"]["customers_reminded"] == 2
    assert summary["delivery"] == {"sent": 2, "failed": 0, "retrying": 0, "unknown": 0, "held": 0}
    with open_ledger(load_settings(home).ledger_path) as ledger:
        reminders = ledger.table("reminders").set_index("customer_id")
    assert reminders.loc["C1", "invoice_ids"] == "A-1;A-2"
    assert reminders.loc["C1", "level"] == 2
    assert reminders.loc["C2", "level_name"] == "courtesy"
    assert "C3" not in reminders.index
    assert set(reminders["status"]) == {"sent"}
    eml = Path(reminders.loc["C1", "delivered_ref"])
    message = message_from_bytes(eml.read_bytes())
    assert message["To"] == "ap@bold.example"
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in html and "<b>Bold</b>" not in html
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Open amount: £350.50" in text and "25 days overdue" in text
    assert "Despite our reminder" in text  # the second rung's words
    german = message_from_bytes(Path(reminders.loc["C2", "delivered_ref"]).read_bytes())
    assert "bald fällig" in german.get_body(preferencelist=("plain",)).get_content()


def test_never_twice_and_dry_run_writes_nothing(home: Path, tmp_path: Path) -> None:
    _prepare(home, tmp_path)
    remind_flow(as_of=AS_OF, home=str(home))
    again = remind_flow(as_of=AS_OF, home=str(home))
    assert again["counts"]["customers_reminded"] == 0
    outbox = sorted((home / "outbox").glob("*.eml"))
    assert len(outbox) == 2
    # Fifteen days later A-2 reaches level 3 and B-1 level 1: C1 climbs one rung, C2 (a courtesy
    # note was its first contact) starts at the first; the dry run shows it and writes nothing.
    runner = CliRunner()
    result = runner.invoke(app, ["run", "remind", "--dry-run", "--as-of", "2026-12-05", "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert (
        "would remind C1 at final_notice (second_reminder -> final_notice): A-1;A-2  total 362.70 GBP"
        in result.output
    )
    assert (
        "would remind C2 at first_reminder (courtesy -> first_reminder): B-1  total 80.00 EUR"
        in result.output
    )
    assert "by level: final_notice 1, first_reminder 1" in result.output
    with open_ledger(load_settings(home).ledger_path) as ledger:
        assert len(ledger.table("reminders")) == 2
    assert sorted((home / "outbox").glob("*.eml")) == outbox


class FailingFor:
    """A mailer that refuses one recipient, the way a provider answers 400 for a bad address."""

    def __init__(self, refused: str, delivered: list[str]) -> None:
        self.refused, self.delivered = refused, delivered

    def send(self, message: dict[str, Any]) -> str:
        if message["recipient"] == self.refused:
            raise RuntimeError("400 invalid recipient")
        self.delivered.append(message["reminder_id"])
        return "accepted"


def test_a_message_in_doubt_is_not_resent_and_one_failure_does_not_stop_the_rest(
    home: Path, tmp_path: Path
) -> None:
    _prepare(home, tmp_path)
    remind_flow(as_of=AS_OF, dry_run=False, home=str(home))
    settings = load_settings(home)
    with open_ledger(settings.ledger_path) as ledger:
        ids = ledger.table("reminders").set_index("customer_id")["reminder_id"]
        # As if a crash happened after C1's message was handed over: left 'sending'; C2's queued again.
        ledger.set_reminder_status(ids["C1"], "sending", None, None, "test")
        ledger.set_reminder_status(ids["C2"], "queued", None, None, "test")
    delivered: list[str] = []
    counts = deliver_pending(settings, FailingFor("buchhaltung@mueller.example", delivered), "test-run")
    assert counts == {"sent": 0, "failed": 1, "retrying": 0, "unknown": 1, "held": 0}
    assert delivered == []
    with open_ledger(settings.ledger_path) as ledger:
        status = ledger.table("reminders").set_index("customer_id")
        audit = ledger.con.execute(
            "select count(*) from audit_log where entity = 'reminders' and action = 'status'"
        ).fetchone()
    assert status.loc["C1", "status"] == "unknown"
    assert status.loc["C2", "status"] == "failed" and "400" in status.loc["C2", "status_reason"]
    assert audit[0] >= 6


def test_export_reminders(home: Path, tmp_path: Path) -> None:
    _prepare(home, tmp_path)
    remind_flow(as_of=AS_OF, home=str(home))
    out = tmp_path / "reminders.csv"
    result = CliRunner().invoke(app, ["export", "reminders", "--out", str(out), "--home", str(home)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out, dtype=str)
    assert list(frame.columns[:5]) == ["customer_id", "level", "invoice_ids", "status", "run_id"]
    assert frame["run_id"].str.len().min() == 36


def _pdf_text(data: bytes) -> str:
    import io

    from pypdf import PdfReader

    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).replace("\xa0", " ")


def test_a_level_that_says_so_attaches_the_statement_of_account_as_a_pdf(home: Path, tmp_path: Path) -> None:
    """C1's first contact is at the second reminder, whose level attaches the statement: the e-mail
    carries it as a PDF (and the CSV), listing the open items and the balance in C1's language."""
    _prepare(home, tmp_path)
    remind_flow(as_of=AS_OF, home=str(home))
    with open_ledger(load_settings(home).ledger_path) as ledger:
        reminders = ledger.table("reminders").set_index("customer_id")
    message = message_from_bytes(Path(reminders.loc["C1", "delivered_ref"]).read_bytes())
    attached = {a.get_filename(): a for a in message.iter_attachments()}
    assert set(attached) == {"statement-C1.csv", "statement-C1.pdf"}
    csv_text = attached["statement-C1.csv"].get_content()
    csv_text = csv_text.decode() if isinstance(csv_text, bytes) else csv_text
    assert f"{reminders.loc['C1', 'reminder_id']}-FEE-GBP,2026-11-20,2026-11-30,GBP,5.00" in csv_text
    text = _pdf_text(attached["statement-C1.pdf"].get_content())
    fee = f"{reminders.loc['C1', 'reminder_id']}-FEE-GBP"  # the second reminder's fee, booked with it
    for phrase in ("Statement of account", "As of 20 Nov 2026", "A-1", "A-2", fee, "Balance due £355.50"):
        assert phrase in text, phrase
    assert "C2" not in attached and "statement" not in str(
        [
            a.get_filename()
            for a in message_from_bytes(
                Path(reminders.loc["C2", "delivered_ref"]).read_bytes()
            ).iter_attachments()
        ]
    )


def test_a_statement_on_request_lists_payments_and_the_balance(home: Path, tmp_path: Path) -> None:
    _prepare(home, tmp_path)
    out = tmp_path / "C3.pdf"
    result = CliRunner().invoke(
        app, ["statement", "C3", "--as-of", AS_OF.isoformat(), "--out", str(out), "--home", str(home)]
    )
    assert result.exit_code == 0, result.output
    assert (
        result.output.strip()
        == f"statement of C3 as of 2026-11-20: {out} (0 open items; balance due nothing open)"
    )
    text = _pdf_text(out.read_bytes())
    assert "Relevé de compte" in text and "Paiements reçus ces 90 derniers jours" in text
    assert "5 oct. 2025" not in text and "5 oct. 2026" in text and "40,00 €" in text and "C-1" in text
    unknown = CliRunner().invoke(app, ["statement", "NOPE", "--out", str(out), "--home", str(home)])
    assert unknown.exit_code == 2 and "no customer 'NOPE' in the customer master" in unknown.output

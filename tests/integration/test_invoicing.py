"""The invoice stage through Prefect: a return billed as a credit note against its invoice, the
open amounts that follow, the documents, and the completeness control."""

from __future__ import annotations

import email
import email.policy
import io
import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from cli import app
from flows.ingest import ingest_flow
from flows.invoice import invoice_flow
from tasks.platform.config import load_settings
from tasks.platform.ledger import open_ledger

AS_OF = date(2026, 11, 20)
FILES = {
    "customers.csv": """customer_id,name,email,country,currency,payment_terms_days,language,payment_terms
K1,Kunde GmbH,ap@kunde.example,DE,EUR,30,de,2% 10 net 30
""",
    "orders.csv": """order_id,customer_id,order_date,currency,status,fulfilled_date,credit_for
SO-1,K1,2026-11-01,EUR,fulfilled,2026-11-02,
RET-1,K1,2026-11-10,EUR,fulfilled,2026-11-12,SO-1
""",
    "order_lines.csv": """order_id,line_no,sku,description,quantity,unit_price,tax_rate
SO-1,1,A-1,Widget,4,25.00,0.19
SO-1,2,B-2,Gadget,1,50.00,0.19
RET-1,1,A-1,Widget returned,-1,25.00,0.19
""",
}


def test_a_return_is_credited_against_its_invoice_with_documents_for_both(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text)
    loaded = ingest_flow(paths=[str(folder / n) for n in FILES], as_of=AS_OF, home=str(home))
    assert [r["outcome"] for r in loaded] == ["completed"] * 3
    summary = invoice_flow(as_of=AS_OF, home=str(home))
    assert summary["counts"]["orders_billed"] == 1 and summary["counts"]["credit_notes"] == 1
    out = tmp_path / "invoices.csv"
    assert (
        CliRunner().invoke(app, ["export", "invoices", "--out", str(out), "--home", str(home)]).exit_code == 0
    )
    invoices = pd.read_csv(out, dtype=str).set_index("invoice_id")
    assert invoices.loc["O2C-2026-000001", ["total", "open", "discount_amount"]].tolist() == [
        "178.50",
        "148.75",
        "3.57",
    ]
    assert invoices.loc["O2C-CN-2026-000001", ["total", "open", "origin"]].tolist() == [
        "-29.75",
        "0.00",
        "billed",
    ]
    text = "".join(p.extract_text() for p in PdfReader(home / "documents" / "O2C-CN-2026-000001.pdf").pages)
    text = text.replace("\xa0", " ")
    assert "Gutschrift O2C-CN-2026-000001" in text and "Gutschrift zur Rechnung O2C-2026-000001;" in text
    assert "Gutschriftsbetrag -29,75 €" in text and "IBAN" not in text
    again = invoice_flow(as_of=AS_OF, home=str(home))
    assert again["counts"]["orders_billed"] == 0 and again["counts"]["credit_notes"] == 0
    assert again["documents"] == {"documents_written": 0, "documents_already_there": 2, "einvoices": 0}
    assert again["delivery"]["sent"] == 0  # each invoice is e-mailed once


def test_each_invoice_is_e_mailed_once_with_its_pdf_attached(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text)
    ingest_flow(paths=[str(folder / n) for n in FILES], as_of=AS_OF, home=str(home))
    summary = invoice_flow(as_of=AS_OF, home=str(home))
    assert summary["counts"]["emails_queued"] == 2 and summary["delivery"]["sent"] == 2
    mail = email.message_from_bytes(
        (home / "outbox" / "MAIL-O2C-2026-000001.eml").read_bytes(), policy=email.policy.default
    )
    assert mail["To"] == "ap@kunde.example"
    assert mail["Subject"] == "Rechnung O2C-2026-000001 von Example Trading Ltd"
    assert mail["X-O2C-Invoice"] == "O2C-2026-000001"
    body = mail.get_body(("plain",)).get_content()
    assert "Rechnung O2C-2026-000001 vom 20.11.2026 über 178,50\xa0€, fällig am 20.12.2026" in body
    assert "Bei Zahlung bis zum 30.11.2026 dürfen Sie 3,57\xa0€ Skonto abziehen." in body
    assert "IBAN GB33 BUKB 2020 1555 5555 55 (BIC BUKBGB22)" in body  # the default entity's account
    assert "Verwendungszwecks RF70O2C2026000001." in body
    (attachment,) = list(mail.iter_attachments())
    assert (
        attachment.get_filename() == "O2C-2026-000001.pdf"
        and attachment.get_content_type() == "application/pdf"
    )
    pdf = attachment.get_content()
    assert pdf == (home / "documents" / "O2C-2026-000001.pdf").read_bytes()
    assert "Rechnungsnummer" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    credit = email.message_from_bytes(
        (home / "outbox" / "MAIL-O2C-CN-2026-000001.eml").read_bytes(), policy=email.policy.default
    )
    assert credit["Subject"] == "Gutschrift O2C-CN-2026-000001 von Example Trading Ltd"
    assert (
        "Gutschrift O2C-CN-2026-000001 vom 20.11.2026 über 29,75\xa0€ zur Rechnung O2C-2026-000001."
        in credit.get_body(("plain",)).get_content()
    )


def test_an_invoice_whose_document_a_stopped_run_never_wrote_gets_it_on_the_next_run(
    home: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text)
    ingest_flow(paths=[str(folder / n) for n in FILES], as_of=AS_OF, home=str(home))
    invoice_flow(as_of=AS_OF, home=str(home))
    # As if the run had stopped after billing: the e-mail still queued, the PDF never written.
    (home / "documents" / "O2C-2026-000001.pdf").unlink()
    with open_ledger(load_settings(home).ledger_path) as ledger, ledger.transaction("test: queued"):
        ledger.con.execute("update invoice_mails set status = 'queued' where invoice_id = 'O2C-2026-000001'")
    again = invoice_flow(as_of=AS_OF, home=str(home))
    assert again["documents"] == {"documents_written": 1, "documents_already_there": 1, "einvoices": 1}
    assert again["delivery"]["sent"] == 1
    assert (home / "documents" / "O2C-2026-000001.pdf").read_bytes().startswith(b"%PDF")


def test_no_e_mail_address_means_no_e_mail_and_says_so(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text.replace("ap@kunde.example", ""))
    ingest_flow(paths=[str(folder / n) for n in FILES], as_of=AS_OF, home=str(home))
    summary = invoice_flow(as_of=AS_OF, home=str(home))
    assert summary["counts"]["emails_queued"] == 0 and summary["counts"]["invoices_without_email"] == 2
    assert not (home / "outbox").exists() or not list((home / "outbox").iterdir())


SUBSCRIPTIONS = """subscription_id,customer_id,plan,amount,tax_rate,currency,interval,start_date,end_date
S-1,K1,Support plan,100.00,0.19,EUR,monthly,2026-08-31,
S-2,K1,Hosting,300.00,0.19,EUR,quarterly,2026-10-01,2026-10-31
S-3,K9,Nobody,1.00,0.19,EUR,monthly,2026-08-01,
"""


def test_subscriptions_bill_in_advance_and_a_late_run_catches_up_once(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "customers.csv").write_text(FILES["customers.csv"])
    (folder / "subscriptions.csv").write_text(SUBSCRIPTIONS)
    loaded = ingest_flow(
        paths=[str(folder / "customers.csv"), str(folder / "subscriptions.csv")], as_of=AS_OF, home=str(home)
    )
    assert [r["counts"]["rows_quarantined"] for r in loaded] == [0, 1]  # S-3: unknown customer
    first = invoice_flow(as_of=date(2026, 9, 15), home=str(home))
    assert first["counts"]["subscription_periods_billed"] == 1  # S-1 from 31 August
    late = invoice_flow(as_of=AS_OF, home=str(home))  # no run in October: catch up once
    assert late["counts"]["subscription_periods_billed"] == 3  # S-1: 30 Sep, 31 Oct; S-2: 1 Oct
    assert invoice_flow(as_of=AS_OF, home=str(home))["counts"]["subscription_periods_billed"] == 0
    out = tmp_path / "lines.csv"
    assert (
        CliRunner().invoke(app, ["export", "invoice-lines", "--out", str(out), "--home", str(home)]).exit_code
        == 0
    )
    lines = pd.read_csv(out, dtype=str)
    assert sorted(lines["description"]) == [
        "Hosting 2026-10-01 to 2026-12-31",
        "Support plan 2026-08-31 to 2026-09-29",
        "Support plan 2026-09-30 to 2026-10-30",
        "Support plan 2026-10-31 to 2026-11-29",
    ]
    assert set(lines["total"]) == {"119.00", "357.00"}
    assert sorted(lines["invoice_id"]) == [f"O2C-2026-{n:06d}" for n in range(1, 5)]  # one series, no gaps


def test_an_invoice_in_instalments_is_exported_part_by_part(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    files = dict(FILES)
    files["customers.csv"] = files["customers.csv"].replace(
        "2% 10 net 30", '"net 30, 2 instalments every 30 days"'
    )
    files["orders.csv"] = "\n".join(files["orders.csv"].splitlines()[:2]) + "\n"
    files["order_lines.csv"] = "\n".join(files["order_lines.csv"].splitlines()[:3]) + "\n"
    for name, text in files.items():
        (folder / name).write_text(text)
    ingest_flow(paths=[str(folder / n) for n in files], as_of=AS_OF, home=str(home))
    invoice_flow(as_of=AS_OF, home=str(home))
    out = tmp_path / "instalments.csv"
    assert (
        CliRunner().invoke(app, ["export", "instalments", "--out", str(out), "--home", str(home)]).exit_code
        == 0
    )
    parts = pd.read_csv(out, dtype=str)
    assert parts[["instalment", "due_date", "amount"]].values.tolist() == [
        ["1", "2026-12-20", "89.25"],
        ["2", "2027-01-19", "89.25"],
    ]
    # Ageing goes part by part: cash covers part 1 first, and a part not yet due is not overdue.
    payment = folder / "payments.csv"
    payment.write_text(
        "payment_id,value_date,amount,currency,payer_name,payer_account,reference\n"
        "P-1,2026-12-25,100.00,EUR,Kunde GmbH,,O2C-2026-000001\n"
    )
    ingest_flow(paths=[str(payment)], as_of=date(2026, 12, 25), home=str(home))
    runner = CliRunner()
    applied = runner.invoke(
        app,
        [
            "apply",
            "--payment",
            "P-1",
            "--invoice",
            "O2C-2026-000001",
            "--amount",
            "100.00",
            "--by",
            "ar",
            "--home",
            str(home),
        ],
    )
    assert applied.exit_code == 0, applied.output

    def ageing(day: str) -> dict[str, str]:
        result = runner.invoke(app, ["report", "--as-of", day, "--json", "--home", str(home)])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)["currencies"]["EUR"]

    before = ageing("2026-12-22")  # part 1 two days late, part 2 not due, nothing paid yet
    assert (before["open_amount"], before["ageing"]["1-30"], before["ageing"]["not_due"]) == (
        "178.50",
        "89.25",
        "89.25",
    )
    assert before["open_invoices"] == 1
    after = ageing("2027-01-25")  # 100.00 paid: part 1 settled, 78.50 of part 2 six days late
    assert (after["open_amount"], after["ageing"]["1-30"], after["ageing"]["not_due"]) == (
        "78.50",
        "78.50",
        "0.00",
    )


def test_a_legal_entity_bills_in_its_series_under_its_own_name(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("O2C_SELLER_NAMES", "DE01=Beispiel Handel GmbH")
    folder = tmp_path / "in"
    folder.mkdir()
    files = dict(FILES)
    files["customers.csv"] = files["customers.csv"].replace(
        ",payment_terms\n", ",payment_terms,legal_entity\n"
    )
    files["customers.csv"] = files["customers.csv"].replace("2% 10 net 30\n", "2% 10 net 30,DE01\n")
    for name, text in files.items():
        (folder / name).write_text(text)
    ingest_flow(paths=[str(folder / n) for n in files], as_of=AS_OF, home=str(home))
    invoice_flow(as_of=AS_OF, home=str(home))
    text = "".join(p.extract_text() for p in PdfReader(home / "documents" / "DE01-2026-000001.pdf").pages)
    assert "Beispiel Handel GmbH" in text
    assert (home / "documents" / "DE01-CN-2026-000001.pdf").exists()
    mail = email.message_from_bytes(
        (home / "outbox" / "MAIL-DE01-2026-000001.eml").read_bytes(), policy=email.policy.default
    )
    assert mail["Subject"] == "Rechnung DE01-2026-000001 von Beispiel Handel GmbH"


def test_a_run_that_fails_while_booking_leaves_no_gap_in_the_numbers(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks.platform.ledger import Ledger

    folder = tmp_path / "in"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text)
    ingest_flow(paths=[str(folder / n) for n in FILES], as_of=AS_OF, home=str(home))
    real_insert = Ledger._insert_new

    def fail_on_sequences(self: Ledger, table: str, *args: object, **kwargs: object) -> int:
        if table == "invoice_sequences":  # after the invoices and their lines are written
            raise OSError("disk full")
        return real_insert(self, table, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Ledger, "_insert_new", fail_on_sequences)
    state = invoice_flow(as_of=AS_OF, home=str(home), return_state=True)
    assert state.is_failed()
    with open_ledger(load_settings(home).ledger_path) as ledger:
        for table in ("invoices", "invoice_lines", "invoice_mails", "invoice_adjustments"):
            assert ledger.table(table).empty, table  # the whole booking rolled back
        assert ledger.query("invoice/sequences").empty
    assert not (home / "documents").exists() or not list((home / "documents").iterdir())
    monkeypatch.setattr(Ledger, "_insert_new", real_insert)
    summary = invoice_flow(as_of=AS_OF, home=str(home))
    assert summary["counts"]["orders_billed"] == 1
    with open_ledger(load_settings(home).ledger_path) as ledger:
        assert sorted(ledger.table("invoices")["invoice_id"]) == ["O2C-2026-000001", "O2C-CN-2026-000001"]
        assert sorted(
            map(tuple, ledger.query("invoice/sequences")[["series", "year", "last_number"]].values.tolist())
        ) == [
            ("O2C", 2026, 1),
            ("O2C-CN", 2026, 1),
        ]


def test_a_public_buyer_gets_xrechnung_and_one_without_its_leitweg_id_is_not_billed(
    home: Path, tmp_path: Path
) -> None:
    """Every invoice PDF is Factur-X; a customer whose master asks for XRechnung gets the XML by
    e-mail with the PDF beside it; one whose Leitweg-ID is missing is refused before numbering."""
    from facturx import get_xml_from_pdf

    folder = tmp_path / "in"
    folder.mkdir()
    files = {
        "customers.csv": "customer_id,name,email,country,currency,payment_terms_days,language,einvoice,"
        "buyer_reference,address,postcode,city\n"
        "B1,Bundesamt für Beispiele,rechnung@bund.example,DE,EUR,30,de,xrechnung,991-12345-67,"
        "Amtsweg 1,53113,Bonn\n"
        "B2,Landesamt ohne Leitweg,rechnung@land.example,DE,EUR,30,de,xrechnung,,,,\n",
        "orders.csv": "order_id,customer_id,order_date,currency,status,fulfilled_date\n"
        "SO-1,B1,2026-11-01,EUR,fulfilled,2026-11-02\nSO-2,B2,2026-11-01,EUR,fulfilled,2026-11-02\n",
        "order_lines.csv": "order_id,line_no,sku,description,quantity,unit_price,tax_rate\n"
        "SO-1,1,A-1,Widget,4,25.00,0.19\nSO-2,1,A-1,Widget,1,25.00,0.19\n",
    }
    for name, text in files.items():
        (folder / name).write_text(text)
    ingest_flow(paths=[str(folder / n) for n in files], as_of=AS_OF, home=str(home))
    summary = invoice_flow(as_of=AS_OF, home=str(home))
    assert summary["counts"]["orders_billed"] == 1 and summary["counts"]["orders_skipped"] == 1
    assert summary["documents"]["einvoices"] == 1
    with open_ledger(load_settings(home).ledger_path) as ledger:
        numbers = ledger.con.execute("select invoice_id, customer_id from invoices").fetchall()
    assert numbers == [("O2C-2026-000001", "B1")]  # B2's order spent no number
    documents = home / "documents"
    xml = (documents / "O2C-2026-000001.xml").read_bytes()
    assert b"urn:xeinkauf.de:kosit:xrechnung_3.0" in xml and b"991-12345-67" in xml
    name, embedded = get_xml_from_pdf((documents / "O2C-2026-000001.pdf").read_bytes(), check_xsd=True)
    assert name == "factur-x.xml" and b"urn:cen.eu:en16931:2017</ram:ID>" in embedded
    mail = email.message_from_bytes(
        (home / "outbox" / "MAIL-O2C-2026-000001.eml").read_bytes(), policy=email.policy.default
    )
    attached = {a.get_filename(): a.get_content_type() for a in mail.iter_attachments()}
    assert attached == {"O2C-2026-000001.xml": "application/xml", "O2C-2026-000001.pdf": "application/pdf"}

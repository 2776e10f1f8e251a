"""What customers see, drawn and kept for a person to look at: each language's invoice (Factur-X),
a reminder's HTML in Chromium and a statement of account, as images in `test-artifacts/documents/`.
The test fails when a page comes out blank or a renderer is missing."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from tasks.invoice.documents import document, render_pdf, with_einvoice
from tasks.invoice.einvoice import embed
from tasks.platform.config import Settings
from tasks.platform.messages import render_reminder
from tasks.platform.sellers import buyer_party
from tasks.remind.statement import Statement, statement_pdf
from tests.integration.test_report_page import FLAGS, chromium

OUT = Path(__file__).resolve().parents[2] / "test-artifacts" / "documents"
SETTINGS = Settings(home=Path("/nonexistent"))
INVOICE = {
    "invoice_id": "DE01-2026-000042",
    "customer_id": "K1",
    "order_id": "SO-7",
    "issue_date": date(2026, 11, 20),
    "due_date": date(2026, 12, 20),
    "delivery_date": date(2026, 11, 18),
    "currency": "EUR",
    "net_minor": 1_290_00,
    "tax_minor": 241_40,
    "amount_minor": 1_531_40,
    "discount_date": date(2026, 11, 30),
    "discount_amount_minor": 30_63,
}
LINES = [
    {"line_no": 1, "sku": "GL-100", "description": "Nitrile gloves, box of 100, powder-free, size L, blue,"
     " certified EN 455 for medical use", "quantity": 40, "unit_price_minor": 12_50, "tax_rate_ppm": 190_000,
     "net_minor": 500_00, "tax_minor": 95_00},
    {"line_no": 2, "sku": "DS-5", "description": "Desinfektionsmittel 5 l", "quantity": 10, "unit_price_minor": 59_00,
     "tax_rate_ppm": 190_000, "net_minor": 590_00, "tax_minor": 112_10},
    {"line_no": 3, "sku": "BK-1", "description": "Fachbuch Hygiene", "quantity": 4, "unit_price_minor": 50_00,
     "tax_rate_ppm": 70_000, "net_minor": 200_00, "tax_minor": 14_00},
]  # fmt: skip
CUSTOMER = {
    "name": "Müller & Söhne GmbH",
    "address": "Hauptstraße 5",
    "postcode": "80331",
    "city": "München",
    "country": "DE",
    "vat_id": "DE136695976",
    "email": "ap@mueller.example",
}


def _pages(pdf: Path, prefix: str) -> list[Path]:
    if not shutil.which("pdftoppm"):
        pytest.fail(
            "poppler's pdftoppm is needed to draw the PDFs: apt-get install poppler-utils (.ci/run does)"
        )
    subprocess.run(["pdftoppm", "-r", "70", "-png", str(pdf), str(OUT / prefix)], check=True, timeout=120)
    return sorted(OUT.glob(f"{prefix}*.png"))


def _drawn(image: Path) -> None:
    with Image.open(image) as shot:
        colours = shot.convert("RGB").getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 10, f"{image.name} is blank"


@pytest.mark.parametrize("language", ["de", "fr", "en"])
def test_each_languages_invoice_is_drawn(language: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    seller = SETTINGS.seller("DE01")
    customer = {**CUSTOMER, "language": language}
    doc = with_einvoice(document(INVOICE, LINES, customer, seller), INVOICE, LINES, customer, seller)
    assert doc.cii_xml, doc.without_einvoice
    pdf = OUT / f"invoice-{language}.pdf"
    pdf.write_bytes(
        embed(render_pdf(doc), doc.cii_xml, language=language, title=doc.title, author=seller.name)
    )
    for page in _pages(pdf, f"invoice-{language}"):
        _drawn(page)


def test_a_reminder_and_a_statement_are_drawn() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    seller = SETTINGS.seller("DE01")
    items = [
        {"invoice_id": "DE01-2026-000012", "issue_date": "01.09.2026", "due_date": "01.10.2026", "days_past_due": 50,
         "open_amount": "590,00\xa0€", "currency": "EUR", "level_name": "second_reminder", "interest": "0,00\xa0€",
         "has_interest": False},
    ]  # fmt: skip
    totals = {"EUR": {"open": "590,00\xa0€", "interest": "0,00\xa0€", "fee": "5,00\xa0€", "total": "595,00\xa0€",
                      "has_interest": False, "has_fee": True, "pay_link": "https://pay.example.com/x"}}  # fmt: skip
    message = render_reminder(
        customer={"customer_id": "K1", "name": CUSTOMER["name"]},
        language="de",
        items=items,
        totals=totals,
        max_level=2,
        level_name="second_reminder",
        as_of=date(2026, 11, 20),
        pay_by=date(2026, 11, 30),
        seller=seller,
        reference="RF73DE012026000012",
    )
    page = OUT / "reminder-de.html"
    page.write_text(message.html, encoding="utf-8")
    shot = OUT / "reminder-de.png"
    subprocess.run(
        [chromium(), *FLAGS, "--window-size=720,1100", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    _drawn(shot)
    statement = Statement(
        customer_id="K1",
        customer=buyer_party(CUSTOMER),
        language="de",
        seller=seller,
        as_of=date(2026, 11, 20),
        items=[{"invoice_id": "DE01-2026-000012", "issue_date": date(2026, 9, 1), "due_date": date(2026, 10, 1),
                "currency": "EUR", "amount_minor": 1_190_00, "open_minor": 590_00}],
        payments=[{"value_date": date(2026, 10, 15), "currency": "EUR", "reference": "RF73DE012026000012",
                   "applied_minor": 600_00, "invoices": "DE01-2026-000012"}],
        unapplied={"EUR": 50_00},
    )  # fmt: skip
    pdf = OUT / "statement-de.pdf"
    pdf.write_bytes(statement_pdf(statement))
    for image in _pages(pdf, "statement-de"):
        _drawn(image)

"""Invoice documents: HTML and PDF in the customer's language, exact amounts, escaped names."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PdfReader

from tasks.invoice.documents import document, render_html, render_pdf

INVOICE = {
    "invoice_id": "O2C-2026-000042",
    "customer_id": "C1",
    "order_id": "SO-7",
    "issue_date": date(2026, 3, 31),
    "due_date": date(2026, 4, 30),
    "currency": "EUR",
    "net_minor": 150_00,
    "tax_minor": 28_50,
    "amount_minor": 178_50,
    "discount_date": date(2026, 4, 10),
    "discount_amount_minor": 3_57,
}
LINES = [
    {
        "line_no": 2,
        "sku": "B-2",
        "description": "Ölfilter",
        "quantity": 1,
        "unit_price_minor": 50_00,
        "tax_rate_ppm": 190_000,
        "net_minor": 50_00,
        "tax_minor": 9_50,
    },
    {
        "line_no": 1,
        "sku": "A-1",
        "description": "Widget",
        "quantity": 4,
        "unit_price_minor": 25_00,
        "tax_rate_ppm": 190_000,
        "net_minor": 100_00,
        "tax_minor": 19_00,
    },
]


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (
            "en",
            [
                "Invoice O2C-2026-000042",
                "Total: 178.50 EUR",
                "Early-payment discount: 3.57 EUR if paid by 2026-04-10",
            ],
        ),
        (
            "de",
            ["Rechnung O2C-2026-000042", "Gesamt: 178.50 EUR", "Skonto: 3.57 EUR bei Zahlung bis 2026-04-10"],
        ),
        ("fr", ["Facture O2C-2026-000042", "TTC: 178.50 EUR", "Escompte : 3.57 EUR"]),
        ("es", ["Invoice O2C-2026-000042"]),  # no Spanish labels: English
    ],
)
def test_the_pdf_is_a_real_pdf_whose_text_says_what_the_invoice_says(language: str, words: list[str]) -> None:
    doc = document(
        INVOICE, LINES, {"name": "Müller & Söhne GmbH", "language": language}, "Example Trading Ltd"
    )
    data = render_pdf(doc)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    for phrase in [*words, "Müller & Söhne GmbH", "A-1 Widget", "B-2 Ölfilter", "19 %"]:
        assert phrase in text, phrase
    assert text.index("A-1 Widget") < text.index("B-2 Ölfilter")  # lines in their order


def test_the_html_escapes_the_customer_name_and_carries_every_line() -> None:
    doc = document(INVOICE, LINES, {"name": "<b>Bold</b> & Co", "language": "en"}, "Example Trading Ltd")
    html = render_html(doc)
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in html and "<b>Bold</b>" not in html
    assert "<td>A-1 Widget</td>" in html and "<td>B-2 Ölfilter</td>" in html
    assert "<strong>Total: 178.50 EUR</strong>" in html
    assert "Please pay 178.50 EUR by 2026-04-30, quoting the invoice number." in html


def test_a_name_beyond_latin_1_is_set_in_a_font_that_has_it() -> None:
    doc = document(INVOICE, LINES, {"name": "Łódź Trading Sp. z o.o. 株式会社", "language": "en"}, "X")
    assert "Łódź Trading Sp. z o.o." in pdf_text(render_pdf(doc))


def test_an_invoice_in_instalments_lists_each_part() -> None:
    parts = [
        {"instalment": 2, "due_date": date(2026, 5, 30), "amount_minor": 89_25},
        {"instalment": 1, "due_date": date(2026, 4, 30), "amount_minor": 89_25},
    ]
    doc = document(INVOICE, LINES, {"name": "Acme", "language": "de"}, "X", parts)
    text = pdf_text(render_pdf(doc))
    assert text.index("Rate 1: 89.25 EUR fällig am 2026-04-30") < text.index(
        "Rate 2: 89.25 EUR fällig am 2026-05-30"
    )
    assert "<li>Rate 1: 89.25 EUR fällig am 2026-04-30</li>" in render_html(doc)


def test_an_invoice_without_a_discount_says_nothing_of_one() -> None:
    plain = dict(INVOICE, discount_date=None, discount_amount_minor=None)
    doc = document(plain, LINES, {"name": "Acme", "language": "en"}, "Example Trading Ltd")
    assert doc.discount_note == ""
    assert "discount" not in pdf_text(render_pdf(doc)).lower()

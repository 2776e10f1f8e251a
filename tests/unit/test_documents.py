"""Invoice documents: HTML and PDF in the customer's language, exact amounts, escaped names."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PdfReader

from tasks.invoice.documents import document, render_html, render_pdf
from tasks.platform.sellers import Party

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
    """The PDF's text, no-break spaces as spaces (text wrapped by fpdf2 is extracted so)."""
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return text.replace("\xa0", " ")


def spaced(phrase: str) -> str:
    return phrase.replace("\xa0", " ")


SELLER = Party(
    name="Beispiel Handel GmbH",
    street=("Musterstraße 1",),
    postcode="10115",
    city="Berlin",
    country="DE",
    vat_id="DE136695976",
    registration="Amtsgericht Berlin-Charlottenburg HRB 123456 B",
    iban="DE89370400440532013000",
    bic="COBADEFFXXX",
    bank_name="Commerzbank",
    account_holder="Beispiel Handel GmbH",
    email="buchhaltung@beispiel.example",
    phone="+49 30 1234567",
    entity="DE01",
)
CUSTOMER = {
    "name": "Müller & Söhne GmbH",
    "address": "Hauptstraße 5; Hinterhaus",
    "postcode": "80331",
    "city": "München",
    "country": "AT",
    "vat_id": "ATU13585627",
}


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (
            "en",
            [
                "Invoice O2C-2026-000042",
                "Invoice date 31 Mar 2026",
                "Amount due €178.50",
                "If paid by 10 Apr 2026 you may deduct €3.57 early-payment discount.",
                "Payable within 30 days of the invoice date, by 30 Apr 2026, without deduction.",
                "Austria",
            ],
        ),
        (
            "de",
            [
                "Rechnung O2C-2026-000042",
                "Rechnungsdatum 31.03.2026",
                "Rechnungsbetrag 178,50\xa0€",
                "Bei Zahlung bis zum 10.04.2026 dürfen Sie 3,57\xa0€ Skonto abziehen.",
                "19\xa0% 150,00\xa0€ 28,50\xa0€",
                "Österreich",
            ],
        ),
        (
            "fr",
            ["Facture O2C-2026-000042", "Date de facture 31 mars 2026", "Total TTC 178,50\xa0€", "Autriche"],
        ),
        ("es", ["Invoice O2C-2026-000042", "Amount due €178.50"]),  # no Spanish labels: English
    ],
)
def test_the_pdf_is_a_real_pdf_whose_text_says_what_the_invoice_says(language: str, words: list[str]) -> None:
    doc = document(INVOICE, LINES, {**CUSTOMER, "language": language}, SELLER)
    data = render_pdf(doc)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    for phrase in [
        *words,
        "Müller & Söhne GmbH",
        "A-1 Widget",
        "B-2 Ölfilter",
        "Hauptstraße 5",
        "Hinterhaus",
    ]:
        assert spaced(phrase) in text, phrase
    assert text.index("A-1 Widget") < text.index("B-2 Ölfilter")  # lines in their order


def test_the_invoice_carries_what_the_law_asks_of_seller_and_buyer() -> None:
    """Seller's name, address, VAT ID, registration and bank; the buyer's address and VAT ID; the
    tax per rate; the reference to pay with, a valid ISO 11649 reference that names the invoice."""
    from stdnum import iso11649

    doc = document(INVOICE, LINES, {**CUSTOMER, "language": "de"}, SELLER)
    text = pdf_text(render_pdf(doc))
    for phrase in [
        "Beispiel Handel GmbH",
        "Musterstraße 1",
        "10115 Berlin",
        "Unsere USt-IdNr. DE136695976",
        "Amtsgericht Berlin-Charlottenburg HRB 123456 B",
        "Ihre USt-IdNr.: ATU13585627",
        "80331 München",
        "IBAN DE89 3704 0044 0532 0130 00",
        "BIC COBADEFFXXX",
        "Kundennummer C1",
        "Ihr Auftrag SO-7",
        "Seite 1 von 1",
    ]:
        assert phrase in text, phrase
    assert doc.payment_reference == "RF30O2C2026000042" and iso11649.is_valid(doc.payment_reference)
    assert f"Verwendungszweck {doc.payment_reference}" in text


def test_the_tax_is_summed_per_rate() -> None:
    reduced = dict(LINES[0], line_no=3, tax_rate_ppm=70_000, net_minor=10_00, tax_minor=70)
    doc = document(INVOICE, [*LINES, reduced], {"name": "Acme", "language": "de"}, SELLER)
    assert doc.tax_summary == [
        {"rate": "19\xa0%", "category": "S", "net": "150,00\xa0€", "tax": "28,50\xa0€"},
        {"rate": "7\xa0%", "category": "S", "net": "10,00\xa0€", "tax": "0,70\xa0€"},
    ]


def test_a_long_description_wraps_and_is_printed_whole() -> None:
    long = "Nitrile gloves, box of 100, powder-free, size L, blue, certified EN 455 for medical use"
    lines = [dict(LINES[1], description=long)]
    text = pdf_text(render_pdf(document(INVOICE, lines, {"name": "Acme", "language": "en"}, SELLER)))
    assert "certified EN 455 for medical use" in text
    assert " ".join(text.split()).count("A-1 Nitrile gloves, box of 100") == 1


def test_the_html_escapes_the_customer_name_and_carries_every_line() -> None:
    doc = document(INVOICE, LINES, {"name": "<b>Bold</b> & Co", "language": "en"}, SELLER)
    html = render_html(doc)
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in html and "<b>Bold</b>" not in html
    assert "<td>A-1 Widget</td>" in html and "<td>B-2 Ölfilter</td>" in html
    assert '<td class="n">€178.50</td>' in html
    assert "Please transfer €178.50 by 30 Apr 2026, quoting the payment reference RF30O2C2026000042." in html
    assert "DE89 3704 0044 0532 0130 00" in html and "Our VAT ID" in html


def test_a_seller_known_by_name_alone_prints_no_bank_details() -> None:
    doc = document(INVOICE, LINES, {"name": "Acme", "language": "en"}, "Example Trading Ltd")
    text = pdf_text(render_pdf(doc))
    assert "Example Trading Ltd" in text and "IBAN" not in text
    assert "Payment reference RF30O2C2026000042" in text  # still the reference to quote


def test_a_credit_note_says_what_it_credits_and_asks_for_no_payment() -> None:
    credit = dict(
        INVOICE, invoice_id="O2C-CN-2026-000001", kind="credit_note", credit_for_invoice="O2C-2026-000042"
    )
    doc = document(credit, LINES, {"name": "Acme", "language": "de"}, SELLER)
    text = pdf_text(render_pdf(doc))
    assert "Gutschrift O2C-CN-2026-000001" in text and "Gutschrift zur Rechnung O2C-2026-000042" in text
    assert "Gutschriftsbetrag 178,50 €" in text
    assert "IBAN" not in text and "Skonto" not in text and "Fällig am" not in text


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
    assert text.index("Rate 1: 89,25 € fällig am 30.04.2026") < text.index(
        "Rate 2: 89,25 € fällig am 30.05.2026"
    )
    assert "<li>Rate 1: 89,25\xa0€ fällig am 30.04.2026</li>" in render_html(doc)


def test_an_invoice_without_a_discount_says_nothing_of_one() -> None:
    plain = dict(INVOICE, discount_date=None, discount_amount_minor=None)
    doc = document(plain, LINES, {"name": "Acme", "language": "en"}, SELLER)
    assert doc.discount_note == ""
    assert "discount" not in pdf_text(render_pdf(doc)).lower()

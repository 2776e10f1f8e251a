"""Invoice documents a customer and a tax office accept: HTML and PDF, in the customer's language.

Pure: an invoice with its lines, its customer and the seller that bills it (`tasks.platform.sellers`)
in, the document's bytes out. Each document names the seller with its address, VAT ID, registration,
bank account and contact, the customer with its address and VAT ID, every line in full (long text
wraps), the tax per rate, the terms and discount in words, and the ISO 11649 payment reference to
pay with. Amounts arrive in minor units and are printed exactly, dates and numbers as the language
writes them (Babel: `1.234,56 €`, `04.12.2026`). The HTML comes from `rules/templates/invoice.html`
(Jinja2, autoescape on); the PDF is drawn by `tasks/invoice/invoice_pdf.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.invoice import vat
from tasks.invoice.labels import LABELS
from tasks.platform import localized
from tasks.platform.bank_ids import creditor_reference, iban_formatted
from tasks.platform.config import SHIPPED_TEMPLATES
from tasks.platform.crash import crash_point
from tasks.platform.files import write_whole
from tasks.platform.messages import template_environment
from tasks.platform.sellers import Party, buyer_party, legal_lines


@dataclass(frozen=True)
class InvoiceDocument:
    """Everything printed on one invoice or credit note, already written out in its language."""

    invoice_id: str
    language: str
    seller: Party
    buyer: Party
    seller_address: tuple[str, ...]
    buyer_address: tuple[str, ...]
    customer_id: str
    order_id: str
    issue_date: str
    due_date: str
    currency: str
    lines: list[dict[str, str]]
    tax_summary: list[dict[str, str]]
    net: str
    tax: str
    total: str
    discount_note: str
    labels: dict[str, str]
    title: str = ""  # "Invoice" or "Credit note", in the language
    credits_note: str = ""  # a credit note: which invoice it credits
    instalment_notes: tuple[str, ...] = ()  # an invoice paid in parts: each part
    terms_note: str = ""  # the payment terms in words
    pay_note: str = ""  # what to pay, by when, with which reference
    payment_reference: str = ""  # ISO 11649 creditor reference (RF...)
    payment_details: tuple[tuple[str, str], ...] = ()  # (label, value): holder, bank, IBAN, BIC, reference
    footer: tuple[str, ...] = ()  # the seller's legal particulars, one line each
    supplied: tuple[str, str] = ("", "")  # (label, date or period) of the supply
    cii_xml: bytes = b""  # the Factur-X XML the PDF carries (EN 16931); empty: a plain PDF
    xrechnung_xml: bytes = b""  # the XRechnung XML written beside it, for a customer who asks
    without_einvoice: str = ""  # why there is no e-invoice XML
    vat_notes: tuple[str, ...] = ()  # why a line at 0 % is (reverse charge, intra-community, export, exempt)

    @property
    def is_credit_note(self) -> bool:
        return bool(self.credits_note)


def document(
    invoice: dict[str, Any],
    lines: list[dict[str, Any]],
    customer: dict[str, Any],
    seller: str | Party,
    instalments: list[dict[str, Any]] | None = None,
) -> InvoiceDocument:
    """The written-out document of one invoice (amounts in minor units in, exact text out).
    `seller` is the billing entity (a bare name prints the name alone)."""
    language = localized.language_of(customer.get("language"))
    labels = LABELS[language]
    currency = str(invoice["currency"])
    seller = seller if isinstance(seller, Party) else Party(name=str(seller))
    buyer = buyer_party({"customer_id": invoice["customer_id"], **customer})
    credit = invoice.get("kind") == "credit_note"

    def money(minor: Any) -> str:
        return localized.money(int(minor), currency, language)

    def day(value: Any) -> str:
        return localized.day(value, language)

    shown = [_line_view(line, currency, language) for line in sorted(lines, key=lambda x: int(x["line_no"]))]
    reference = "" if credit else creditor_reference(str(invoice["invoice_id"]))
    total, due = money(invoice["amount_minor"]), day(invoice["due_date"])  # a credit note's is negative
    note = ""
    discount: Any = invoice.get("discount_amount_minor")
    last_day = invoice.get("discount_date")
    if not credit and _present(discount) and int(discount) > 0 and _present(last_day):
        note = labels["discount"].format(amount=money(discount), day=day(last_day))
    return InvoiceDocument(
        invoice_id=str(invoice["invoice_id"]),
        language=language,
        seller=seller,
        buyer=buyer,
        seller_address=localized.postal_lines(seller, language),
        buyer_address=localized.postal_lines(buyer, language, home_country=seller.country),
        customer_id=str(invoice["customer_id"]),
        order_id=str(invoice.get("order_id") or "") if _present(invoice.get("order_id")) else "",
        issue_date=day(invoice["issue_date"]),
        due_date=due,
        currency=currency,
        lines=shown,
        tax_summary=_tax_summary(lines, currency, language, seller, customer),
        net=money(invoice["net_minor"]) if _present(invoice.get("net_minor")) else "",
        tax=money(invoice["tax_minor"]) if _present(invoice.get("tax_minor")) else "",
        total=total,
        discount_note=note,
        labels=labels,
        title=labels["credit_note"] if credit else labels["invoice"],
        credits_note=labels["credits"].format(invoice=invoice.get("credit_for_invoice")) if credit else "",
        instalment_notes=_instalment_notes(instalments or [], labels, money, day),
        terms_note="" if credit else _terms(invoice, labels, due),
        pay_note="" if credit else labels["pay"].format(total=total, due=due, reference=reference),
        payment_reference=reference,
        payment_details=() if credit else _payment_details(seller, labels, reference),
        footer=_footer(seller, labels, language),
        supplied=_supplied(invoice, labels, day),
        vat_notes=_vat_notes(lines, seller, customer, language),
    )


def _line_view(line: dict[str, Any], currency: str, language: str) -> dict[str, str]:
    """One invoice line as printed: amounts as numbers (the table's heading names the currency)."""

    def number(minor: Any) -> str:
        return localized.number(int(minor), currency, language)

    return {
        "line_no": str(int(line["line_no"])),
        "item": " ".join(str(x) for x in (line.get("sku") or "", line.get("description") or "") if x).strip(),
        "quantity": localized.quantity(int(line["quantity"]), language),
        "unit_price": number(line["unit_price_minor"]),
        "tax_rate": localized.percent(int(line["tax_rate_ppm"]), language),
        "net": number(line["net_minor"]),
        "tax": number(line["tax_minor"]),
        "total": number(int(line["net_minor"]) + int(line["tax_minor"])),
    }


def _tax_summary(
    lines: list[dict[str, Any]], currency: str, language: str, seller: Party, customer: dict[str, Any]
) -> list[dict[str, str]]:
    """Net and tax per VAT category and rate, highest rate first, as the law asks an invoice to
    show them (`tasks/invoice/vat.py`); a 0 % row of an exemption or reverse charge says so."""
    return [
        {
            "rate": localized.percent(rate, language)
            + (" *" if vat.reason(code, seller, language)[1] else ""),
            "category": code,
            "net": localized.money(net, currency, language),
            "tax": localized.money(tax, currency, language),
        }
        for code, rate, net, tax in vat.breakdown(lines, seller, customer)
    ]


def _vat_notes(
    lines: list[dict[str, Any]], seller: Party, customer: dict[str, Any], language: str
) -> tuple[str, ...]:
    """Why the invoice's 0 % lines are 0 % (the exemption reasons of its categories), each once."""
    codes = dict.fromkeys(code for code, *_ in vat.breakdown(lines, seller, customer))
    return tuple(f"* {text}" for code in codes if (text := vat.reason(code, seller, language)[1]))


def _supplied(invoice: dict[str, Any], labels: dict[str, str], day: Callable[[Any], str]) -> tuple[str, str]:
    """When the goods were supplied (the order's fulfilment) or the period a subscription invoice
    bills, as the law asks an invoice to say; nothing when the ledger does not know."""
    start, end = invoice.get("period_start"), invoice.get("period_end")
    if _present(start) and _present(end):
        return labels["period"], f"{day(start)} – {day(end)}"
    if _present(invoice.get("delivery_date")):
        return labels["delivered"], day(invoice["delivery_date"])
    return "", ""


def _terms(invoice: dict[str, Any], labels: dict[str, str], due: str) -> str:
    """The payment terms in words, from the invoice's own dates."""
    import pandas as pd

    days = (pd.Timestamp(invoice["due_date"]) - pd.Timestamp(invoice["issue_date"])).days
    return labels["terms"].format(days=days, due=due) if days > 0 else labels["terms_now"].format(due=due)


def _payment_details(seller: Party, labels: dict[str, str], reference: str) -> tuple[tuple[str, str], ...]:
    """Where to pay and what to quote: the seller's account, and the reference."""
    rows = [
        (labels["holder"], seller.account_holder or seller.name),
        (labels["bank"], seller.bank_name),
        (labels["iban"], iban_formatted(seller.iban) if seller.iban else ""),
        (labels["bic"], seller.bic),
        (labels["reference"], reference),
    ]
    return tuple(
        (label, value) for label, value in rows if value and (seller.iban or label == labels["reference"])
    )


def _footer(seller: Party, labels: dict[str, str], language: str) -> tuple[str, ...]:
    """The seller's legal particulars: name and address, tax identifiers and registration, contact."""
    return legal_lines(seller, language)


def _instalment_notes(
    instalments: list[dict[str, Any]],
    labels: dict[str, str],
    money: Callable[[Any], str],
    day: Callable[[Any], str],
) -> tuple[str, ...]:
    """One sentence per instalment of an invoice paid in parts, in order."""
    return tuple(
        labels["instalment"].format(
            n=int(part["instalment"]), amount=money(part["amount_minor"]), due=day(part["due_date"])
        )
        for part in sorted(instalments, key=lambda p: int(p["instalment"]))
    )


def _present(value: Any) -> bool:
    """A value that is there: not None, NaN, NA or NaT."""
    import pandas as pd

    return value is not None and not (pd.api.types.is_scalar(value) and pd.isna(value))


def render_html(doc: InvoiceDocument, templates: Path = SHIPPED_TEMPLATES) -> str:
    return template_environment(templates).get_template("invoice.html").render(doc=doc, labels=doc.labels)


def render_pdf(doc: InvoiceDocument) -> bytes:
    """The document as a PDF (A4), its text extractable (`tasks/invoice/invoice_pdf.py`)."""
    from tasks.invoice.invoice_pdf import draw

    return draw(doc)


def write_documents(
    invoices: Any,
    lines: Any,
    customers: Any,
    folder: Path,
    seller: str | Party | Callable[[Any], Party],
    instalments: Any = None,
    templates: Path = SHIPPED_TEMPLATES,
    workers: int = 1,
) -> dict[str, int]:
    """Write `<invoice_id>.html` and `.pdf` for each invoice into `folder`, each file whole or not at
    all; an invoice whose PDF is already there is left as it is. `customers` holds the buyers, by
    `invoice_id` (the snapshot each invoice was issued to) or by `customer_id`. `seller` is the billing entity, or
    a function of the invoice's legal entity giving it (`Settings.seller`). With `workers` > 1 and enough documents, they
    are rendered in that many processes (tasks/invoice/document_pool.py). Returns how many were
    written and how many were there already."""
    from tasks.invoice.document_pool import POOL_THRESHOLD, render_in_pool

    folder.mkdir(parents=True, exist_ok=True)
    # the buyer of each invoice (`invoice/document_buyers`: its snapshot at billing), else by customer
    per_invoice = "invoice_id" in customers.columns
    key = "invoice_id" if per_invoice else "customer_id"
    buyers = customers.drop_duplicates(key).set_index(key, drop=not per_invoice).to_dict("index")
    lines_of: dict[str, list[dict[str, Any]]] = {}
    for line in lines.to_dict("records"):
        lines_of.setdefault(line["invoice_id"], []).append(line)
    parts_of: dict[str, list[dict[str, Any]]] = {}
    for part in instalments.to_dict("records") if instalments is not None else []:
        parts_of.setdefault(part["invoice_id"], []).append(part)
    docs, kept = [], 0
    for row in invoices.to_dict("records"):
        if (folder / f"{row['invoice_id']}.pdf").exists():
            kept += 1
            continue
        lines_here, customer = lines_of.get(row["invoice_id"], []), buyers.get(row[key], {})
        billing = seller(row.get("legal_entity")) if callable(seller) else seller
        billing = billing if isinstance(billing, Party) else Party(name=str(billing))
        doc = document(row, lines_here, customer, billing, parts_of.get(row["invoice_id"]))
        docs.append(with_einvoice(doc, row, lines_here, customer, billing))
    _say_without_einvoice(docs)
    if workers > 1 and len(docs) >= POOL_THRESHOLD:
        written = render_in_pool(docs, folder, templates, workers)
    else:
        written = write_rendered(docs, folder, templates, first=True)
    return {
        "documents_written": written,
        "documents_already_there": kept,
        "einvoices": sum(1 for doc in docs if doc.cii_xml),
        "without_einvoice": sum(1 for doc in docs if not doc.cii_xml),
    }


def _say_without_einvoice(docs: list[InvoiceDocument], shown: int = 10) -> None:
    """Tell the run's log which documents go out without e-invoice XML, and why (the first ones)."""
    from tasks.platform.progress import run_logger

    plain = [doc for doc in docs if doc.without_einvoice]
    for doc in plain[:shown]:
        run_logger().warning(f"{doc.invoice_id}: a plain PDF, no e-invoice XML: {doc.without_einvoice}")
    if len(plain) > shown:
        run_logger().warning(f"... and {len(plain) - shown} more documents without e-invoice XML")


def with_einvoice(
    doc: InvoiceDocument,
    invoice: dict[str, Any],
    lines: list[dict[str, Any]],
    customer: dict[str, Any],
    seller: Party,
) -> InvoiceDocument:
    """The document with its EN 16931 XML (and, for a customer who asks, the XRechnung XML); or,
    where the invoice cannot be a valid e-invoice, with the reason there is none."""
    from dataclasses import replace

    from tasks.invoice import einvoice

    customer = {"customer_id": invoice["customer_id"], **customer}
    why = einvoice.problems(str(invoice["currency"]), seller, customer)
    if why:
        return replace(doc, without_einvoice="; ".join(why))
    xml = einvoice.cii_xml(invoice, lines, customer, seller)
    asked = einvoice.wants_xrechnung(customer)
    xrechnung = einvoice.cii_xml(invoice, lines, customer, seller, xrechnung=True) if asked else b""
    return replace(doc, cii_xml=xml, xrechnung_xml=xrechnung)


def write_rendered(docs: list[InvoiceDocument], folder: Path, templates: Path, first: bool = False) -> int:
    """Render and write each document's HTML (and XRechnung XML), then its PDF, Factur-X where it
    has its XML (the PDF's presence means all are there);
    `first`: this is the run's first batch, where the crash harness may stop between the two."""
    for number, doc in enumerate(docs):
        write_whole(folder / f"{doc.invoice_id}.html", render_html(doc, templates).encode())
        if doc.xrechnung_xml:
            write_whole(folder / f"{doc.invoice_id}.xml", doc.xrechnung_xml)
        if first and not number:
            crash_point("invoice documents: the first one's HTML written, its PDF not yet")
        pdf = render_pdf(doc)
        if doc.cii_xml:
            from tasks.invoice.einvoice import embed

            pdf = embed(
                pdf,
                doc.cii_xml,
                language=doc.language,
                title=f"{doc.title} {doc.invoice_id}",
                author=doc.seller.name,
            )
        write_whole(folder / f"{doc.invoice_id}.pdf", pdf)
    return len(docs)

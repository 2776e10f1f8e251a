"""Invoice documents a customer would accept: HTML and PDF, in the customer's language.

Pure: an invoice with its lines and customer in, the document's bytes out. The HTML comes from
`rules/templates/invoice.html` (Jinja2, autoescape on); the PDF is drawn with fpdf2 in DejaVu Sans
(any script a customer's name may use), and its text can be extracted. Amounts arrive in minor
units and are printed exactly, in major units, with the currency code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from tasks.platform.config import SHIPPED_TEMPLATES
from tasks.platform.crash import crash_point
from tasks.platform.files import write_whole
from tasks.platform.messages import template_environment
from tasks.platform.money import to_major_str

LABELS = {
    "en": {
        "invoice": "Invoice",
        "credit_note": "Credit note",
        "credits": "Credits invoice {invoice}.",
        "instalment": "Instalment {n}: {amount} {currency} due {due}",
        "number": "Invoice number",
        "issued": "Issue date",
        "due": "Due date",
        "customer": "Customer",
        "order": "Order",
        "line": "Line",
        "item": "Item",
        "quantity": "Quantity",
        "unit_price": "Unit price",
        "tax_rate": "Tax rate",
        "net": "Net",
        "tax": "Tax",
        "total": "Total",
        "discount": "Early-payment discount: {amount} {currency} if paid by {day}",
        "pay": "Please pay {total} {currency} by {due}, quoting the invoice number.",
    },
    "de": {
        "invoice": "Rechnung",
        "credit_note": "Gutschrift",
        "credits": "Gutschrift zur Rechnung {invoice}.",
        "instalment": "Rate {n}: {amount} {currency} fällig am {due}",
        "number": "Rechnungsnummer",
        "issued": "Rechnungsdatum",
        "due": "Fällig am",
        "customer": "Kunde",
        "order": "Auftrag",
        "line": "Pos.",
        "item": "Artikel",
        "quantity": "Menge",
        "unit_price": "Einzelpreis",
        "tax_rate": "USt.-Satz",
        "net": "Netto",
        "tax": "USt.",
        "total": "Gesamt",
        "discount": "Skonto: {amount} {currency} bei Zahlung bis {day}",
        "pay": "Bitte zahlen Sie {total} {currency} bis {due} unter Angabe der Rechnungsnummer.",
    },
    "fr": {
        "invoice": "Facture",
        "credit_note": "Avoir",
        "credits": "Avoir sur la facture {invoice}.",
        "instalment": "Échéance {n} : {amount} {currency} le {due}",
        "number": "Numéro de facture",
        "issued": "Date d'émission",
        "due": "Échéance",
        "customer": "Client",
        "order": "Commande",
        "line": "Ligne",
        "item": "Article",
        "quantity": "Quantité",
        "unit_price": "Prix unitaire",
        "tax_rate": "Taux de TVA",
        "net": "HT",
        "tax": "TVA",
        "total": "TTC",
        "discount": "Escompte : {amount} {currency} en cas de paiement avant le {day}",
        "pay": "Merci de régler {total} {currency} avant le {due} en indiquant le numéro de facture.",
    },
}
_FONTS = Path("/usr/share/fonts/truetype/dejavu")


@dataclass(frozen=True)
class InvoiceDocument:
    """Everything printed on one invoice, already formatted."""

    invoice_id: str
    language: str
    seller: str
    customer_id: str
    customer_name: str
    order_id: str
    issue_date: str
    due_date: str
    currency: str
    lines: list[dict[str, str]]
    net: str
    tax: str
    total: str
    discount_note: str
    labels: dict[str, str]
    title: str = ""  # "Invoice" or "Credit note", in the language
    credits_note: str = ""  # a credit note: which invoice it credits
    instalment_notes: tuple[str, ...] = ()  # an invoice paid in parts: each part


def document(
    invoice: dict[str, Any],
    lines: list[dict[str, Any]],
    customer: dict[str, Any],
    seller: str,
    instalments: list[dict[str, Any]] | None = None,
) -> InvoiceDocument:
    """The formatted document of one invoice (amounts in minor units in, exact strings out)."""
    language = customer.get("language") if customer.get("language") in LABELS else "en"
    labels = LABELS[str(language)]
    currency = str(invoice["currency"])

    def money(minor: Any) -> str:
        return to_major_str(int(minor), currency)

    shown = [_line_view(line, money) for line in sorted(lines, key=lambda x: int(x["line_no"]))]
    note = ""
    discount, last_day = invoice.get("discount_amount_minor"), invoice.get("discount_date")
    if _present(discount) and _present(last_day):
        note = labels["discount"].format(amount=money(discount), currency=currency, day=_day(last_day))
    return InvoiceDocument(
        invoice_id=str(invoice["invoice_id"]),
        language=str(language),
        seller=seller,
        customer_id=str(invoice["customer_id"]),
        customer_name=str(customer.get("name") or invoice["customer_id"]),
        order_id=str(invoice.get("order_id") or ""),
        issue_date=_day(invoice["issue_date"]),
        due_date=_day(invoice["due_date"]),
        currency=currency,
        lines=shown,
        net=money(invoice["net_minor"]),
        tax=money(invoice["tax_minor"]),
        total=money(invoice["amount_minor"]),
        discount_note=note,
        labels=labels,
        title=labels["credit_note"] if invoice.get("kind") == "credit_note" else labels["invoice"],
        credits_note=labels["credits"].format(invoice=invoice.get("credit_for_invoice"))
        if invoice.get("kind") == "credit_note"
        else "",
        instalment_notes=_instalment_notes(instalments or [], labels, currency, money),
    )


def _line_view(line: dict[str, Any], money: Callable[[Any], str]) -> dict[str, str]:
    """One invoice line as printed."""
    return {
        "line_no": str(int(line["line_no"])),
        "item": " ".join(str(x) for x in (line.get("sku") or "", line.get("description") or "") if x).strip(),
        "quantity": str(int(line["quantity"])),
        "unit_price": money(line["unit_price_minor"]),
        "tax_rate": _percent(int(line["tax_rate_ppm"])),
        "net": money(line["net_minor"]),
        "tax": money(line["tax_minor"]),
        "total": money(int(line["net_minor"]) + int(line["tax_minor"])),
    }


def _instalment_notes(
    instalments: list[dict[str, Any]], labels: dict[str, str], currency: str, money: Callable[[Any], str]
) -> tuple[str, ...]:
    """One sentence per instalment of an invoice paid in parts, in order."""
    return tuple(
        labels["instalment"].format(
            n=int(part["instalment"]),
            amount=money(part["amount_minor"]),
            currency=currency,
            due=_day(part["due_date"]),
        )
        for part in sorted(instalments, key=lambda p: int(p["instalment"]))
    )


def _present(value: Any) -> bool:
    """A value that is there: not None, NaN, NA or NaT."""
    import pandas as pd

    return value is not None and not (pd.api.types.is_scalar(value) and pd.isna(value))


def _day(value: Any) -> str:
    return value.isoformat()[:10] if isinstance(value, date) else str(value)[:10]


def _percent(ppm: int) -> str:
    whole, rest = divmod(ppm, 10_000)
    return f"{whole}.{rest:04d}".rstrip("0").rstrip(".") + " %"


def render_html(doc: InvoiceDocument, templates: Path = SHIPPED_TEMPLATES) -> str:
    return template_environment(templates).get_template("invoice.html").render(doc=doc, labels=doc.labels)


def _latin1(doc: InvoiceDocument) -> bool:
    """Whether every text of the document can be set in a core PDF font (Latin-1)."""
    texts = [doc.seller, doc.customer_name, doc.discount_note, *doc.labels.values()]
    texts += [line["item"] for line in doc.lines]
    try:
        "".join(texts).encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def render_pdf(doc: InvoiceDocument) -> bytes:
    """The invoice as a PDF (A4), text extractable. Set in Helvetica where the text is Latin-1
    (about 25 ms a document), else in DejaVu Sans, which covers far more scripts (about 140 ms:
    embedding a font costs)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creator("o2c")
    pdf.set_title(f"{doc.title} {doc.invoice_id}")
    family = "Helvetica"
    if not _latin1(doc) and (_FONTS / "DejaVuSans.ttf").is_file():
        family = "DejaVu"
        pdf.add_font("DejaVu", "", str(_FONTS / "DejaVuSans.ttf"))
        pdf.add_font("DejaVu", "B", str(_FONTS / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    _pdf_heading(pdf, family, doc)
    _pdf_lines(pdf, family, doc)
    _pdf_totals(pdf, family, doc)
    return bytes(pdf.output())


def _pdf_heading(pdf: Any, family: str, doc: InvoiceDocument) -> None:
    """The title, the seller, the customer, the invoice's number and dates, and its order."""
    pdf.set_font(family, "B", 16)
    pdf.cell(0, 10, f"{doc.title} {doc.invoice_id}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 10)
    for label, value in (
        (doc.seller, ""),
        (doc.labels["customer"], f"{doc.customer_name} ({doc.customer_id})"),
        (doc.labels["number"], doc.invoice_id),
        (doc.labels["issued"], doc.issue_date),
        (doc.labels["due"], doc.due_date),
        (doc.labels["order"], doc.order_id),
    ):
        pdf.cell(0, 6, f"{label}: {value}" if value else label, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def _pdf_lines(pdf: Any, family: str, doc: InvoiceDocument) -> None:
    """The table of lines, its heading repeated on each new page."""
    widths = (12, 58, 18, 26, 20, 26, 22)  # 182 mm of the 190 between margins
    heads = tuple(doc.labels[h] for h in ("line", "item", "quantity", "unit_price", "tax_rate", "net", "tax"))

    def row(values: tuple[str, ...], height: float) -> None:
        # Text placed directly, not in cells: a cell costs fpdf its line-breaking (an invoice of
        # 500 lines would take seconds); a new page repeats the heading.
        if pdf.get_y() + height > pdf.page_break_trigger:
            pdf.add_page()
            heading()
        x, y = pdf.l_margin, pdf.get_y()
        for width, value in zip(widths, values, strict=True):
            pdf.text(x + 1, y + height - 1.8, value)
            x += width
        pdf.set_y(y + height)

    def heading() -> None:
        pdf.set_font(family, "B", 9)
        row(heads, 7)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + sum(widths), pdf.get_y())
        pdf.set_font(family, "", 9)

    heading()
    for line in doc.lines:
        row(
            (
                line["line_no"],
                line["item"][:34],
                line["quantity"],
                line["unit_price"],
                line["tax_rate"],
                line["net"],
                line["tax"],
            ),
            6,
        )


def _pdf_totals(pdf: Any, family: str, doc: InvoiceDocument) -> None:
    """Net, tax and total, the discount and instalments, and what to pay by when (or, on a credit
    note, which invoice it credits)."""
    pdf.ln(3)
    pdf.set_font(family, "", 10)
    for label, amount in ((doc.labels["net"], doc.net), (doc.labels["tax"], doc.tax)):
        pdf.cell(0, 6, f"{label}: {amount} {doc.currency}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "B", 11)
    pdf.cell(0, 8, f"{doc.labels['total']}: {doc.total} {doc.currency}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 10)
    if doc.discount_note:
        pdf.multi_cell(0, 6, doc.discount_note, new_x="LMARGIN", new_y="NEXT")
    for note in doc.instalment_notes:
        pdf.cell(0, 6, note, new_x="LMARGIN", new_y="NEXT")
    if doc.credits_note:  # a credit note is not paid: it says which invoice it credits
        pdf.multi_cell(0, 6, doc.credits_note, new_x="LMARGIN", new_y="NEXT")
    else:
        pay = doc.labels["pay"].format(total=doc.total, currency=doc.currency, due=doc.due_date)
        pdf.multi_cell(0, 6, pay, new_x="LMARGIN", new_y="NEXT")


def write_documents(
    invoices: Any,
    lines: Any,
    customers: Any,
    folder: Path,
    seller: str | Callable[[Any], str],
    instalments: Any = None,
    templates: Path = SHIPPED_TEMPLATES,
    workers: int = 1,
) -> dict[str, int]:
    """Write `<invoice_id>.html` and `.pdf` for each invoice into `folder`, each file whole or not at
    all; an invoice whose PDF is already there is left as it is. `seller` is the seller's name, or
    a function of the invoice's legal entity giving it. With `workers` > 1 and enough documents, they
    are rendered in that many processes (tasks/invoice/document_pool.py). Returns how many were
    written and how many were there already."""
    from tasks.invoice.document_pool import POOL_THRESHOLD, render_in_pool

    folder.mkdir(parents=True, exist_ok=True)
    by_customer = customers.drop_duplicates("customer_id").set_index("customer_id").to_dict("index")
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
        docs.append(
            document(
                row,
                lines_of.get(row["invoice_id"], []),
                by_customer.get(row["customer_id"], {}),
                seller(row.get("legal_entity")) if callable(seller) else seller,
                parts_of.get(row["invoice_id"]),
            )
        )
    if workers > 1 and len(docs) >= POOL_THRESHOLD:
        written = render_in_pool(docs, folder, templates, workers)
    else:
        written = write_rendered(docs, folder, templates, first=True)
    return {"documents_written": written, "documents_already_there": kept}


def write_rendered(docs: list[InvoiceDocument], folder: Path, templates: Path, first: bool = False) -> int:
    """Render and write each document's HTML, then its PDF (whose presence means both are there);
    `first`: this is the run's first batch, where the crash harness may stop between the two."""
    for number, doc in enumerate(docs):
        write_whole(folder / f"{doc.invoice_id}.html", render_html(doc, templates).encode())
        if first and not number:
            crash_point("invoice documents: the first one's HTML written, its PDF not yet")
        write_whole(folder / f"{doc.invoice_id}.pdf", render_pdf(doc))
    return len(docs)

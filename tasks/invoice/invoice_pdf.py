"""An invoice document drawn as a PDF (A4) with fpdf2; its text can be extracted.

The page carries the seller's name and address at the top right, the customer's postal address and
VAT ID at the left where a window envelope shows it, the invoice's number, dates and references
beside it, the lines (their text wrapped within its column, never cut), the tax per rate and the
totals, the terms and the payment details, and on every page a footer with the seller's legal
particulars and the page number. Archival (PDF/A-3, with `einvoice.embed`): the fonts are embedded
(DejaVu Sans, cut to the Latin letters when those are all it needs: `archival.py`) and an output
intent names sRGB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tasks.invoice.archival import add_output_intent, family_for

if TYPE_CHECKING:
    from tasks.invoice.documents import InvoiceDocument

_LEFT, _TOP, _RIGHT = 20.0, 15.0, 15.0
_WIDTH = 210.0 - _LEFT - _RIGHT  # 175 mm of text
_BESIDE = 125.0  # where the right-hand column (seller, the invoice's particulars) begins
# No., description, quantity, unit price, VAT rate, net: 175 mm
_COLUMNS = (10.0, 80.0, 16.0, 26.0, 15.0, 28.0)
_NUMERIC = (False, False, True, True, True, True)
_LINE = 4.6  # mm per line of table text


def draw(doc: InvoiceDocument) -> bytes:
    from fpdf import FPDF
    from fpdf.fonts import TTFFont

    family, fonts = family_for(_texts(doc))

    class _Pages(FPDF):
        def footer(self) -> None:
            _footer(self, family, doc)

    pdf = _Pages(format="A4")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_creator("o2c")
    pdf.set_author(doc.seller.name)
    pdf.set_title(f"{doc.title} {doc.invoice_id}")
    pdf.set_lang(doc.language)
    pdf.set_margins(_LEFT, _TOP, _RIGHT)
    pdf.set_auto_page_break(True, margin=30)
    for style, path in fonts.items():
        pdf.add_font(family, style, str(path))
    for font in pdf.fonts.values():  # the glyphs' bounds are the font's own: not worked out again
        if isinstance(font, TTFFont):
            font.ttfont.recalcBBoxes = False
    add_output_intent(pdf)
    pdf.add_page()
    _heading(pdf, family, doc)
    _lines(pdf, family, doc)
    _totals(pdf, family, doc)
    _payment(pdf, family, doc)
    return bytes(pdf.output())


def _texts(doc: InvoiceDocument) -> list[str]:
    """Every text the document prints (its font must have a glyph for each character)."""
    texts = [
        doc.seller.name,
        doc.buyer.name,
        doc.buyer.vat_id or "",
        doc.seller.email or "",
        doc.seller.phone or "",
        doc.title,
        doc.invoice_id,
        *doc.seller_address,
        *doc.buyer_address,
        *doc.footer,
        *doc.supplied,
    ]
    texts += [doc.discount_note, doc.terms_note, doc.pay_note, doc.credits_note, doc.total]
    texts += [
        *doc.labels.values(),
        *doc.instalment_notes,
        *doc.vat_notes,
        *(row["rate"] for row in doc.tax_summary),
    ]
    return texts + [value for _, value in doc.payment_details] + [line["item"] for line in doc.lines]


def _heading(pdf: Any, family: str, doc: InvoiceDocument) -> None:
    """Seller at the top right; the customer's address in the window at the left with the invoice's
    particulars beside it; then the title."""
    pdf.set_xy(_BESIDE, _TOP)
    pdf.set_font(family, "B", 11)
    pdf.multi_cell(210 - _RIGHT - _BESIDE, 5, doc.seller.name, new_x="LEFT", new_y="NEXT")
    pdf.set_font(family, "", 8.5)
    for line in (*doc.seller_address, doc.seller.email, doc.seller.phone):
        if line:
            pdf.cell(0, 4, line, new_x="LEFT", new_y="NEXT")
    seller_bottom = pdf.get_y()

    window = max(45.0, seller_bottom + 4)
    pdf.set_xy(_LEFT, window)
    pdf.set_font(family, "", 6.5)
    sender = " · ".join((doc.seller.name, *doc.seller_address))
    pdf.cell(_BESIDE - _LEFT - 5, 4, _fit(pdf, sender, _BESIDE - _LEFT - 5), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.set_font(family, "B", 10)
    pdf.multi_cell(_BESIDE - _LEFT - 5, 5, doc.buyer.name, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 10)
    for line in doc.buyer_address:
        pdf.cell(_BESIDE - _LEFT - 5, 5, line, new_x="LMARGIN", new_y="NEXT")
    if doc.buyer.vat_id:
        pdf.set_font(family, "", 8.5)
        pdf.cell(0, 5, f"{doc.labels['your_vat_id']}: {doc.buyer.vat_id}", new_x="LMARGIN", new_y="NEXT")
    buyer_bottom = pdf.get_y()

    pdf.set_xy(_BESIDE, window)
    particulars = [
        (doc.labels["number"], doc.invoice_id),
        (doc.labels["issued"], doc.issue_date),
        doc.supplied,
        ("" if doc.is_credit_note else doc.labels["due"], doc.due_date),
        (doc.labels["customer"], doc.customer_id),
        (doc.labels["order"], doc.order_id),
        (doc.labels["our_vat_id"], doc.seller.vat_id),
    ]
    for label, value in particulars:
        if label and value:
            pdf.set_x(_BESIDE)
            pdf.set_font(family, "", 8.5)
            pdf.cell(32, 5, _fit(pdf, label, 31))
            pdf.set_font(family, "B" if label == doc.labels["number"] else "", 8.5)
            pdf.cell(0, 5, value, new_x="LEFT", new_y="NEXT")
    pdf.set_xy(_LEFT, max(buyer_bottom, pdf.get_y()) + 8)
    pdf.set_font(family, "B", 15)
    pdf.cell(0, 8, f"{doc.title} {doc.invoice_id}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _lines(pdf: Any, family: str, doc: InvoiceDocument) -> None:
    """The table of lines; a description longer than its column wraps onto more lines of the row;
    a row that does not fit goes to the next page, which repeats the heading."""
    amounts_in = {"de": "Beträge in {c}", "fr": "Montants en {c}"}.get(doc.language, "Amounts in {c}")
    heads = tuple(doc.labels[h] for h in ("line", "item", "quantity", "unit_price", "tax_rate", "net"))

    def row(values: tuple[str, ...], bold: bool = False) -> None:
        pdf.set_font(family, "B" if bold else "", 8.5)
        wrapped = [_wrap(pdf, value, width - 2) for value, width in zip(values, _COLUMNS, strict=True)]
        height = _LINE * max(len(cell) for cell in wrapped) + 1.6
        if pdf.get_y() + height > pdf.page_break_trigger:
            pdf.add_page()
            heading()
            pdf.set_font(family, "B" if bold else "", 8.5)
        x, y = pdf.l_margin, pdf.get_y()
        for cell, width, numeric in zip(wrapped, _COLUMNS, _NUMERIC, strict=True):
            for n, text in enumerate(cell):
                left = x + width - 1 - pdf.get_string_width(text) if numeric else x + 1
                pdf.text(left, y + _LINE * (n + 1) - 0.6, text)
            x += width
        pdf.set_y(y + height)

    def heading() -> None:
        row(heads, bold=True)
        pdf.line(pdf.l_margin, pdf.get_y() - 0.8, pdf.l_margin + _WIDTH, pdf.get_y() - 0.8)

    pdf.set_font(family, "", 7.5)
    pdf.cell(0, 4, amounts_in.format(c=doc.currency), new_x="LMARGIN", new_y="NEXT")
    heading()
    for line in doc.lines:
        row(
            (
                line["line_no"],
                line["item"],
                line["quantity"],
                line["unit_price"],
                line["tax_rate"],
                line["net"],
            )
        )
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + _WIDTH, pdf.get_y())


def _totals(pdf: Any, family: str, doc: InvoiceDocument) -> None:
    """The tax per rate and the totals, right-aligned under the table."""
    pdf.ln(3)
    if pdf.get_y() + 12 + 5 * (len(doc.tax_summary) + 3) > pdf.page_break_trigger:
        pdf.add_page()
    widths = (24.0, 40.0, 32.0)
    start = _LEFT + _WIDTH - sum(widths)

    def right_row(cells: tuple[str, ...], style: str = "", size: float = 9) -> None:
        pdf.set_font(family, style, size)
        x = start
        for text, width in zip(cells, widths, strict=True):
            pdf.set_x(x)
            pdf.cell(width, 5, text, align="R")
            x += width
        pdf.ln(5)

    if doc.tax_summary:
        right_row((doc.labels["rate"], doc.labels["net"], doc.labels["tax"]), "B", 8.5)
        for rate in doc.tax_summary:
            right_row((rate["rate"], rate["net"], rate["tax"]), size=8.5)
        pdf.ln(1)
    if doc.net:
        right_row(("", doc.labels["net_total"], doc.net))
    if doc.tax:
        right_row(("", doc.labels["tax_total"], doc.tax))
    total = doc.labels["credit_total" if doc.is_credit_note else "grand_total"]
    pdf.line(start + widths[0], pdf.get_y(), _LEFT + _WIDTH, pdf.get_y())
    right_row(("", total, doc.total), "B", 10.5)


def _payment(pdf: Any, family: str, doc: InvoiceDocument) -> None:
    """The terms, discount and instalments in words, what to pay with which reference, and the
    account to pay to (a credit note instead says which invoice it credits)."""
    pdf.ln(4)
    pdf.set_font(family, "B", 9)
    for note in doc.vat_notes:
        pdf.multi_cell(_WIDTH, 5, note, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 9)
    for text in (doc.credits_note, doc.terms_note, doc.discount_note, *doc.instalment_notes, doc.pay_note):
        if text:
            pdf.multi_cell(_WIDTH, 5, text, new_x="LMARGIN", new_y="NEXT")
    if not doc.payment_details:
        return
    pdf.ln(3)
    if pdf.get_y() + 6 + 5 * len(doc.payment_details) > pdf.page_break_trigger:
        pdf.add_page()
    pdf.set_font(family, "B", 9)
    pdf.cell(0, 6, doc.labels["payment"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 9)
    labels = max(38.0, *(pdf.get_string_width(label) + 3 for label, _ in doc.payment_details))
    for label, value in doc.payment_details:
        pdf.set_font(family, "", 9)
        pdf.cell(labels, 5, label)
        pdf.set_font(family, "B" if label in (doc.labels["iban"], doc.labels["reference"]) else "", 9)
        pdf.cell(0, 5, value, new_x="LMARGIN", new_y="NEXT")


def _footer(pdf: Any, family: str, doc: InvoiceDocument) -> None:
    """The seller's legal particulars and the page number, at the foot of every page."""
    pdf.set_y(-25)
    pdf.set_draw_color(160)
    pdf.line(_LEFT, pdf.get_y(), _LEFT + _WIDTH, pdf.get_y())
    pdf.set_draw_color(0)
    pdf.ln(1)
    pdf.set_font(family, "", 7)
    for line in doc.footer:
        pdf.cell(_WIDTH, 3.6, _fit(pdf, line, _WIDTH), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(_WIDTH, 3.6, doc.labels["page"].format(n=pdf.page_no(), of="{nb}"), align="R")


def _fit(pdf: Any, text: str, width: float) -> str:
    """`text` at the current font, made smaller until it fits `width` (a footer line stays one line)."""
    size = pdf.font_size_pt
    while pdf.get_string_width(text) > width and size > 5:
        size -= 0.5
        pdf.set_font_size(size)
    return text


def _wrap(pdf: Any, text: str, width: float) -> list[str]:
    """`text` broken into lines no wider than `width` at the current font: at spaces, and inside a
    word only when the word alone is wider."""
    if pdf.get_string_width(text) <= width:
        return [text]
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}" if current else word
        if pdf.get_string_width(trial) <= width:
            current = trial
            continue
        if current:
            lines.append(current)
        while pdf.get_string_width(word) > width:  # a word wider than the column: cut where it fills
            cut = max(1, next(i for i in range(len(word), 0, -1) if pdf.get_string_width(word[:i]) <= width))
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines or [""]

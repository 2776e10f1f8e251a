"""A customer's statement of account as a PDF: its open items, the payments received lately, the
cash it has on account and the balance, per currency, as of a date.

Pure: the customer, the seller, the date and the rows in, PDF bytes out (fpdf2, its text
extractable). Written in the customer's language, amounts and dates as that language writes them
(`tasks.platform.localized`), signed by the legal entity that bills the customer with its account
and legal particulars. Reminders attach it where the dunning level says `attach_statement`, and
`o2c statement CUSTOMER --as-of DATE --out FILE.pdf` writes it on request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from tasks.platform import localized
from tasks.platform.bank_ids import iban_formatted
from tasks.platform.sellers import Party, legal_lines

PAYMENTS_SINCE_DAYS = 90  # the payments a statement lists: received in the last 90 days

WORDS = {
    "en": {
        "title": "Statement of account",
        "as_of": "As of",
        "customer": "Customer number",
        "open_items": "Open items",
        "invoice": "Invoice",
        "issued": "Date",
        "due": "Due",
        "amount": "Amount",
        "open": "Open",
        "overdue": "Days overdue",
        "payments": "Payments received in the last {days} days",
        "value_date": "Received",
        "reference": "Reference",
        "applied": "Applied",
        "to": "To invoices",
        "none": "None.",
        "balance": "Balance",
        "open_total": "Open items",
        "on_account": "Cash on account",
        "owed": "Balance due",
        "pay": "Please pay the balance due to {holder}, IBAN {iban}{bic}, quoting the invoice numbers.",
        "questions": "Questions about this statement? Reply to the e-mail it came with or write to {email}.",
    },
    "de": {
        "title": "Kontoauszug",
        "as_of": "Stand",
        "customer": "Kundennummer",
        "open_items": "Offene Posten",
        "invoice": "Rechnung",
        "issued": "Datum",
        "due": "Fällig",
        "amount": "Betrag",
        "open": "Offen",
        "overdue": "Tage überfällig",
        "payments": "Zahlungseingänge der letzten {days} Tage",
        "value_date": "Eingang",
        "reference": "Verwendungszweck",
        "applied": "Verrechnet",
        "to": "Auf Rechnungen",
        "none": "Keine.",
        "balance": "Saldo",
        "open_total": "Offene Posten",
        "on_account": "Guthaben",
        "owed": "Zu zahlen",
        "pay": "Bitte überweisen Sie den Saldo an {holder}, IBAN {iban}{bic}, unter Angabe der Rechnungsnummern.",
        "questions": "Fragen zu diesem Kontoauszug? Antworten Sie auf die E-Mail oder schreiben Sie an {email}.",
    },
    "fr": {
        "title": "Relevé de compte",
        "as_of": "Au",
        "customer": "Numéro client",
        "open_items": "Factures ouvertes",
        "invoice": "Facture",
        "issued": "Date",
        "due": "Échéance",
        "amount": "Montant",
        "open": "Restant dû",
        "overdue": "Jours de retard",
        "payments": "Paiements reçus ces {days} derniers jours",
        "value_date": "Reçu le",
        "reference": "Référence",
        "applied": "Imputé",
        "to": "Sur factures",
        "none": "Aucun.",
        "balance": "Solde",
        "open_total": "Factures ouvertes",
        "on_account": "Avoir disponible",
        "owed": "Solde dû",
        "pay": "Merci de virer le solde dû à {holder}, IBAN {iban}{bic}, en indiquant les numéros de facture.",
        "questions": "Une question sur ce relevé ? Répondez à l'e-mail ou écrivez à {email}.",
    },
}


@dataclass(frozen=True)
class Statement:
    """What one statement shows; amounts in minor units, rows as the ledger gives them."""

    customer_id: str
    customer: Party
    language: str
    seller: Party
    as_of: date
    items: list[dict[str, Any]]  # invoice_id, issue_date, due_date, currency, amount_minor, open_minor
    payments: list[dict[str, Any]] = field(
        default_factory=list
    )  # value_date, currency, reference, applied_minor, invoices
    unapplied: dict[str, int] = field(default_factory=dict)  # currency -> cash on account

    def balances(self) -> dict[str, tuple[int, int, int]]:
        """Per currency: (open items, cash on account, balance due)."""
        opened: dict[str, int] = {}
        for item in self.items:
            opened[str(item["currency"])] = opened.get(str(item["currency"]), 0) + int(item["open_minor"])
        currencies = sorted(set(opened) | set(self.unapplied))
        return {
            c: (opened.get(c, 0), self.unapplied.get(c, 0), opened.get(c, 0) - self.unapplied.get(c, 0))
            for c in currencies
        }


_FONTS = Path("/usr/share/fonts/truetype/dejavu")
_LEFT, _WIDTH = 20.0, 175.0


def statement_pdf(st: Statement) -> bytes:
    """The statement as an A4 PDF."""
    from fpdf import FPDF

    words = WORDS[localized.language_of(st.language)]
    lang = localized.language_of(st.language)
    family = _family(st)

    class _Pages(FPDF):
        def footer(self) -> None:
            self.set_y(-22)
            self.set_font(family, "", 7)
            for line in legal_lines(st.seller, lang):
                self.cell(_WIDTH, 3.6, line, align="C", new_x="LMARGIN", new_y="NEXT")

    pdf = _Pages(format="A4")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_creator("o2c")
    pdf.set_title(f"{words['title']} {st.customer_id} {st.as_of.isoformat()}")
    pdf.set_margins(_LEFT, 15, 15)
    pdf.set_auto_page_break(True, margin=28)
    if family == "DejaVu":
        pdf.add_font("DejaVu", "", str(_FONTS / "DejaVuSans.ttf"))
        pdf.add_font("DejaVu", "B", str(_FONTS / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    _heading(pdf, family, st, words, lang)
    _open_items(pdf, family, st, words, lang)
    _payments(pdf, family, st, words, lang)
    _balance(pdf, family, st, words, lang)
    return bytes(pdf.output())


def _family(st: Statement) -> str:
    texts = [st.seller.name, st.customer.name, *st.customer.street, st.customer.city, *st.seller.street]
    texts += [str(p.get("reference") or "") for p in st.payments]
    try:
        "".join(texts).encode("cp1252")
    except UnicodeEncodeError:
        return "DejaVu" if (_FONTS / "DejaVuSans.ttf").is_file() else "Helvetica"
    return "Helvetica"


def _heading(pdf: Any, family: str, st: Statement, words: dict[str, str], lang: str) -> None:
    pdf.set_font(family, "B", 11)
    pdf.set_xy(125, 15)
    pdf.multi_cell(70, 5, st.seller.name, new_x="LEFT", new_y="NEXT")
    pdf.set_font(family, "", 8.5)
    for line in (*localized.postal_lines(st.seller, lang), st.seller.email, st.seller.phone):
        if line:
            pdf.cell(0, 4, line, new_x="LEFT", new_y="NEXT")
    pdf.set_xy(_LEFT, max(45.0, pdf.get_y() + 4))
    pdf.set_font(family, "B", 10)
    pdf.cell(100, 5, st.customer.name, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 10)
    for line in localized.postal_lines(st.customer, lang, home_country=st.seller.country):
        pdf.cell(100, 5, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font(family, "B", 15)
    pdf.cell(0, 8, words["title"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 9)
    pdf.cell(0, 5, f"{words['as_of']} {localized.day(st.as_of, lang)} · {words['customer']} {st.customer_id}")
    pdf.ln(8)


def _table(
    pdf: Any,
    family: str,
    heads: tuple[str, ...],
    rows: Sequence[tuple[str, ...]],
    widths: tuple[float, ...],
    texts: int = 2,
) -> None:
    """A table whose first `texts` columns are left-aligned and the others (amounts, counts)
    right-aligned; its heading repeats on a new page."""

    def row(values: tuple[str, ...], bold: bool = False) -> None:
        if pdf.get_y() + 6 > pdf.page_break_trigger:
            pdf.add_page()
            if not bold:
                row(heads, bold=True)
        pdf.set_font(family, "B" if bold else "", 8.5)
        for n, (value, width) in enumerate(zip(values, widths, strict=True)):
            pdf.cell(width, 5.5, value, align="L" if n < texts else "R")
        pdf.ln(5.5)

    row(heads, bold=True)
    for values in rows:
        row(values)


def _open_items(pdf: Any, family: str, st: Statement, words: dict[str, str], lang: str) -> None:
    pdf.set_font(family, "B", 10)
    pdf.cell(0, 7, words["open_items"], new_x="LMARGIN", new_y="NEXT")
    rows = [
        (
            str(item["invoice_id"]),
            localized.day(item["issue_date"], lang),
            localized.day(item["due_date"], lang),
            localized.money(int(item["amount_minor"]), str(item["currency"]), lang),
            localized.money(int(item["open_minor"]), str(item["currency"]), lang),
            str(max(0, (st.as_of - _as_date(item["due_date"])).days) or ""),
        )
        for item in sorted(
            st.items, key=lambda i: (str(i["currency"]), _as_date(i["due_date"]), str(i["invoice_id"]))
        )
    ]
    heads = (
        words["invoice"],
        words["issued"],
        words["due"],
        words["amount"],
        words["open"],
        words["overdue"],
    )
    if rows:
        _table(pdf, family, heads, rows, (48, 22, 22, 28, 28, 27), texts=3)  # wide: a charge's id
    else:
        pdf.set_font(family, "", 9)
        pdf.cell(0, 6, words["none"], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def _payments(pdf: Any, family: str, st: Statement, words: dict[str, str], lang: str) -> None:
    pdf.set_font(family, "B", 10)
    pdf.cell(0, 7, words["payments"].format(days=PAYMENTS_SINCE_DAYS), new_x="LMARGIN", new_y="NEXT")
    rows = [
        (
            localized.day(p["value_date"], lang),
            str(p.get("reference") or "")[:40],
            localized.money(int(p["applied_minor"]), str(p["currency"]), lang),
            str(p.get("invoices") or "")[:48],
        )
        for p in st.payments
    ]
    if rows:
        _table(
            pdf,
            family,
            (words["value_date"], words["reference"], words["applied"], words["to"]),
            rows,
            (25, 60, 30, 60),
        )
    else:
        pdf.set_font(family, "", 9)
        pdf.cell(0, 6, words["none"], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def _balance(pdf: Any, family: str, st: Statement, words: dict[str, str], lang: str) -> None:
    pdf.set_font(family, "B", 10)
    pdf.cell(0, 7, words["balance"], new_x="LMARGIN", new_y="NEXT")
    for currency, (opened, on_account, owed) in st.balances().items():
        for label, minor, style in (
            (words["open_total"], opened, ""),
            (words["on_account"], -on_account, ""),
            (words["owed"], owed, "B"),
        ):
            if label == words["on_account"] and not on_account:
                continue
            pdf.set_font(family, style, 9.5)
            pdf.set_x(_LEFT + 85)
            pdf.cell(50, 5.5, label)
            pdf.cell(
                40, 5.5, localized.money(minor, currency, lang), align="R", new_x="LMARGIN", new_y="NEXT"
            )
        pdf.ln(2)
    pdf.ln(3)
    pdf.set_font(family, "", 9)
    if st.seller.iban:
        bic = f", BIC {st.seller.bic}" if st.seller.bic else ""
        holder = st.seller.account_holder or st.seller.name
        pdf.multi_cell(
            _WIDTH,
            5,
            words["pay"].format(holder=holder, iban=iban_formatted(st.seller.iban), bic=bic),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    if st.seller.email:
        pdf.multi_cell(
            _WIDTH, 5, words["questions"].format(email=st.seller.email), new_x="LMARGIN", new_y="NEXT"
        )


def _as_date(value: Any) -> date:
    import pandas as pd

    return value if isinstance(value, date) and not hasattr(value, "hour") else pd.Timestamp(value).date()

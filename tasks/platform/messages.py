"""Messages before delivery: the reminders, invoice e-mails and internal notices, rendered.

Pure: Jinja2 templates (autoescape on for HTML) of the run's templates folder, rendered into a
`RenderedMessage`; a template that fails to render is a `PolicyError` naming it. Delivering them
is `tasks/platform/mail.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, TemplateError, select_autoescape

from tasks.platform.config import SHIPPED_TEMPLATES
from tasks.platform.policy import PolicyError

SUBJECTS = {
    "en": {0: "Upcoming payment: invoices falling due", "other": "Payment reminder: open invoices"},
    "de": {0: "Hinweis: bald fällige Rechnungen", "other": "Zahlungserinnerung: offene Rechnungen"},
    "fr": {0: "Rappel : factures bientôt échues", "other": "Relance : factures impayées"},
}


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str
    language: str
    level_name: str


@cache
def template_environment(folder: Path = SHIPPED_TEMPLATES) -> Environment:
    """The Jinja2 templates of `folder` (a run passes its Settings' `templates`), autoescaped for HTML."""
    return Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        auto_reload=False,  # a run's templates do not change under it: no stat of the file per message
    )


def render_reminder(
    *,
    customer: dict[str, Any],
    language: str,
    items: list[dict[str, Any]],
    totals: dict[str, dict[str, Any]],
    max_level: int,
    level_name: str,
    as_of: date,
    pay_by: date,
    template: str = "reminder",
    folder: Path = SHIPPED_TEMPLATES,
    seller: Any = None,
    reference: str = "",
) -> RenderedMessage:
    """The text and HTML of one consolidated reminder, in the customer's language (fallback English),
    from `rules/templates/<template>.<language>.txt` (and `.html` where the layout exists). `items`
    and `totals` arrive written out (`tasks.remind.render`); `seller` is the entity that writes
    (`tasks.platform.sellers.Party`), `reference` the payment reference of a reminder about one
    invoice (else the invoice numbers are quoted)."""
    env = template_environment(folder)
    lang = language if language in SUBJECTS else "en"
    subject = reminder_subject(lang, max_level, customer["customer_id"])
    context = reminder_context(
        customer, items, totals, max_level, as_of, pay_by, subject, seller, reference, lang
    )
    lang, text, html = render_reminder_layouts(
        env.get_template, set(env.list_templates()), template, lang, context
    )
    return RenderedMessage(subject, text, html, lang, level_name)


def reminder_context(
    customer: Any,
    items: Any,
    totals: Any,
    max_level: int,
    as_of: Any,
    pay_by: Any,
    subject: str,
    seller: Any,
    reference: str,
    language: str,
) -> dict[str, Any]:
    """What a reminder template reads: the dates as the language writes them, the seller's name,
    address, account and legal particulars (`seller_view`)."""
    from tasks.platform import localized
    from tasks.platform.sellers import FALLBACK_NAME, Party

    party = seller if isinstance(seller, Party) else Party(name=str(seller or FALLBACK_NAME))
    return {
        "customer": customer,
        "items": items,
        "totals": totals,
        "max_level": max_level,
        "as_of": localized.day(as_of, language),
        "pay_by": localized.day(pay_by, language),
        "subject": subject,
        "seller": _seller(party, language),
        "reference": reference,
        "language": language,
    }


@cache
def _seller(party: Any, language: str) -> _Attributes:
    """The seller as a template reads it, made once per entity and language (a run writes
    thousands of messages for a few entities)."""
    from tasks.platform.sellers import seller_view

    return _Attributes(seller_view(party, language))


class _Attributes(dict[str, Any]):
    """A dict a template reads as `seller.name` at once (its keys are its attributes)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.__dict__ = self


def reminder_subject(language: str, max_level: int, customer_id: str) -> str:
    """A reminder's subject in `language` (one of SUBJECTS), by the highest level it carries."""
    parts = SUBJECTS[language]
    return f"{parts.get(max_level, parts['other'])} ({customer_id})"


def render_reminder_layouts(
    get: Callable[[str], Template],
    names: Container[str],
    template: str,
    language: str,
    context: dict[str, Any],
) -> tuple[str, str, str]:
    """(language, text, HTML) of a reminder from `<template>.<language>.txt` (English when the
    language has no such text) and its `.html` layout, else the text, escaped, in a minimal page.
    `get` gives a template by name, `names` the templates there are."""
    lang = language if f"{template}.{language}.txt" in names else "en"
    html_name = f"{template}.{lang}.html"
    name = f"{template}.{lang}.txt"
    try:
        text = get(name).render(context)
        if html_name in names:
            name = html_name
            html = get(html_name).render(context)
        else:  # no HTML layout in this language yet: the text, escaped, in a minimal page
            name = "plain.html"
            html = get("plain.html").render({**context, "text": text, "language": lang})
    except TemplateError as exc:
        raise PolicyError(f"rules/templates/{name}: {exc.message or type(exc).__name__}") from None
    return lang, text, html


INVOICE_SUBJECTS = {
    "en": {"invoice": "Invoice {number} from {seller}", "credit_note": "Credit note {number} from {seller}"},
    "de": {"invoice": "Rechnung {number} von {seller}", "credit_note": "Gutschrift {number} von {seller}"},
    "fr": {"invoice": "Facture {number} de {seller}", "credit_note": "Avoir {number} de {seller}"},
}


def render_invoice_mail(
    *, invoice: dict[str, Any], customer: dict[str, Any], seller: Any, folder: Path = SHIPPED_TEMPLATES
) -> RenderedMessage:
    """The e-mail that carries one invoice or credit note (its PDF attached at delivery), in the
    customer's language, from `rules/templates/invoice_mail.<language>.txt`; the HTML part is the
    text, escaped, in a minimal page. `seller` is the billing entity (`tasks.platform.sellers.Party`)
    or its name. Amounts arrive in minor units and are printed exactly, amounts and dates as the
    language writes them; an invoice says the account to pay to and the reference to quote."""
    import pandas as pd

    from tasks.platform import localized
    from tasks.platform.bank_ids import creditor_reference, iban_formatted

    env = template_environment(folder)
    lang = localized.language_of(customer.get("language"))
    kind = "credit_note" if invoice.get("kind") == "credit_note" else "invoice"
    currency = str(invoice["currency"])
    discount = invoice.get("discount_amount_minor")
    has_discount = discount is not None and not pd.isna(discount) and int(discount) > 0
    name = str(getattr(seller, "name", seller))
    iban = str(getattr(seller, "iban", "") or "")
    subject = INVOICE_SUBJECTS[lang][kind].format(number=invoice["invoice_id"], seller=name)
    context = {
        "customer": customer,
        "seller": name,
        "kind": kind,
        "invoice_id": invoice["invoice_id"],
        "issue_date": localized.day(invoice["issue_date"], lang),
        "due_date": localized.day(invoice["due_date"], lang),
        "currency": currency,
        "total": localized.money(abs(int(invoice["amount_minor"])), currency, lang),
        "credit_for": invoice.get("credit_for_invoice") or "",
        "discount": localized.money(int(discount or 0), currency, lang) if has_discount else "",
        "discount_date": localized.day(invoice.get("discount_date"), lang) if has_discount else "",
        "reference": creditor_reference(str(invoice["invoice_id"])) if kind == "invoice" else "",
        "iban": iban_formatted(iban) if iban else "",
        "bic": str(getattr(seller, "bic", "") or ""),
        "subject": subject,
    }
    name = f"invoice_mail.{lang}.txt"
    try:
        text = env.get_template(name).render(context)
        name = "plain.html"
        html = env.get_template(name).render({**context, "text": text, "language": lang})
    except TemplateError as exc:
        raise PolicyError(f"rules/templates/{name}: {exc.message or type(exc).__name__}") from None
    return RenderedMessage(subject, text, html, lang, kind)


def render_owner_notice(
    notice: dict[str, Any], *, as_of: date, seller: str, folder: Path = SHIPPED_TEMPLATES
) -> RenderedMessage:
    """The internal e-mail to a customer's account owner when escalation moves the customer into a
    state that says so (`notify_owner`), from `rules/templates/owner_notice.en.txt`."""
    from tasks.platform.money import to_major_str

    currency = str(notice["currency"])
    context = {
        "customer_id": notice["customer_id"],
        "name": notice.get("name") or notice["customer_id"],
        "state": notice["state"],
        "reason": notice["reason"],
        "currency": currency,
        "overdue": to_major_str(int(notice["overdue_amount_minor"]), currency),
        "oldest_days": int(notice["oldest_days_past_due"]),
        "as_of": as_of.isoformat(),
        "seller": seller,
    }
    subject = f"Escalation: {context['name']} ({notice['customer_id']}) is now {notice['state']}"
    return render_plain("owner_notice.en.txt", context, subject, kind=str(notice["state"]), folder=folder)


def render_plain(
    template: str, context: dict[str, Any], subject: str, *, kind: str, folder: Path = SHIPPED_TEMPLATES
) -> RenderedMessage:
    """An internal English e-mail: the text template, and the same text in the escaped HTML page."""
    env = template_environment(folder)
    name = template
    try:
        text = env.get_template(name).render(context)
        name = "plain.html"
        html = env.get_template(name).render({**context, "text": text, "language": "en", "subject": subject})
    except TemplateError as exc:
        raise PolicyError(f"rules/templates/{name}: {exc.message or type(exc).__name__}") from None
    return RenderedMessage(subject, text, html, "en", kind)

"""Rendering a run's reminders cheaply: the templates looked up and compiled once per run, the
invoice lines' texts made for all messages at once, and each message rendered from them.

What is rendered is byte for byte what `tasks.platform.mail.render_reminder` renders for the same
message (a unit test holds the two together); this only does the per-message work once per run.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from jinja2 import Template, TemplateError

from tasks.platform.mail import SUBJECTS, RenderedMessage, template_environment
from tasks.platform.money import to_major_str
from tasks.platform.policy import PolicyError


class View(dict[str, Any]):
    """A dict the templates read as `item.name` without a failed attribute lookup first (Jinja
    tries the attribute, then the key): its keys are also its attributes, the same values found at
    once. (No key of a view is the name of a dict method, which would hide the method.)"""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.__dict__ = self


class Renderer:
    """The reminder templates of one folder, each looked up and compiled once."""

    def __init__(self, folder: Path) -> None:
        self.env = template_environment(folder)
        self.names = set(self.env.list_templates())
        self.compiled: dict[str, Template] = {}

    def _template(self, name: str) -> Template:
        if name not in self.compiled:
            self.compiled[name] = self.env.get_template(name)
        return self.compiled[name]

    def render(
        self,
        *,
        customer: dict[str, Any],
        language: str,
        items: list[View],
        totals: dict[str, View],
        max_level: int,
        level_name: str,
        as_of: str,
        pay_by: str,
        template: str,
    ) -> RenderedMessage:
        """One consolidated reminder, as `render_reminder` makes it (dates given as ISO text)."""
        lang = language if language in SUBJECTS else "en"
        subject_parts = SUBJECTS[lang]
        subject = f"{subject_parts.get(max_level, subject_parts['other'])} ({customer['customer_id']})"
        context = {
            "customer": View(customer),
            "items": items,
            "totals": totals,
            "max_level": max_level,
            "as_of": as_of,
            "pay_by": pay_by,
            "subject": subject,
        }
        if f"{template}.{lang}.txt" not in self.names:
            lang = "en"
        html_name = f"{template}.{lang}.html"
        name = f"{template}.{lang}.txt"
        try:
            text = self._template(name).render(context)
            if html_name in self.names:
                name = html_name
                html = self._template(html_name).render(context)
            else:  # no HTML layout in this language yet: the text, escaped, in a minimal page
                name = "plain.html"
                html = self._template("plain.html").render({**context, "text": text, "language": lang})
        except TemplateError as exc:
            raise PolicyError(f"rules/templates/{name}: {exc.message or type(exc).__name__}") from None
        return RenderedMessage(subject, text, html, lang, level_name)


def iso_dates(values: pd.Series) -> list[str]:
    """Dates (date objects, timestamps or text) as YYYY-MM-DD."""
    return [d.isoformat() for d in pd.to_datetime(values).dt.date]


def major_strings(minor: Any, currencies: Any) -> list[str]:
    """Each amount in minor units as a decimal string in its currency's major units."""
    return [to_major_str(int(m), str(c)) for m, c in zip(minor, currencies, strict=True)]


def item_views(items: pd.DataFrame) -> list[View]:
    """What the templates show of each invoice in a message, made for all messages at once."""
    if not len(items):
        return []
    days = items["days_past_due"].to_numpy().tolist()
    interest = items["interest_minor"].to_numpy().tolist()
    columns = zip(
        items["invoice_id"].tolist(),
        iso_dates(items["issue_date"]),
        iso_dates(items["due_date"]),
        days,
        major_strings(items["open_minor"].to_numpy().tolist(), items["currency"]),
        items["currency"].tolist(),
        items["level_name"].tolist(),
        major_strings(interest, items["currency"]),
        interest,
        strict=True,
    )
    return [
        View(
            invoice_id=invoice_id,
            issue_date=issued,
            due_date=due,
            days_past_due=int(past),
            open_amount=amount,
            currency=currency,
            level_name=level_name,
            interest=interest_text,
            has_interest=bool(interest_minor),
        )
        for invoice_id, issued, due, past, amount, currency, level_name, interest_text, interest_minor in columns
    ]


def total_view(total: dict[str, int], currency: str) -> View:
    return View(
        {name.removesuffix("_minor"): to_major_str(int(v), currency) for name, v in total.items()}
        | {"has_interest": bool(total["interest_minor"]), "has_fee": bool(total["fee_minor"])}
    )


def statements(items: pd.DataFrame | pa.Table, wanting: set[str], as_of: date) -> dict[str, str]:
    """The statement of account (every open invoice, as CSV) of each customer in `wanting`."""
    header = (
        "statement of account,{customer},as of," + as_of.isoformat() + "\ninvoice,issued,due,currency,open\n"
    )
    out = {c: header.format(customer=c) for c in wanting}
    table = items if isinstance(items, pa.Table) else pa.Table.from_pandas(items, preserve_index=False)
    table = table.filter(
        pc.and_(pc.greater(table["open_minor"], 0), pc.is_in(table["customer_id"], pa.array(sorted(wanting))))
    )
    mine = table.select(
        ["customer_id", "invoice_id", "issue_date", "due_date", "currency", "open_minor"]
    ).to_pandas()
    mine["due_date"] = pd.to_datetime(mine["due_date"])
    mine = mine.sort_values(["customer_id", "currency", "due_date", "invoice_id"], kind="stable")
    lines = [
        f"{invoice},{issued},{due},{currency},{amount}"
        for invoice, issued, due, currency, amount in zip(
            mine["invoice_id"],
            iso_dates(mine["issue_date"]),
            iso_dates(mine["due_date"]),
            mine["currency"],
            major_strings(mine["open_minor"].tolist(), mine["currency"]),
            strict=True,
        )
    ]
    for customer, line in zip(mine["customer_id"], lines, strict=True):
        out[customer] += line + "\n"
    return out

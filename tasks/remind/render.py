"""Rendering a run's reminders cheaply: the templates looked up and compiled once per run, the
invoice lines' texts made for all messages at once, and each message rendered from them.

What is rendered is byte for byte what `tasks.platform.messages.render_reminder` renders for the same
message (a unit test holds the two together); this only does the per-message work once per run.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from jinja2 import Template

from tasks.platform import localized
from tasks.platform.ledger import compute, load_sql
from tasks.platform.messages import (
    SUBJECTS,
    RenderedMessage,
    reminder_context,
    reminder_subject,
    render_reminder_layouts,
    template_environment,
)
from tasks.platform.money import exponent, to_major_str


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
        seller: Any = None,
        reference: str = "",
    ) -> RenderedMessage:
        """One consolidated reminder, as `render_reminder` makes it (dates given as ISO text)."""
        lang = language if language in SUBJECTS else "en"
        subject = reminder_subject(lang, max_level, customer["customer_id"])
        context = reminder_context(
            View(customer), items, totals, max_level, as_of, pay_by, subject, seller, reference, lang
        )
        lang, text, html = render_reminder_layouts(self._template, self.names, template, lang, context)
        return RenderedMessage(subject, text, html, lang, level_name)


def iso_dates(values: pd.Series) -> list[str]:
    """Dates (date objects, timestamps or text) as YYYY-MM-DD."""
    return [d.isoformat() for d in pd.to_datetime(values).dt.date]


def major_strings(minor: Any, currencies: Any) -> list[str]:
    """Each amount in minor units as a decimal string in its currency's major units."""
    return [to_major_str(int(m), str(c)) for m, c in zip(minor, currencies, strict=True)]


VIEW_KEYS = (
    "invoice_id",
    "issue_date",
    "due_date",
    "days_past_due",
    "open_amount",
    "currency",
    "level_name",
    "interest",
    "has_interest",
)


def item_views(items: pd.DataFrame, languages: dict[str, str] | None = None) -> list[View]:
    """What the templates show of each invoice in a message, in its customer's language
    (`languages`: customer_id -> language; English where none), made for all messages at once in
    the compute engine (`sql/remind/item_views.sql`: dates, amounts and interest as
    `tasks.platform.localized` writes them)."""
    if not len(items):
        return []
    language = (
        [localized.language_of((languages or {}).get(str(c))) for c in items["customer_id"].tolist()]
        if "customer_id" in items
        else ["en"] * len(items)
    )
    table = pa.table(
        {
            "invoice_id": pa.array(items["invoice_id"].tolist(), pa.string()),
            "issue_date": pa.array(pd.to_datetime(items["issue_date"]).dt.date.tolist(), pa.date32()),
            "due_date": pa.array(pd.to_datetime(items["due_date"]).dt.date.tolist(), pa.date32()),
            "days_past_due": pa.array(items["days_past_due"].to_numpy(dtype="int64")),
            "open_minor": pa.array(items["open_minor"].to_numpy(dtype="int64")),
            "currency": pa.array(items["currency"].tolist(), pa.string()),
            "language": pa.array(language, pa.string()),
            "level_name": pa.array(items["level_name"].tolist(), pa.string()),
            "interest_minor": pa.array(items["interest_minor"].to_numpy(dtype="int64")),
            "_row": pa.array(np.arange(len(items), dtype=np.int64)),
        }
    )
    pairs = sorted(set(zip(table["currency"].to_pylist(), language, strict=True)))
    parts = [localized.money_parts(c, lang) for c, lang in pairs]
    formats = pa.table(
        {
            "currency": pa.array([c for c, _ in pairs], pa.string()),
            "language": pa.array([lang for _, lang in pairs], pa.string()),
            "prefix": pa.array([p[0] for p in parts], pa.string()),
            "suffix": pa.array([p[1] for p in parts], pa.string()),
            "grp": pa.array([p[2] for p in parts], pa.string()),
            "dec": pa.array([p[3] for p in parts], pa.string()),
            "exponent": pa.array([exponent(c) for c, _ in pairs], pa.int64()),
            "scale": pa.array([10 ** exponent(c) for c, _ in pairs], pa.int64()),
            "numeric_dates": pa.array([localized.numeric_dates(lang) for _, lang in pairs], pa.bool_()),
        }
    )
    spoken = sorted(set(language))
    months = pa.table(
        {
            "language": pa.array([lang for lang in spoken for _ in range(12)], pa.string()),
            "month": pa.array([m for _ in spoken for m in range(1, 13)], pa.int64()),
            "abbr": pa.array(
                [a for lang in spoken for a in localized.month_abbreviations(lang)], pa.string()
            ),
        }
    )
    with compute() as engine:
        engine.register("items", table)
        engine.register("formats", formats)
        engine.register("months", months)
        texts = engine.arrow(load_sql("remind/item_views"))
    columns = [texts[key].to_pylist() for key in VIEW_KEYS]
    return [View(zip(VIEW_KEYS, values, strict=True)) for values in zip(*columns, strict=True)]


def total_view(total: dict[str, int], currency: str, language: str = "en", pay_link: str = "") -> View:
    """A message's totals in one currency, written as its language writes money, with the link
    to pay them where the seller has one."""
    return View(
        {
            name.removesuffix("_minor"): localized.money(int(v), currency, language)
            for name, v in total.items()
        }
        | {
            "has_interest": bool(total["interest_minor"]),
            "has_fee": bool(total["fee_minor"]),
            "pay_link": pay_link,
        }
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

"""The remind stage's renderer (templates compiled once per run, lines made for all messages at
once) renders byte for byte what `render_reminder` renders, in every language and layout."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tasks.platform.config import SHIPPED_TEMPLATES
from tasks.platform.messages import render_reminder
from tasks.remind.render import Renderer, View

ITEMS = [
    {
        "invoice_id": "I-1",
        "issue_date": "2026-01-05",
        "due_date": "2026-02-04",
        "days_past_due": 55,
        "open_amount": "1234.50",
        "currency": "EUR",
        "level_name": "final_notice",
        "interest": "15.07",
        "has_interest": True,
    },
    {
        "invoice_id": "I-2",
        "issue_date": "2026-03-01",
        "due_date": "2026-04-02",
        "days_past_due": -2,
        "open_amount": "12",
        "currency": "JPY",
        "level_name": "courtesy",
        "interest": "0",
        "has_interest": False,
    },
]
TOTALS = {
    "EUR": {
        "open": "1234.50",
        "interest": "15.07",
        "fee": "10.00",
        "total": "1259.57",
        "has_interest": True,
        "has_fee": True,
    },
    "JPY": {
        "open": "12",
        "interest": "0",
        "fee": "0",
        "total": "12",
        "has_interest": False,
        "has_fee": False,
    },
}


@pytest.mark.parametrize("language", ["en", "de", "fr", "es", ""])
@pytest.mark.parametrize("level", [0, 3])
def test_the_renderer_renders_what_render_reminder_renders(language: str, level: int) -> None:
    as_of = date(2026, 3, 31)
    customer = {"customer_id": "C1", "name": "<script>alert('x')</script> & Söhne"}
    common = {"customer": customer, "language": language, "max_level": level, "level_name": "final_notice"}
    expected = render_reminder(
        **common,
        items=ITEMS,
        totals=TOTALS,
        as_of=as_of,
        pay_by=as_of + timedelta(days=10),
        template="reminder",
        folder=SHIPPED_TEMPLATES,
    )
    got = Renderer(SHIPPED_TEMPLATES).render(
        **common,
        items=[View(i) for i in ITEMS],
        totals={c: View(t) for c, t in TOTALS.items()},
        as_of=as_of.isoformat(),
        pay_by=(as_of + timedelta(days=10)).isoformat(),
        template="reminder",
    )
    assert got == expected


def test_the_invoice_lines_texts_are_written_as_babel_writes_them_in_each_language() -> None:
    """The set-based formatter (SQL over the whole run's lines) agrees with Babel to the character,
    for every language, currency decimals from 0 to 4, signs and sizes."""
    import pandas as pd

    from tasks.platform import localized
    from tasks.remind.render import item_views

    amounts = [0, 1, 9, 10, 99, 100, 105, 123456789, -1, -105, 10**15 + 7]
    languages = {"C-en": "en", "C-de": "de", "C-fr": "fr", "C-es": "es"}
    rows = [
        {
            "invoice_id": f"I-{i}-{c}-{customer}",
            "customer_id": customer,
            "issue_date": date(2026, 1 + i % 12, 2),
            "due_date": pd.Timestamp(f"2026-{1 + (i + 4) % 12:02d}-13"),
            "days_past_due": i - 3,
            "open_minor": m,
            "currency": c,
            "level_name": "first_reminder",
            "interest_minor": m // 7,
        }
        for customer in languages
        for c in ("EUR", "JPY", "BHD", "CLF", "USD", "CHF")
        for i, m in enumerate(amounts)
    ]
    views = item_views(pd.DataFrame(rows), languages)
    assert [dict(v) for v in views] == [
        {
            "invoice_id": r["invoice_id"],
            "issue_date": localized.day(r["issue_date"], languages[r["customer_id"]]),
            "due_date": localized.day(r["due_date"], languages[r["customer_id"]]),
            "days_past_due": r["days_past_due"],
            "open_amount": localized.money(r["open_minor"], r["currency"], languages[r["customer_id"]]),
            "currency": r["currency"],
            "level_name": "first_reminder",
            "interest": localized.money(r["interest_minor"], r["currency"], languages[r["customer_id"]]),
            "has_interest": r["interest_minor"] != 0,
        }
        for r in rows
    ]
    assert views[0].invoice_id == "I-0-EUR-C-en"  # read as the templates read it

"""The remind stage's renderer (templates compiled once per run, lines made for all messages at
once) renders byte for byte what `render_reminder` renders, in every language and layout."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tasks.platform.config import SHIPPED_TEMPLATES
from tasks.platform.mail import render_reminder
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

"""The demo's summary shows the collectors' worklist, per group, highest score first."""

from __future__ import annotations

from pathlib import Path

from cli.views import demo_summary
from tasks.platform.config import Settings

from .tables import table


def test_the_demo_summary_shows_each_groups_worklist(tmp_path: Path) -> None:
    worklist = table("""
        | collector_group | customer_id | state              | score  | overdue_amount_minor | currency | oldest_days_past_due |
        | north           | K1          | credit_hold        | 120.5  | 2000_00              | EUR      | 111                  |
        | north           | K4          | over_credit_limit  | 10.0   | 0                    | EUR      | 0                    |
        | south           | K9          | collector_worklist | 44.25  | 150000               | JPY      | 50                   |
    """)
    worklist["score"] = worklist["score"].astype(float)
    text = demo_summary({}, Settings(home=tmp_path), worklist=worklist)
    lines = text.splitlines()
    start = lines.index("worklist (3 customer(s); `o2c export worklist` for all of it):")
    assert lines[start + 1 : start + 6] == [
        "  north:",
        "     120.50  K1       credit_hold             2000.00 EUR  oldest 111 days",
        "      10.00  K4       over_credit_limit          0.00 EUR  oldest 0 days",
        "  south:",
        "      44.25  K9       collector_worklist       150000 JPY  oldest 50 days",
    ]

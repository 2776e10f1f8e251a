"""DSO at past month ends (`sql/report/dso_month_ends.sql`) against the same figures worked out
invoice by invoice at each month end, on random small books full of the awkward cases: credit notes
and zero amounts, cash before an invoice's issue or after the last month end, payments without a
value date, allocations of payments the ledger does not hold, write-offs and their reversals,
overpaid invoices, and one legal entity's invoices alone."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import duckdb
import pytest

from tasks.platform.ledger.tables import load_sql
from tasks.report.figures import month_ends_before

BASE = date(2025, 6, 1)


def _book(seed: int) -> dict[str, list[tuple[Any, ...]]]:
    rng = random.Random(seed)
    invoices = [
        (
            f"I{i}",
            rng.choice(["EUR", "USD", "JPY"]),
            BASE + timedelta(days=rng.randint(0, 600)),
            rng.choice([rng.randint(-500, 5000), 1000, 0]),
        )
        for i in range(rng.randint(0, 40))
    ]
    members = [(i[0], "invoice", "E1") for i in invoices if rng.random() < 0.5]
    payments, allocations = [], []
    for p in range(rng.randint(0, 30)):
        day = None if rng.random() < 0.1 else BASE + timedelta(days=rng.randint(-30, 650))
        payments.append((f"P{p}", day))
        for _ in range(rng.randint(0, 3)):
            paid_by = f"P{p}" if rng.random() < 0.95 else "P-unknown"
            invoice = f"I{rng.randint(0, len(invoices))}"
            allocations.append((paid_by, invoice, rng.choice([rng.randint(1, 3000), 1000, 500])))
    adjustments = [
        (
            f"I{rng.randint(0, len(invoices))}",
            None if rng.random() < 0.1 else BASE + timedelta(days=rng.randint(0, 650)),
            rng.randint(-100, 600),
        )
        for _ in range(rng.randint(0, 10))
    ]
    return {
        "invoices": invoices,
        "entity_members": members,
        "payments": payments,
        "allocations": allocations,
        "invoice_adjustments": adjustments,
    }


def _one_by_one(
    book: dict[str, list[tuple[Any, ...]]], ends: list[date], period_days: int, entity: str | None
) -> list[tuple[Any, ...]]:
    """Each invoice issued by each month end: its amount less the cash received and the write-offs
    made by then; the positive ones summed per currency, and the sales of the period before."""
    members = {m[0] for m in book["entity_members"] if m[2] == entity}
    value_day = dict(book["payments"])
    rows = []
    for end in ends:
        open_minor: dict[str, int] = defaultdict(int)
        sales: dict[str, int] = defaultdict(int)
        for invoice_id, currency, issued, amount in book["invoices"]:
            if issued > end or (entity is not None and invoice_id not in members):
                continue
            paid = sum(
                a[2]
                for a in book["allocations"]
                if a[1] == invoice_id and value_day.get(a[0]) is not None and value_day[a[0]] <= end
            )
            written_off = sum(
                w[2]
                for w in book["invoice_adjustments"]
                if w[0] == invoice_id and w[1] is not None and w[1] <= end
            )
            left = amount - paid - written_off
            open_minor[currency] += max(left, 0)
            sales[currency] += amount if issued > end - timedelta(days=period_days) else 0
        rows += [(end, currency, open_minor[currency], sales[currency]) for currency in sorted(open_minor)]
    return rows


@pytest.mark.parametrize("seed", range(40))
def test_dso_at_month_ends_is_what_each_invoice_adds_up_to(seed: int) -> None:
    book = _book(seed)
    con = duckdb.connect()
    con.execute(
        "create table invoices (invoice_id varchar, currency varchar, issue_date date, amount_minor bigint)"
    )
    con.execute("create table entity_members (id varchar, kind varchar, entity varchar)")
    con.execute("create table payments (payment_id varchar, value_date date)")
    con.execute("create table allocations (payment_id varchar, invoice_id varchar, amount_minor bigint)")
    con.execute("create table invoice_adjustments (invoice_id varchar, as_of date, amount_minor bigint)")
    for table, rows in book.items():
        if rows:
            con.executemany(f"insert into {table} values ({', '.join('?' * len(rows[0]))})", rows)
    rng = random.Random(seed)
    ends = month_ends_before(date(2027, 1, 15) - timedelta(days=rng.randint(0, 300)))
    period_days = rng.choice([30, 90])
    for entity in (None, "E1"):
        found = con.execute(
            load_sql("report/dso_month_ends"),
            {"month_ends": ends, "period_days": period_days, "entity": entity},
        ).fetchall()
        assert found == _one_by_one(book, ends, period_days, entity)

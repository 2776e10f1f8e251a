"""The invoices an earlier billing system issued over the year before `as_of`, and the orders and
order lines behind them: one fulfilled order per invoice, plus orders fulfilled but not yet billed,
open and cancelled ones; the orders, order_lines and invoices frames as written to CSV.

Bulk draws come from one numpy generator; an invoice's amount is the gross total of its order's lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd

from tasks.platform.money import allocate, line_amounts, to_major_str
from tools.generate import text
from tools.generate.basics import iso, previous_business_days, price_text, string_frame
from tools.generate.customers import DISCOUNT_DAYS, DISCOUNT_PERCENT, TAX_RATES, Customers

_LINE_COUNT_P = [0.35, 0.25, 0.20, 0.12, 0.08]  # 1..5 lines per order
_SKU_WEIGHT = np.array([item[5] for item in text.CATALOG], dtype=float)
_QTY_MIN = np.array([item[3] for item in text.CATALOG], dtype=np.int64)
_QTY_SPAN = np.array([item[4] - item[3] + 1 for item in text.CATALOG], dtype=np.int64)
_PRINTED = np.array([item[6] for item in text.CATALOG], dtype=np.int64)


@dataclass
class Invoices:
    """The invoices in number order; days are date ordinals."""

    customer: np.ndarray
    issue_day: np.ndarray
    due_day: np.ndarray
    ids: list[str] = field(default_factory=list)
    amount_minor: list[int] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)


def plan_invoices(cust: Customers, count: int, as_of_day: int, rng: np.random.Generator) -> Invoices:
    """Who is invoiced when: every customer gets a few invoices, the rest follow order volume; issue
    days cover the year before as_of with recent months denser (the business grew). Numbered by issue
    day, restarting every year: INV-<year>-<six digits>."""
    n_customers = len(cust.ids)
    base = min(3, count // n_customers)
    weights = [max(1, int(volume * 1000)) for volume in cust.volume]
    per_customer = np.array(allocate(count - base * n_customers, weights), dtype=np.int64) + base
    customer = np.repeat(np.arange(n_customers), per_customer)
    recent = rng.random(count) < 0.3
    days_ago = np.where(recent, rng.integers(0, 120, count), rng.integers(0, 365, count))
    issue_day = previous_business_days(as_of_day - days_ago)
    by_issue_day = np.lexsort((customer, issue_day))
    customer, issue_day = customer[by_issue_day], issue_day[by_issue_day]
    terms = np.array(cust.terms_days, dtype=np.int64)
    invoices = Invoices(customer=customer, issue_day=issue_day, due_day=issue_day + terms[customer])
    last_number: dict[str, int] = {}
    for day in issue_day.tolist():
        year = iso(day)[:4]
        last_number[year] = last_number.get(year, 0) + 1
        invoices.ids.append(f"INV-{year}-{last_number[year]:06d}")
    return invoices


@dataclass
class _Orders:
    """Every order in order-day order; fulfilled_day and invoice are -1 where there is none."""

    customer: np.ndarray
    order_day: np.ndarray
    status: np.ndarray
    fulfilled_day: np.ndarray
    invoice: np.ndarray


def _plan_orders(cust: Customers, inv: Invoices, as_of_day: int, rng: np.random.Generator) -> _Orders:
    """One fulfilled order per invoice, ordered 1-7 days before the invoice was issued, plus about 5 %
    orders fulfilled in the last ten days and not billed yet, 3 % open and 2 % cancelled orders."""
    n_invoices = len(inv.ids)
    n_unbilled, n_open, n_cancelled = (n_invoices * pct // 100 for pct in (5, 3, 2))
    n_extra = n_unbilled + n_open + n_cancelled
    extra_customer = rng.choice(len(cust.ids), size=n_extra, p=cust.volume / cust.volume.sum())
    unbilled_fulfilled = as_of_day - rng.integers(0, 10, n_unbilled)
    order_day = np.concatenate(
        [
            inv.issue_day - rng.integers(1, 8, n_invoices),
            unbilled_fulfilled - rng.integers(1, 8, n_unbilled),
            as_of_day - rng.integers(0, 21, n_open),
            as_of_day - rng.integers(0, 365, n_cancelled),
        ]
    )
    fulfilled_day = np.concatenate([inv.issue_day, unbilled_fulfilled, np.full(n_open + n_cancelled, -1)])
    statuses = ["fulfilled"] * (n_invoices + n_unbilled) + ["open"] * n_open + ["cancelled"] * n_cancelled
    customer = np.concatenate([inv.customer, extra_customer])
    invoice = np.concatenate([np.arange(n_invoices), np.full(n_extra, -1)])
    order = np.lexsort((np.arange(len(customer)), customer, order_day))
    status = np.array(statuses, dtype=object)
    return _Orders(customer[order], order_day[order], status[order], fulfilled_day[order], invoice[order])


def orders_and_lines(
    cust: Customers, inv: Invoices, as_of_day: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The orders and order_lines frames; also records on each invoice its order and its amount, which
    is the gross total of that order's lines."""
    plan = _plan_orders(cust, inv, as_of_day, rng)
    order_ids = [f"SO-{number:07d}" for number in range(1, len(plan.customer) + 1)]
    lines, order_gross_minor = _order_lines(cust, order_ids, plan.customer, rng)
    billed = np.flatnonzero(plan.invoice >= 0)
    order_of_invoice = np.empty(len(inv.ids), dtype=np.int64)
    order_of_invoice[plan.invoice[billed]] = billed
    inv.order_ids = [order_ids[o] for o in order_of_invoice.tolist()]
    inv.amount_minor = order_gross_minor[order_of_invoice].tolist()
    customers = plan.customer.tolist()
    orders = string_frame(
        "orders",
        order_ids,
        [cust.ids[c] for c in customers],
        [iso(day) for day in plan.order_day.tolist()],
        [cust.currencies[c] for c in customers],
        plan.status.tolist(),
        [iso(day) if day >= 0 else "" for day in plan.fulfilled_day.tolist()],
    )
    return orders, lines


def _order_lines(
    cust: Customers, order_ids: list[str], order_customer: np.ndarray, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray]:
    """1-5 distinct catalogue items per order at the customer's prices and VAT rates. Returns the
    order_lines frame and each order's gross total (net + VAT, VAT rounded per line) in minor units."""
    n_orders = len(order_ids)
    line_count = rng.choice(5, size=n_orders, p=_LINE_COUNT_P) + 1
    # weighted draw without replacement (Efraimidis-Spirakis): the smallest -log(u)/weight keys win
    keys = -np.log(1.0 - rng.random((n_orders, len(text.CATALOG)))) / _SKU_WEIGHT
    is_line = np.arange(5) < line_count[:, None]
    item = np.argsort(keys, axis=1)[:, :5][is_line]
    line_no = np.broadcast_to(np.arange(1, 6), (n_orders, 5))[is_line]
    line_order = np.repeat(np.arange(n_orders), line_count)
    customer = order_customer[line_order]
    quantity = (_QTY_MIN[item] + (rng.random(len(item)) * _QTY_SPAN[item]).astype(np.int64)).tolist()
    unit_price = cust.prices_minor[customer, item].tolist()
    rate_index = cust.tax_rate_index[customer, _PRINTED[item]].tolist()
    rates = [Decimal(rate) for rate in TAX_RATES]
    gross = [
        sum(line_amounts(q, p, rates[r])) for q, p, r in zip(quantity, unit_price, rate_index, strict=True)
    ]
    line_starts = np.cumsum(line_count) - line_count
    order_gross_minor = (
        np.add.reduceat(np.array(gross, dtype=np.int64), line_starts) if n_orders else line_count
    )
    currencies = [cust.currencies[c] for c in customer.tolist()]
    items = item.tolist()
    frame = string_frame(
        "order_lines",
        [order_ids[o] for o in line_order.tolist()],
        [str(n) for n in line_no.tolist()],
        [text.CATALOG[i][0] for i in items],
        [text.CATALOG[i][1] for i in items],
        [str(q) for q in quantity],
        [price_text(p, currency) for p, currency in zip(unit_price, currencies, strict=True)],
        [TAX_RATES[r] for r in rate_index],
    )
    return frame, order_gross_minor


def invoice_frame(cust: Customers, inv: Invoices) -> pd.DataFrame:
    """Invoices; those of customers who pay early offer the early-payment discount they take."""
    customers = inv.customer.tolist()
    currencies = [cust.currencies[c] for c in customers]
    offers = [cust.habits[c] == "early" for c in customers]
    return string_frame(
        "invoices",
        inv.ids,
        [cust.ids[c] for c in customers],
        [iso(day) for day in inv.issue_day.tolist()],
        [iso(day) for day in inv.due_day.tolist()],
        currencies,
        [
            to_major_str(amount, currency)
            for amount, currency in zip(inv.amount_minor, currencies, strict=True)
        ],
        inv.order_ids,
        [
            iso(day + DISCOUNT_DAYS) if early else ""
            for day, early in zip(inv.issue_day.tolist(), offers, strict=True)
        ],
        [
            to_major_str(amount * DISCOUNT_PERCENT // 100, currency) if early else ""
            for amount, currency, early in zip(inv.amount_minor, currencies, offers, strict=True)
        ],
    )

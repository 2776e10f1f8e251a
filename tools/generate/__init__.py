"""A synthetic but realistic order-to-cash book of business, the same for the same seed.

The book holds customers (each with one payment habit), the orders and invoices an earlier billing
system produced over the twelve months before `as_of`, orders still to be billed, the bank receipts the
customers sent with remittance text as messy as real bank data, and the true payment-to-invoice
allocations a reconciler should find. Money is integer minor units until it is written out as decimal
strings in major units; nothing reads the clock, the environment or global random state.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.platform.money import allocate, exponent, line_amounts, round_half_up_div, to_major_str
from tools import generate_text as text


@dataclass(frozen=True)
class Book:
    """Every dataset of one book as string columns, exactly as they are written to CSV."""

    customers: pd.DataFrame
    orders: pd.DataFrame
    order_lines: pd.DataFrame
    invoices: pd.DataFrame
    payments: pd.DataFrame
    truth_allocations: pd.DataFrame


COLUMNS = {
    "customers": [
        *("customer_id", "name", "email", "country", "currency", "payment_terms_days", "credit_limit"),
        *("segment", "dunning_profile", "language", "bank_accounts", "payment_terms"),
    ],
    "orders": ["order_id", "customer_id", "order_date", "currency", "status", "fulfilled_date"],
    "order_lines": ["order_id", "line_no", "sku", "description", "quantity", "unit_price", "tax_rate"],
    "invoices": [
        "invoice_id",
        "customer_id",
        "issue_date",
        "due_date",
        "currency",
        "amount",
        "order_id",
        "discount_date",
        "discount_amount",
    ],
    "payments": [
        "payment_id",
        "value_date",
        "amount",
        "currency",
        "payer_name",
        "payer_account",
        "reference",
    ],
    "truth_allocations": ["payment_id", "invoice_id", "amount", "currency"],
}
_FILE_NAMES = {name: f"{name}.csv" for name in COLUMNS} | {"truth_allocations": "truth/allocations.csv"}

# country: currency, language, share of customers (%), standard VAT, reduced VAT for printed matter
_COUNTRIES = {
    "DE": ("EUR", "de", 28, "0.19", "0.07"),
    "FR": ("EUR", "fr", 14, "0.20", "0.055"),
    "NL": ("EUR", "en", 9, "0.21", "0.09"),
    "AT": ("EUR", "de", 7, "0.20", "0.10"),
    "BE": ("EUR", "fr", 5, "0.21", "0.06"),
    "GB": ("GBP", "en", 12, "0.20", "0"),
    "US": ("USD", "en", 12, "0", "0"),
    "CH": ("CHF", "de", 8, "0.081", "0.026"),
    "JP": ("JPY", "en", 5, "0.10", "0.10"),
}
_TAX_RATES = sorted({rate for *_, standard, reduced in _COUNTRIES.values() for rate in (standard, reduced)})
_EUR_RATE_BP = {"EUR": 10000, "USD": 10850, "GBP": 8450, "CHF": 9400, "JPY": 1620000}  # per EUR, x 10^4
# segment: share of customers (%), discount on list prices (%), relative order volume, credit limit range
_SEGMENTS = {
    "enterprise": (15, 12, 4.0, range(250, 1001, 50)),
    "mid-market": (35, 5, 2.0, range(50, 251, 10)),
    "small-business": (50, 0, 1.0, range(5, 51, 5)),
}
_DUNNING_PROFILES = {"enterprise": "strategic", "mid-market": "standard", "small-business": "small-business"}
_TERMS_SHARES = {14: 15, 30: 50, 45: 15, 60: 20}
HABIT_SHARES = dict(early=20, on_time=30, late=20, chronic_late=10, partial=8, disputer=7, never=5)
# the early-payment discount offered to customers who pay early: 2 % within 10 days of issue
DISCOUNT_PERCENT, DISCOUNT_DAYS = 2, 10
# days from due date to payment for the habits that pay whole invoices around the due date
_DAYS_LATE = dict(on_time=(-3, 3), late=(1, 15), chronic_late=(20, 90), partial=(-2, 7), disputer=(-2, 10))
_DISPUTED_SHARE = 0.35
_ADJUSTMENT_SHARES = {"none": 85, "bank_fee": 5, "short": 5, "over": 5}
_BANK_FEES_MINOR = {"JPY": [440, 660, 880], "USD": [1500, 2000, 2500, 3500]}
_OTHER_BANK_FEES_MINOR = [500, 750, 1000, 1500, 2500]
_PAYMENT_RUN_SHARE = 0.15  # chance that a customer's transfer opens a payment run settling 2-5 invoices
_PAYMENT_RUN_WINDOW_DAYS = 31
_LINE_COUNT_P = [0.35, 0.25, 0.20, 0.12, 0.08]  # 1..5 lines per order
_SKU_WEIGHT = np.array([item[5] for item in text.CATALOG], dtype=float)
_QTY_MIN = np.array([item[3] for item in text.CATALOG], dtype=np.int64)
_QTY_SPAN = np.array([item[4] - item[3] + 1 for item in text.CATALOG], dtype=np.int64)
_PRINTED = np.array([item[6] for item in text.CATALOG], dtype=np.int64)


@dataclass
class _Customers:
    """The customer master plus what only the generator knows: habit, prices, VAT and order volume."""

    ids: list[str]
    names: list[str]
    countries: list[str]
    currencies: list[str]
    languages: list[str]
    segments: list[str]
    habits: list[str]
    terms_days: list[int]
    emails: list[str]
    accounts: list[list[str]]
    credit_limits: list[str]
    volume: np.ndarray  # relative number of orders
    prices_minor: np.ndarray  # customer x catalogue item: unit price in the customer's currency
    tax_rate_index: np.ndarray  # customer x (standard, printed matter): index into _TAX_RATES


@dataclass
class _Invoices:
    """The invoices in number order; days are date ordinals."""

    customer: np.ndarray
    issue_day: np.ndarray
    due_day: np.ndarray
    ids: list[str] = field(default_factory=list)
    amount_minor: list[int] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)


@dataclass
class _Transfer:
    """Money a customer sent towards one invoice: kind is full, discount (cash discount taken),
    partial or rest (of an earlier partial payment)."""

    invoice: int
    value_day: int
    amount_minor: int
    kind: str


@dataclass
class _Payment:
    """One bank receipt and the (invoice, minor units) it truly settles; customer -1 for a stray one."""

    value_day: int
    currency: str
    amount_minor: int
    customer: int
    reference: str
    allocations: list[tuple[int, int]]
    payer_name: str = ""
    payer_account: str = ""


def generate_book(*, customers: int = 50, invoices: int = 500, seed: int = 42, as_of: date) -> Book:
    """A book of `customers` customers and `invoices` invoices issued in the year up to `as_of`."""
    if customers < 1 or invoices < 0:
        raise ValueError("need at least one customer and a non-negative number of invoices")
    rng = np.random.default_rng(seed)  # bulk draws for invoices, orders and lines
    py_rng = random.Random(seed)  # one-at-a-time draws for customers, payments and texts
    as_of_day = as_of.toordinal()
    cust = _make_customers(customers, py_rng)
    inv = _plan_invoices(cust, invoices, as_of_day, rng)
    orders, order_lines = _orders_and_lines(cust, inv, as_of_day, rng)
    payments = _make_payments(cust, inv, as_of_day, py_rng)
    return Book(
        customers=_customer_frame(cust),
        orders=orders,
        order_lines=order_lines,
        invoices=_invoice_frame(cust, inv),
        payments=_payment_frame(payments),
        truth_allocations=_truth_frame(payments, inv),
    )


def write_book(book: Book, out_dir: Path) -> dict[str, Path]:
    """Write out_dir/customers.csv, orders.csv, order_lines.csv, invoices.csv, payments.csv and
    out_dir/truth/allocations.csv (UTF-8, header row, no index); returns {dataset_name: path}."""
    paths: dict[str, Path] = {}
    for name, file_name in _FILE_NAMES.items():
        path = Path(out_dir) / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        getattr(book, name).to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
        paths[name] = path
    return paths


def _quota_labels(rng: random.Random, count: int, shares: dict[str, int]) -> list[str]:
    """`count` labels in exact proportion to `shares` (largest remainder), shuffled, so that even a small
    book holds every label its share allows."""
    counts = allocate(count, list(shares.values()))
    labels = [label for label, times in zip(shares, counts, strict=True) for _ in range(times)]
    rng.shuffle(labels)
    return labels


def _from_eur_minor(eur_cents: int, currency: str) -> int:
    """An EUR amount converted at the book's fixed rate into minor units of `currency`."""
    return round_half_up_div(eur_cents * _EUR_RATE_BP[currency] * 10 ** exponent(currency), 100 * 10000)


@lru_cache(maxsize=64)
def _price_list_minor(currency: str, segment: str) -> tuple[int, ...]:
    """Unit prices of the catalogue in `currency` after the segment's discount."""
    discount_pct = _SEGMENTS[segment][1]
    return tuple(
        round_half_up_div(_from_eur_minor(item[2], currency) * (100 - discount_pct), 100)
        for item in text.CATALOG
    )


def _make_customers(count: int, rng: random.Random) -> _Customers:
    """Customers spread over countries, segments and payment habits in fixed shares."""
    countries = _quota_labels(rng, count, {country: spec[2] for country, spec in _COUNTRIES.items()})
    segments = _quota_labels(rng, count, {segment: spec[0] for segment, spec in _SEGMENTS.items()})
    currencies = [_COUNTRIES[country][0] for country in countries]
    languages = [_COUNTRIES[country][1] for country in countries]
    taken: set[str] = set()
    names = [text.company_name(country, rng, taken) for country in countries]
    pairs = list(zip(currencies, segments, strict=True))
    return _Customers(
        ids=[f"C{number:05d}" for number in range(1, count + 1)],
        names=names,
        countries=countries,
        currencies=currencies,
        languages=languages,
        segments=segments,
        habits=_quota_labels(rng, count, HABIT_SHARES),
        terms_days=rng.choices(list(_TERMS_SHARES), weights=list(_TERMS_SHARES.values()), k=count),
        emails=[
            text.email_address(n, c, lg, rng) for n, c, lg in zip(names, countries, languages, strict=True)
        ],
        accounts=[[text.bank_account(c, rng) for _ in range(1 + (rng.random() < 0.3))] for c in countries],
        credit_limits=[_credit_limit(segment, currency, rng) for currency, segment in pairs],
        volume=np.array([_SEGMENTS[segment][2] * rng.lognormvariate(0, 0.4) for segment in segments]),
        prices_minor=np.array([_price_list_minor(*pair) for pair in pairs], dtype=np.int64).reshape(
            count, -1
        ),
        tax_rate_index=np.array(
            [[_TAX_RATES.index(rate) for rate in _COUNTRIES[country][3:]] for country in countries],
            dtype=np.int64,
        ),
    )


def _credit_limit(segment: str, currency: str, rng: random.Random) -> str:
    """A credit limit fitting the segment: a round number of thousands in the customer's currency."""
    eur_thousands = rng.choice(_SEGMENTS[segment][3])
    thousands = round_half_up_div(eur_thousands * _EUR_RATE_BP[currency], 10000)
    return to_major_str(thousands * 1000 * 10 ** exponent(currency), currency)


def _previous_business_days(days: np.ndarray) -> np.ndarray:
    """Move Saturdays and Sundays back to the Friday before (nobody issues invoices at weekends)."""
    weekday = (days - 1) % 7  # ordinal 1 (0001-01-01) was a Monday
    return days - np.maximum(weekday - 4, 0)


def _next_business_day(day: int) -> int:
    """Move a Saturday or Sunday value date on to the Monday after (banks book on working days)."""
    weekday = (day - 1) % 7
    return day + 7 - weekday if weekday >= 5 else day


@lru_cache(maxsize=2048)
def _iso(day: int) -> str:
    return date.fromordinal(day).isoformat()


def _plan_invoices(cust: _Customers, count: int, as_of_day: int, rng: np.random.Generator) -> _Invoices:
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
    issue_day = _previous_business_days(as_of_day - days_ago)
    by_issue_day = np.lexsort((customer, issue_day))
    customer, issue_day = customer[by_issue_day], issue_day[by_issue_day]
    terms = np.array(cust.terms_days, dtype=np.int64)
    invoices = _Invoices(customer=customer, issue_day=issue_day, due_day=issue_day + terms[customer])
    last_number: dict[str, int] = {}
    for day in issue_day.tolist():
        year = _iso(day)[:4]
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


def _plan_orders(cust: _Customers, inv: _Invoices, as_of_day: int, rng: np.random.Generator) -> _Orders:
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


def _orders_and_lines(
    cust: _Customers, inv: _Invoices, as_of_day: int, rng: np.random.Generator
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
    orders = _frame(
        "orders",
        order_ids,
        [cust.ids[c] for c in customers],
        [_iso(day) for day in plan.order_day.tolist()],
        [cust.currencies[c] for c in customers],
        plan.status.tolist(),
        [_iso(day) if day >= 0 else "" for day in plan.fulfilled_day.tolist()],
    )
    return orders, lines


def _order_lines(
    cust: _Customers, order_ids: list[str], order_customer: np.ndarray, rng: np.random.Generator
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
    rates = [Decimal(rate) for rate in _TAX_RATES]
    gross = [
        sum(line_amounts(q, p, rates[r])) for q, p, r in zip(quantity, unit_price, rate_index, strict=True)
    ]
    line_starts = np.cumsum(line_count) - line_count
    order_gross_minor = (
        np.add.reduceat(np.array(gross, dtype=np.int64), line_starts) if n_orders else line_count
    )
    currencies = [cust.currencies[c] for c in customer.tolist()]
    items = item.tolist()
    frame = _frame(
        "order_lines",
        [order_ids[o] for o in line_order.tolist()],
        [str(n) for n in line_no.tolist()],
        [text.CATALOG[i][0] for i in items],
        [text.CATALOG[i][1] for i in items],
        [str(q) for q in quantity],
        [_price_text(p, currency) for p, currency in zip(unit_price, currencies, strict=True)],
        [_TAX_RATES[r] for r in rate_index],
    )
    return frame, order_gross_minor


def _make_payments(cust: _Customers, inv: _Invoices, as_of_day: int, rng: random.Random) -> list[_Payment]:
    """Every bank receipt up to as_of, sorted by value day: the customers' payments for single invoices
    and for payment runs, plus a few stray receipts that belong to no invoice."""
    runs = _payment_runs(_transfers(cust, inv, as_of_day, rng), inv, rng)
    n_single = sum(len(run) == 1 for run in runs)
    adjustments = iter(_quota_labels(rng, n_single, _ADJUSTMENT_SHARES))
    styles = iter(_quota_labels(rng, n_single, text.REFERENCE_STYLES))
    separators = iter(_quota_labels(rng, len(runs) - n_single, text.MULTI_SEPARATORS))
    payments = [
        _single_payment(run[0], next(adjustments), next(styles), cust, inv, rng)
        if len(run) == 1
        else _run_payment(run, next(separators), cust, inv, rng)
        for run in runs
    ]
    name_styles = _quota_labels(rng, len(payments), text.PAYER_NAME_STYLES)
    account_styles = _quota_labels(rng, len(payments), text.PAYER_ACCOUNT_STYLES)
    for payment, name_style, account_style in zip(payments, name_styles, account_styles, strict=True):
        c = payment.customer
        payment.payer_name = text.payer_name(name_style, cust.names[c], rng)
        payment.payer_account = text.payer_account(account_style, cust.accounts[c], cust.countries[c], rng)
    n_stray = max(3, len(inv.ids) // 100) if inv.ids else 0
    payments += [_stray_payment(cust, as_of_day, rng) for _ in range(n_stray)]
    return sorted(payments, key=lambda payment: payment.value_day)


def _transfers(cust: _Customers, inv: _Invoices, as_of_day: int, rng: random.Random) -> list[_Transfer]:
    """The transfers each invoice received up to as_of, following its customer's payment habit."""
    transfers = []
    for invoice, (customer, issue_day, due_day) in enumerate(
        zip(inv.customer.tolist(), inv.issue_day.tolist(), inv.due_day.tolist(), strict=True)
    ):
        intended = _intended_transfers(
            cust.habits[customer], issue_day, due_day, inv.amount_minor[invoice], rng
        )
        for day, amount_minor, kind in intended:
            value_day = _next_business_day(day)
            if value_day <= as_of_day:  # a transfer after as_of has not happened yet
                transfers.append(_Transfer(invoice, value_day, amount_minor, kind))
    return transfers


def _intended_transfers(
    habit: str, issue_day: int, due_day: int, amount_minor: int, rng: random.Random
) -> list[tuple[int, int, str]]:
    """What a customer with `habit` sends for one invoice if time ran on: (day, minor units, kind)."""
    if habit == "never" or (habit == "disputer" and rng.random() < _DISPUTED_SHARE):
        return []
    if habit == "early":
        latest = max(3, due_day - issue_day - 4)
        if rng.random() < 0.4:  # the invoice's early-payment discount, taken within its days
            discount_minor = amount_minor * DISCOUNT_PERCENT // 100
            day = issue_day + rng.randint(3, min(DISCOUNT_DAYS, latest))
            return [(day, amount_minor - discount_minor, "discount")]
        return [(issue_day + rng.randint(3, latest), amount_minor, "full")]
    if habit == "partial" and rng.random() < 0.5:
        first_day = due_day + rng.randint(-2, 10)
        paid_minor = amount_minor * rng.randint(40, 90) // 100
        partial = (first_day, paid_minor, "partial")
        if rng.random() < 0.5:  # the rest follows weeks later, or never
            return [partial, (first_day + rng.randint(14, 60), amount_minor - paid_minor, "rest")]
        return [partial]
    low, high = _DAYS_LATE[habit]
    return [(due_day + rng.randint(low, high), amount_minor, "full")]


def _payment_runs(transfers: list[_Transfer], inv: _Invoices, rng: random.Random) -> list[list[_Transfer]]:
    """Group transfers into bank payments: mostly one each, but some of a customer's full transfers
    within a month go out together in one run of 2-5 invoices."""
    customer_of = inv.customer.tolist()
    ordered = sorted(transfers, key=lambda t: (customer_of[t.invoice], t.value_day, t.invoice))
    runs = []
    start = 0
    while start < len(ordered):
        first = ordered[start]
        run = [first]
        if first.kind == "full" and rng.random() < _PAYMENT_RUN_SHARE:
            for later in ordered[start + 1 : start + rng.randint(2, 5)]:
                if (
                    customer_of[later.invoice] != customer_of[first.invoice]
                    or later.kind != "full"
                    or later.value_day > first.value_day + _PAYMENT_RUN_WINDOW_DAYS
                ):
                    break
                run.append(later)
        runs.append(run)
        start += len(run)
    return runs


def _single_payment(
    transfer: _Transfer, adjustment: str, style: str, cust: _Customers, inv: _Invoices, rng: random.Random
) -> _Payment:
    """The payment of one transfer; a full transfer may lose a bank fee, fall short or overpay."""
    customer = int(inv.customer[transfer.invoice])
    currency = cust.currencies[customer]
    paid_minor = allocated_minor = transfer.amount_minor
    if transfer.kind == "full":
        paid_minor = _adjusted_amount(transfer.amount_minor, adjustment, currency, rng)
        allocated_minor = min(paid_minor, transfer.amount_minor)  # an overpayment's excess stays unallocated
    invoice_id = inv.ids[transfer.invoice]
    reference = text.single_reference(style, invoice_id, cust.ids[customer], cust.languages[customer], rng)
    allocations = [(transfer.invoice, allocated_minor)]
    return _Payment(transfer.value_day, currency, paid_minor, customer, reference, allocations)


def _adjusted_amount(amount_minor: int, adjustment: str, currency: str, rng: random.Random) -> int:
    """What arrives for a transfer of `amount_minor`: less the bank's fee, a short payment (0.5-5 % less),
    an overpayment (0.2-3 % more), or the amount itself."""
    if adjustment == "bank_fee":
        fee_minor = rng.choice(_BANK_FEES_MINOR.get(currency, _OTHER_BANK_FEES_MINOR))
        return amount_minor - fee_minor if 4 * fee_minor < amount_minor else amount_minor
    if adjustment == "short":
        return amount_minor - max(1, amount_minor * rng.randint(5, 50) // 1000)
    if adjustment == "over":
        return amount_minor + max(1, amount_minor * rng.randint(2, 30) // 1000)
    return amount_minor


def _run_payment(
    run: list[_Transfer], separator: str, cust: _Customers, inv: _Invoices, rng: random.Random
) -> _Payment:
    """One payment settling several invoices of a customer in full, dated on the run's last transfer."""
    customer = int(inv.customer[run[0].invoice])
    run = sorted(run, key=lambda t: t.invoice)
    reference = text.multi_reference(separator, [inv.ids[t.invoice] for t in run], rng)
    total_minor = sum(t.amount_minor for t in run)
    allocations = [(t.invoice, t.amount_minor) for t in run]
    value_day = max(t.value_day for t in run)
    return _Payment(value_day, cust.currencies[customer], total_minor, customer, reference, allocations)


def _stray_payment(cust: _Customers, as_of_day: int, rng: random.Random) -> _Payment:
    """A receipt that belongs to no invoice: a refund, a deposit returned, a misdirected transfer."""
    currency = rng.choice(cust.currencies)
    value_day = _next_business_day(as_of_day - rng.randint(3, 364))  # at most two days later: <= as_of
    payer_name, payer_account, reference = text.stray_payment_text(rng)
    amount_minor = _from_eur_minor(rng.randint(5000, 500000), currency)
    return _Payment(value_day, currency, amount_minor, -1, reference, [], payer_name, payer_account)


@lru_cache(maxsize=4096)
def _price_text(minor: int, currency: str) -> str:
    return to_major_str(minor, currency)


def _frame(name: str, *columns: list[str]) -> pd.DataFrame:
    """A dataset from its columns of strings, given in the order of COLUMNS[name]."""
    return pd.DataFrame(dict(zip(COLUMNS[name], columns, strict=True)), dtype=object)


def _customer_frame(cust: _Customers) -> pd.DataFrame:
    return _frame(
        "customers",
        cust.ids,
        cust.names,
        cust.emails,
        cust.countries,
        cust.currencies,
        [str(days) for days in cust.terms_days],
        cust.credit_limits,
        cust.segments,
        [_DUNNING_PROFILES[segment] for segment in cust.segments],
        cust.languages,
        [";".join(accounts) for accounts in cust.accounts],
        [  # customers who pay early are offered the discount they take
            f"{DISCOUNT_PERCENT}% {DISCOUNT_DAYS} net {days}" if habit == "early" else ""
            for days, habit in zip(cust.terms_days, cust.habits, strict=True)
        ],
    )


def _invoice_frame(cust: _Customers, inv: _Invoices) -> pd.DataFrame:
    """Invoices; those of customers who pay early offer the early-payment discount they take."""
    customers = inv.customer.tolist()
    currencies = [cust.currencies[c] for c in customers]
    offers = [cust.habits[c] == "early" for c in customers]
    return _frame(
        "invoices",
        inv.ids,
        [cust.ids[c] for c in customers],
        [_iso(day) for day in inv.issue_day.tolist()],
        [_iso(day) for day in inv.due_day.tolist()],
        currencies,
        [
            to_major_str(amount, currency)
            for amount, currency in zip(inv.amount_minor, currencies, strict=True)
        ],
        inv.order_ids,
        [
            _iso(day + DISCOUNT_DAYS) if early else ""
            for day, early in zip(inv.issue_day.tolist(), offers, strict=True)
        ],
        [
            to_major_str(amount * DISCOUNT_PERCENT // 100, currency) if early else ""
            for amount, currency, early in zip(inv.amount_minor, currencies, offers, strict=True)
        ],
    )


def _payment_id(number: int) -> str:
    return f"P{number:09d}"


def _payment_frame(payments: list[_Payment]) -> pd.DataFrame:
    return _frame(
        "payments",
        [_payment_id(number) for number in range(1, len(payments) + 1)],
        [_iso(p.value_day) for p in payments],
        [to_major_str(p.amount_minor, p.currency) for p in payments],
        [p.currency for p in payments],
        [p.payer_name for p in payments],
        [p.payer_account for p in payments],
        [p.reference for p in payments],
    )


def _truth_frame(payments: list[_Payment], inv: _Invoices) -> pd.DataFrame:
    """One row per (payment, invoice) the payment truly settles, in payment then invoice order."""
    rows = [
        (
            _payment_id(number),
            inv.ids[invoice],
            to_major_str(amount_minor, payment.currency),
            payment.currency,
        )
        for number, payment in enumerate(payments, start=1)
        for invoice, amount_minor in payment.allocations
    ]
    columns = [list(column) for column in zip(*rows, strict=True)] or [
        [] for _ in COLUMNS["truth_allocations"]
    ]
    return _frame("truth_allocations", *columns)

"""Hypothesis strategies for random books: customers, invoices, credit notes, write-offs, payments
and reconcile runs, every amount in integer minor units of its currency.

A book is drawn as plain values (dataclasses of ints, strings and dates); the property tests turn
them into the frames the pure stage logic reads, the way the ledger's queries would.

- customers: 1 to 6, each billed in one currency (EUR, USD, JPY with no decimals, KWD with 3),
  with a bank account and a company name;
- invoices: numbered `INV-2026-000001` upwards (close numbers, so a typo in a reference often names
  another invoice), random amounts (some from a small pool, so two invoices share an amount),
  issue dates and terms (`net`, `eom`, an early-payment discount);
- credit notes and approved write-offs: a share of what is open on an invoice on their day;
- payments: pay one or several invoices exactly, in part, over, a little short, less the discount,
  or nothing at all (stray cash), with the reference right, spelt another way, mistyped, OCR-read,
  structured (end-to-end id, RF creditor reference) or missing, from the customer's account, by
  name, from another customer's account, or from nobody known;
- reconcile runs and report dates: a few as-of dates across the book's life, some runs started
  days after their as-of date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from hypothesis import strategies as st

from tasks.platform.money import exponent
from tasks.platform.terms import parse_terms

CURRENCIES = ("EUR", "USD", "JPY", "KWD")
NAMES = ("Acme GmbH", "Globex Ltd", "Initech SA", "Umbrella plc", "Hooli Inc", "Stark Industries AG")
TERMS = ("net 14", "net 30", "net 60", "eom 15", "2% 10 net 30", "3% 7 net 14")
START = date(2026, 1, 5)
ISSUE_DAYS = 90  # invoices are issued within this many days of START
HORIZON_DAYS = 200  # runs, payments and report dates fall within this many days of START


@dataclass(frozen=True)
class Customer:
    customer_id: str
    name: str
    currency: str
    account: str


@dataclass(frozen=True)
class Invoice:
    invoice_id: str
    customer_id: str
    currency: str
    issue_date: date
    due_date: date
    amount_minor: int
    discount_date: date | None = None
    discount_amount_minor: int | None = None


@dataclass(frozen=True)
class Payment:
    payment_id: str
    value_date: date
    currency: str
    amount_minor: int
    reference: str | None
    payer_name: str | None
    payer_account: str | None
    creditor_reference: str | None = None
    end_to_end_id: str | None = None
    kind: str = ""  # how it was drawn (exact, partial, ...), for reading a failing example
    meant: tuple[str, ...] = ()  # the invoices it was drawn to pay


@dataclass(frozen=True)
class Adjustment:
    """A credit note or an approved write-off: `permille` of what is open on the invoice that day
    (at least one minor unit; nothing when nothing is open)."""

    kind: str  # credit_note or write_off
    invoice_id: str
    day: date
    permille: int
    tie: int  # order among the events of the same day


@dataclass(frozen=True)
class Run:
    """A reconcile run as of `day`, started `late` days after it (a run for a past date: the
    ledger may by then hold cash received after `day`, applied by runs in between)."""

    day: date
    tie: int
    late: int = 0

    @property
    def started(self) -> date:
        return self.day + timedelta(days=self.late)


@dataclass(frozen=True)
class Book:
    customers: tuple[Customer, ...]
    invoices: tuple[Invoice, ...]
    payments: tuple[Payment, ...]
    adjustments: tuple[Adjustment, ...]
    runs: tuple[Run, ...]
    report_dates: tuple[date, ...]

    def customer(self, customer_id: str) -> Customer:
        return next(c for c in self.customers if c.customer_id == customer_id)

    def events(self) -> list[Adjustment | Run]:
        """Credit notes, write-offs and reconcile runs in the order they happen: by the day they
        happen (a run for a past date happens when it is started), then in the drawn order of the
        day (so a write-off may come before or after a run on its day)."""
        events: list[Adjustment | Run] = [*self.adjustments, *self.runs]
        return sorted(events, key=lambda e: (e.started if isinstance(e, Run) else e.day, e.tie))


def amounts(currency: str) -> st.SearchStrategy[int]:
    """A positive amount in minor units: anything up to 20,000 major units, a tiny one, or one of a
    few round amounts (so that invoices and payments share amounts)."""
    unit = 10 ** exponent(currency)
    return st.one_of(
        st.integers(1, 20_000 * unit),
        st.integers(1, 50),
        st.sampled_from([100 * unit, 250 * unit, 1_000 * unit, 1_190 * unit]),
    )


def invoice_number(n: int) -> str:
    return f"INV-2026-{n:06d}"


def rf_reference(payload: str) -> str:
    """The ISO 11649 creditor reference carrying `payload` (letters and digits)."""
    digits = "".join(str(int(ch, 36)) for ch in payload.upper() + "RF00")
    return f"RF{98 - int(digits) % 97:02d}{payload.upper()}"


@st.composite
def customers(draw: st.DrawFn) -> tuple[Customer, ...]:
    n = draw(st.integers(1, 6))
    return tuple(
        Customer(f"C{i + 1}", NAMES[i], draw(st.sampled_from(CURRENCIES)), f"DE{i + 1:02d}ACCT{i + 1:010d}")
        for i in range(n)
    )


@st.composite
def invoices(draw: st.DrawFn, people: tuple[Customer, ...]) -> tuple[Invoice, ...]:
    count = draw(st.integers(1, 9))
    out = []
    for n in range(1, count + 1):
        customer = draw(st.sampled_from(people))
        issued = START + timedelta(days=draw(st.integers(0, ISSUE_DAYS)))
        amount = draw(amounts(customer.currency))
        terms = parse_terms(draw(st.sampled_from(TERMS)))
        last_day, discount = terms.discount(issued, amount)
        offered = discount is not None and 0 < discount < amount
        out.append(
            Invoice(
                invoice_number(n),
                customer.customer_id,
                customer.currency,
                issued,
                terms.due(issued),
                amount,
                last_day if offered else None,
                discount if offered else None,
            )
        )
    return tuple(out)


def _spellings(invoice_id: str) -> dict[str, str]:
    """The ways a remittance text carries an invoice number."""
    series, year, number = invoice_id.split("-")
    n = int(number)
    return {
        "exact": invoice_id,
        "spaced": f"{series} {year} {n}",
        "compact": f"{series}{year}{number}".lower(),
        "embedded": f"Payment for invoice {invoice_id}, thank you",
        "ocr": f"{series}-{year.replace('0', 'O')}-{number.replace('0', 'O').replace('1', 'l')}",
        "typo": f"{series}-{year}-{(n + 1) if n % 10 != 9 else (n - 1):06d}",
    }


PAYMENT_KINDS = ("exact", "partial", "over", "short", "discount", "several", "stray")
# a third of the payments name nothing, so that the passes by payer and amount get their share
REFERENCE_STYLES = ("exact", "spaced", "compact", "embedded", "ocr", "typo", "e2e", "rf", *["missing"] * 4)
PAYER_STYLES = ("account", "name", "name_variant", "other_account", "unknown", "none")


@st.composite
def payment(draw: st.DrawFn, n: int, people: tuple[Customer, ...], bills: tuple[Invoice, ...]) -> Payment:
    kind = draw(st.sampled_from(PAYMENT_KINDS))
    first = draw(st.sampled_from(bills))
    targets = [first]
    if kind == "several":
        others = [
            i
            for i in bills
            if i.customer_id == first.customer_id and i.currency == first.currency and i != first
        ]
        if others:
            targets += draw(st.lists(st.sampled_from(others), min_size=1, max_size=2, unique=True))
    total = sum(i.amount_minor for i in targets)
    if kind == "partial":
        amount = max(1, total * draw(st.integers(5, 95)) // 100)
    elif kind == "over":
        amount = total + draw(st.integers(1, max(1, total)))
    elif kind == "short":  # a little short: mostly within the small-difference threshold
        amount = max(1, total - draw(st.integers(1, max(1, total // 150))))
    elif kind == "discount" and first.discount_amount_minor:
        amount = total - first.discount_amount_minor
    elif kind == "stray":
        amount = draw(amounts(first.currency))
    else:
        amount = total
    value_date = max(first.issue_date, START) + timedelta(days=draw(st.integers(-10, 100)))

    style = draw(st.sampled_from(REFERENCE_STYLES))
    reference: str | None = None
    creditor_reference = end_to_end_id = None
    if kind == "stray" or style == "missing":
        reference = draw(st.sampled_from([None, "", "Payment", "Zahlung Rechnung", "thanks 100.00"]))
    elif style == "e2e":
        end_to_end_id = first.invoice_id.replace("-", "")
    elif style == "rf":
        creditor_reference = rf_reference(first.invoice_id.replace("-", ""))
    else:
        reference = " ".join(_spellings(i.invoice_id)[style] for i in targets)

    customer = next(c for c in people if c.customer_id == first.customer_id)
    payer = draw(st.sampled_from(PAYER_STYLES)) if kind != "stray" else "unknown"
    name: str | None = None
    account: str | None = None
    if payer == "account":
        account = customer.account
    elif payer == "name":
        name = customer.name
    elif payer == "name_variant":
        name = customer.name.upper().split()[0] + " LIMITED"
    elif payer == "other_account":
        account = draw(st.sampled_from(people)).account
    elif payer == "unknown":
        account, name = "GB00UNKNOWN00000001", "Some Trading Company"
    return Payment(
        f"P{n:04d}",
        value_date,
        first.currency,
        amount,
        reference,
        name,
        account,
        creditor_reference,
        end_to_end_id,
        kind,
        tuple(i.invoice_id for i in targets),
    )


def _days(low: int, high: int) -> st.SearchStrategy[date]:
    return st.integers(low, high).map(lambda d: START + timedelta(days=d))


@st.composite
def books(draw: st.DrawFn, max_runs: int = 3, adjustments: bool = True) -> Book:
    """A random book and the reconcile runs over it (`max_runs` of them at most)."""
    people = draw(customers())
    bills = draw(invoices(people))
    count = draw(st.integers(0, 9))
    cash = tuple(draw(payment(n + 1, people, bills)) for n in range(count))
    events = []
    if adjustments:
        for _ in range(draw(st.integers(0, 3))):
            bill = draw(st.sampled_from(bills))
            events.append(
                Adjustment(
                    draw(st.sampled_from(["credit_note", "write_off"])),
                    bill.invoice_id,
                    bill.issue_date + timedelta(days=draw(st.integers(0, 90))),
                    draw(st.integers(1, 1000)),
                    draw(st.integers(0, 2)),
                )
            )
    days = draw(st.lists(_days(0, HORIZON_DAYS), min_size=1, max_size=max_runs, unique=True))
    late = st.sampled_from([0, 0, 0, 0, 1, 7, 45])
    runs = tuple(Run(d, draw(st.integers(0, 2)), draw(late)) for d in sorted(days))
    reports = tuple(sorted(draw(st.lists(_days(-5, HORIZON_DAYS + 30), min_size=1, max_size=2, unique=True))))
    return Book(people, bills, cash, tuple(events), runs, reports)


# ---------------------------------------------------------------------------------------------------
# Order books for the invoice stage

BILLING_TERMS = (
    "",
    "net 30",
    "eom 15",
    "2% 10 net 30",
    "net 30, 3 instalments every 30 days",
    "eom 0, 2 instalments every 14 days",
    "net 14, 12 instalments every 30 days",
    "75% 10 net 30",  # the parser takes any rate below 100 %: on 0.01 it rounds to the whole amount
)
TAX_RATES_PPM = (0, 70_000, 100_000, 190_000, 200_000)


@dataclass(frozen=True)
class OrderBook:
    """What `bill_orders` reads: orders, their lines, the sequences so far, and orders billed in
    earlier runs (with what is still open on their invoices)."""

    orders: tuple[dict[str, object], ...]
    lines: tuple[dict[str, object], ...]
    sequences: tuple[dict[str, object], ...]
    billed: tuple[dict[str, object], ...]
    as_of: date


@st.composite
def order_books(draw: st.DrawFn) -> OrderBook:
    as_of = START + timedelta(days=draw(st.integers(0, 400)))
    people = []
    for i in range(draw(st.integers(1, 3))):
        people.append(
            {
                "customer_id": f"C{i + 1}",
                "currency": draw(st.sampled_from(CURRENCIES)),
                "payment_terms": draw(st.sampled_from(BILLING_TERMS)),
                "payment_terms_days": draw(st.sampled_from([0, 14, 30])),
                "legal_entity": draw(st.sampled_from(["", "", "DE01", "FR01"])),
            }
        )
    orders: list[dict[str, object]] = []
    lines: list[dict[str, object]] = []

    def lines_of(order_id: str, currency: str, sign: int) -> None:
        for line_no in range(1, draw(st.integers(1, 3)) + 1):
            lines.append(
                {
                    "order_id": order_id,
                    "line_no": line_no,
                    "quantity": sign * draw(st.integers(1, 5)),
                    "unit_price_minor": draw(st.one_of(st.integers(1, 99), amounts(currency))),
                    "tax_rate_ppm": draw(st.one_of(st.sampled_from(TAX_RATES_PPM), st.integers(0, 250_000))),
                }
            )

    def order(order_id: str, customer: dict[str, object], credit_for: str | None) -> None:
        orders.append(
            {
                "order_id": order_id,
                **customer,
                "fulfilled_date": as_of - timedelta(days=draw(st.integers(0, 20))),
                "credit_for": credit_for,
            }
        )

    for n in range(1, draw(st.integers(1, 5)) + 1):
        customer = draw(st.sampled_from(people))
        order(f"SO-{n}", customer, None)
        lines_of(f"SO-{n}", str(customer["currency"]), 1)
    billed = []
    for n in range(1, draw(st.integers(0, 2)) + 1):
        customer = draw(st.sampled_from(people))
        amount = draw(amounts(str(customer["currency"])))
        billed.append(
            {
                "order_id": f"OLD-{n}",
                "invoice_id": f"O2C-2025-{900 + n:06d}",
                "customer_id": customer["customer_id"],
                "currency": customer["currency"],
                "open_minor": draw(st.integers(0, amount)),
            }
        )
    credited = [str(o["order_id"]) for o in orders] + [str(b["order_id"]) for b in billed]
    for n in range(1, draw(st.integers(0, 3)) + 1):
        target = draw(st.sampled_from([*credited, "SO-NONE", None]))  # None: a return on account
        owner = next((o for o in orders if o["order_id"] == target), None)
        old = next((b for b in billed if b["order_id"] == target), None)
        customer = draw(st.sampled_from(people))
        if owner is not None and draw(st.booleans()):
            customer = next(p for p in people if p["customer_id"] == owner["customer_id"])
        if old is not None and draw(st.booleans()):
            customer = next(p for p in people if p["customer_id"] == old["customer_id"])
        order(f"RET-{n}", customer, target)
        lines_of(f"RET-{n}", str(customer["currency"]), -1)
    year = as_of.year
    sequences: list[dict[str, object]] = [
        {"series": series, "year": year, "last_number": draw(st.integers(0, 50))}
        for series in ("O2C", "O2C-CN", "DE01", "DE01-CN")
        if draw(st.booleans())
    ]
    return OrderBook(tuple(orders), tuple(lines), tuple(sequences), tuple(billed), as_of)


# ---------------------------------------------------------------------------------------------------
# Open items for the report stage


@st.composite
def open_items(draw: st.DrawFn) -> tuple[list[dict[str, object]], date]:
    """Open items as `report/open_items_as_of` returns them, around bucket boundaries: invoices
    partly or wholly paid, overpaid ones (open below zero) and credit notes (negative)."""
    as_of = START + timedelta(days=draw(st.integers(0, 400)))
    edges = st.sampled_from([-31, -1, 0, 1, 30, 31, 60, 61, 90, 91, 120, 121, 400])
    rows = []
    for n in range(draw(st.integers(1, 12))):
        currency = draw(st.sampled_from(CURRENCIES))
        amount = draw(amounts(currency))
        days_past_due = draw(st.one_of(edges, st.integers(-60, 500)))
        due = as_of - timedelta(days=days_past_due)
        issued = min(as_of, due - timedelta(days=draw(st.sampled_from([0, 14, 30, 60]))))
        kind = draw(st.sampled_from(["open", "part", "paid", "over", "credit"]))
        open_minor = {
            "open": amount,
            "part": draw(st.integers(0, amount)),
            "paid": 0,
            "over": -draw(st.integers(1, amount)),
            "credit": -amount,
        }[kind]
        rows.append(
            {
                "invoice_id": f"I{n}",
                "customer_id": f"C{draw(st.integers(1, 4))}",
                "currency": currency,
                "issue_date": issued,
                "due_date": due,
                "amount_minor": -amount if kind == "credit" else amount,
                "open_minor": open_minor,
            }
        )
    return rows, as_of

"""The bank receipts up to `as_of`: what each customer's payment habit sends for each invoice (in
full, late, early with the discount, in part, or never), bank fees, short and overpayments, payment
runs settling several invoices, stray receipts, the payer names and references banks carry, and the
true payment-to-invoice allocations; the payments and truth_allocations frames as written to CSV.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pandas as pd

from tasks.platform.money import to_major_str
from tools.generate import text
from tools.generate.basics import COLUMNS, from_eur_minor, iso, next_business_day, quota_labels, string_frame
from tools.generate.customers import DISCOUNT_DAYS, DISCOUNT_PERCENT, Customers
from tools.generate.orders import Invoices

# days from due date to payment for the habits that pay whole invoices around the due date
_DAYS_LATE = dict(on_time=(-3, 3), late=(1, 15), chronic_late=(20, 90), partial=(-2, 7), disputer=(-2, 10))
_DISPUTED_SHARE = 0.35
_ADJUSTMENT_SHARES = {"none": 85, "bank_fee": 5, "short": 5, "over": 5}
_BANK_FEES_MINOR = {"JPY": [440, 660, 880], "USD": [1500, 2000, 2500, 3500]}
_OTHER_BANK_FEES_MINOR = [500, 750, 1000, 1500, 2500]
_PAYMENT_RUN_SHARE = 0.15  # chance that a customer's transfer opens a payment run settling 2-5 invoices
_PAYMENT_RUN_WINDOW_DAYS = 31


@dataclass
class _Transfer:
    """Money a customer sent towards one invoice: kind is full, discount (cash discount taken),
    partial or rest (of an earlier partial payment)."""

    invoice: int
    value_day: int
    amount_minor: int
    kind: str


@dataclass
class Payment:
    """One bank receipt and the (invoice, minor units) it truly settles; customer -1 for a stray one."""

    value_day: int
    currency: str
    amount_minor: int
    customer: int
    reference: str
    allocations: list[tuple[int, int]]
    payer_name: str = ""
    payer_account: str = ""


def make_payments(cust: Customers, inv: Invoices, as_of_day: int, rng: random.Random) -> list[Payment]:
    """Every bank receipt up to as_of, sorted by value day: the customers' payments for single invoices
    and for payment runs, plus a few stray receipts that belong to no invoice."""
    runs = _payment_runs(_transfers(cust, inv, as_of_day, rng), inv, rng)
    n_single = sum(len(run) == 1 for run in runs)
    adjustments = iter(quota_labels(rng, n_single, _ADJUSTMENT_SHARES))
    styles = iter(quota_labels(rng, n_single, text.REFERENCE_STYLES))
    separators = iter(quota_labels(rng, len(runs) - n_single, text.MULTI_SEPARATORS))
    payments = [
        _single_payment(run[0], next(adjustments), next(styles), cust, inv, rng)
        if len(run) == 1
        else _run_payment(run, next(separators), cust, inv, rng)
        for run in runs
    ]
    name_styles = quota_labels(rng, len(payments), text.PAYER_NAME_STYLES)
    account_styles = quota_labels(rng, len(payments), text.PAYER_ACCOUNT_STYLES)
    for payment, name_style, account_style in zip(payments, name_styles, account_styles, strict=True):
        c = payment.customer
        payment.payer_name = text.payer_name(name_style, cust.names[c], rng)
        payment.payer_account = text.payer_account(account_style, cust.accounts[c], cust.countries[c], rng)
    n_stray = max(3, len(inv.ids) // 100) if inv.ids else 0
    payments += [_stray_payment(cust, as_of_day, rng) for _ in range(n_stray)]
    return sorted(payments, key=lambda payment: payment.value_day)


def _transfers(cust: Customers, inv: Invoices, as_of_day: int, rng: random.Random) -> list[_Transfer]:
    """The transfers each invoice received up to as_of, following its customer's payment habit."""
    transfers = []
    for invoice, (customer, issue_day, due_day) in enumerate(
        zip(inv.customer.tolist(), inv.issue_day.tolist(), inv.due_day.tolist(), strict=True)
    ):
        intended = _intended_transfers(
            cust.habits[customer], issue_day, due_day, inv.amount_minor[invoice], rng
        )
        for day, amount_minor, kind in intended:
            value_day = next_business_day(day)
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


def _payment_runs(transfers: list[_Transfer], inv: Invoices, rng: random.Random) -> list[list[_Transfer]]:
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
    transfer: _Transfer, adjustment: str, style: str, cust: Customers, inv: Invoices, rng: random.Random
) -> Payment:
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
    return Payment(transfer.value_day, currency, paid_minor, customer, reference, allocations)


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
    run: list[_Transfer], separator: str, cust: Customers, inv: Invoices, rng: random.Random
) -> Payment:
    """One payment settling several invoices of a customer in full, dated on the run's last transfer."""
    customer = int(inv.customer[run[0].invoice])
    run = sorted(run, key=lambda t: t.invoice)
    reference = text.multi_reference(separator, [inv.ids[t.invoice] for t in run], rng)
    total_minor = sum(t.amount_minor for t in run)
    allocations = [(t.invoice, t.amount_minor) for t in run]
    value_day = max(t.value_day for t in run)
    return Payment(value_day, cust.currencies[customer], total_minor, customer, reference, allocations)


def _stray_payment(cust: Customers, as_of_day: int, rng: random.Random) -> Payment:
    """A receipt that belongs to no invoice: a refund, a deposit returned, a misdirected transfer."""
    currency = rng.choice(cust.currencies)
    value_day = next_business_day(as_of_day - rng.randint(3, 364))  # at most two days later: <= as_of
    payer_name, payer_account, reference = text.stray_payment_text(rng)
    amount_minor = from_eur_minor(rng.randint(5000, 500000), currency)
    return Payment(value_day, currency, amount_minor, -1, reference, [], payer_name, payer_account)


def _payment_id(number: int) -> str:
    return f"P{number:09d}"


def payment_frame(payments: list[Payment]) -> pd.DataFrame:
    return string_frame(
        "payments",
        [_payment_id(number) for number in range(1, len(payments) + 1)],
        [iso(p.value_day) for p in payments],
        [to_major_str(p.amount_minor, p.currency) for p in payments],
        [p.currency for p in payments],
        [p.payer_name for p in payments],
        [p.payer_account for p in payments],
        [p.reference for p in payments],
    )


def truth_frame(payments: list[Payment], inv: Invoices) -> pd.DataFrame:
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
    return string_frame("truth_allocations", *columns)

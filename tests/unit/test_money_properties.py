"""Property tests of the money invariants, over random books and random orders of events.

Pure: no Prefect, no ledger file. `Books` below keeps the ledger's accounts the way its SQL does
(`invoice_balances`, `reconcile/unapplied_payments`, `reconcile/paired`, `report/open_items_as_of`)
in plain Python, feeds the stage logic the frames those queries would return, and books what it
returns. Where an identity is the test's own accounting (amount = allocated + credited + written
off + open), what is checked is that the stage logic never breaks its bounds (open >= 0, unapplied
>= 0, an allocation once per pair, one currency) and that the figures it reports itself (the
unapplied cash, the open amount after each allocation, the report's open amount and buckets) agree
with the ledger's accounts.

How many examples each property runs is the Hypothesis profile's (`tests/conftest.py`): `dev` by
default, `HYPOTHESIS_PROFILE=soak` for a long run.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from tasks.escalate.cases import split_gross
from tasks.escalate.facts import exposure
from tasks.invoice.billing import bill_orders, line_totals
from tasks.platform.money import (
    CURRENCY_EXPONENTS,
    allocate,
    line_amounts,
    round_half_up_div,
    to_major_str,
    to_minor,
)
from tasks.platform.terms import parse_terms
from tasks.reconcile.apply import apply_cash
from tasks.reconcile.matching import PayerDirectory
from tasks.reconcile.outcome import CashApplication
from tasks.reconcile.policy import default_policy
from tasks.report.ageing import BUCKETS, figures
from tasks.report.kpis import forecast, indicators

from .strategies import (
    CURRENCIES,
    START,
    Adjustment,
    Book,
    Invoice,
    OrderBook,
    Run,
    amounts,
    books,
    open_items,
    order_books,
)

# The amount-combination search stops after `max_steps` sets (rules/matching.yaml). The properties
# give it steps enough
# to always finish, so every outcome depends on the data only.
POLICY = default_policy().model_copy(
    update={"combination": default_policy().combination.model_copy(update={"max_steps": 10_000_000})}
)
BUCKET_NAMES = [name for name, _low, _high in BUCKETS]
PERIOD_DAYS = 90


def ts(day: date | None) -> pd.Timestamp:
    return pd.Timestamp(day) if day is not None else pd.NaT


# ---------------------------------------------------------------------------------------------------
# The ledger's accounts, kept in Python


@dataclass
class Allocation:
    allocation_id: str
    payment_id: str
    invoice_id: str
    amount_minor: int
    currency: str
    day: date  # the run that made it


@dataclass
class Booked:
    """An `invoice_adjustments` row: a credit note, an approved write-off, a small difference or an
    early-payment discount reconcile wrote off."""

    adjustment_id: str
    invoice_id: str
    kind: str
    amount_minor: int
    as_of: date


@dataclass
class Books:
    book: Book
    invoices: dict[str, Invoice] = field(default_factory=dict)
    kind: dict[str, str] = field(default_factory=dict)  # invoice or credit_note
    allocations: list[Allocation] = field(default_factory=list)
    adjustments: list[Booked] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)
    runs: list[tuple[date, CashApplication]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for invoice in self.book.invoices:
            self.invoices[invoice.invoice_id] = invoice
            self.kind[invoice.invoice_id] = "invoice"
        self.payments = {p.payment_id: p for p in self.book.payments}
        self.payers = PayerDirectory(
            {c.account: c.customer_id for c in self.book.customers},
            {c.customer_id: c.name for c in self.book.customers},
            POLICY.payer.name_threshold,
        )

    # balances, as `invoice_balances` and the payments' unapplied cash
    def allocated(self, invoice_id: str) -> int:
        return sum(a.amount_minor for a in self.allocations if a.invoice_id == invoice_id)

    def adjusted(self, invoice_id: str, kind: str | None = None) -> int:
        return sum(
            b.amount_minor
            for b in self.adjustments
            if b.invoice_id == invoice_id and (kind is None or b.kind == kind)
        )

    def open(self, invoice_id: str) -> int:
        return self.invoices[invoice_id].amount_minor - self.allocated(invoice_id) - self.adjusted(invoice_id)

    def applied(self, payment_id: str) -> int:
        return sum(a.amount_minor for a in self.allocations if a.payment_id == payment_id)

    def unapplied(self, payment_id: str) -> int:
        return self.payments[payment_id].amount_minor - self.applied(payment_id)

    # the events of the book
    def credit_note(self, event: Adjustment) -> None:
        """A dispute resolved with a credit note (`o2c case resolve --credit-note`): at most what is
        open, booked as two credit_note adjustments, one on the invoice and one settling the note."""
        invoice = self.invoices[event.invoice_id]
        open_now = self.open(invoice.invoice_id)
        if open_now <= 0:
            return
        gross = max(1, open_now * event.permille // 1000)
        note_id = f"INV-CN-2026-{sum(k == 'credit_note' for k in self.kind.values()) + 1:06d}"
        self.invoices[note_id] = Invoice(
            note_id, invoice.customer_id, invoice.currency, event.day, event.day, -gross
        )
        self.kind[note_id] = "credit_note"
        self.adjustments += [
            Booked(f"{note_id}/{invoice.invoice_id}", invoice.invoice_id, "credit_note", gross, event.day),
            Booked(f"{note_id}/applied", note_id, "credit_note", -gross, event.day),
        ]

    def write_off(self, event: Adjustment) -> None:
        """An approved write-off (`o2c writeoff approve`): at most what is open on the invoice."""
        open_now = self.open(event.invoice_id)
        if open_now <= 0:
            return
        amount = max(1, open_now * event.permille // 1000)
        number = sum(b.kind == "write_off" for b in self.adjustments) + 1
        self.adjustments.append(Booked(f"WO-{number:06d}", event.invoice_id, "write_off", amount, event.day))

    # what the reconcile stage reads
    def payments_frame(self, day: date) -> pd.DataFrame:
        """`reconcile/unapplied_payments`: received by the day, with cash not yet applied."""
        rows = [
            {
                "payment_id": p.payment_id,
                "value_date": ts(p.value_date),
                "currency": p.currency,
                "amount_minor": p.amount_minor,
                "unapplied_minor": self.unapplied(p.payment_id),
                "payer_name": p.payer_name,
                "payer_account": p.payer_account,
                "reference": p.reference,
                "creditor_reference": p.creditor_reference,
                "end_to_end_id": p.end_to_end_id,
            }
            for p in sorted(self.payments.values(), key=lambda p: (p.value_date, p.payment_id))
            if p.value_date <= day and self.unapplied(p.payment_id) > 0
        ]
        columns = [
            "payment_id",
            "value_date",
            "currency",
            "amount_minor",
            "unapplied_minor",
            "payer_name",
            "payer_account",
            "reference",
            "creditor_reference",
            "end_to_end_id",
        ]
        frame = pd.DataFrame(rows, columns=columns)
        return frame.astype({"amount_minor": "int64", "unapplied_minor": "int64"})

    def invoices_frame(self, day: date) -> pd.DataFrame:
        """`reconcile/invoices`: every invoice issued by the day with its open amount now, its
        discount terms and what credit notes took off it."""
        rows = []
        for invoice in self.invoices.values():
            if invoice.issue_date > day:
                continue
            credited = [
                b.amount_minor
                for b in self.adjustments
                if b.invoice_id == invoice.invoice_id and b.kind == "credit_note"
            ]
            rows.append(
                {
                    "invoice_id": invoice.invoice_id,
                    "customer_id": invoice.customer_id,
                    "currency": invoice.currency,
                    "due_date": ts(invoice.due_date),
                    "open_minor": self.open(invoice.invoice_id),
                    "amount_minor": invoice.amount_minor,
                    "discount_date": ts(invoice.discount_date),
                    "discount_amount_minor": invoice.discount_amount_minor,
                    "credited_minor": float(sum(credited)) if credited else float("nan"),
                }
            )
        columns = ["invoice_id", "customer_id", "currency", "due_date", "open_minor", "amount_minor"]
        frame = pd.DataFrame(
            rows, columns=[*columns, "discount_date", "discount_amount_minor", "credited_minor"]
        )
        return frame.astype(
            {"open_minor": "int64", "amount_minor": "int64", "discount_amount_minor": "Int64"}
        )

    def paired(self, day: date) -> set[tuple[str, str]]:
        """`reconcile/paired`: the pairs of the payments received by the day with cash left."""
        return {
            (a.payment_id, a.invoice_id)
            for a in self.allocations
            if self.payments[a.payment_id].value_date <= day and self.unapplied(a.payment_id) > 0
        }

    def reconcile(
        self, day: date, shuffle: random.Random | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame, CashApplication]:
        payments, invoices = self.payments_frame(day), self.invoices_frame(day)
        if shuffle is not None:  # the same facts in another order
            payments = payments.iloc[shuffle.sample(range(len(payments)), len(payments))]
            invoices = invoices.iloc[shuffle.sample(range(len(invoices)), len(invoices))]
        cash = apply_cash(
            payments,
            invoices,
            as_of=day,
            rule_version="properties",
            policy=POLICY,
            payers=self.payers,
            paired=self.paired(day),
        )
        return payments, invoices, cash

    def post(self, day: date, cash: CashApplication) -> None:
        """Book a run's allocations, write-offs and cases, as the reconcile flow publishes them."""
        for row in cash.allocations.itertuples(index=False):
            self.allocations.append(
                Allocation(
                    row.allocation_id,
                    row.payment_id,
                    row.invoice_id,
                    int(row.amount_minor),
                    row.currency,
                    day,
                )
            )
        for row in cash.write_offs.itertuples(index=False):
            self.adjustments.append(
                Booked(row.adjustment_id, row.invoice_id, row.kind, int(row.amount_minor), day)
            )
        self.cases += cash.cases.to_dict("records")
        self.runs.append((day, cash))

    # what the report stage reads
    def items_as_of(self, day: date) -> pd.DataFrame:
        """`report/open_items_as_of`: every invoice issued by the day, with only the cash received
        by then and what was written off or credited by then taken off it."""
        rows = []
        for invoice in self.invoices.values():
            if invoice.issue_date > day:
                continue
            applied = sum(
                a.amount_minor
                for a in self.allocations
                if a.invoice_id == invoice.invoice_id and self.payments[a.payment_id].value_date <= day
            )
            adjusted = sum(
                b.amount_minor
                for b in self.adjustments
                if b.invoice_id == invoice.invoice_id and b.as_of <= day
            )
            rows.append(
                {
                    "invoice_id": invoice.invoice_id,
                    "customer_id": invoice.customer_id,
                    "currency": invoice.currency,
                    "issue_date": ts(invoice.issue_date),
                    "due_date": ts(invoice.due_date),
                    "amount_minor": invoice.amount_minor,
                    "open_minor": invoice.amount_minor - applied - adjusted,
                }
            )
        columns = ["invoice_id", "customer_id", "currency", "issue_date", "due_date", "amount_minor"]
        frame = pd.DataFrame(rows, columns=[*columns, "open_minor"])
        return frame.astype({"amount_minor": "int64", "open_minor": "int64"})


Hook = Any  # (books, day, payments, invoices, cash) -> None


def simulate(
    book: Book,
    *,
    before_post: Hook = None,
    after_post: Hook = None,
) -> Books:
    """Play the book's events in order: credit notes and write-offs on their day, reconcile at each
    run date. `before_post` sees each run's inputs and result before it is booked, `after_post`
    after (both as `(books, day, payments, invoices, cash)`)."""
    books_ = Books(book)
    for happening in book.events():
        if isinstance(happening, Run):
            payments, invoices, cash = books_.reconcile(happening.day)
            describe(books_, cash)
            if before_post is not None:
                before_post(books_, happening.day, payments, invoices, cash)
            books_.post(happening.day, cash)
            if after_post is not None:
                after_post(books_, happening.day, payments, invoices, cash)
        elif happening.kind == "credit_note":
            books_.credit_note(happening)
        else:
            books_.write_off(happening)
    return books_


def describe(books_: Books, cash: CashApplication) -> None:
    """What the run met, for `--hypothesis-show-statistics`: how cash was applied, write-offs,
    cases, the exception queue, credit notes and approved write-offs before it, earlier runs' pairs."""
    for rule in sorted(set(cash.allocations["rule"])):
        event(f"applied by {rule}")
    for kind in sorted(set(cash.write_offs["kind"])):
        event(f"reconcile wrote off: {kind}")
    if len(cash.cases):
        event("deduction case opened")
    if len(cash.exceptions):
        event("exception queue not empty")
    if cash.counts.get("matching_rounds", 0) > 2:
        event("three or more matching rounds")
    if any(b.kind == "credit_note" for b in books_.adjustments):
        event("credit note before the run")
    if any(b.kind == "write_off" for b in books_.adjustments):
        event("approved write-off before the run")
    if books_.allocations and any(books_.unapplied(a.payment_id) > 0 for a in books_.allocations):
        event("payment with cash left after an earlier run")


# ---------------------------------------------------------------------------------------------------
# Invariants of one reconcile run


def check_run(
    books_: Books, day: date, payments: pd.DataFrame, invoices: pd.DataFrame, cash: CashApplication
) -> None:
    """What a run returns keeps every payment and invoice whole (checked before it is booked)."""
    allocations, write_offs = cash.allocations, cash.write_offs
    given_cash = dict(zip(payments["payment_id"], payments["unapplied_minor"], strict=True))
    given_open = dict(zip(invoices["invoice_id"], invoices["open_minor"], strict=True))
    currency_of = {i.invoice_id: i.currency for i in books_.invoices.values()}

    # money is integer minor units, and only positive amounts move
    for frame in (allocations, write_offs, cash.cases, cash.unapplied):
        if len(frame):
            assert pd.api.types.is_integer_dtype(
                frame["amount_minor" if "amount_minor" in frame else "unapplied_minor"]
            )
    assert (allocations["amount_minor"] > 0).all() if len(allocations) else True
    assert (write_offs["amount_minor"] > 0).all() if len(write_offs) else True

    # only cash received by the as-of date, only invoices issued by then, in their own currency
    assert set(allocations["payment_id"]) <= set(given_cash)
    assert set(allocations["invoice_id"]) <= set(given_open)
    for row in allocations.itertuples(index=False):
        payment = books_.payments[row.payment_id]
        assert payment.value_date <= day
        assert row.currency == payment.currency == currency_of[row.invoice_id]
        assert books_.kind[row.invoice_id] == "invoice", f"cash applied to credit note {row.invoice_id}"
    # an allocation is made once per (payment, invoice), in a run and across runs
    ids = list(allocations["allocation_id"]) + [a.allocation_id for a in books_.allocations]
    assert not [i for i, n in Counter(ids).items() if n > 1], "an allocation made twice"
    assert list(allocations["allocation_id"]) == [
        f"{p}/{i}" for p, i in zip(allocations["payment_id"], allocations["invoice_id"], strict=True)
    ]
    adjustment_ids = list(write_offs["adjustment_id"]) + [b.adjustment_id for b in books_.adjustments]
    assert not [i for i, n in Counter(adjustment_ids).items() if n > 1], "an adjustment booked twice"
    for row in write_offs.itertuples(index=False):
        assert row.kind in ("small_difference", "early_payment_discount")
        assert row.currency == currency_of[row.invoice_id]

    # per payment: what it had = what it applied in this run + what it has left, left >= 0; its
    # allocations across invoices sum to what it applied
    left = dict(zip(cash.unapplied["payment_id"], cash.unapplied["unapplied_minor"], strict=True))
    assert list(cash.unapplied["payment_id"]) == sorted(
        given_cash, key=lambda p: (books_.payments[p].value_date, p)
    )
    applied_now = (
        allocations.groupby("payment_id")["amount_minor"].sum().to_dict() if len(allocations) else {}
    )
    for payment_id, had in given_cash.items():
        assert left[payment_id] >= 0, f"{payment_id} applied more than it had"
        assert had == applied_now.get(payment_id, 0) + left[payment_id], payment_id
    for payment_id, rows in allocations.groupby("payment_id") if len(allocations) else []:
        after = rows["payment_unapplied_after_minor"]
        assert (after >= 0).all()
        assert int(after.min()) == left[payment_id], f"{payment_id}: running unapplied disagrees"

    # per invoice: what it owed = applied + written off in this run + what is open after, open >= 0
    taken = Counter[str]()
    for row in allocations.itertuples(index=False):
        taken[row.invoice_id] += int(row.amount_minor)
    for row in write_offs.itertuples(index=False):
        taken[row.invoice_id] += int(row.amount_minor)
    for invoice_id, amount in taken.items():
        open_after = given_open[invoice_id] - amount
        assert open_after >= 0, f"{invoice_id} took {amount} with only {given_open[invoice_id]} open"
    for invoice_id, rows in allocations.groupby("invoice_id") if len(allocations) else []:
        after = rows["invoice_open_after_minor"]
        assert (after >= 0).all()
        assert int(after.min()) == given_open[invoice_id] - taken[invoice_id], invoice_id

    # a deduction case is opened for what a payment left short on an invoice it meant to settle
    for case in cash.cases.to_dict("records"):
        assert 0 < case["amount_minor"] <= given_open[case["invoice_id"]]
        assert case["currency"] == currency_of[case["invoice_id"]]

    # the exception queue holds only payments with cash left, with what they have left
    for row in cash.exceptions.itertuples(index=False):
        assert row.unapplied_minor == left[row.payment_id] > 0


def check_books(books_: Books, day: date, cash: CashApplication) -> None:
    """After a run at `day` is booked: every account of the ledger balances."""
    for invoice_id, invoice in books_.invoices.items():
        allocated, adjusted = books_.allocated(invoice_id), books_.adjusted(invoice_id)
        credited = books_.adjusted(invoice_id, "credit_note")
        written_off = adjusted - credited
        open_now = books_.open(invoice_id)
        assert invoice.amount_minor == allocated + credited + written_off + open_now
        if books_.kind[invoice_id] == "invoice":
            assert open_now >= 0, (
                f"{invoice_id}: {allocated} applied, {adjusted} adjusted, of {invoice.amount_minor}"
            )
            assert credited <= invoice.amount_minor
        else:  # a credit note: what it did not take off its invoice stays open as the customer's credit
            assert invoice.amount_minor <= open_now <= 0
            assert allocated == 0
    for payment_id, payment in books_.payments.items():
        assert 0 <= books_.applied(payment_id) <= payment.amount_minor, payment_id

    # cash in = cash applied + cash unapplied, per currency, counting only what was received by the
    # run's date; the unapplied cash is what the run itself reports
    reported = dict(zip(cash.unapplied["payment_id"], cash.unapplied["unapplied_minor"], strict=True))
    for currency in CURRENCIES:
        received = [p for p in books_.payments.values() if p.currency == currency and p.value_date <= day]
        cash_in = sum(p.amount_minor for p in received)
        applied = sum(
            a.amount_minor
            for a in books_.allocations
            if a.currency == currency and books_.payments[a.payment_id].value_date <= day
        )
        unapplied = sum(reported.get(p.payment_id, 0) for p in received)
        assert cash_in == applied + unapplied, currency


def check_ageing(now: pd.DataFrame, then: pd.DataFrame, day: date) -> None:
    """As of `day`: the ageing buckets sum to the open amount (the positive open amounts), per
    currency and per customer, and so do the ageing by invoice date and the 13-week forecast; the
    escalation's exposure per customer agrees."""
    if not len(now):
        return
    figures_ = figures(now, as_of=day, period_days=PERIOD_DAYS)
    kpis = indicators(now, then, as_of=day, period_days=PERIOD_DAYS)
    weeks = forecast(now, pd.DataFrame(), day)
    receivable = now[now["open_minor"] > 0]
    assert sorted(figures_) == sorted(set(now["currency"]))
    for currency, fig in figures_.items():
        assert fig["open_amount_minor"] == int(
            receivable.loc[receivable["currency"] == currency, "open_minor"].sum()
        )
        assert list(fig["ageing_minor"]) == BUCKET_NAMES
        assert all(v >= 0 for v in fig["ageing_minor"].values())
        assert sum(fig["ageing_minor"].values()) == fig["open_amount_minor"]
        assert sum(kpis[currency]["ageing_by_invoice_date_minor"].values()) == fig["open_amount_minor"]
        assert kpis[currency]["current_receivables_minor"] == fig["ageing_minor"]["not_due"]
        if fig["open_amount_minor"]:
            plan = weeks[currency]
            assert sum(plan["forecast_minor"]) + plan["forecast_beyond_minor"] == fig["open_amount_minor"]
    # per customer: `figures` groups by its currency column, so keyed by (customer, currency) it
    # gives each customer's figures in one call; each customer's buckets sum to its open amount,
    # and the customers' buckets sum to their currency's, bucket by bucket
    per_customer = figures(
        now.assign(currency=now["customer_id"] + "/" + now["currency"]), as_of=day, period_days=PERIOD_DAYS
    )
    totals: dict[str, Counter[str]] = {c: Counter() for c in figures_}
    for key, own in per_customer.items():
        assert sum(own["ageing_minor"].values()) == own["open_amount_minor"], key
        totals[key.split("/")[1]].update(own["ageing_minor"])
    for currency, fig in figures_.items():
        assert {n: totals[currency][n] for n in BUCKET_NAMES} == fig["ageing_minor"], currency
    # the escalation's exposure per customer: the same open amounts, the overdue part of them
    for row in exposure(now, day).itertuples(index=False):
        own = per_customer[f"{row.customer_id}/{row.currency}"]
        assert row.open_amount_minor == own["open_amount_minor"]
        assert row.overdue_amount_minor == own["open_amount_minor"] - own["ageing_minor"]["not_due"]


def check_report(books_: Books, day: date) -> None:
    """The report as of `day` reads only the cash received by then: no invoice is open below zero
    (credit notes are), and the ageing sums to the open amount."""
    now = books_.items_as_of(day)
    invoices = now[now["invoice_id"].map(books_.kind) == "invoice"]
    assert (invoices["open_minor"] >= 0).all()
    assert (invoices["open_minor"] <= invoices["amount_minor"]).all()
    check_ageing(now, books_.items_as_of(day - timedelta(days=PERIOD_DAYS)), day)


# ---------------------------------------------------------------------------------------------------
# The properties of cash application


@given(books())
def test_every_invoice_and_payment_balances_after_every_run(book: Book) -> None:
    """Per invoice amount = allocated + credited + written off + open, open >= 0; per payment
    amount = allocated + unapplied, unapplied >= 0; cash in = applied + unapplied per currency at
    every run date; and at every report date the ageing sums to the open amount."""

    books_ = simulate(
        book,
        before_post=check_run,
        after_post=lambda books_, day, _p, _i, cash: check_books(books_, day, cash),
    )
    for day in book.report_dates:
        check_report(books_, day)


def outcome(cash: CashApplication) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a run decided, order left out: every column of every row."""

    def rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
        return sorted(
            (tuple(str(v) for v in row) for row in frame.itertuples(index=False, name=None)), key=str
        )

    return {
        name: rows(getattr(cash, name))
        for name in ("allocations", "unapplied", "exceptions", "write_offs", "cases")
    }


@given(books(max_runs=2), st.randoms(use_true_random=False))
def test_allocations_do_not_depend_on_the_order_payments_and_invoices_arrive_in(
    book: Book, shuffle: random.Random
) -> None:
    """The last run, given its payments and invoices in a random order (with what earlier runs
    applied already in the ledger), decides exactly the same: every allocation, write-off, case,
    unapplied amount and exception, column by column."""
    last = [e for e in book.events() if isinstance(e, Run)][-1].day

    def shuffled(books_: Books, day: date, _p: Any, _i: Any, cash: CashApplication) -> None:
        if day == last:
            _, _, seen = books_.reconcile(day, shuffle)
            assert outcome(seen) == outcome(cash)

    simulate(book, before_post=shuffled)


@given(books(max_runs=2))
def test_reconcile_again_on_what_it_wrote_applies_nothing(book: Book) -> None:
    """A fixed point: a second run on the ledger the first wrote (its open amounts and unapplied
    cash, its allocations passed back as `paired`, as flows/reconcile.py reads them) applies no
    cash, writes nothing off, opens no case and leaves the same exception queue."""
    last = [e for e in book.events() if isinstance(e, Run)][-1].day  # the last run started

    def queue(cash: CashApplication) -> list[tuple[str, int, str, str]]:
        return sorted(
            (r.payment_id, int(r.unapplied_minor), r.reason, r.suggestions)
            for r in cash.exceptions.itertuples(index=False)
        )

    def again(books_: Books, day: date, _p: Any, _i: Any, cash: CashApplication) -> None:
        if day != last:
            return
        _, _, second = books_.reconcile(day)
        made = second.allocations[["payment_id", "invoice_id", "amount_minor", "rule"]]
        assert made.empty, made
        assert second.write_offs.empty and second.cases.empty
        assert queue(second) == queue(cash)

    simulate(book, after_post=again)


# ---------------------------------------------------------------------------------------------------
# The report: ageing on any open items


@given(open_items())
def test_ageing_buckets_sum_to_the_open_amount_per_currency_and_per_customer(
    drawn: tuple[list[dict[str, Any]], date],
) -> None:
    rows, day = drawn
    now = pd.DataFrame(rows).assign(
        issue_date=lambda f: pd.to_datetime(f["issue_date"]), due_date=lambda f: pd.to_datetime(f["due_date"])
    )
    check_ageing(now, now.iloc[0:0], day)


# ---------------------------------------------------------------------------------------------------
# Splits: what is split sums to what it splits


@given(order_books())
def test_billing_splits_sum_to_their_parts(drawn: OrderBook) -> None:
    """Each invoice's lines sum to its net and tax, net + tax to its amount; instalments sum to the
    invoice; a credit note's two adjustments cancel and take at most what was open; the control
    balances; every order is billed once or skipped with a reason; numbers run without gaps."""
    orders = pd.DataFrame(list(drawn.orders))
    lines = pd.DataFrame(list(drawn.lines))
    sequences = pd.DataFrame(list(drawn.sequences), columns=["series", "year", "last_number"])
    billed = pd.DataFrame(
        list(drawn.billed), columns=["order_id", "invoice_id", "customer_id", "currency", "open_minor"]
    )
    billing = bill_orders(orders, lines, sequences, as_of=drawn.as_of, series="O2C", billed=billed)
    issued, billed_lines = billing.invoices, billing.lines

    # every order once: billed or skipped with its reason
    out = (
        [*issued["order_id"].dropna(), *billing.skipped["order_id"]]
        if len(issued)
        else list(billing.skipped["order_id"])
    )
    assert sorted(out) == sorted(orders["order_id"])

    # the lines as billed: tax per line as `money.line_amounts` rounds it
    for line in billed_lines.itertuples(index=False):
        net, tax = line_amounts(
            line.quantity, line.unit_price_minor, Decimal(int(line.tax_rate_ppm)) / 1_000_000
        )
        assert (line.net_minor, line.tax_minor) == (net, tax)
    by_invoice = (
        billed_lines.groupby("invoice_id")[["net_minor", "tax_minor"]].sum() if len(billed_lines) else None
    )
    for invoice in issued.itertuples(index=False):
        assert invoice.amount_minor == invoice.net_minor + invoice.tax_minor
        assert by_invoice is not None
        assert (
            by_invoice.loc[invoice.invoice_id, "net_minor"],
            by_invoice.loc[invoice.invoice_id, "tax_minor"],
        ) == (
            invoice.net_minor,
            invoice.tax_minor,
        )
        if invoice.kind == "invoice":
            assert invoice.amount_minor > 0
            if not pd.isna(invoice.discount_amount_minor):
                assert 0 < invoice.discount_amount_minor < invoice.amount_minor
                assert invoice.issue_date <= invoice.discount_date <= invoice.due_date
        else:
            assert invoice.amount_minor < 0 and invoice.due_date == invoice.issue_date

    # instalments sum to their invoice, the last due on the invoice's due date
    terms_of = dict(zip(orders["order_id"], orders["payment_terms"], strict=True))
    parts = billing.instalments
    for invoice in issued[issued["kind"] == "invoice"].itertuples(index=False):
        terms = parse_terms(terms_of[invoice.order_id], 30)
        mine = parts[parts["invoice_id"] == invoice.invoice_id].sort_values("instalment")
        if terms.instalments == 1:
            assert mine.empty
            continue
        assert mine["instalment"].tolist() == list(range(1, terms.instalments + 1))
        assert int(mine["amount_minor"].sum()) == invoice.amount_minor
        assert (mine["amount_minor"] >= 0).all() and set(mine["currency"]) == {invoice.currency}
        assert mine["due_date"].iloc[-1] == invoice.due_date and mine["due_date"].is_monotonic_increasing

    # credit notes: two adjustments that cancel, at most what the note credits and the invoice owed
    adjustments = billing.adjustments
    open_before = {
        **dict(zip(billed["invoice_id"], billed["open_minor"], strict=True)),
        **dict(zip(issued["invoice_id"], issued["amount_minor"], strict=True)),
    }
    taken = Counter[str]()
    for note in issued[issued["kind"] == "credit_note"].itertuples(index=False):
        mine = adjustments[adjustments["adjustment_id"].str.startswith(f"{note.invoice_id}/")]
        if mine.empty:
            continue
        on_invoice = mine[mine["invoice_id"] == note.credit_for_invoice]["amount_minor"].tolist()
        on_note = mine[mine["invoice_id"] == note.invoice_id]["amount_minor"].tolist()
        assert len(on_invoice) == len(on_note) == 1 and on_invoice[0] == -on_note[0]
        assert 0 < on_invoice[0] <= -note.amount_minor
        taken[note.credit_for_invoice] += on_invoice[0]
    assert set(adjustments["kind"]) <= {"credit_note"}
    for invoice_id, credited in taken.items():
        assert credited <= open_before[invoice_id], invoice_id

    # the control: what came in = what went out, per currency, in count and amount
    control = billing.control
    assert (control["orders_in"] == control["orders_out"]).all()
    assert (control["amount_in_minor"] == control["amount_out_minor"]).all()

    # gapless numbering per series: last number + 1, + 2, ... and the sequences say the last
    last = {(r["series"], r["year"]): int(str(r["last_number"])) for r in drawn.sequences}
    numbers: dict[str, list[int]] = {}
    for invoice_id in issued["invoice_id"]:
        series, _year, number = invoice_id.rsplit("-", 2)
        numbers.setdefault(series, []).append(int(number))
    for series, used in numbers.items():
        first = last.get((series, drawn.as_of.year), 0)
        assert sorted(used) == list(range(first + 1, first + 1 + len(used))), series
    assert {r.series: r.last_number for r in billing.sequences.itertuples()} == {
        s: max(u) for s, u in numbers.items()
    }


@pytest.mark.parametrize(
    ("terms", "unit_price_minor", "discount"),
    [
        ("2% 10 net 30", 1, None),  # 2 % of 0.01 rounds to 0.00: no discount, rather than one of 0.00
        ("2% 10 net 30", 24, None),  # 0.0048
        ("2% 10 net 30", 25, 1),  # 0.005 rounds half up to 0.01
        ("75% 10 net 30", 1, None),  # 0.0075 rounds to the whole 0.01: not a discount either
        ("75% 10 net 30", 3, 2),
    ],
)
def test_an_invoice_offers_a_discount_only_of_at_least_one_minor_unit_and_below_its_amount(
    terms: str, unit_price_minor: int, discount: int | None
) -> None:
    """Found by `test_billing_splits_sum_to_their_parts`: an invoice of 0.01 EUR on `2% 10 net 30`
    was billed with a discount of 0.00 and its last day (printed on the invoice as a discount of
    0.00), and on `75% 10 net 30` with a discount of its whole amount, which the billed_invoices
    contract (discount below the amount, on failure: halt) would stop the invoice run for."""
    orders = pd.DataFrame(
        [
            {
                "order_id": "SO-1",
                "customer_id": "C1",
                "currency": "EUR",
                "fulfilled_date": START,
                "payment_terms_days": 30,
                "payment_terms": terms,
            }
        ]
    )
    lines = pd.DataFrame(
        [
            {
                "order_id": "SO-1",
                "line_no": 1,
                "quantity": 1,
                "unit_price_minor": unit_price_minor,
                "tax_rate_ppm": 0,
            }
        ]
    )
    sequences = pd.DataFrame(columns=["series", "year", "last_number"])
    invoice = bill_orders(orders, lines, sequences, as_of=START, series="O2C").invoices.iloc[0]
    if discount is None:
        assert pd.isna(invoice["discount_amount_minor"]) and invoice["discount_date"] is None
    else:
        assert invoice["discount_amount_minor"] == discount
        assert invoice["discount_date"] == START + timedelta(days=10)


@given(st.integers(-(10**12), 10**12), st.lists(st.integers(0, 10**6), min_size=1, max_size=12))
def test_allocating_an_amount_over_weights_splits_it_exactly(total: int, weights: list[int]) -> None:
    """`money.allocate`: the parts sum to the total, each within one minor unit of its exact share."""
    if sum(weights) == 0:
        weights = [*weights[:-1], 1]
    parts = allocate(total, weights)
    assert sum(parts) == total and len(parts) == len(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = Decimal(total) * weight / sum(weights)
        assert abs(Decimal(part) - exact) < 1
        assert part * total >= 0  # no part has the other sign


@given(st.data())
def test_a_credit_splits_into_net_and_tax_that_sum_to_it(data: st.DataObject) -> None:
    """`cases.split_gross`: net and tax of a credit in the invoice's proportion sum to the credit."""
    currency = data.draw(st.sampled_from(CURRENCIES))
    net = data.draw(amounts(currency))
    tax = data.draw(st.integers(0, net // 4))
    gross = data.draw(st.integers(1, net + tax))
    net_part, tax_part = split_gross(gross, net, tax)
    assert net_part + tax_part == gross
    assert 0 <= net_part <= gross and 0 <= tax_part <= gross
    assert abs(Decimal(net_part) - Decimal(gross) * net / (net + tax)) <= Decimal(1) / 2
    assert split_gross(gross, None, None) == (gross, 0)


@given(st.data())
def test_instalments_sum_to_the_invoice_and_tax_rounds_half_up(data: st.DataObject) -> None:
    """`Terms.schedule` splits a total into parts that sum to it (the first ones one unit more);
    `round_half_up_div` is the nearest integer, halves away from zero; per-line tax by
    `invoice.line_totals` (integer ppm) equals `money.line_amounts` (Decimal)."""
    parts = data.draw(st.integers(2, 12))
    total = data.draw(st.integers(0, 10**9))
    terms = parse_terms(
        f"net {data.draw(st.integers(0, 90))}, {parts} instalments every {data.draw(st.integers(1, 60))} days"
    )
    schedule = terms.schedule(START, total)
    amounts_ = [a for _d, a in schedule]
    assert len(schedule) == parts and sum(amounts_) == total
    assert max(amounts_) - min(amounts_) <= 1 and amounts_ == sorted(amounts_, reverse=True)

    numerator = data.draw(st.integers(-(10**15), 10**15))
    denominator = data.draw(st.integers(1, 10**9))
    q = round_half_up_div(numerator, denominator)
    exact = Decimal(numerator) / Decimal(denominator)
    assert q == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))

    quantity = data.draw(st.one_of(st.integers(-1000, -1), st.integers(1, 1000)))
    price = data.draw(st.integers(0, 10**9))
    ppm = data.draw(st.integers(0, 1_000_000))
    frame = line_totals(
        pd.DataFrame({"quantity": [quantity], "unit_price_minor": [price], "tax_rate_ppm": [ppm]})
    )
    assert (int(frame["net_minor"].iloc[0]), int(frame["tax_minor"].iloc[0])) == line_amounts(
        quantity, price, Decimal(ppm) / 1_000_000
    )


@given(st.sampled_from(sorted(CURRENCY_EXPONENTS)), st.integers(-(10**15), 10**15))
def test_an_amount_formatted_and_parsed_again_is_the_same_amount(currency: str, minor: int) -> None:
    assert to_minor(to_major_str(minor, currency), currency) == minor

"""Reconcile: unapplied payments and open invoices in; allocations out.

Pure. A payment whose structured reference or remittance text names open invoices of its currency
is applied to them, oldest due first, each up to its open amount; what is left stays unapplied on
the payment (`tasks/reconcile/references.py` finds the invoice numbers). A payment naming nothing is placed by
who paid and how much. Doubtful decisions go to the exception queue.

The certain common case (a payment naming exactly one open invoice, which no other payment of the
batch names, for exactly its open amount) is decided for the whole batch at once in vectorised
code (`certain.py`); the rest go through the passes one payment at a time (`passes.py`). Both give
the same allocations. This module is the entry point, `apply_cash`, and its fixed-point loop of
rounds; the open book is `book.py`, what each round decided when and looked at `seen.py`,
decisions and how they are applied `decisions.py`, the frames a run gives back `outcome.py`, and
the standard policy for callers outside the flow `policy.py`.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

from rules.matching import MatchingPolicy
from tasks.platform.fx import Rates
from tasks.reconcile import charges, cross_currency
from tasks.reconcile.book import OpenBook
from tasks.reconcile.certain import certain, certain_short, sure_facts
from tasks.reconcile.certain_payer import certain_by_payer
from tasks.reconcile.decisions import Decision, respect, settle
from tasks.reconcile.halves import (
    currency_halves,
    half_result,
    joined_halves,
    of_currencies,
    start_elsewhere,
    texts_of_half,
)
from tasks.reconcile.matching import PayerDirectory
from tasks.reconcile.named import named_by_payment, named_invoices
from tasks.reconcile.outcome import CashApplication, combined, outcome
from tasks.reconcile.passes import by_payer_and_amount, by_reference, payer_by_account, payer_of
from tasks.reconcile.ranking import ranked_ahead
from tasks.reconcile.references import InvoiceKeys, every_number_has_digits
from tasks.reconcile.seen import Seen, View, changed_since_decided, marked, seen_decided
from tasks.reconcile.sets import among, in_order

__all__ = ["CashApplication", "apply_cash"]


def apply_cash(
    payments: pd.DataFrame,
    invoices: pd.DataFrame,
    *,
    as_of: date,
    rule_version: str,
    policy: MatchingPolicy,
    payers: PayerDirectory | None = None,
    rejected: set[tuple[str, str]] | None = None,
    paired: set[tuple[str, str]] | None = None,
    rates: Rates | None = None,
) -> CashApplication:
    """Apply each payment to the invoices it pays, in passes, most certain first, until nothing
    more can be applied: the result is a fixed point, so running reconcile again on the ledger it
    wrote applies nothing and leaves the same exception queue.

    payments: payment_id, value_date, currency, unapplied_minor, reference (optional: payer_name,
    payer_account, creditor_reference, end_to_end_id). invoices: invoice_id, customer_id, currency,
    due_date, open_minor (every invoice, paid ones with 0, so a reference to a paid invoice is seen);
    optional: amount_minor, discount terms, and an invoice's instalments (instalment_due_dates,
    instalment_amounts_minor: lists in instalment order), by which its short payments are judged.
    Payments that name invoices go first, then those matched by who paid and how much. Only a
    decision scoring at least the policy's auto-apply score is applied; the rest become exceptions.
    `rejected` holds (payment, invoice) matches a person took back: they are never made again.
    `paired` holds the (payment, invoice) pairs the ledger already has an allocation for.
    `policy` is the matching policy: the flow loads it through `tasks.platform.policy.load_policy`;
    `tasks.reconcile.policy.default_policy()` gives the standard one.

    Why rounds: a payment decided early in a round may have been doubtful only because an invoice
    that a later payment of the same round paid was still open (two invoices near its amount, say).
    Each round decides the payments with cash left against the open amounts the previous round
    left, exactly as a new run would read them from the ledger: every payment in the first round,
    then only those whose decision could now differ (`seen.changed_since_decided`); the last round
    applies nothing, and the exceptions as the rounds left them, with their reasons and
    suggestions, are the queue as it stands. The
    allocations do not depend on the order the payments arrive in: they are taken by value date,
    then payment id.

    With `rates` (and the policy's `cross_currency.apply`), what the rounds leave is offered to
    `cross_currency.across_currencies`: a payment naming only invoices of another currency pays
    them at its value date's rate; when it applied anything, the rounds run again on what is then
    left (as a new run would), until nothing more is applied.

    Last, the rest of a payment that paid one customer's invoices pays that customer's reminder
    charges when it is exactly what one reminder charged, or all of them (`charges.py`).
    """
    with _no_cycle_collection():
        # the invoices in due order and their keys, read once for every round and the pass
        # across currencies (the open amounts change, the invoices and their order do not)
        invoices = in_order(invoices, ["due_date", "invoice_id"])
        owners = dict(zip(invoices["invoice_id"].tolist(), invoices["customer_id"].tolist(), strict=True))
        kwargs: dict[str, object] = dict(as_of=as_of, rule_version=rule_version, policy=policy, payers=payers)
        options = kwargs | dict(rejected=rejected, paired=paired)
        halves = currency_halves(payments)
        if halves is None:
            keys = InvoiceKeys(invoices, in_due_order=True)
            # what each payment names depends on its texts and the invoice numbers alone: read
            # once for every round, every return of the rounds and the pass across currencies
            named = named_invoices(_by_value_date(payments), keys, owners)
            # the payers of payments naming nothing are told by name: ranked meanwhile, elsewhere
            with ranked_ahead(payments[~among(payments["payment_id"], named["payment_id"])], payers):
                cash = _apply_in_rounds(payments, invoices, keys=keys, named=named, **options)  # type: ignore[arg-type]
        else:
            cash, keys, named = _in_halves(payments, invoices, halves, options, owners)
        kwargs |= dict(keys=keys, named=named)
        if rates is not None and policy.cross_currency.apply:
            cash = _across_currencies(cash, payments, invoices, rates, rejected, paired, kwargs, owners)
        excluded = set(rejected or ()) | set(paired or ())
        return charges.with_charges(
            cash,
            payments,
            invoices,
            policy=policy,
            as_of=as_of,
            rule_version=rule_version,
            excluded=excluded,
        )


def _across_currencies(
    cash: CashApplication,
    payments: pd.DataFrame,
    invoices: pd.DataFrame,
    rates: Rates,
    rejected: set[tuple[str, str]] | None,
    paired: set[tuple[str, str]] | None,
    kwargs: dict[str, object],
    owners: dict[str, str],
) -> CashApplication:
    """`apply_cash`'s rounds, alternating with the pass across currencies until it applies nothing."""
    steps = [cash]
    paired = set(paired or ())
    naming_own = set(kwargs["named"]["payment_id"].tolist())  # type: ignore[index]
    while True:
        paired |= set(zip(cash.allocations["payment_id"], cash.allocations["invoice_id"], strict=True))
        payments = cross_currency.cash_left(cash, payments)
        elsewhere = cross_currency.named_elsewhere(
            payments,
            invoices,
            keys=kwargs["keys"],  # type: ignore[arg-type]
            owners=owners,
            naming_own=naming_own,
        )
        if not len(elsewhere):  # the usual book: the open amounts are not worked out for nothing
            return cross_currency.joined(steps, {})
        invoices = cross_currency.open_after(cash, invoices)
        across = cross_currency.across_currencies(
            payments[payments["unapplied_minor"] > 0],
            invoices,
            elsewhere,
            rates=rates,
            policy=kwargs["policy"],  # type: ignore[arg-type]
            as_of=kwargs["as_of"],  # type: ignore[arg-type]
            rule_version=str(kwargs["rule_version"]),
            excluded=set(rejected or ()) | paired,
        )
        if not len(across.allocations):
            return cross_currency.joined(steps, across.reasons)
        paired |= set(zip(across.allocations["payment_id"], across.allocations["invoice_id"], strict=True))
        payments = cross_currency.replaced(payments, "payment_id", "unapplied_minor", across.left)
        invoices = cross_currency.replaced(invoices, "invoice_id", "open_minor", across.open_left)
        steps.append(across.as_step(payments))
        cash = _apply_in_rounds(
            payments[payments["unapplied_minor"] > 0].reset_index(drop=True),
            invoices,
            rejected=rejected,
            paired=paired,
            **kwargs,  # type: ignore[arg-type]
        )
        steps.append(cash)


def _in_halves(
    payments: pd.DataFrame,
    invoices: pd.DataFrame,
    halves: tuple[set[str], set[str]],
    options: dict[str, object],
    owners: dict[str, str],
) -> tuple[CashApplication, InvoiceKeys, pd.DataFrame]:
    """`apply_cash`'s rounds as two halves by currency (`halves.py`): the second half's texts read
    and its rounds run in a second process while this one does the first's (that half done here
    should the process fail); with the keys of every invoice and what every payment names, for
    the pass across currencies (`owners`: invoice -> customer, of every invoice)."""
    (here, there), (mine, theirs) = (
        [of_currencies(frame, half) for half in halves] for frame in (payments, invoices)
    )
    digits = every_number_has_digits(pa.array(invoices["invoice_id"].astype(str).to_numpy(), pa.string()))
    elsewhere = start_elsewhere(there, theirs, options, digits)
    try:
        keys, named = texts_of_half(here, mine, digits, owners)
        # the payers of this half's payments naming nothing are told by name: ranked meanwhile
        with ranked_ahead(here[~among(here["payment_id"], named["payment_id"])], options["payers"]):  # type: ignore[arg-type]
            first = _apply_in_rounds(here, mine, keys=keys, named=named, **options)  # type: ignore[arg-type]
        second, their_keys, their_named = half_result(elsewhere, there, theirs, options, digits)
    finally:
        if elsewhere is not None:
            elsewhere.close()
    return (
        joined_halves(_by_value_date(payments), [first, second]),
        InvoiceKeys.joined([keys, their_keys]),
        pd.concat([named, their_named], ignore_index=True),
    )


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector off while cash is applied: matching makes millions of small
    objects and no reference cycles worth collecting, and on a million payments the collector's
    repeated walks over them cost a tenth of the time. Reference counting still frees what is
    dropped; the collector runs again as soon as the run is done."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _apply_in_rounds(
    payments: pd.DataFrame,
    invoices: pd.DataFrame,
    *,
    as_of: date,
    rule_version: str,
    policy: MatchingPolicy,
    payers: PayerDirectory | None,
    rejected: set[tuple[str, str]] | None,
    paired: set[tuple[str, str]] | None,
    keys: InvoiceKeys | None = None,
    named: pd.DataFrame | None = None,
) -> CashApplication:
    """`apply_cash`'s rounds, until one applies nothing (`named`: what each payment names,
    `named_invoices` of these payments or more, by value date, read from `invoices` in due order;
    else read here, with `keys` of `invoices` in due order when given)."""
    payers = payers or PayerDirectory({}, {}, policy.payer.name_threshold)
    rejected = set(rejected or ())
    paired = set(paired or ())
    ordered = _by_value_date(payments)
    if named is None:  # else the invoices come in due order, as `named` was read from them
        invoices = in_order(invoices, ["due_date", "invoice_id"])
    rounds: list[CashApplication] = []
    left = dict(
        zip(ordered["payment_id"].tolist(), ordered["unapplied_minor"].astype("int64").tolist(), strict=True)
    )
    # each payment's exception, as the round that last decided it left it
    queue: dict[str, dict[str, object]] = {}
    views: dict[str, View] = {}  # what each payment's decision looked at
    book = OpenBook(invoices, as_of, rule_version, in_due_order=True)
    # what a payment names depends on its texts and the invoice numbers alone: read once
    if named is None:
        reading = keys if keys is not None else InvoiceKeys(invoices, in_due_order=True)
        every_named = named_invoices(ordered, reading, book.customer)
    else:  # a subset keeps the order the payments' own reading gives (payments by value date)
        every_named = named[among(named["payment_id"], ordered["payment_id"])].reset_index(drop=True)
    batch = with_cash = ordered  # the payments a round decides; those with cash left
    touched: set[str] = set()  # the invoices whose open amount the round before changed
    while True:
        start, book = book, book.next_round(touched)
        named_now = (
            every_named
            if batch is ordered
            else every_named[among(every_named["payment_id"], batch["payment_id"])]
        )
        cash, seen = _one_round(batch, named_now, book, as_of, rule_version, policy, payers, rejected, paired)
        rounds.append(cash)
        for payment_id in batch["payment_id"].tolist():
            queue.pop(payment_id, None)
        queue.update((row["payment_id"], row) for row in cash.exceptions.to_dict("records"))
        left.update(
            zip(
                cash.unapplied["payment_id"].tolist(), cash.unapplied["unapplied_minor"].tolist(), strict=True
            )
        )
        views.update(seen.views)
        touched = set(seen.touched_at)
        if not len(cash.allocations) and not len(cash.write_offs):
            break
        paired |= set(zip(cash.allocations["payment_id"], cash.allocations["invoice_id"], strict=True))
        waiting = with_cash["payment_id"].tolist()
        with_cash = with_cash.assign(
            unapplied_minor=np.fromiter(map(left.__getitem__, waiting), dtype=np.int64, count=len(waiting))
        )
        with_cash = with_cash[with_cash["unapplied_minor"] > 0]
        changed = changed_since_decided(
            with_cash, views, seen, start, book, set(cash.allocations["payment_id"])
        )
        batch = with_cash[changed].reset_index(drop=True)
    position = {payment_id: n for n, payment_id in enumerate(ordered["payment_id"].tolist())}
    exceptions = pd.DataFrame(
        sorted(queue.values(), key=lambda row: position[str(row["payment_id"])]),
        columns=rounds[-1].exceptions.columns,
    )
    return combined(ordered, rounds, paired, left, exceptions)


def _by_value_date(payments: pd.DataFrame) -> pd.DataFrame:
    """Payments in the order cash is applied: by value date, then payment id, whatever order they came in."""
    return in_order(payments, ["value_date", "payment_id"])


def _one_round(
    ordered: pd.DataFrame,
    named: pd.DataFrame,
    book: OpenBook,
    as_of: date,
    rule_version: str,
    policy: MatchingPolicy,
    payers: PayerDirectory,
    rejected: set[tuple[str, str]],
    paired: set[tuple[str, str]],
) -> tuple[CashApplication, Seen]:
    """One pass of every matching rule over the payments (`named`: the invoices each names),
    against the book's open amounts; and what each decision looked at, and when."""
    decided: dict[str, Decision] = {}
    seen = Seen()
    facts = sure_facts(ordered, named, book, payers, policy, rejected | paired)
    sure = marked(certain(facts), book, seen, moment=0)
    short, write_offs, cases = certain_short(facts, book, payers, policy)
    marked(short, book, seen, moment=0)
    by_payer = certain_by_payer(
        ordered[~among(ordered["payment_id"], named["payment_id"])],
        named[~among(named["payment_id"], set(sure["payment_id"]) | set(short["payment_id"]))],
        book,
        payers,
        policy,
        rejected | paired,
    )
    sure = pd.concat([frame for frame in (sure, short, by_payer) if len(frame)] or [sure], ignore_index=True)
    done = set(sure["payment_id"].tolist())
    named_of = named_by_payment(named[~among(named["payment_id"], done)])
    rest = []
    moment = 0
    for payment in ordered[~among(ordered["payment_id"], done)].itertuples(index=False):
        named_by = named_of.get(payment.payment_id)
        decision = by_reference(payment, named_by, book, payers, policy)
        if decision is None:
            rest.append(payment)
            continue
        moment += 1
        decision = settle(respect(decision, payment, rejected, paired), payment, book, policy)
        decided[payment.payment_id] = seen_decided(seen, payment.payment_id, moment, decision)
        payer = payer_by_account(payment, payers)
        seen.views[payment.payment_id] = (
            tuple(named_by[1]) if named_by else (),
            (payer, payment.currency) if payer is not None else None,
            (payment.currency, int(payment.unapplied_minor)),
        )
    # the payments certain by payer and amount are decided as the first of those naming nothing
    # would be: after every payment naming invoices, whose decisions see their invoices still open
    moment += 1
    marked(by_payer, book, seen, moment)
    for payment in rest:
        moment += 1
        decision = respect(by_payer_and_amount(payment, book, payers, policy), payment, rejected, paired)
        decision = settle(decision, payment, book, policy)
        decided[payment.payment_id] = seen_decided(seen, payment.payment_id, moment, decision)
        customer = payer_of(payment, payers)
        seen.views[payment.payment_id] = (
            (),
            (customer, payment.currency) if customer is not None else None,
            (payment.currency, int(payment.unapplied_minor)) if customer is None else None,
        )
    return outcome(ordered, decided, (sure, write_offs, cases), book, as_of, rule_version), seen

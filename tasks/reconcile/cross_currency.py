"""Cash applied across currencies: a payment naming invoices of another currency only.

Pure. Run on what the same-currency passes left (payments with cash left, invoices with their open
amounts): a payment whose references name open invoices of exactly one other currency, and none of
its own, pays them at the reference rate of its value date (`tasks/platform/fx.py`: the rates the
company loaded). Converted, the payment is compared with what the invoices have open:

- within `cross_currency.settle_within_percent` of it: the invoices are settled in full and the
  whole payment is used (the payer's bank converted at another rate; the difference is an exchange
  difference, which the journal books as gain or loss);
- more: the invoices are settled, and what they cost at the rate is taken from the payment; the
  rest stays on it, in its own currency;
- less: it pays them oldest due first as far as it goes, and is used up; what it leaves on the
  last invoice it pays (in that invoice's currency) is settled as a same-currency short payment
  would be (`short_payments.settle_residual`, with the rule that named the invoices): an
  early-payment discount or small difference written off, a deduction case, or (an invoice in
  instalments paid what was due) nothing: a plain partial payment.

Each allocation keeps both sides: `amount_minor` in the invoice's currency, `payment_amount_minor`
in the payment's, split over the invoices so that the parts add up exactly (each rounded once, half
up, on the running total). Without a rate, or naming invoices of two other currencies, nothing is
applied and the reason says why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from rules.matching import MatchingPolicy
from tasks.platform.fx import Rates, convert_minor, rate_text
from tasks.platform.money import to_major_str
from tasks.reconcile.book import discount_terms, instalments
from tasks.reconcile.decisions import text_of
from tasks.reconcile.named import named_invoices
from tasks.reconcile.outcome import (
    ALLOCATION_COLUMNS,
    CASE_COLUMNS,
    WRITE_OFF_COLUMNS,
    CashApplication,
    counted,
    stacked,
)
from tasks.reconcile.references import InvoiceKeys
from tasks.reconcile.sets import among, in_order
from tasks.reconcile.short_payments import settle_residual

RULE = "cross_currency"
# a reconcile allocation's columns, and the rate the conversion used
COLUMNS = [*ALLOCATION_COLUMNS, "exchange_rate", "rate_date"]


@dataclass
class Across:
    """What the pass decided: allocations (`COLUMNS`), the cash left per payment it used, the open
    amount left per invoice it paid (after any small difference written off), why it left a payment
    alone where it names invoices of another currency, and the write-offs and deduction cases of
    the short payments among them."""

    allocations: pd.DataFrame
    left: dict[str, int] = field(default_factory=dict)
    open_left: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    write_offs: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)

    def as_step(self, payments: pd.DataFrame) -> CashApplication:
        """The pass as one step of a cash application: its allocations, the cash it left on the
        payments it used, its write-offs and deduction cases."""
        used = payments[among(payments["payment_id"], self.left.keys())]
        unapplied = pd.DataFrame(
            {
                "payment_id": used["payment_id"].to_numpy(),
                "currency": used["currency"].to_numpy(),
                "unapplied_minor": used["payment_id"].map(self.left).astype("int64").to_numpy(),
            }
        )
        return CashApplication(
            self.allocations,
            unapplied,
            write_offs=pd.DataFrame(self.write_offs, columns=WRITE_OFF_COLUMNS),
            cases=pd.DataFrame(self.cases, columns=CASE_COLUMNS),
        )


def named_elsewhere(
    payments: pd.DataFrame,
    invoices: pd.DataFrame,
    *,
    keys: InvoiceKeys,
    owners: dict[str, str],
    naming_own: set[str],
) -> pd.DataFrame:
    """payment_id, invoice_id, words, rule: what the payments with cash left that name no invoice
    of their own currency (`naming_own`: those that do) name in the other currencies. `keys`: of
    `invoices`, in due order; `owners`: invoice -> customer. Read before the open amounts are
    worked out: a book where no payment names another currency's invoice needs none of them."""
    waiting = payments[(payments["unapplied_minor"] > 0) & ~among(payments["payment_id"], naming_own)]
    if not len(waiting) or len(set(waiting["currency"]) | set(invoices["currency"])) < 2:
        return pd.DataFrame(columns=["payment_id", "invoice_id", "words", "rule"])
    return _named_elsewhere(waiting, invoices, keys, owners)


def across_currencies(
    payments: pd.DataFrame,
    invoices: pd.DataFrame,
    elsewhere: pd.DataFrame,
    *,
    rates: Rates,
    policy: MatchingPolicy,
    as_of: date,
    rule_version: str,
    excluded: set[tuple[str, str]],
) -> Across:
    """Apply the payments that name only invoices of another currency (`elsewhere`, from
    `named_elsewhere`). payments: payment_id, value_date, currency, unapplied_minor and the texts
    `named_invoices` reads. invoices: invoice_id, customer_id, currency, due_date, open_minor, in
    due order. `excluded`: (payment, invoice) pairs never made (taken back by a person, or already
    paired)."""
    if not len(elsewhere):
        return Across(pd.DataFrame(columns=COLUMNS))
    # only the invoices named are looked up, by their place in the book's due order
    places = np.flatnonzero(among(invoices["invoice_id"], set(elsewhere["invoice_id"])))
    mine = invoices.iloc[places]
    currency_of = dict(zip(mine["invoice_id"].tolist(), mine["currency"].tolist(), strict=True))
    open_left = dict(
        zip(mine["invoice_id"].tolist(), mine["open_minor"].astype("int64").tolist(), strict=True)
    )
    due_rank = dict(zip(mine["invoice_id"].tolist(), places.tolist(), strict=True))
    named = elsewhere.groupby("payment_id", sort=False)
    ordered = in_order(
        payments[among(payments["payment_id"], set(elsewhere["payment_id"]))], ["value_date", "payment_id"]
    )
    out = Across(pd.DataFrame(columns=COLUMNS))
    rows: list[dict[str, object]] = []
    for payment in ordered.itertuples(index=False):
        found = named.get_group(payment.payment_id)
        ids = sorted(
            {i for i in found["invoice_id"].tolist() if (payment.payment_id, i) not in excluded},
            key=due_rank.__getitem__,
        )
        still_open = [i for i in ids if open_left[i] > 0]
        currencies = sorted({currency_of[i] for i in still_open})
        if not currencies:
            continue
        if len(currencies) > 1:
            out.reasons[payment.payment_id] = (
                f"names open invoices in {' and '.join(currencies)}, none in {payment.currency}: a person decides"
            )
            continue
        target = currencies[0]
        paid_on = pd.Timestamp(payment.value_date).date()
        quote = rates.fraction(str(payment.currency), target, paid_on)
        if quote is None:
            out.reasons[payment.payment_id] = (
                f"names {target} invoice(s) {', '.join(still_open)}; no {payment.currency}->{target}"
                f" rate on or before {paid_on.isoformat()} (o2c rates load)"
            )
            continue
        rule_named = str(found["rule"].iloc[0])
        score = float(getattr(policy.scores, rule_named))
        if score < policy.auto_apply_score:
            continue
        parts, short = _parts(payment, still_open, open_left, target, quote[0], quote[1], policy)
        words = dict(zip(found["invoice_id"].tolist(), found["words"].tolist(), strict=True))
        left = int(payment.unapplied_minor)
        rate = rate_text(quote[0], quote[1])
        converted = convert_minor(left, str(payment.currency), target, quote[0], quote[1])
        meant = {invoice_id: open_left[invoice_id] for invoice_id, _, _ in parts}
        for invoice_id, amount, _ in parts:
            open_left[invoice_id] -= amount
        if short and parts:
            last = parts[-1][0]
            write_off, case = _short_payment(
                payment,
                invoices.iloc[[due_rank[last]]],
                residual=open_left[last],
                meant=meant[last],
                rule=rule_named,
                policy=policy,
                as_of=as_of,
                rule_version=rule_version,
            )
            if write_off:
                open_left[last] -= int(write_off["amount_minor"])
                out.write_offs.append(write_off)
            if case:
                out.cases.append(case)
        for invoice_id, amount, given in parts:
            left -= given
            evidence = {
                "named_by": rule_named,
                "words": words.get(invoice_id, ""),
                "rate": f"{rate} {target} per {payment.currency}",
                "rate_date": quote[2].isoformat(),
                "converted": f"{to_major_str(converted, target)} {target}",
            }
            rows.append(
                {
                    "allocation_id": f"{payment.payment_id}/{invoice_id}",
                    "payment_id": payment.payment_id,
                    "invoice_id": invoice_id,
                    "amount_minor": amount,
                    "currency": target,
                    "payment_amount_minor": given,
                    "payment_currency": str(payment.currency),
                    "exchange_rate": rate,
                    "rate_date": quote[2],
                    "rule": RULE,
                    "rule_version": rule_version,
                    "score": round(score, 4),
                    "evidence": json.dumps(evidence, sort_keys=True),
                    "as_of": as_of,
                    "payment_unapplied_after_minor": left,
                    "invoice_open_after_minor": open_left[invoice_id],
                }
            )
            out.open_left[invoice_id] = open_left[invoice_id]
        out.left[payment.payment_id] = left
    out.allocations = pd.DataFrame(rows, columns=COLUMNS)
    if len(out.allocations):
        for column in ("amount_minor", "payment_amount_minor"):
            out.allocations[column] = out.allocations[column].astype("int64")
    return out


def _named_elsewhere(
    payments: pd.DataFrame, invoices: pd.DataFrame, keys: InvoiceKeys, owners: dict[str, str]
) -> pd.DataFrame:
    """payment_id, invoice_id, words, rule: the invoices each payment names in the currencies that
    are not its own (its texts read as if it were in each of them)."""
    found = []
    for currency in sorted(set(invoices["currency"].astype(str))):
        others = payments[payments["currency"] != currency]
        if len(others):
            found.append(named_invoices(others.assign(currency=currency), keys, owners))
    found = [frame for frame in found if len(frame)]
    return pd.concat(found, ignore_index=True) if found else pd.DataFrame()


def _parts(
    payment: object,
    invoices: list[str],
    open_left: dict[str, int],
    target: str,
    numerator: Decimal,
    denominator: Decimal,
    policy: MatchingPolicy,
) -> tuple[list[tuple[str, int, int]], bool]:
    """(invoice, amount in its currency, amount taken from the payment) per invoice paid, and
    whether the payment falls short of what they have open beyond the settling tolerance (then it
    is used up on them oldest due first, and the last one paid is left with a balance)."""
    cash = int(payment.unapplied_minor)  # type: ignore[attr-defined]
    source = str(payment.currency)  # type: ignore[attr-defined]
    converted = convert_minor(cash, source, target, numerator, denominator)
    owed = sum(open_left[i] for i in invoices)
    within = abs(converted - owed) * 100 <= owed * Decimal(str(policy.cross_currency.settle_within_percent))
    if within or converted >= owed:
        amounts = [(i, open_left[i]) for i in invoices]
        given = cash if within else min(cash, convert_minor(owed, target, source, denominator, numerator))
    else:
        amounts, rest = [], converted
        for invoice_id in invoices:
            take = min(rest, open_left[invoice_id])
            if take > 0:
                amounts.append((invoice_id, take))
            rest -= take
        given = cash
    total = sum(amount for _, amount in amounts)
    out, running, before = [], 0, 0
    for invoice_id, amount in amounts:
        running += amount
        through = (running * given * 2 + total) // (total * 2)  # running share of `given`, half up
        out.append((invoice_id, amount, through - before))
        before = through
    return [part for part in out if part[1] > 0 and part[2] > 0], not within and converted < owed


def _short_payment(
    payment: object,
    invoice: pd.DataFrame,
    *,
    residual: int,
    meant: int,
    rule: str,
    policy: MatchingPolicy,
    as_of: date,
    rule_version: str,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(write-off, deduction case) for the `residual` a short payment across currencies leaves on
    `invoice` (one row; `meant`: what it had open before, both in its currency): decided exactly as
    a same-currency short payment named by `rule` is, with the invoice's discount terms and
    instalments (`short_payments.settle_residual`)."""
    invoice_id = str(invoice["invoice_id"].iloc[0])
    return settle_residual(
        discount=discount_terms(invoice).get(invoice_id),
        instalments=instalments(invoice).get(invoice_id),
        value_date=pd.Timestamp(payment.value_date).date(),  # type: ignore[attr-defined]
        rule=rule,
        payment_id=str(payment.payment_id),  # type: ignore[attr-defined]
        invoice_id=invoice_id,
        customer_id=str(invoice["customer_id"].iloc[0]),
        currency=str(invoice["currency"].iloc[0]),
        residual=residual,
        meant=meant,
        remittance=text_of(getattr(payment, "reference", "")),
        policy=policy,
        as_of=as_of,
        rule_version=rule_version,
    )


def after(
    cash: CashApplication, payments: pd.DataFrame, invoices: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The payments and invoices as `cash` left them: cash left per payment, open per invoice."""
    return cash_left(cash, payments), open_after(cash, invoices)


def cash_left(cash: CashApplication, payments: pd.DataFrame) -> pd.DataFrame:
    """The payments with the cash `cash` left on each."""
    left = dict(zip(cash.unapplied["payment_id"], cash.unapplied["unapplied_minor"], strict=True))
    return replaced(payments, "payment_id", "unapplied_minor", left)


def open_after(cash: CashApplication, invoices: pd.DataFrame) -> pd.DataFrame:
    """The invoices with what `cash` left open on each (its allocations and write-offs taken)."""
    taken = pd.concat(
        [cash.allocations[["invoice_id", "amount_minor"]], cash.write_offs[["invoice_id", "amount_minor"]]]
    )
    if not len(taken):
        return invoices
    less = taken.astype({"amount_minor": "int64"}).groupby("invoice_id")["amount_minor"].sum()
    return invoices.assign(
        open_minor=(
            invoices["open_minor"].astype("int64")
            - invoices["invoice_id"].map(less).fillna(0).astype("int64")
        )
    )


def joined(steps: list[CashApplication], reasons: dict[str, str]) -> CashApplication:
    """The steps as one cash application: every step's allocations, write-offs and cases, and the
    cash left, exceptions and cash on account as the last step left them (an exception, or cash
    held on account, of a payment naming invoices of another currency says why they were not paid)."""
    last = steps[-1]
    if len(steps) == 1 and not reasons:
        return last
    allocations, write_offs, cases = (
        stacked([getattr(s, name) for s in steps]) for name in ("allocations", "write_offs", "cases")
    )
    left = dict(zip(steps[0].unapplied["payment_id"], steps[0].unapplied["unapplied_minor"], strict=True))
    for step in steps[1:]:
        left.update(zip(step.unapplied["payment_id"], step.unapplied["unapplied_minor"], strict=True))
    unapplied = steps[0].unapplied.assign(
        unapplied_minor=steps[0].unapplied["payment_id"].map(left).astype("int64")
    )
    exceptions, on_account = last.exceptions, last.on_account
    if reasons and len(exceptions):
        exceptions = exceptions.assign(
            reason=[
                reasons.get(p, r) for p, r in zip(exceptions["payment_id"], exceptions["reason"], strict=True)
            ]
        )
    if reasons and len(on_account):
        on_account = on_account.assign(
            reason=[
                f"{r}; {reasons[p]}" if p in reasons else r
                for p, r in zip(on_account["payment_id"], on_account["reason"], strict=True)
            ]
        )
    rounds = sum(s.counts.get("matching_rounds", 0) for s in steps)
    return counted(
        steps[0].unapplied, allocations, unapplied, exceptions, write_offs, cases, on_account, rounds=rounds
    )


def replaced(frame: pd.DataFrame, key: str, column: str, values: dict[str, int]) -> pd.DataFrame:
    """`frame` with its minor-unit `column` taken from `values` (by `key`) where it gives one."""
    return frame.assign(**{column: frame[key].map(values).fillna(frame[column]).astype("int64")})

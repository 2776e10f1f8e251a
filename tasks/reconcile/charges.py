"""The rest of a payment pays the reminder charges it was asked for.

Pure. A reminder's fee and interest are open items of the customer (`invoices` rows of kind 'fee'
or 'interest', origin 'charge', `charged_by` the reminder; remind books them), and the reminder's
message asks for its invoices plus its own fee and interest. A payment of that total naming only
the invoices pays them in the passes and is left with exactly the charges: this pass, run once the
rounds (and the pass across currencies) are done, pays them with it.

A payment that paid invoices of one customer in this run and still has cash left pays that
customer's open charges in the payment's currency when what is left is exactly

- the open charges of one reminder (the latest such reminder, by issue date then id, when several
  come to the same amount), or
- all the customer's open charges in that currency.

Exact amounts only: anything else stays where the passes left it (held on account, or in the
queue). Each charge is paid its open amount (rule `reminder_charges`, scored by the policy), the
payment is used up, and its exception or cash on account goes.
"""

from __future__ import annotations

import json
from datetime import date

import pandas as pd

from rules.matching import MatchingPolicy
from tasks.platform.money import to_major_str
from tasks.reconcile import cross_currency
from tasks.reconcile.outcome import ALLOCATION_COLUMNS, CashApplication, counted, stacked
from tasks.reconcile.sets import among

RULE = "reminder_charges"


def with_charges(
    cash: CashApplication,
    payments: pd.DataFrame,
    invoices: pd.DataFrame,
    *,
    policy: MatchingPolicy,
    as_of: date,
    rule_version: str,
    excluded: set[tuple[str, str]],
) -> CashApplication:
    """`cash` with the rest of its payments paying reminder charges, where it is exactly their
    amount (see the module). payments and invoices: as `apply_cash` got them (invoices with
    `charged_by`, and `issue_date` to tell the latest reminder; without `charged_by` nothing is
    done). `excluded`: (payment, invoice) pairs never made (taken back by a person, or already
    paired)."""
    score = float(policy.scores.reminder_charges)
    if "charged_by" not in invoices.columns or score < policy.auto_apply_score or not len(cash.allocations):
        return cash
    if not invoices["charged_by"].notna().any():  # a book without charges: nothing to look at
        return cash
    payments, invoices = cross_currency.after(cash, payments, invoices)
    charges = _open_charges(invoices)
    if not charges:
        return cash
    owner = dict(zip(invoices["invoice_id"].tolist(), invoices["customer_id"].tolist(), strict=True))
    paid_before: dict[str, list[str]] = {}
    for payment_id, invoice_id in zip(
        cash.allocations["payment_id"].tolist(), cash.allocations["invoice_id"].tolist(), strict=True
    ):
        paid_before.setdefault(payment_id, []).append(invoice_id)
    excluded = excluded | set(
        zip(cash.allocations["payment_id"], cash.allocations["invoice_id"], strict=True)
    )
    candidates = payments[
        (payments["unapplied_minor"] > 0) & among(payments["payment_id"], paid_before.keys())
    ].sort_values(["value_date", "payment_id"], kind="stable")
    open_left = {i: left for items in charges.values() for i, _, _, left in items}
    rows: list[dict[str, object]] = []
    for payment in candidates.itertuples(index=False):
        customers = {owner[i] for i in paid_before[payment.payment_id]}
        if len(customers) != 1:
            continue
        rest, currency = int(payment.unapplied_minor), str(payment.currency)
        items = [
            (i, reminder, issued)
            for i, reminder, issued, _ in charges.get((customers.pop(), currency), [])
            if open_left[i] > 0 and (payment.payment_id, i) not in excluded
        ]
        chosen = _paid_by(items, open_left, rest)
        if chosen is None:
            continue
        ids, which = chosen
        evidence = json.dumps(
            {
                "paid_first": sorted(paid_before[payment.payment_id]),
                "rest": f"{to_major_str(rest, currency)} {currency}",
                "charges_of": which,
                "why": f"the rest of the payment, {to_major_str(rest, currency)} {currency}, is exactly {which}",
            },
            sort_keys=True,
        )
        left = rest
        for invoice_id in ids:
            amount = open_left[invoice_id]
            left -= amount
            open_left[invoice_id] = 0
            rows.append(
                {
                    "allocation_id": f"{payment.payment_id}/{invoice_id}",
                    "payment_id": payment.payment_id,
                    "invoice_id": invoice_id,
                    "amount_minor": amount,
                    "currency": currency,
                    "rule": RULE,
                    "rule_version": rule_version,
                    "score": round(score, 4),
                    "evidence": evidence,
                    "as_of": as_of,
                    "payment_unapplied_after_minor": left,
                    "invoice_open_after_minor": 0,
                    "payment_amount_minor": amount,
                    "payment_currency": currency,
                }
            )
    if not rows:
        return cash
    return _joined(cash, pd.DataFrame(rows, columns=ALLOCATION_COLUMNS))


Charge = tuple[str, str, str]  # invoice id, the reminder that charged it, its issue date (ISO)


def _open_charges(invoices: pd.DataFrame) -> dict[tuple[str, str], list[tuple[str, str, str, int]]]:
    """(customer, currency) -> its open reminder charges, oldest due first: (invoice id, reminder,
    issue date, open amount)."""
    frame = invoices[invoices["charged_by"].notna() & (invoices["open_minor"].astype("int64") > 0)]
    if not len(frame):
        return {}
    frame = frame.sort_values(["due_date", "invoice_id"], kind="stable")
    issued = (
        pd.to_datetime(frame["issue_date"]).dt.strftime("%Y-%m-%d").fillna("")
        if "issue_date" in frame.columns
        else pd.Series("", index=frame.index)
    )
    out: dict[tuple[str, str], list[tuple[str, str, str, int]]] = {}
    for invoice_id, customer, currency, reminder, day, left in zip(
        frame["invoice_id"].tolist(),
        frame["customer_id"].tolist(),
        frame["currency"].tolist(),
        frame["charged_by"].astype(str).tolist(),
        issued.tolist(),
        frame["open_minor"].astype("int64").tolist(),
        strict=True,
    ):
        out.setdefault((str(customer), str(currency)), []).append((invoice_id, reminder, day, left))
    return out


def _paid_by(charges: list[Charge], open_left: dict[str, int], rest: int) -> tuple[list[str], str] | None:
    """(the charges `rest` pays, which reminder's they are in words), or None when `rest` is not
    exactly the open charges of one reminder (the latest that fits, by issue date then id) nor all
    of them."""
    if not charges:
        return None
    totals: dict[str, int] = {}
    issued: dict[str, str] = {}
    for invoice_id, reminder, day in charges:
        totals[reminder] = totals.get(reminder, 0) + open_left[invoice_id]
        issued[reminder] = max(issued.get(reminder, ""), day)
    fits = [reminder for reminder, total in totals.items() if total == rest]
    if fits:
        latest = max(fits, key=lambda r: (issued[r], r))
        return [i for i, r, _ in charges if r == latest], f"the fee and interest of reminder {latest}"
    if sum(totals.values()) == rest:
        return [i for i, _, _ in charges], f"every open reminder charge ({', '.join(sorted(totals))})"
    return None


def _joined(cash: CashApplication, paid: pd.DataFrame) -> CashApplication:
    """`cash` with the charges `paid`: its allocations after the rest, the cash left on those
    payments less what they paid, and their exception or cash on account without the paid cash
    (gone where nothing is left)."""
    paid = paid.astype({"amount_minor": "int64", "payment_amount_minor": "int64"})
    taken = paid.groupby("payment_id")["payment_amount_minor"].sum().to_dict()
    unapplied = cash.unapplied.assign(
        unapplied_minor=(
            cash.unapplied["unapplied_minor"].astype("int64")
            - cash.unapplied["payment_id"].map(taken).fillna(0).astype("int64")
        )
    )
    left = dict(zip(unapplied["payment_id"], unapplied["unapplied_minor"], strict=True))

    def less(frame: pd.DataFrame) -> pd.DataFrame:
        if not len(frame):
            return frame
        frame = frame.assign(
            unapplied_minor=frame["payment_id"].map(left).fillna(frame["unapplied_minor"]).astype("int64")
        )
        return frame[frame["unapplied_minor"] > 0].reset_index(drop=True)

    allocations = stacked([cash.allocations, paid])
    exceptions, on_account = less(cash.exceptions), less(cash.on_account)
    rounds = int(cash.counts.get("matching_rounds", 0))
    return counted(
        cash.unapplied,
        allocations,
        unapplied,
        exceptions,
        cash.write_offs,
        cash.cases,
        on_account,
        rounds=rounds,
    )

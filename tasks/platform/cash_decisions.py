"""A person's cash decisions: apply a payment to an invoice by hand, or take an allocation back.

This is how the exception queue is worked: reconcile leaves the payments it could not apply with
confidence in `payment_exceptions`; a person applies them (`o2c apply`) or undoes a wrong match
(`o2c unapply`). The rules are the ledger's invariants: never apply more than a payment has
unapplied or more than an invoice owes, one allocation per (payment, invoice) pair; across two
currencies at the payment's value date's reference rate (or the rate the bank used, `--rate`), both
sides kept. A refused decision raises `DecisionRefused` with one line and writes nothing; an
accepted one lands in one transaction with its audit row.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

from tasks.platform.fx import Rates, convert_minor, rate_text
from tasks.platform.ledger import Ledger
from tasks.platform.money import MoneyError, to_major_str, to_minor

RULE_MANUAL = "manual"
RULE_VERSION_MANUAL = "manual"


class DecisionRefused(ValueError):
    """A manual decision the ledger's rules do not allow; the message is one line for the person."""


def normalise_account(account: str) -> str:
    """A payer account as `payer_accounts` keeps it: upper case, no spaces (`de89 3704` -> `DE893704`)."""
    return "".join(account.split()).upper()


def apply_manually(
    ledger: Ledger,
    payment_id: str,
    invoice_id: str,
    amount_text: str | None,
    by: str,
    run_id: str,
    today: date,
    rate: str | None = None,
) -> dict[str, Any]:
    """Apply cash from a payment to an invoice as `by` decided; return the allocation written.

    `amount_text` is a decimal in major units of the payment's currency; None applies the lesser of
    the payment's unapplied amount and the invoice's open amount. A payment and an invoice of two
    currencies are converted at `rate` (units of the invoice's currency per unit of the payment's:
    the rate the bank used) or, without it, the reference rate of the payment's value date.
    """
    by = _person(by)
    payment, invoice = _payment_and_invoice(ledger, payment_id, invoice_id)
    currency = str(payment["currency"])
    unapplied = int(payment["unapplied_minor"])
    open_minor = int(invoice["open_minor"])
    target = str(invoice["currency"])
    if target == currency:
        if rate is not None:
            raise DecisionRefused(
                f"--rate is for a payment and an invoice of two currencies; both are in {currency}"
            )
        amount = _amount_to_apply(amount_text, currency, unapplied, open_minor, payment_id, invoice_id)
        given, converted = amount, dict[str, Any](exchange_rate=None, rate_date=None)
    else:
        quote = _quote(ledger, payment, target, rate)
        given, amount = _across(amount_text, payment, invoice, quote)
        converted = {"exchange_rate": rate_text(quote[0], quote[1]), "rate_date": quote[2]}
    allocation = {
        "allocation_id": f"{payment_id}/{invoice_id}",
        "payment_id": payment_id,
        "invoice_id": invoice_id,
        "amount_minor": amount,
        "payment_amount_minor": given,
        **converted,
        "rule": RULE_MANUAL,
        "rule_version": RULE_VERSION_MANUAL,
        "score": 1.0,
        "evidence": json.dumps({"decided_by": by}),
        "as_of": today,
        "run_id": run_id,
        "decided_by": by,
    }
    account = payment.get("payer_account")
    learned = normalise_account(account) if isinstance(account, str) else ""
    if not ledger.record_manual_allocation(
        allocation, payer_account=learned or None, customer_id=str(invoice["customer_id"])
    ):
        raise DecisionRefused(
            f"the ledger changed while applying payment {payment_id} to invoice {invoice_id}; nothing was"
            " written, try again"
        )
    return {
        **allocation,
        "currency": target,
        "amount": to_major_str(amount, target),
        "payment_currency": currency,
        "payment_amount": to_major_str(given, currency),
        "payment_unapplied_after": to_major_str(unapplied - given, currency),
        "invoice_open_after": to_major_str(open_minor - amount, target),
        "payer_account_learned": learned or None,
        "customer_id": invoice["customer_id"],
    }


def _payment_and_invoice(
    ledger: Ledger, payment_id: str, invoice_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The payment and the invoice a person named, refused unless both exist and the payment is
    not applied to the invoice yet."""
    payment = ledger.row("reconcile/manual_payment", payment_id=payment_id)
    if payment is None:
        raise DecisionRefused(f"payment {payment_id!r} does not exist")
    invoice = ledger.row("reconcile/manual_invoice", invoice_id=invoice_id)
    if invoice is None:
        raise DecisionRefused(f"invoice {invoice_id!r} does not exist")
    currency = str(invoice["currency"])
    existing = ledger.row(
        "reconcile/manual_allocation",
        allocation_id=f"{payment_id}/{invoice_id}",
        payment_id=payment_id,
        invoice_id=invoice_id,
    )
    if existing is not None:
        raise DecisionRefused(
            f"payment {payment_id} is already applied to invoice {invoice_id} (allocation"
            f" {existing['allocation_id']}, {to_major_str(int(existing['amount_minor']), currency)} {currency});"
            f" unapply it first: o2c unapply --allocation {existing['allocation_id']} --by NAME"
        )
    return payment, invoice


def _quote(
    ledger: Ledger, payment: dict[str, Any], target: str, rate: str | None
) -> tuple[Decimal, Decimal, date]:
    """(numerator, denominator, quoted on) of the payment's currency in `target`: the rate typed,
    else the reference rate of the payment's value date, refused when there is none."""
    source, paid_on = str(payment["currency"]), pd.Timestamp(payment["value_date"]).date()
    if rate is not None:
        try:
            typed = Decimal(rate.strip())
        except InvalidOperation:
            raise DecisionRefused(f"--rate {rate!r} is not a decimal number") from None
        if not typed.is_finite() or typed <= 0:
            raise DecisionRefused(f"--rate {rate!r} must be more than zero")
        return typed, Decimal(1), paid_on
    found = Rates.of(ledger.query("platform/rates/all")).fraction(source, target, paid_on)
    if found is None:
        raise DecisionRefused(
            f"payment {payment['payment_id']} is in {source} and the invoice in {target}: no {source}->{target}"
            f" rate on or before {paid_on.isoformat()}; load the rates (o2c rates load FILE) or give the"
            " rate the bank used (--rate)"
        )
    return found


def _across(
    amount_text: str | None,
    payment: dict[str, Any],
    invoice: dict[str, Any],
    quote: tuple[Decimal, Decimal, date],
) -> tuple[int, int]:
    """(from the payment, to the invoice) in their own currencies: the amount typed (the payment's
    currency) converted, refused above what either side has; none typed, as much of the payment as
    the invoice takes."""
    source, target = str(payment["currency"]), str(invoice["currency"])
    unapplied, open_minor = int(payment["unapplied_minor"]), int(invoice["open_minor"])
    numerator, denominator, _ = quote
    if amount_text is None:
        if unapplied <= 0:
            raise DecisionRefused(f"payment {payment['payment_id']} has no unapplied cash left")
        if open_minor <= 0:
            raise DecisionRefused(f"invoice {invoice['invoice_id']} has nothing open")
        converted = convert_minor(unapplied, source, target, numerator, denominator)
        if converted <= open_minor:
            given, amount = unapplied, converted
        else:
            amount = open_minor
            given = min(unapplied, convert_minor(open_minor, target, source, denominator, numerator))
    else:
        given = _amount_to_apply(amount_text, source, unapplied, 10**18, str(payment["payment_id"]), "")
        amount = convert_minor(given, source, target, numerator, denominator)
        if amount > open_minor:
            raise DecisionRefused(
                f"--amount {to_major_str(given, source)} {source} is {to_major_str(amount, target)} {target}"
                f" at {rate_text(numerator, denominator)}, more than the {to_major_str(open_minor, target)}"
                f" {target} invoice {invoice['invoice_id']} has open; never apply more than an invoice owes"
            )
    if amount <= 0 or given <= 0:
        raise DecisionRefused(f"{to_major_str(given, source)} {source} is nothing in {target} at that rate")
    return given, amount


def _amount_to_apply(
    amount_text: str | None, currency: str, unapplied: int, open_minor: int, payment_id: str, invoice_id: str
) -> int:
    """The minor units to apply: the amount typed, refused above what the payment has unapplied or
    the invoice has open; none typed, the lesser of the two, refused when either is nothing."""
    if amount_text is None:
        if unapplied <= 0:
            raise DecisionRefused(f"payment {payment_id} has no unapplied cash left")
        if open_minor <= 0:
            raise DecisionRefused(f"invoice {invoice_id} has nothing open")
        return min(unapplied, open_minor)
    amount = _amount(amount_text, currency)
    if amount > unapplied:
        raise DecisionRefused(
            f"--amount {to_major_str(amount, currency)} {currency} is more than the"
            f" {to_major_str(unapplied, currency)} {currency} payment {payment_id} has unapplied;"
            " never apply more than a payment has"
        )
    if amount > open_minor:
        raise DecisionRefused(
            f"--amount {to_major_str(amount, currency)} {currency} is more than the"
            f" {to_major_str(open_minor, currency)} {currency} invoice {invoice_id} has open;"
            " never apply more than an invoice owes"
        )
    return amount


def unapply(ledger: Ledger, allocation_id: str, by: str, run_id: str) -> dict[str, Any]:
    """Remove an allocation as `by` decided; return the row removed (with its amount in major units)."""
    by = _person(by)
    removed = ledger.remove_manual_allocation(allocation_id, by=by, run_id=run_id)
    if removed is None:
        raise DecisionRefused(f"allocation {allocation_id!r} does not exist")
    return {**removed, "amount": to_major_str(int(removed["amount_minor"]), str(removed["currency"]))}


def person(by: str) -> str:
    """The name of the person who decides (`--by`), required."""
    name = " ".join((by or "").split())
    if not name:
        raise DecisionRefused("--by must name the person who decides")
    return name


def audit_row(
    run_id: str, stage: str, entity: str, key: str, action: str, before: Any, after: Any
) -> dict[str, Any]:
    """One audit-log row of a person's (or a stage's) decision, before and after as JSON."""
    return {
        "run_id": run_id,
        "stage": stage,
        "entity": entity,
        "key": key,
        "action": action,
        "before": None if before is None else json.dumps(before, default=str),
        "after": json.dumps(after, default=str),
    }


_person = person


def amount_in(text: str, currency: str, option: str) -> int:
    """An amount a person typed (`option`, as `--amount`) in minor units of `currency`."""
    try:
        return to_minor(text, currency)
    except MoneyError as exc:
        raise DecisionRefused(f"{option} {text!r}: {exc}") from None


def _amount(text: str, currency: str) -> int:
    try:
        amount = to_minor(text, currency)
    except MoneyError as exc:
        raise DecisionRefused(f"--amount is not a valid {currency} amount: {exc}") from None
    if amount <= 0:
        raise DecisionRefused(f"--amount {text.strip()!r} must be more than zero")
    return amount

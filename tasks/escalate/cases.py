"""Cases: disputes, deductions and promises to pay, managed by people.

A case names a customer, the invoices it is about (none: the whole customer), an amount, a reason
code, an owner and its dates. Open cases stop reminders for what they cover (`rules/dunning.py`).
People open them (`o2c case open`), load them (`cases.csv`) or find them opened by reconcile
(deductions), and close them (`o2c case resolve`): resolved or rejected; a dispute resolved in the
customer's favour may issue a credit note against its invoice. Promises close themselves: kept once
cash applied to what they cover, from the day they were made, reaches their amount by their date;
broken when their date passes first (`promise_outcomes`, run by the escalate stage).

Refused decisions raise `DecisionRefused` with one line and write nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd

from tasks.platform.cash_decisions import DecisionRefused, amount_in, audit_row, person
from tasks.platform.ledger import Ledger
from tasks.platform.money import round_half_up_div, to_major_str

KINDS = ("dispute", "deduction", "promise")


def open_case(
    ledger: Ledger,
    *,
    kind: str,
    customer_id: str,
    invoice_ids: list[str],
    amount_text: str,
    reason_code: str,
    reason_text: str | None,
    owner: str | None,
    due_on: date | None,
    by: str,
    run_id: str,
    today: date,
) -> dict[str, Any]:
    """Open a case as `by` decided; return it."""
    by = person(by)
    if kind not in KINDS:
        raise DecisionRefused(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if not (reason_code or "").strip():
        raise DecisionRefused("--reason needs a reason code (as pricing, quality, not_received)")
    customer = ledger.row("escalate/cases/customer", customer_id=customer_id)
    if customer is None:
        raise DecisionRefused(f"customer {customer_id!r} does not exist")
    ids = sorted(set(invoice_ids))
    if not ids and kind != "promise":
        raise DecisionRefused(f"a {kind} names the invoice(s) it is about (--invoice)")
    currency = _case_currency(ledger, customer_id, ids) if ids else str(customer["currency"])
    amount = amount_in(amount_text, currency, "--amount")
    if amount <= 0:
        raise DecisionRefused(f"--amount must be more than 0 {currency}")
    if kind == "promise" and due_on is None:
        raise DecisionRefused("a promise needs --due, the day the customer promised to pay by")
    if due_on is not None and due_on < today:
        raise DecisionRefused(
            f"--due {due_on.isoformat()} is before the business date ({today.isoformat()}, --as-of)"
        )
    case_id = str(ledger.scalar("escalate/cases/next_id"))
    row = {
        "case_id": case_id,
        "kind": kind,
        "customer_id": customer_id,
        "invoice_id": ";".join(ids) or None,
        "amount_minor": amount,
        "currency": currency,
        "reason_code": reason_code.strip(),
        "reason_text": (reason_text or "").strip() or None,
        "owner": (owner or "").strip() or by,
        "opened_on": today,
        "due_on": due_on,
        "run_id": run_id,
    }
    ledger.decide(
        [("escalate/cases/insert", row)], [_audit_of(run_id, case_id, "open", None, row | {"by": by})]
    )
    return row


def _case_currency(ledger: Ledger, customer_id: str, ids: list[str]) -> str:
    """The one currency of the invoices a case names, refused unless they all exist and are the
    customer's."""
    found = ledger.query("escalate/cases/invoices", ids=ids).set_index("invoice_id")
    missing = [i for i in ids if i not in found.index]
    if missing:
        raise DecisionRefused(f"invoice(s) {', '.join(missing)} do not exist")
    others = [i for i in ids if found.at[i, "customer_id"] != customer_id]
    if others:
        raise DecisionRefused(f"invoice(s) {', '.join(others)} belong to another customer")
    currencies = set(found["currency"])
    if len(currencies) > 1:
        raise DecisionRefused("the invoices of one case must share one currency")
    return str(currencies.pop())


def resolve_case(
    ledger: Ledger,
    case_id: str,
    *,
    by: str,
    rejected: bool,
    note: str | None,
    credit_text: str | None,
    series: str,
    run_id: str,
    today: date,
) -> dict[str, Any]:
    """Close an open dispute or deduction (or withdraw a promise: `rejected`); a dispute resolved
    with `credit_text` (major units) issues a credit note against its one invoice. Returns the
    closed case, with the credit note's id where one was issued."""
    by = person(by)
    case = ledger.row("escalate/cases/one", case_id=case_id)
    if case is None:
        raise DecisionRefused(f"case {case_id!r} does not exist")
    if case["status"] != "open":
        raise DecisionRefused(f"case {case_id} is already {case['status']}")
    if case["kind"] == "promise" and not rejected:
        raise DecisionRefused(
            f"case {case_id} is a promise: it is kept or broken by the cash that comes in; --rejected withdraws it"
        )
    steps: list[tuple[str, dict[str, Any]]] = []
    credit_note_id = None
    if credit_text is not None:
        if rejected or case["kind"] != "dispute":
            raise DecisionRefused("only a dispute resolved in the customer's favour issues a credit note")
        invoices = [i for i in str(case["invoice_id"] or "").split(";") if i]
        if len(invoices) != 1:
            raise DecisionRefused(f"case {case_id} names {len(invoices)} invoices; a credit note credits one")
        credit_note_id, credit_steps = _credit_note(
            ledger, case, invoices[0], credit_text, series, run_id, today
        )
        steps += credit_steps
    status = "rejected" if rejected else "resolved"
    closing = {
        "case_id": case_id,
        "status": status,
        "resolved_on": today,
        "resolved_by": by,
        "resolution": (note or "").strip() or None,
        "credit_note_id": credit_note_id,
    }
    steps.insert(0, ("escalate/cases/close", closing))
    done = ledger.decide(
        steps,
        [_audit_of(run_id, case_id, status, {"status": "open"}, closing)],
        guard="escalate/cases/close",
    )
    if not done:
        raise DecisionRefused(f"case {case_id} was closed by someone else meanwhile")
    return {**case, **closing}


def _credit_note(
    ledger: Ledger,
    case: dict[str, Any],
    invoice_id: str,
    credit_text: str,
    series: str,
    run_id: str,
    today: date,
) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
    """The credit note a dispute resolved in the customer's favour issues on its invoice: its id,
    numbered in the invoice's `<series>-CN`, and the ledger statements that book it."""
    invoice = ledger.row("escalate/cases/invoice", invoice_id=invoice_id)
    if invoice is None:
        raise DecisionRefused(f"invoice {invoice_id!r} does not exist")
    currency = str(invoice["currency"])
    gross = amount_in(credit_text, currency, "--credit-note")
    open_minor = int(invoice["open_minor"])
    if gross <= 0 or gross > open_minor:
        raise DecisionRefused(
            f"--credit-note must be more than 0 and at most what is open on {invoice_id}"
            f" ({to_major_str(max(open_minor, 0), currency)} {currency})"
        )
    cn_series = f"{invoice['legal_entity'] or series}-CN"
    number = int(ledger.scalar("escalate/cases/sequence", series=cn_series, year=today.year)) + 1
    note_id = f"{cn_series}-{today.year}-{number:06d}"
    reason = f"case {case['case_id']}: dispute {case['reason_code']} resolved"
    base = {"currency": currency, "run_id": run_id}
    return note_id, [
        *_credit_note_document(note_id, invoice, invoice_id, gross, reason, base, today),
        *_credit_note_settlement(note_id, invoice_id, gross, base, today),
        (
            "escalate/cases/sequence_set",
            {"series": cn_series, "year": today.year, "last_number": number, "run_id": run_id},
        ),
    ]


def _credit_note_document(
    note_id: str,
    invoice: dict[str, Any],
    invoice_id: str,
    gross: int,
    reason: str,
    base: dict[str, Any],
    today: date,
) -> list[tuple[str, dict[str, Any]]]:
    """The credit note itself, the buyer it is made out to (its invoice's) and its one line, net
    and tax in the invoice's proportion."""
    net, tax = split_gross(gross, invoice.get("net_minor"), invoice.get("tax_minor"))
    return [
        (
            "escalate/cases/credit_note_insert",
            base
            | {
                "invoice_id": note_id,
                "customer_id": invoice["customer_id"],
                "issue_date": today,
                "net_minor": -net,
                "tax_minor": -tax,
                "amount_minor": -gross,
                "credit_for_invoice": invoice_id,
                "legal_entity": invoice["legal_entity"] or None,
            },
        ),
        (
            "escalate/cases/credit_note_buyer",
            {
                "invoice_id": note_id,
                "credit_for_invoice": invoice_id,
                "customer_id": invoice["customer_id"],
                "run_id": base["run_id"],
            },
        ),
        (
            "escalate/cases/credit_note_line",
            base
            | {
                "invoice_id": note_id,
                "description": reason,
                "unit_price_minor": net,
                "tax_rate_ppm": round_half_up_div(tax * 1_000_000, net) if net > 0 else 0,
                "net_minor": -net,
                "tax_minor": -tax,
            },
        ),
    ]


def _credit_note_settlement(
    note_id: str, invoice_id: str, gross: int, base: dict[str, Any], today: date
) -> list[tuple[str, dict[str, Any]]]:
    """The two adjustments that take the credit off the invoice and settle the credit note."""
    return [
        (
            "escalate/cases/credit_note_adjustment",
            base
            | {
                "adjustment_id": f"{note_id}/{invoice_id}",
                "invoice_id": invoice_id,
                "amount_minor": gross,
                "reason": f"credit note {note_id}",
                "as_of": today,
            },
        ),
        (
            "escalate/cases/credit_note_adjustment",
            base
            | {
                "adjustment_id": f"{note_id}/applied",
                "invoice_id": note_id,
                "amount_minor": -gross,
                "reason": f"applied to invoice {invoice_id}",
                "as_of": today,
            },
        ),
    ]


def split_gross(gross: int, net: Any, tax: Any) -> tuple[int, int]:
    """Net and tax of a credit of `gross` on an invoice of `net` + `tax`: in the invoice's
    proportion, net rounded half up and tax the rest (so they sum to the gross exactly). An invoice
    billed elsewhere (no net and tax known) is credited without tax."""
    if net is None or tax is None or pd.isna(net) or pd.isna(tax) or int(net) + int(tax) <= 0:
        return gross, 0
    net_part = round_half_up_div(gross * int(net), int(net) + int(tax))
    return net_part, gross - net_part


def promise_outcomes(promises: pd.DataFrame, cash: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """How each open promise stands on `as_of`: `kept` on the day cash applied to what it covers
    (its invoices, or any invoice of its customer), counted from the day it was made, reaches its
    amount, if that is on or before its date; `broken` once its date has passed without; open
    promises stay out of the result.

    promises: case_id, customer_id, invoice_id (';'-separated or ''), amount_minor, currency,
    opened_on, due_on.
    cash: invoice_id, customer_id, value_date, amount_minor (allocations with their payment's date).
    Returns case_id, status, resolved_on, resolution.
    """
    rows = []
    dated = cash.assign(value_date=pd.to_datetime(cash["value_date"]).dt.date)
    for promise in promises.itertuples(index=False):
        ids = [i for i in str(promise.invoice_id or "").split(";") if i]
        mine = (
            dated[dated["invoice_id"].isin(ids)]
            if ids
            else dated[dated["customer_id"] == promise.customer_id]
        )
        opened, due = pd.Timestamp(promise.opened_on).date(), pd.Timestamp(promise.due_on).date()
        window = mine[(mine["value_date"] >= opened) & (mine["value_date"] <= min(due, as_of))].sort_values(
            "value_date"
        )
        running = window["amount_minor"].cumsum()
        reached = window.loc[running >= int(promise.amount_minor), "value_date"]
        if len(reached):
            day = reached.iloc[0]
            rows.append(
                {
                    "case_id": promise.case_id,
                    "status": "kept",
                    "resolved_on": day,
                    "resolution": f"kept: paid by {day.isoformat()} (promised by {due.isoformat()})",
                }
            )
        elif as_of > due:
            paid = to_major_str(int(window["amount_minor"].sum()), str(promise.currency))
            promised = to_major_str(int(promise.amount_minor), str(promise.currency))
            rows.append(
                {
                    "case_id": promise.case_id,
                    "status": "broken",
                    "resolved_on": as_of,
                    "resolution": f"broken: {paid} of {promised} {promise.currency} paid by {due.isoformat()}",
                }
            )
    return pd.DataFrame(rows, columns=["case_id", "status", "resolved_on", "resolution"])


def broken_counts(before: pd.DataFrame, outcomes: pd.DataFrame, promises: pd.DataFrame) -> pd.DataFrame:
    """Promises broken per customer in the last 12 months, counting those this run finds broken."""
    now_broken = outcomes[outcomes["status"] == "broken"].merge(
        promises[["case_id", "customer_id"]], on="case_id"
    )
    fresh = now_broken.groupby("customer_id").size().rename("fresh")
    counts = before.set_index("customer_id")["broken_promises"] if len(before) else pd.Series(dtype="int64")
    total = counts.add(fresh, fill_value=0).astype("int64")
    return total.rename("broken_promises").rename_axis("customer_id").reset_index()


def outcome_updates(outcomes: pd.DataFrame, run_id: str, now: datetime) -> list[tuple[str, dict[str, Any]]]:
    """The ledger statements that close kept and broken promises, each with its audit row stamped
    `now`."""
    updates: list[tuple[str, dict[str, Any]]] = []
    for row in outcomes.itertuples(index=False):
        closing = {
            "case_id": row.case_id,
            "status": row.status,
            "resolved_on": row.resolved_on,
            "resolved_by": "escalate stage",
            "resolution": row.resolution,
            "credit_note_id": None,
        }
        audit = _audit_of(run_id, str(row.case_id), str(row.status), {"status": "open"}, closing)
        updates += [("escalate/cases/close", closing), ("escalate/cases/audit", audit | {"created_at": now})]
    return updates


def _audit_of(run_id: str, key: str, action: str, before: Any, after: Any) -> dict[str, Any]:
    return audit_row(run_id, "cases", "cases", key, action, before, after)

"""Credit holds: a decision with who, when and why, placed by the escalate stage (a state whose
actions say `credit_hold`) or by a person, and released only by a person, with a reason. Holds in
force are what the order system reads (`o2c export holds`) to stop new orders.

Refused decisions raise `DecisionRefused` with one line and write nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from tasks.platform.cash_decisions import DecisionRefused, audit_row
from tasks.platform.ledger import Ledger


def _said(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise DecisionRefused(f"{what} is required")
    return value


def place(
    ledger: Ledger, customer_id: str, reason: str, by: str, *, run_id: str, today: date
) -> dict[str, Any]:
    """Put a customer on credit hold by hand; return the hold."""
    by, reason = _said(by, "--by (who decides)"), _said(reason, "--reason (why)")
    customer = ledger.row("escalate/holds/customer", customer_id=customer_id)
    if customer is None:
        raise DecisionRefused(f"customer {customer_id!r} does not exist")
    if int(customer["active"]):
        raise DecisionRefused(f"customer {customer_id} is already on credit hold")
    hold_id = str(ledger.scalar("escalate/holds/next_id"))
    hold: dict[str, Any] = {
        "hold_id": hold_id,
        "customer_id": customer_id,
        "today": today,
        "by": by,
        "reason": reason,
        "run_id": run_id,
    }
    ledger.decide([("escalate/holds/place", hold)], [_audit_of(run_id, hold_id, "place", None, hold)])
    return hold


def release(
    ledger: Ledger, target: str, reason: str, by: str, *, run_id: str, today: date
) -> list[dict[str, Any]]:
    """Release a hold (by its id) or every hold in force on a customer (by the customer's id), with
    the reason; return the holds released."""
    by, reason = _said(by, "--by (who decides)"), _said(reason, "--reason (why the hold may go)")
    active = ledger.query("escalate/holds/active_of", hold_id=target, customer_id=target).to_dict("records")
    if not active:
        raise DecisionRefused(f"no credit hold in force for {target!r}")
    steps = [
        ("escalate/holds/release", {"hold_id": h["hold_id"], "today": today, "by": by, "reason": reason})
        for h in active
    ]
    audits = [
        _audit_of(
            run_id,
            h["hold_id"],
            "release",
            {"status": "active"},
            {"status": "released", "by": by, "reason": reason},
        )
        for h in active
    ]
    ledger.decide(steps, audits)
    return active


def _audit_of(run_id: str, key: str, action: str, before: Any, after: Any) -> dict[str, Any]:
    return audit_row(run_id, "holds", "credit_holds", key, action, before, after)

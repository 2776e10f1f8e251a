"""Write-offs: a person (or the escalation policy) proposes, another person approves within their
limit, and the approved amount closes that much of the invoice's open amount.

The rules, each refused with one line and nothing written (`DecisionRefused`):
- a proposal is for an existing invoice, for more than nothing and at most what is open on it and
  not already held by other open proposals;
- nobody approves their own proposal (four eyes);
- the approver is listed in `rules/writeoffs.yaml` with a limit in the currency at least the amount;
- a proposal is decided once; at approval it must still fit the invoice's open amount (cash may
  have come in since).
An accepted decision lands in one transaction with its audit rows.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from rules.writeoffs import WriteOffPolicy
from tasks.platform.cash_decisions import DecisionRefused, amount_in, audit_row, person
from tasks.platform.ledger import Ledger
from tasks.platform.money import to_major_str


def propose(
    ledger: Ledger,
    invoice_id: str,
    amount_text: str,
    reason: str,
    by: str,
    *,
    run_id: str,
    source: str = "manual",
) -> dict[str, Any]:
    """Record a proposal to write `amount_text` (major units) off an invoice; return it."""
    by = person(by)
    if not (reason or "").strip():
        raise DecisionRefused("--reason must say why the amount is written off")
    invoice = ledger.row("escalate/writeoffs/invoice", invoice_id=invoice_id)
    if invoice is None:
        raise DecisionRefused(f"invoice {invoice_id!r} does not exist")
    currency = str(invoice["currency"])
    amount = amount_in(amount_text, currency, "--amount")
    if amount <= 0:
        raise DecisionRefused(f"--amount must be more than 0 {currency}")
    free = int(invoice["open_minor"]) - int(invoice["proposed_minor"])
    if amount > free:
        raise DecisionRefused(
            f"invoice {invoice_id} has {to_major_str(max(free, 0), currency)} {currency} open and not already"
            f" proposed for write-off; {to_major_str(amount, currency)} {currency} is more"
        )
    write_off_id = str(ledger.scalar("escalate/writeoffs/next_id"))
    row = {
        "write_off_id": write_off_id,
        "invoice_id": invoice_id,
        "customer_id": invoice["customer_id"],
        "currency": currency,
        "amount_minor": amount,
        "reason": reason.strip(),
        "source": source,
        "proposed_by": by,
        "now": _now(),
        "run_id": run_id,
    }
    ledger.decide(
        [("escalate/writeoffs/insert", row)],
        [_audit_of(run_id, write_off_id, "propose", None, {**row, "now": str(row["now"])})],
    )
    return row


def decide(
    ledger: Ledger,
    write_off_id: str,
    by: str,
    policy: WriteOffPolicy,
    *,
    approve: bool,
    note: str | None,
    run_id: str,
    rule_version: str,
    today: date,
) -> dict[str, Any]:
    """Approve (and book) or reject a proposal as `by`; return the decided write-off."""
    by = person(by)
    current = ledger.row("escalate/writeoffs/one", write_off_id=write_off_id)
    if current is None:
        raise DecisionRefused(f"write-off {write_off_id!r} does not exist")
    if current["status"] != "proposed":
        raise DecisionRefused(
            f"write-off {write_off_id} is already {current['status']} (by {current['decided_by']})"
        )
    if approve:
        _may_approve(current, write_off_id, by, policy)
    elif not (note or "").strip():
        raise DecisionRefused("a rejection needs --reason")
    status = "approved" if approve else "rejected"
    params = {"write_off_id": write_off_id, "status": status, "decided_by": by, "now": _now(), "note": note}
    steps = [("escalate/writeoffs/decide", params)]
    if approve:
        steps.append(
            (
                "escalate/writeoffs/book",
                {
                    "write_off_id": write_off_id,
                    "rule_version": rule_version,
                    "as_of": today,
                    "run_id": run_id,
                },
            )
        )
    ledger.decide(
        steps,
        [
            _audit_of(
                run_id,
                write_off_id,
                status,
                {"status": "proposed"},
                {"status": status, "by": by, "note": note},
            )
        ],
        guard="escalate/writeoffs/decide",
    )
    return {**current, "status": status, "decided_by": by}


def _may_approve(current: dict[str, Any], write_off_id: str, by: str, policy: WriteOffPolicy) -> None:
    """Refuse the approval unless `by` is another person than the proposer, within their limit in
    the currency, and the amount still fits what is open on the invoice."""
    currency, amount = str(current["currency"]), int(current["amount_minor"])
    shown = f"{to_major_str(amount, currency)} {currency}"
    if by == current["proposed_by"]:
        raise DecisionRefused(
            f"{by} proposed write-off {write_off_id} and cannot approve it: another person must"
        )
    limit = policy.limit_minor(by, currency)
    if limit is None:
        raise DecisionRefused(f"{by} may not approve write-offs in {currency} (see rules/writeoffs.yaml)")
    if amount > limit:
        raise DecisionRefused(
            f"{by} may approve write-offs up to {to_major_str(limit, currency)} {currency}; {write_off_id} is {shown}"
        )
    open_now = int(current["open_minor"] or 0)
    if amount > open_now:
        raise DecisionRefused(
            f"invoice {current['invoice_id']} has only {to_major_str(max(open_now, 0), currency)} {currency}"
            f" open now; write-off {write_off_id} of {shown} no longer fits (reject it and propose again)"
        )


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def _audit_of(run_id: str, key: str, action: str, before: Any, after: Any) -> dict[str, Any]:
    return audit_row(run_id, "writeoff", "write_offs", key, action, before, after)

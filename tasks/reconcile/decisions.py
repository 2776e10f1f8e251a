"""What the matcher decides for one payment, and how a decision is made safe and applied.

A `Decision` holds the cash to apply (invoice, amount), the rule and score behind it, its evidence,
and, when nothing is applied, why not and what it suggests. `respect` drops the parts a person took
back or that repeat an existing allocation; `settle` applies a confident decision to the open book
(turning a doubtful one into an exception) and settles what a short payment leaves on its last
invoice. Also the evidence wording the passes and the vectorised certain case share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from rules.matching import MatchingPolicy
from tasks.reconcile.book import OpenBook
from tasks.reconcile.short_payments import settle_residual

NAMES_PAID = "names invoice(s) already paid"
KNOWN_ACCOUNT = "payer account"
UNKNOWN_ACCOUNT = "payer account not known"
# The reason of a payment held on account, before the customer's id: `combined` (outcome.py) takes
# these out of the exception queue into the cash held on account.
ON_ACCOUNT = "held on account of "


@dataclass
class Decision:
    """What the matcher concluded for one payment: cash to apply, or why not and what it suggests."""

    parts: list[tuple[str, int]]  # (invoice_id, amount in minor units), in the order applied
    rule: str
    score: float
    evidence: dict[str, object]
    reason: str = ""
    suggestions: list[dict[str, object]] = field(default_factory=list)
    write_offs: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)


def exception(
    evidence: dict[str, object],
    reason: str,
    pairs: list[tuple[str, int]],
    policy: MatchingPolicy,
    score: float = 0.0,
) -> Decision:
    """Nothing applied: `reason` says why, the (invoice, amount) pairs become its suggestions."""
    return Decision(
        [], "exception", 0.0, evidence, reason=reason, suggestions=suggested(pairs, policy, score)
    )


def suggested(
    pairs: list[tuple[str, int]], policy: MatchingPolicy, score: float = 0.0
) -> list[dict[str, object]]:
    """The (invoice, amount) pairs as a queue row's suggestions, at most the policy's number."""
    return [
        {"invoice_id": i, "amount_minor": int(a), "score": round(score or 0.4, 2)}
        for i, a in pairs[: policy.suggestions]
    ]


def respect(
    decision: Decision, payment: Any, rejected: set[tuple[str, str]], paired: set[tuple[str, str]]
) -> Decision:
    """Drop the parts of a decision that a person has taken back before, or that pair the payment
    with an invoice it already has an allocation for (an allocation is made once per pair)."""
    if not decision.parts or not (rejected or paired):
        return decision
    kept = [
        (i, a)
        for i, a in decision.parts
        if (payment.payment_id, i) not in rejected and (payment.payment_id, i) not in paired
    ]
    if kept:
        return Decision(kept, decision.rule, decision.score, decision.evidence)
    taken_back = any((payment.payment_id, i) in rejected for i, _ in decision.parts)
    return Decision(
        [],
        "exception",
        0.0,
        decision.evidence,
        reason="a person took this match back" if taken_back else "it already paid the invoice(s) it fits",
        suggestions=[],
    )


def text_of(value: object) -> str:
    """A text field of a payment, empty when it is missing."""
    return value if isinstance(value, str) else ""


def settle(decision: Decision, payment: Any, book: OpenBook, policy: MatchingPolicy) -> Decision:
    """Apply a confident decision to the running open amounts; a doubtful one becomes an exception."""
    if decision.parts and decision.score < policy.auto_apply_score:
        pairs = decision.parts
        decision = Decision(
            [],
            "exception",
            0.0,
            decision.evidence,
            reason=f"{decision.rule} scored {decision.score:.2f}, below {policy.auto_apply_score}",
            suggestions=[
                {"invoice_id": i, "amount_minor": a, "score": round(decision.score, 2), "rule": decision.rule}
                for i, a in pairs[: policy.suggestions]
            ],
        )
    meant = {invoice_id: book.open_left[invoice_id] for invoice_id, _ in decision.parts}
    for invoice_id, amount in decision.parts:
        book.open_left[invoice_id] -= amount
    if decision.parts and sum(a for _, a in decision.parts) == int(payment.unapplied_minor):
        last = decision.parts[-1][0]  # a payment used up short of its last invoice: a short payment
        write_off, case = settle_residual(
            discount=book.discount.get(last),
            instalments=book.parts.get(last),
            value_date=pd.Timestamp(payment.value_date).date(),
            rule=decision.rule,
            payment_id=payment.payment_id,
            invoice_id=last,
            customer_id=book.customer[last],
            currency=payment.currency,
            residual=book.open_left[last],
            meant=meant[last],
            remittance=text_of(payment.reference),
            policy=policy,
            as_of=book.as_of,
            rule_version=book.rule_version,
        )
        if write_off:
            book.open_left[last] -= write_off["amount_minor"]
            decision.write_offs.append(write_off)
        if case:
            decision.cases.append(case)
    return decision

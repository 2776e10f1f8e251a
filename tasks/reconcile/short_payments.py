"""What is left on an invoice that a payment clearly meant to settle.

Pure. A residual within the small-difference threshold is written off with its reason; a larger
one opens a deduction case for the residual, with the reason taken from the remittance text where
it gives one. Either way the invoice's amount = allocated + written off + open still holds.

An invoice paid in instalments is judged part by part (`instalment_shortfall`): a payment ending
exactly where one of its parts ends leaves nothing to settle, and what is left on parts not yet due
when the payment was made is a plain partial payment; only what falls short of the parts due (or
a small difference short of the part the payment ends in) is settled as above.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from rules.matching import MatchingPolicy
from tasks.platform.money import to_major_str

# Words in remittance text that say why a customer paid less, by reason code.
REASON_WORDS = {
    "discount_taken": r"skonto|discount|rabatt|escompte|remise",
    "damaged_goods": r"damage|defect|besch[aä]digt|d[ée]fectueu|defekt",
    "returned_goods": r"return|retour|r[üu]cksendung|gutschrift",
    "bank_charges": r"\bfees?\b|charges|geb[üu]hr|frais",
    "pricing": r"\bprice\b|preis|\bprix\b",
}
SETTLING_RULES = (
    "structured_reference",
    "invoice_number",
    "amount_within_tolerance",
    "early_payment_discount",
)


# The columns of an `invoice_adjustments` row: what is taken off an invoice's open amount other
# than by cash (a small difference, an early-payment discount, a credit note).
ADJUSTMENT_COLUMNS = [
    "adjustment_id",
    "invoice_id",
    "payment_id",
    "kind",
    "amount_minor",
    "currency",
    "reason",
    "rule_version",
    "as_of",
]


# An invoice's instalments as the open book holds them: (due date, amount in minor units) of each
# part, in instalment order, which is due order and the order cash covers them (part 1 first).
Parts = tuple[tuple[date, int], ...]

_REASONS = [(code, re.compile(pattern, re.IGNORECASE)) for code, pattern in REASON_WORDS.items()]


def reason_code(remittance: str) -> str:
    for code, pattern in _REASONS:
        if pattern.search(remittance or ""):
            return code
    return "unexplained_short_payment"


def settle_residual(
    *,
    rule: str,
    payment_id: str,
    invoice_id: str,
    customer_id: str,
    currency: str,
    residual: int,
    meant: int,
    remittance: str,
    policy: MatchingPolicy,
    as_of: date,
    rule_version: str,
    discount: tuple[date, int, int] | None = None,
    value_date: date | None = None,
    instalments: Parts | None = None,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(write-off, deduction case) for `residual` minor units left on an invoice after a payment
    applied by `rule` that meant to settle `meant` (the invoice's open amount before it).

    An invoice offering an early-payment discount (`discount`: last day, amount, invoice amount),
    paid in full less at most that discount by its last day, has the residual written off as the
    discount taken. Paid later, the same shortfall is a deduction case: a discount taken late.
    An invoice in `instalments` settles only its `instalment_shortfall`, judged against the open
    amount that shortfall is short of, instead of the whole residual against the whole invoice.
    """
    if residual <= 0 or rule not in SETTLING_RULES:
        return None, None
    if instalments:
        judged = instalment_shortfall(
            instalments, meant, meant - residual, value_date or as_of, currency, policy
        )
        if judged is not None:
            residual, meant = judged
            if residual <= 0:
                return None, None  # whole instalments, or all that was due: a plain partial payment
    late = False
    if discount is not None and meant == discount[2] and residual <= discount[1]:
        last_day, _, _ = discount
        if value_date is not None and value_date <= last_day:
            reason = f"early-payment discount taken by {value_date.isoformat()} (offered until {last_day.isoformat()})"
            adjustment = _adjustment("early_payment_discount", payment_id, invoice_id, residual, currency)
            return {**adjustment, "rule_version": rule_version, "reason": reason, "as_of": as_of}, None
        late = True
    limit = write_off_limit(meant, currency, policy)
    if residual <= limit:
        reason = (
            f"short payment of {to_major_str(residual, currency)} {currency} written off"
            f" (at most {to_major_str(limit, currency)})"
        )
        adjustment = _adjustment("small_difference", payment_id, invoice_id, residual, currency)
        return {**adjustment, "rule_version": rule_version, "as_of": as_of, "reason": reason}, None
    code = "late_discount" if late else reason_code(remittance)
    return None, _deduction_case(
        payment_id, invoice_id, customer_id, residual, currency, code, remittance, policy, as_of
    )


def write_off_limit(meant: int, currency: str, policy: MatchingPolicy) -> int:
    """The most of `meant` (an invoice's open amount) a short payment may leave to be written off as
    a small difference: the policy's share of it, at most its absolute amount in the currency."""
    return min(
        int(meant * policy.short_payment.write_off.percent / 100),
        policy.short_payment.write_off.absolute_minor(currency),
    )


def instalment_shortfall(
    parts: Parts, meant: int, paid: int, paid_on: date, currency: str, policy: MatchingPolicy
) -> tuple[int, int] | None:
    """(shortfall, the open amount it falls short of) when `paid` of the `meant` open on an invoice
    in instalments (`parts`) leaves a balance, paid on `paid_on`; None when the parts cannot
    describe that open amount (no parts, more open than they bill, or nothing left), and the whole
    invoice is then judged as any other.

    What was paid, credited or written off before covers the parts in order, part 1 first, and so
    does the payment; the first part it does not cover in full is the part it ends in.
    - It ends exactly where a part ends (one or several whole instalments): shortfall 0, the later
      parts stay open as they are.
    - It ends short of the end of its part by at most the small-difference limit of the open amount
      through that part (`write_off_limit`): that difference, against that amount (written off).
    - Otherwise the balance is compared with what was due when it was paid: the open amount through
      the last part due on `paid_on`. Paid at least that: shortfall 0, a plain partial payment (the
      rest is on parts not yet due then, and dunning asks for them once they are). Paid less:
      what it is short of that amount, against that amount (written off when within the
      small-difference limit of it, else a deduction case for exactly that shortfall).
    """
    end = part_end(parts, meant, paid) if 0 < paid < meant else None
    if end is None:
        return None
    if end - paid <= write_off_limit(end, currency, policy):
        return end - paid, end
    due = open_due_by(parts, meant, paid_on)
    return max(0, due - paid), due


def part_end(parts: Parts, meant: int, paid: int) -> int | None:
    """The open amount (of the `meant` open on an invoice in instalments) through the end of the
    part a payment of `paid` ends in, parts covered in order; None when the parts bill less than
    is open or the payment covers them all."""
    covered = sum(amount for _, amount in parts) - meant
    if covered < 0:
        return None
    through = 0
    for _, amount in parts:
        through += amount
        if through - covered >= paid:
            return through - covered
    return None


def open_due_by(parts: Parts, meant: int, day: date) -> int:
    """What is open (of the `meant` open on an invoice in instalments) on the parts due by `day`,
    what was paid before covering the parts in order."""
    due = sum(amount for due_date, amount in parts if due_date <= day)
    return max(0, due - (sum(amount for _, amount in parts) - meant))


def _adjustment(kind: str, payment_id: str, invoice_id: str, amount: int, currency: str) -> dict[str, Any]:
    """The first columns of an `invoice_adjustments` row taking `amount` off the invoice."""
    return {
        "adjustment_id": f"{payment_id}/{invoice_id}/{kind}",
        "invoice_id": invoice_id,
        "payment_id": payment_id,
        "kind": kind,
        "amount_minor": amount,
        "currency": currency,
    }


def _deduction_case(
    payment_id: str,
    invoice_id: str,
    customer_id: str,
    amount: int,
    currency: str,
    code: str,
    remittance: str,
    policy: MatchingPolicy,
    as_of: date,
) -> dict[str, Any]:
    """An open deduction case for `amount` short on the invoice, due in the policy's days."""
    return {
        "case_id": f"D-{payment_id}/{invoice_id}",
        "kind": "deduction",
        "customer_id": customer_id,
        "invoice_id": invoice_id,
        "payment_id": payment_id,
        "amount_minor": amount,
        "currency": currency,
        "reason_code": code,
        "reason_text": remittance or None,
        "owner": None,
        "opened_on": as_of,
        "due_on": as_of + timedelta(days=policy.short_payment.deduction_case_days),
        "status": "open",
    }

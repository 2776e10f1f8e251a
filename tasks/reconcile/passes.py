"""The matching passes one payment goes through when the vectorised certain case did not decide it.

Passes 1 and 2 (`by_reference`): the invoices a structured reference, else the remittance text,
names, filled oldest due first. Passes 3 and 4 (`by_payer_and_amount`): who paid (account, then
name), then which of their open invoices the amount fits: exactly one of exactly this amount, one
paid early less its discount, the one set summing to it, one within tolerance, or all of them with
cash to spare. Each pass returns a `Decision`; nothing here touches the open book.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
from rapidfuzz.distance import Levenshtein

from rules.matching import MatchingPolicy
from tasks.reconcile.book import OpenBook
from tasks.reconcile.decisions import (
    KNOWN_ACCOUNT,
    NAMES_PAID,
    ON_ACCOUNT,
    UNKNOWN_ACCOUNT,
    Decision,
    exception,
    suggested,
    text_of,
)
from tasks.reconcile.matching import PayerDirectory, closest, combinations_summing_to
from tasks.reconcile.short_payments import part_end, write_off_limit
from tasks.reconcile.unknown_payers import unknown_payer


def by_reference(
    payment: Any,
    named_by: tuple[str, dict[str, str]] | None,
    book: OpenBook,
    payers: PayerDirectory,
    policy: MatchingPolicy,
) -> Decision | None:
    """Passes 1 and 2: the invoices a structured reference, else the remittance text, names."""
    if named_by is None:
        return None
    rule, named = named_by
    score = (
        policy.scores.structured_reference if rule == "structured_reference" else policy.scores.invoice_number
    )
    open_named = [i for i in named if book.open_left[i] > 0]
    evidence: dict[str, object] = {"reference": text_of(payment.reference), "matched": named}
    order = sorted(open_named, key=lambda i: (book.due[i], i))
    amount = int(payment.unapplied_minor)
    explained = amount_explained(payment, order, amount, book, policy)
    typo = [] if explained else meant_instead(payment, named, book, payers)
    if len(typo) == 1:
        # the amount does not fit what the reference names (or that is paid), but it fits exactly
        # an open invoice whose number is a typo away: most likely the number was mistyped
        return exception(
            evidence | {"warning": f"the amount fits {typo[0]}, a typo away from the number given"},
            (f"{NAMES_PAID}: " if not order else "the reference names ")
            + f"{', '.join(sorted(named))}; the amount fits {typo[0]} of {book.customer[typo[0]]},"
            " whose number is a typo away",
            [(typo[0], amount)] + [(i, book.open_left[i]) for i in order],
            policy,
            score=policy.scores.exact_amount,
        )
    # the payer's account can contradict a reference; a name alone is too weak to overrule one
    customer = payer_by_account(payment, payers)
    if not open_named:
        # the payer's own open invoices a typo away from the number given, nearest the amount
        # first, are what a person looks at first
        near = _typo_near(customer, payment.currency, named, amount, book)
        return Decision(
            [],
            rule,
            0.0,
            evidence,
            reason=f"{NAMES_PAID}: {', '.join(sorted(named))}",
            suggestions=suggested(near, policy),
        )
    evidence["payer"] = KNOWN_ACCOUNT if customer else UNKNOWN_ACCOUNT
    if customer and all(book.customer[i] != customer for i in open_named):
        score = min(score, policy.scores.reference_other_customer)
        evidence["warning"] = f"the payer's account belongs to {customer}, the invoices to another customer"
        fits = [i for i in book.open_of(customer, payment.currency) if book.open_left[i] == amount]
        if len(fits) == 1 and score < policy.auto_apply_score:
            # the payer's own invoice of exactly this amount is what amount and customer point to
            return exception(
                evidence,
                f"{rule} scored {score:.2f}, below {policy.auto_apply_score}: the invoices named belong"
                f" to another customer; the amount fits {fits[0]} of {customer}",
                [(fits[0], amount)] + [(i, book.open_left[i]) for i in order],
                policy,
                score=policy.scores.exact_amount,
            )
        near = [] if explained else _typo_near(customer, payment.currency, named, amount, book)
        if near and score < policy.auto_apply_score:
            # the amount fits neither what is named nor an invoice of the payer's exactly, but
            # an invoice of the payer's is a typo away
            return exception(
                evidence,
                f"{rule} scored {score:.2f}, below {policy.auto_apply_score}: the invoices named belong"
                f" to another customer; {near[0][0]} of {customer} is a typo away",
                near + [(i, book.open_left[i]) for i in order],
                policy,
                score=score,
            )
    return _fill(order, amount, book, rule, score, evidence)


def _typo_near(
    customer: str | None, currency: str, named: dict[str, str], amount: int, book: OpenBook
) -> list[tuple[str, int]]:
    """The open invoices of `currency` of the customer whose account paid (none for an account not
    known), not named but a typo away from one named, the nearest to `amount` first, each with what
    the payment could pay on it (its open amount, at most the payment's)."""
    near = _typos_of(named, book.open_of(customer, currency)) if customer is not None else []
    near.sort(key=lambda i: (abs(book.open_left[i] - amount), book.due[i], i))
    return [(i, min(amount, book.open_left[i])) for i in near]


def payer_by_account(payment: Any, payers: PayerDirectory) -> str | None:
    """The customer whose account paid; None when the account is not known (a name is not asked)."""
    return payers.by_account(text_of(getattr(payment, "payer_account", "")))


def payer_of(payment: Any, payers: PayerDirectory) -> str | None:
    """The customer who paid, by account, else by name; None when unknown."""
    customer, _, _ = payers.identify(
        text_of(getattr(payment, "payer_account", "")), text_of(getattr(payment, "payer_name", ""))
    )
    return customer


def amount_explained(
    payment: Any, order: list[str], amount: int, book: OpenBook, policy: MatchingPolicy
) -> bool:
    """Whether the amount is what the open invoices named come to, or that less the one early
    payment discount or small difference the short-payment rules settle, or (the last invoice
    being in instalments) ends where one of its parts ends, or a small difference short of that:
    then a typo is not looked for."""
    total = sum(book.open_left[i] for i in order)
    if amount == total:
        return True
    if not order or amount > total:
        return False
    last = order[-1]
    if len(order) == 1 and _discount_fits(book, last, amount, payment.value_date):
        return True
    parts = book.parts.get(last)
    on_last = book.open_left[last] - (total - amount)
    end = part_end(parts, book.open_left[last], on_last) if parts and on_last > 0 else None
    if end is not None and end - on_last <= write_off_limit(end, payment.currency, policy):
        return True
    return total - amount <= write_off_limit(book.open_left[last], payment.currency, policy)


def meant_instead(payment: Any, named: dict[str, str], book: OpenBook, payers: PayerDirectory) -> list[str]:
    """Open invoices, not among those named but a typo away from one of them, that the payment
    pays exactly: open for exactly its amount, or (among the invoices of the customer whose
    account paid) paid by its discount's last day less that discount. Oldest due first."""
    amount = int(payment.unapplied_minor)
    pool = {i for i in book.at_amount(payment.currency, amount) if book.open_left[i] == amount}
    customer = payer_by_account(payment, payers)
    if customer is not None:
        pool |= {
            i
            for i in book.open_of(customer, payment.currency)
            if book.open_left[i] == amount or _discount_fits(book, i, amount, payment.value_date)
        }
    return sorted(_typos_of(named, pool), key=lambda i: (book.due[i], i))


def _typos_of(named: dict[str, str], invoices: Iterable[str]) -> list[str]:
    """Of `invoices`, those not named but a typo away from one named."""
    return [i for i in invoices if i not in named and any(_a_typo_apart(i, n) for n in named)]


def _a_typo_apart(one: str, other: str) -> bool:
    """Two invoice numbers one or two keystrokes apart (a digit changed, dropped, added or two swapped)."""
    return Levenshtein.distance(one.upper(), other.upper(), score_cutoff=2) <= 2


def _fill(
    order: list[str], amount: int, book: OpenBook, rule: str, score: float, evidence: dict[str, object]
) -> Decision:
    parts = []
    for invoice_id in order:
        share = min(amount, book.open_left[invoice_id])
        if share > 0:
            parts.append((invoice_id, share))
            amount -= share
    return Decision(parts, rule, score, evidence)


def by_payer_and_amount(
    payment: Any, book: OpenBook, payers: PayerDirectory, policy: MatchingPolicy
) -> Decision:
    """Passes 3 and 4: who paid, then which of their open invoices the amount fits."""
    amount = int(payment.unapplied_minor)
    customer, confidence, how = payers.identify(
        text_of(getattr(payment, "payer_account", "")), text_of(getattr(payment, "payer_name", ""))
    )
    evidence: dict[str, object] = {"reference": text_of(payment.reference), "payer": how}
    if customer is None:
        return unknown_payer(payment, amount, book, payers, policy, evidence, how)
    candidates = book.open_of(customer, payment.currency)
    if not candidates and policy.on_account.hold:
        return exception(evidence, f"{ON_ACCOUNT}{customer}", [], policy)
    if policy.on_account.apply_to_new_invoices and text_of(getattr(payment, "held_for", "")) == customer:
        # cash held for the customer was not meant for one invoice: no amount is matched
        return _from_account(amount, candidates, book, confidence, evidence)
    decision = _by_exact_amount(payment, customer, candidates, book, policy, confidence, evidence)
    if decision is None:
        decision = _by_sum_or_tolerance(payment, candidates, book, policy, confidence, evidence)
    if decision is not None:
        return decision
    opens = [book.open_left[i] for i in candidates]
    return exception(
        evidence,
        f"no open invoice of {customer} fits",
        closest(zip(candidates, opens, strict=True), amount, policy.suggestions),
        policy,
    )


def _from_account(
    amount: int, candidates: list[str], book: OpenBook, confidence: float, evidence: dict[str, object]
) -> Decision:
    """Cash held on account in an earlier run, applied to the customer's open invoices of its
    currency oldest due first, each up to its open amount; what is left stays on account."""
    parts = []
    for invoice_id in sorted(candidates, key=lambda i: (book.due[i], i)):
        share = min(book.open_left[invoice_id], amount)
        if share > 0:
            parts.append((invoice_id, share))
            amount -= share
        if amount == 0:
            break
    return Decision(parts, "on_account", confidence, {**evidence, "held_on_account": True})


def _by_exact_amount(
    payment: Any,
    customer: str,
    candidates: list[str],
    book: OpenBook,
    policy: MatchingPolicy,
    confidence: float,
    evidence: dict[str, object],
) -> Decision | None:
    """The one open invoice of exactly the amount (an exception when several are), else the one
    paid by its discount's last day less that discount; None when neither fits."""
    amount = int(payment.unapplied_minor)
    exact = [i for i in candidates if book.open_left[i] == amount]
    if len(exact) == 1:
        return Decision(
            [(exact[0], amount)], "exact_amount", policy.scores.exact_amount * confidence, evidence
        )
    if len(exact) > 1:
        return exception(
            evidence,
            f"{len(exact)} open invoices of {customer} have exactly this amount",
            [(i, amount) for i in exact],
            policy,
        )
    discounted = [i for i in candidates if _discount_fits(book, i, amount, payment.value_date)]
    if len(discounted) == 1:
        return Decision(
            [(discounted[0], amount)],
            "early_payment_discount",
            policy.scores.early_payment_discount * confidence,
            evidence | {"discount": _discount_evidence(book, discounted[0])},
        )
    return _by_whole_instalments(customer, candidates, book, amount, policy, confidence, evidence)


def _by_whole_instalments(
    customer: str,
    candidates: list[str],
    book: OpenBook,
    amount: int,
    policy: MatchingPolicy,
    confidence: float,
    evidence: dict[str, object],
) -> Decision | None:
    """The one open invoice in instalments whose next open parts the amount pays exactly (the next
    instalment, or several whole ones, what was paid before covering the parts in order): an exact
    amount, the later parts left open; an exception when several invoices fit; None when none."""
    fits = [
        i
        for i in candidates
        if i in book.parts
        and amount < book.open_left[i]
        and part_end(book.parts[i], book.open_left[i], amount) == amount
    ]
    if len(fits) == 1:
        return Decision(
            [(fits[0], amount)],
            "exact_amount",
            policy.scores.exact_amount * confidence,
            evidence | {"instalments": "the amount pays the next instalment(s) exactly"},
        )
    if len(fits) > 1:
        return exception(
            evidence,
            f"{len(fits)} open invoices of {customer} have instalments of exactly this amount",
            [(i, amount) for i in fits],
            policy,
        )
    return None


def _by_sum_or_tolerance(
    payment: Any,
    candidates: list[str],
    book: OpenBook,
    policy: MatchingPolicy,
    confidence: float,
    evidence: dict[str, object],
) -> Decision | None:
    """The one set of invoices the amount sums, else the one invoice within tolerance (and no other
    plausibly near), else, when the amount is more than all of them, all of them; None otherwise."""
    amount = int(payment.unapplied_minor)
    chosen = _unique_combination(candidates, amount, book, policy)
    if chosen:
        return Decision(
            [(i, book.open_left[i]) for i in chosen],
            "amount_combination",
            policy.scores.amount_combination * confidence,
            evidence,
        )
    near = [
        i
        for i in candidates
        if abs(book.open_left[i] - amount) <= _tolerance(book.open_left[i], payment.currency, policy)
    ]
    plausible = [
        i
        for i in candidates
        if abs(book.open_left[i] - amount) * 100 <= book.open_left[i] * policy.tolerance.ambiguity_percent
    ]
    if len(near) == 1 and len(plausible) == 1:
        return Decision(
            [(near[0], min(amount, book.open_left[near[0]]))],
            "amount_within_tolerance",
            policy.scores.amount_within_tolerance * confidence,
            evidence,
        )
    if candidates and amount > sum(book.open_left[i] for i in candidates):
        return _fill(
            candidates, amount, book, "overpayment", policy.scores.overpayment * confidence, evidence
        )
    return None


def _discount_fits(book: OpenBook, invoice_id: str, amount: int, value_date: Any) -> bool:
    """The payment is the whole invoice less its early-payment discount, paid by the discount's
    last day, onto an invoice nothing has been paid on yet."""
    terms = book.discount.get(invoice_id)
    if terms is None:
        return False
    last_day, discount, full = terms
    return (
        book.open_left[invoice_id] == full
        and amount == full - discount
        and pd.Timestamp(value_date).date() <= last_day
    )


def _discount_evidence(book: OpenBook, invoice_id: str) -> str:
    last_day, discount, _ = book.discount[invoice_id]
    return f"{discount} minor units if paid by {last_day.isoformat()}"


def _unique_combination(
    candidates: list[str], amount: int, book: OpenBook, policy: MatchingPolicy
) -> list[str]:
    """The one set of open invoices, falling due close together, whose open amounts sum to the payment;
    empty when there is none, several, or the search ran out of time."""
    window = candidates[: policy.combination.max_candidates]
    combos, complete = combinations_summing_to(
        [book.open_left[i] for i in window],
        amount,
        max_items=policy.combination.max_invoices,
        max_steps=policy.combination.max_steps,
        limit=8,
    )
    span = policy.combination.max_due_span_days
    close = [
        c for c in combos if max(book.due[window[i]] for i in c) - min(book.due[window[i]] for i in c) <= span
    ]
    if not complete or len(close) != 1 or len(combos) >= 8:
        return []
    return [window[i] for i in close[0]]


def _tolerance(open_minor: int, currency: str, policy: MatchingPolicy) -> int:
    by_percent = int(open_minor * policy.tolerance.percent / 100)
    return min(by_percent, policy.tolerance.absolute_minor(currency))

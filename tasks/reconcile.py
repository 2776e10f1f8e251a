"""Reconcile: unapplied payments and open invoices in; allocations out.

Pure. A payment whose remittance text names open invoices of its currency is applied to them,
oldest due first, each up to its open amount; what is left stays unapplied on the payment. Invoice
numbers are recognised as bank data really carries them: upper or lower case, with spaces, dashes or
nothing between the parts, with leading zeros dropped, embedded in other text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

import pandas as pd
import yaml

from rules.matching import MatchingPolicy
from tasks.config import RULES_DIR
from tasks.matching import PayerDirectory, closest, combinations_summing_to, rf_payload
from tasks.short_payments import settle_residual

RULE_REFERENCE = "reference"
_TOKEN = re.compile(r"[A-Za-z0-9]+")
_SEPARATORS = re.compile(r"[^A-Z0-9]")
_MAX_TOKENS_IN_NUMBER = 4


_RUNS = re.compile(r"[A-Z]+|[0-9]+")


def reference_keys(text: str) -> set[str]:
    """The spellings under which an invoice number is recognised.

    Two keys: the compact form (letters and digits only: `INV2026000123`) and the runs form (letter
    and digit runs, leading zeros dropped, kept apart: `INV-2026-123`). Keeping runs apart is what
    stops `O2C-2026-000012 100.00` from reading as `O2C-2026-012100`.
    """
    upper = text.upper()
    compact = _SEPARATORS.sub("", upper)
    runs = "-".join(run.lstrip("0") or "0" if run.isdigit() else run for run in _RUNS.findall(upper))
    return {compact, runs}


_OCR_DIGITS = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "L": "1"})


_OCR_WORD = re.compile(r"[0-9OoIlL]*[0-9][0-9OoIlL]*")


def _ocr_repair(word: str) -> str:
    """A word read by OCR with letters where digits belong (`2O26` -> `2026`, `OOO1O1` -> `000101`):
    repaired only when it has a digit and nothing but digits and look-alike letters, so real words
    stay as they are."""
    return word.translate(_OCR_DIGITS) if _OCR_WORD.fullmatch(word) else word


@lru_cache(maxsize=65536)
def candidate_keys(remittance: str, require_digit: bool = False) -> dict[str, str]:
    """Every run of up to four consecutive words of the remittance text, by its keys. With
    `require_digit`, only runs holding a digit: when every invoice number carries one, a run of
    plain words cannot name an invoice, and skipping them makes this several times faster.

    Maps each key to the words it came from, which is kept as the evidence of the match.
    """
    tokens = _TOKEN.findall(remittance or "")
    repaired = [_ocr_repair(t) for t in tokens]
    has_digit = [any(ch.isdigit() for ch in t) for t in repaired]
    found: dict[str, str] = {}
    for start in range(len(tokens)):
        for width in range(1, min(_MAX_TOKENS_IN_NUMBER, len(tokens) - start) + 1):
            if require_digit and not any(has_digit[start : start + width]):
                continue
            words = tokens[start : start + width]
            evidence = " ".join(words)
            for key in reference_keys("-".join(words)):
                found.setdefault(key, evidence)
            fixed = repaired[start : start + width]
            if fixed != words:
                for key in reference_keys("-".join(fixed)):
                    found.setdefault(key, evidence)
    return found


@dataclass
class CashApplication:
    allocations: pd.DataFrame
    unapplied: pd.DataFrame  # payment_id, currency, unapplied_minor after this run
    exceptions: pd.DataFrame = field(default_factory=pd.DataFrame)  # the exception queue
    counts: dict[str, int] = field(default_factory=dict)
    write_offs: pd.DataFrame = field(default_factory=pd.DataFrame)  # small differences written off
    cases: pd.DataFrame = field(default_factory=pd.DataFrame)  # deduction cases for larger short payments


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


class OpenBook:
    """The invoices of a batch with their open amounts, updated as cash is applied."""

    def __init__(self, invoices: pd.DataFrame, as_of: date, rule_version: str) -> None:
        self.as_of, self.rule_version = as_of, rule_version
        self.open_left = dict(
            zip(invoices["invoice_id"], invoices["open_minor"].astype("int64"), strict=True)
        )
        self.due = dict(zip(invoices["invoice_id"], invoices["due_date"], strict=True))
        self.customer = dict(zip(invoices["invoice_id"], invoices["customer_id"], strict=True))
        self.index: dict[tuple[str, str], str] = {}
        self.by_customer: dict[tuple[str, str], list[str]] = {}
        self.by_amount: dict[tuple[str, int], list[str]] = {}
        self.numbers_have_digits = bool(invoices["invoice_id"].str.contains(r"\d").all())
        ordered = invoices.sort_values(["due_date", "invoice_id"])
        for invoice_id, currency, customer in zip(
            ordered["invoice_id"], ordered["currency"], ordered["customer_id"], strict=True
        ):
            for key in reference_keys(invoice_id):
                self.index.setdefault((currency, key), invoice_id)
            self.by_customer.setdefault((customer, currency), []).append(invoice_id)
            self.by_amount.setdefault((currency, self.open_left[invoice_id]), []).append(invoice_id)

    def named(self, currency: str, texts: list[str]) -> dict[str, str]:
        """Invoices of `currency` that the texts name, with the words that named them."""
        found: dict[str, str] = {}
        for text in texts:
            for key, words in candidate_keys(text, self.numbers_have_digits).items():
                invoice_id = self.index.get((currency, key))
                if invoice_id:
                    found.setdefault(invoice_id, words)
        return found

    def open_of(self, customer: str, currency: str) -> list[str]:
        return [i for i in self.by_customer.get((customer, currency), []) if self.open_left[i] > 0]


def apply_cash(
    payments: pd.DataFrame,
    invoices: pd.DataFrame,
    *,
    as_of: date,
    rule_version: str,
    policy: MatchingPolicy | None = None,
    payers: PayerDirectory | None = None,
    rejected: set[tuple[str, str]] | None = None,
) -> CashApplication:
    """Apply each payment to the invoices it pays, in passes, most certain first.

    payments: payment_id, value_date, currency, unapplied_minor, reference (optional: payer_name,
    payer_account, creditor_reference, end_to_end_id). invoices: invoice_id, customer_id, currency,
    due_date, open_minor (every invoice, paid ones with 0, so a reference to a paid invoice is seen).
    Payments that name invoices go first, then those matched by who paid and how much. Only a
    decision scoring at least the policy's auto-apply score is applied; the rest become exceptions.
    `rejected` holds (payment, invoice) matches a person took back: they are never made again.
    """
    policy = policy or DEFAULT_POLICY
    payers = payers or PayerDirectory({}, {}, policy.payer.name_threshold)
    book = OpenBook(invoices, as_of, rule_version)
    decided: dict[str, Decision] = {}
    ordered = payments.sort_values(["value_date", "payment_id"]) if len(payments) else payments
    rest = []
    for payment in ordered.itertuples(index=False):
        decision = by_reference(payment, book, payers, policy)
        if decision is None:
            rest.append(payment)
        else:
            decided[payment.payment_id] = _settle(
                _respect(decision, payment, rejected), payment, book, policy
            )
    for payment in rest:
        decision = _respect(by_payer_and_amount(payment, book, payers, policy), payment, rejected)
        decided[payment.payment_id] = _settle(decision, payment, book, policy)
    return _outcome(ordered, decided, book, as_of, rule_version)


def _respect(decision: Decision, payment: Any, rejected: set[tuple[str, str]] | None) -> Decision:
    """Drop the parts of a decision that a person has taken back before."""
    if not rejected or not decision.parts:
        return decision
    kept = [(i, a) for i, a in decision.parts if (payment.payment_id, i) not in rejected]
    if kept:
        return Decision(kept, decision.rule, decision.score, decision.evidence)
    return Decision(
        [], "exception", 0.0, decision.evidence, reason="a person took this match back", suggestions=[]
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def by_reference(
    payment: Any, book: OpenBook, payers: PayerDirectory, policy: MatchingPolicy
) -> Decision | None:
    """Passes 1 and 2: invoices named by a structured reference, else by numbers in the text."""
    structured = [
        rf_payload(_text(getattr(payment, "creditor_reference", ""))) or "",
        _text(getattr(payment, "end_to_end_id", "")),
    ]
    named = book.named(payment.currency, [t for t in structured if t])
    rule, score = "structured_reference", policy.scores.structured_reference
    if not named:
        named = book.named(payment.currency, [_text(payment.reference)])
        rule, score = "invoice_number", policy.scores.invoice_number
    if not named:
        return None
    open_named = [i for i in named if book.open_left[i] > 0]
    evidence: dict[str, object] = {"reference": _text(payment.reference), "matched": named}
    if not open_named:
        return Decision(
            [],
            rule,
            0.0,
            evidence,
            reason=f"names invoice(s) already paid: {', '.join(sorted(named))}",
            suggestions=[],
        )
    customer, confidence, how = payers.identify(
        _text(getattr(payment, "payer_account", "")), _text(getattr(payment, "payer_name", ""))
    )
    evidence["payer"] = how
    by_account = how == "payer account"  # a name alone is too weak to overrule a reference
    if customer and by_account and all(book.customer[i] != customer for i in open_named):
        score = min(score, policy.scores.reference_other_customer)
        evidence["warning"] = f"the payer's account belongs to {customer}, the invoices to another customer"
    order = sorted(open_named, key=lambda i: (book.due[i], i))
    return _fill(order, int(payment.unapplied_minor), book, rule, score, evidence)


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
        _text(getattr(payment, "payer_account", "")), _text(getattr(payment, "payer_name", ""))
    )
    evidence: dict[str, object] = {"reference": _text(payment.reference), "payer": how}
    if customer is None:
        return _amount_only(payment, amount, book, policy, evidence, how)
    candidates = book.open_of(customer, payment.currency)
    opens = [book.open_left[i] for i in candidates]
    exact = [i for i in candidates if book.open_left[i] == amount]
    if len(exact) == 1:
        return Decision(
            [(exact[0], amount)], "exact_amount", policy.scores.exact_amount * confidence, evidence
        )
    if len(exact) > 1:
        return _exception(
            evidence,
            f"{len(exact)} open invoices of {customer} have exactly this amount",
            [(i, amount) for i in exact],
            policy,
        )
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
    combos: list[tuple[int, ...]] = []
    if candidates and amount > sum(opens):
        return _fill(
            candidates, amount, book, "overpayment", policy.scores.overpayment * confidence, evidence
        )
    reason = (
        "several combinations of open invoices fit"
        if len(combos) > 1
        else f"no open invoice of {customer} fits"
    )
    return _exception(
        evidence, reason, closest(zip(candidates, opens, strict=True), amount, policy.suggestions), policy
    )


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
        budget_seconds=policy.combination.time_budget_ms / 1000,
        limit=8,
    )
    span = pd.Timedelta(days=policy.combination.max_due_span_days)
    close = [
        c for c in combos if max(book.due[window[i]] for i in c) - min(book.due[window[i]] for i in c) <= span
    ]
    if not complete or len(close) != 1 or len(combos) >= 8:
        return []
    return [window[i] for i in close[0]]


def _amount_only(
    payment: Any, amount: int, book: OpenBook, policy: MatchingPolicy, evidence: dict[str, object], how: str
) -> Decision:
    """An unknown payer: invoices of exactly this amount are suggestions, never applied."""
    fits = [
        (i, amount) for i in book.by_amount.get((payment.currency, amount), []) if book.open_left[i] == amount
    ]
    return _exception(
        evidence,
        f"unknown payer ({how})",
        fits[: policy.suggestions],
        policy,
        score=policy.scores.amount_only,
    )


def _exception(
    evidence: dict[str, object],
    reason: str,
    pairs: list[tuple[str, int]],
    policy: MatchingPolicy,
    score: float = 0.0,
) -> Decision:
    suggestions: list[dict[str, object]] = [
        {"invoice_id": i, "amount_minor": int(a), "score": round(score or 0.4, 2)} for i, a in pairs
    ]
    return Decision(
        [], "exception", 0.0, evidence, reason=reason, suggestions=suggestions[: policy.suggestions]
    )


def _tolerance(open_minor: int, currency: str, policy: MatchingPolicy) -> int:
    by_percent = int(open_minor * policy.tolerance.percent / 100)
    return min(by_percent, policy.tolerance.absolute_minor(currency))


def _settle(decision: Decision, payment: Any, book: OpenBook, policy: MatchingPolicy) -> Decision:
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
            rule=decision.rule,
            payment_id=payment.payment_id,
            invoice_id=last,
            customer_id=book.customer[last],
            currency=payment.currency,
            residual=book.open_left[last],
            meant=meant[last],
            remittance=_text(payment.reference),
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


def _outcome(
    payments: pd.DataFrame, decided: dict[str, Decision], book: OpenBook, as_of: date, rule_version: str
) -> CashApplication:
    rows, unapplied_rows, exception_rows = [], [], []
    for payment in payments.itertuples(index=False):
        decision = decided[payment.payment_id]
        remaining = int(payment.unapplied_minor)
        for invoice_id, amount in decision.parts:
            remaining -= amount
            rows.append(
                {
                    "allocation_id": f"{payment.payment_id}/{invoice_id}",
                    "payment_id": payment.payment_id,
                    "invoice_id": invoice_id,
                    "amount_minor": amount,
                    "currency": payment.currency,
                    "rule": decision.rule,
                    "rule_version": rule_version,
                    "score": round(decision.score, 4),
                    "evidence": json.dumps(decision.evidence, default=str),
                    "as_of": as_of,
                    "payment_unapplied_after_minor": remaining,
                    "invoice_open_after_minor": book.open_left[invoice_id],
                }
            )
        unapplied_rows.append((payment.payment_id, payment.currency, remaining))
        if not decision.parts:
            exception_rows.append(
                {
                    "payment_id": payment.payment_id,
                    "currency": payment.currency,
                    "unapplied_minor": remaining,
                    "reason": decision.reason or "no invoice found",
                    "as_of": as_of,
                    "suggestions": json.dumps(decision.suggestions),
                }
            )
    allocations = pd.DataFrame(rows, columns=_ALLOCATION_COLUMNS)
    unapplied = pd.DataFrame(unapplied_rows, columns=["payment_id", "currency", "unapplied_minor"])
    exceptions = pd.DataFrame(exception_rows, columns=EXCEPTION_COLUMNS)
    write_offs = pd.DataFrame([w for d in decided.values() for w in d.write_offs], columns=WRITE_OFF_COLUMNS)
    cases = pd.DataFrame([c for d in decided.values() for c in d.cases], columns=CASE_COLUMNS)
    counts = {
        "payments_considered": len(payments),
        "payments_matched": int(allocations["payment_id"].nunique()) if len(allocations) else 0,
        "allocations": len(allocations),
        "payments_left_unapplied": int((unapplied["unapplied_minor"] > 0).sum()) if len(unapplied) else 0,
        "exceptions": len(exceptions),
        "small_differences_written_off": len(write_offs),
        "deduction_cases_opened": len(cases),
    }
    by_rule = allocations.groupby("rule")["payment_id"].nunique().to_dict() if len(allocations) else {}
    counts.update({f"payments_by_{rule}": int(n) for rule, n in sorted(by_rule.items())})
    return CashApplication(allocations, unapplied, exceptions, counts, write_offs, cases)


EXCEPTION_COLUMNS = ["payment_id", "currency", "unapplied_minor", "reason", "suggestions", "as_of"]
WRITE_OFF_COLUMNS = [
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
CASE_COLUMNS = [
    "case_id",
    "kind",
    "customer_id",
    "invoice_id",
    "payment_id",
    "amount_minor",
    "currency",
    "reason_code",
    "reason_text",
    "owner",
    "opened_on",
    "due_on",
    "status",
]
DEFAULT_POLICY = MatchingPolicy.model_validate(yaml.safe_load((RULES_DIR / "matching.yaml").read_text()))


_ALLOCATION_COLUMNS = [
    "allocation_id",
    "payment_id",
    "invoice_id",
    "amount_minor",
    "currency",
    "rule",
    "rule_version",
    "score",
    "evidence",
    "as_of",
    "payment_unapplied_after_minor",
    "invoice_open_after_minor",
]

"""Reconcile: unapplied payments and open invoices in; allocations out.

Pure. A payment whose structured reference or remittance text names open invoices of its currency
is applied to them, oldest due first, each up to its open amount; what is left stays unapplied on
the payment (`tasks/reconcile/references.py` finds the invoice numbers). A payment naming nothing is placed by
who paid and how much. Doubtful decisions go to the exception queue.

The certain common case (a payment naming exactly one open invoice, which no other payment of the
batch names, for exactly its open amount) is decided for the whole batch at once in vectorised
code; the rest go through the passes one payment at a time. Both give the same allocations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from json.encoder import encode_basestring_ascii as _json_text  # type: ignore[attr-defined]
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from rules.matching import MatchingPolicy
from tasks.platform.config import RULES_DIR
from tasks.platform.money import round_half_up_div, to_major_str
from tasks.reconcile.matching import (
    PayerDirectory,
    closest,
    combinations_summing_to,
    normalise_account,
    rf_payload,
)
from tasks.reconcile.references import InvoiceKeys, find_named
from tasks.reconcile.short_payments import ADJUSTMENT_COLUMNS, settle_residual


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

    def __init__(
        self, invoices: pd.DataFrame, as_of: date, rule_version: str, keys: InvoiceKeys | None = None
    ) -> None:
        self.as_of, self.rule_version = as_of, rule_version
        ids = invoices["invoice_id"].tolist()
        self.open_left = dict(zip(ids, invoices["open_minor"].astype("int64").tolist(), strict=True))
        self._due: dict[str, Any] | None = None
        self.customer = dict(zip(ids, invoices["customer_id"].tolist(), strict=True))
        self.discount = _discount_terms(invoices)
        self.keys = keys if keys is not None else InvoiceKeys(invoices)
        self.invoices = invoices
        self._by_customer: dict[tuple[str, str], list[str]] | None = None
        self._by_amount: dict[tuple[str, int], list[str]] | None = None

    @property
    def due(self) -> dict[str, Any]:
        """Due date per invoice; built when the passes first need it."""
        if self._due is None:
            self._due = dict(zip(self.invoices["invoice_id"], self.invoices["due_date"], strict=True))
        return self._due

    @property
    def by_customer(self) -> dict[tuple[str, str], list[str]]:
        """Invoice ids per (customer, currency), oldest due first; built when first needed."""
        if self._by_customer is None:
            self._by_customer = {}
            ordered = self.invoices.sort_values(["due_date", "invoice_id"])
            for invoice_id, currency, customer in zip(
                ordered["invoice_id"], ordered["currency"], ordered["customer_id"], strict=True
            ):
                self._by_customer.setdefault((customer, currency), []).append(invoice_id)
        return self._by_customer

    @property
    def by_amount(self) -> dict[tuple[str, int], list[str]]:
        """Invoice ids per (currency, open amount at the start), oldest due first."""
        if self._by_amount is None:
            self._by_amount = {}
            opening = self._opening
            for (_, currency), ids in self.by_customer.items():
                for invoice_id in ids:
                    self._by_amount.setdefault((currency, opening[invoice_id]), []).append(invoice_id)
            for ids in self._by_amount.values():
                ids.sort(key=lambda i: (self.due[i], i))
        return self._by_amount

    @property
    def _opening(self) -> dict[str, int]:
        return dict(
            zip(
                self.invoices["invoice_id"], self.invoices["open_minor"].astype("int64").tolist(), strict=True
            )
        )

    def open_of(self, customer: str, currency: str) -> list[str]:
        return [i for i in self.by_customer.get((customer, currency), []) if self.open_left[i] > 0]


def _discount_terms(invoices: pd.DataFrame) -> dict[str, tuple[date, int, int]]:
    """(last day, discount, amount it is a discount on) of each invoice offering an early-payment
    discount. A credit note that reduced the invoice (`credited_minor`) re-bases the discount on
    what the invoice still bills: discount x (amount - credited) / amount, rounded half up (2 % of
    178.50 is 3.57; after a credit of 29.75, 2 % of 148.75 is 2.98)."""
    if "discount_date" not in invoices or "discount_amount_minor" not in invoices:
        return {}
    offered = invoices[invoices["discount_date"].notna() & (invoices["discount_amount_minor"].fillna(0) > 0)]
    credited = (
        offered["credited_minor"].fillna(0).astype("int64")
        if "credited_minor" in offered
        else pd.Series(0, index=offered.index)
    )
    terms = {}
    for invoice_id, day, discount, amount, credit in zip(
        offered["invoice_id"],
        offered["discount_date"],
        offered["discount_amount_minor"],
        offered["amount_minor"],
        credited,
        strict=True,
    ):
        base = int(amount) - int(credit)
        rebased = (
            round_half_up_div(int(discount) * base, int(amount))
            if credit and int(amount) > 0
            else int(discount)
        )
        if base > 0 and rebased > 0:
            terms[invoice_id] = (pd.Timestamp(day).date(), rebased, base)
    return terms


def apply_cash(
    payments: pd.DataFrame,
    invoices: pd.DataFrame,
    *,
    as_of: date,
    rule_version: str,
    policy: MatchingPolicy | None = None,
    payers: PayerDirectory | None = None,
    rejected: set[tuple[str, str]] | None = None,
    paired: set[tuple[str, str]] | None = None,
) -> CashApplication:
    """Apply each payment to the invoices it pays, in passes, most certain first, until nothing
    more can be applied: the result is a fixed point, so running reconcile again on the ledger it
    wrote applies nothing and leaves the same exception queue.

    payments: payment_id, value_date, currency, unapplied_minor, reference (optional: payer_name,
    payer_account, creditor_reference, end_to_end_id). invoices: invoice_id, customer_id, currency,
    due_date, open_minor (every invoice, paid ones with 0, so a reference to a paid invoice is seen).
    Payments that name invoices go first, then those matched by who paid and how much. Only a
    decision scoring at least the policy's auto-apply score is applied; the rest become exceptions.
    `rejected` holds (payment, invoice) matches a person took back: they are never made again.
    `paired` holds the (payment, invoice) pairs the ledger already has an allocation for.

    Why rounds: a payment decided early in a round may have been doubtful only because an invoice
    that a later payment of the same round paid was still open (two invoices near its amount, say).
    Each round decides every payment with cash left against the open amounts the previous round
    left, exactly as a new run would read them from the ledger; the last round applies nothing,
    and its exceptions, with their reasons and suggestions, are the queue as it stands. The
    allocations do not depend on the order the payments arrive in: they are taken by value date,
    then payment id.
    """
    policy = policy or DEFAULT_POLICY
    payers = payers or PayerDirectory({}, {}, policy.payer.name_threshold)
    rejected = set(rejected or ())
    paired = set(paired or ())
    ordered = _by_value_date(payments)
    invoices = invoices.sort_values(["due_date", "invoice_id"], kind="stable").reset_index(drop=True)
    keys = InvoiceKeys(invoices)
    rounds: list[CashApplication] = []
    remaining, book_frame = ordered, invoices
    while True:
        book = OpenBook(book_frame, as_of, rule_version, keys=keys)
        cash = _one_round(remaining, book, as_of, rule_version, policy, payers, rejected, paired)
        rounds.append(cash)
        if not len(cash.allocations) and not len(cash.write_offs):
            break
        paired |= set(zip(cash.allocations["payment_id"], cash.allocations["invoice_id"], strict=True))
        left = remaining["payment_id"].map(
            dict(zip(cash.unapplied["payment_id"], cash.unapplied["unapplied_minor"], strict=True))
        )
        remaining = remaining.assign(unapplied_minor=left.astype("int64"))
        remaining = remaining[remaining["unapplied_minor"] > 0].reset_index(drop=True)
        book_frame = book_frame.assign(
            open_minor=book_frame["invoice_id"].map(book.open_left).astype("int64")
        )
    return _combined(ordered, rounds, paired)


def _by_value_date(payments: pd.DataFrame) -> pd.DataFrame:
    """Payments in the order cash is applied: by value date, then payment id, whatever order they came in."""
    if not len(payments):
        return payments.reset_index(drop=True)
    return payments.sort_values(["value_date", "payment_id"], kind="stable").reset_index(drop=True)


def _one_round(
    ordered: pd.DataFrame,
    book: OpenBook,
    as_of: date,
    rule_version: str,
    policy: MatchingPolicy,
    payers: PayerDirectory,
    rejected: set[tuple[str, str]],
    paired: set[tuple[str, str]],
) -> CashApplication:
    """One pass of every matching rule over the payments, against the book's open amounts."""
    decided: dict[str, Decision] = {}
    named = named_invoices(ordered, book.keys)
    certain = _certain(ordered, named, book, payers, policy, rejected | paired)
    for invoice_id in certain["invoice_id"].tolist():
        book.open_left[invoice_id] = 0
    done = set(certain["payment_id"].tolist())
    named_of = _named_by_payment(named[~named["payment_id"].isin(done)])
    rest = []
    for payment in ordered[~ordered["payment_id"].isin(done)].itertuples(index=False):
        decision = by_reference(payment, named_of.get(payment.payment_id), book, payers, policy)
        if decision is None:
            rest.append(payment)
        else:
            decided[payment.payment_id] = _settle(
                _respect(decision, payment, rejected, paired), payment, book, policy
            )
    for payment in rest:
        decision = _respect(by_payer_and_amount(payment, book, payers, policy), payment, rejected, paired)
        decided[payment.payment_id] = _settle(decision, payment, book, policy)
    return _outcome(ordered, decided, certain, book, as_of, rule_version)


def _combined(
    payments: pd.DataFrame, rounds: list[CashApplication], paired: set[tuple[str, str]]
) -> CashApplication:
    """The rounds as one cash application: every round's allocations, write-offs and cases, the
    unapplied cash and exception queue of the last round (the state a new run would find)."""
    last = rounds[-1]
    allocations, write_offs, cases = (
        _stacked([getattr(r, name) for r in rounds]) for name in ("allocations", "write_offs", "cases")
    )
    left = dict(zip(last.unapplied["payment_id"], last.unapplied["unapplied_minor"], strict=True))
    unapplied = pd.DataFrame(
        {
            "payment_id": payments["payment_id"].to_numpy(),
            "currency": payments["currency"].to_numpy(),
            "unapplied_minor": payments["payment_id"].map(left).fillna(0).astype("int64").to_numpy()
            if len(payments)
            else [],
        },
        columns=["payment_id", "currency", "unapplied_minor"],
    )
    exceptions = _with_cash_already_applied(last.exceptions, paired)
    counts = {
        "payments_considered": len(payments),
        "payments_matched": int(allocations["payment_id"].nunique()) if len(allocations) else 0,
        "allocations": len(allocations),
        "payments_left_unapplied": int((unapplied["unapplied_minor"] > 0).sum()) if len(unapplied) else 0,
        "exceptions": len(exceptions),
        "small_differences_written_off": int((write_offs["kind"] == "small_difference").sum()),
        "early_payment_discounts": int((write_offs["kind"] == "early_payment_discount").sum()),
        "deduction_cases_opened": len(cases),
        "matching_rounds": len(rounds),
    }
    by_rule = allocations.groupby("rule")["payment_id"].nunique().to_dict() if len(allocations) else {}
    counts.update({f"payments_by_{rule}": int(n) for rule, n in sorted(by_rule.items())})
    return CashApplication(allocations, unapplied, exceptions, counts, write_offs, cases)


def _stacked(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The frames one under the other (the first, with its columns, when all are empty)."""
    filled = [frame for frame in frames if len(frame)]
    if len(filled) <= 1:
        return filled[0] if filled else frames[0]
    return pd.concat(filled, ignore_index=True)


def _with_cash_already_applied(exceptions: pd.DataFrame, paired: set[tuple[str, str]]) -> pd.DataFrame:
    """An exception for cash left over on a payment that already paid invoices says so: how much is
    left and what it paid, then why the rest fits nothing (unless that is only that the invoices it
    names are paid, which the first part already says)."""
    if not len(exceptions) or not paired:
        return exceptions
    paid: dict[str, list[str]] = {}
    for payment_id, invoice_id in sorted(paired):
        paid.setdefault(payment_id, []).append(invoice_id)
    reasons = []
    for payment_id, currency, left, reason in zip(
        exceptions["payment_id"],
        exceptions["currency"],
        exceptions["unapplied_minor"],
        exceptions["reason"],
        strict=True,
    ):
        if payment_id not in paid:
            reasons.append(reason)
            continue
        head = f"{to_major_str(int(left), currency)} {currency} left over after paying {', '.join(paid[payment_id])}"
        reasons.append(head if reason.startswith(_NAMES_PAID) else f"{head}; {reason}")
    return exceptions.assign(reason=reasons)


_NAMES_PAID = "names invoice(s) already paid"


def named_invoices(payments: pd.DataFrame, keys: InvoiceKeys) -> pd.DataFrame:
    """payment_id, invoice_id, words, rule: the invoices each payment names. A structured reference
    (a valid RF creditor reference, then the end-to-end id) decides when it names any invoice;
    otherwise the remittance text does."""
    columns = ["payment_id", "invoice_id", "words", "rule"]
    if not len(payments):
        return pd.DataFrame(columns=columns)
    ids = payments["payment_id"].to_numpy()
    sources = [
        ("structured_reference", _rf_payloads(_column(payments, "creditor_reference"))),
        ("structured_reference", _column(payments, "end_to_end_id")),
        ("invoice_number", _column(payments, "reference")),
    ]
    texts = pd.DataFrame(
        {
            "text_id": np.concatenate([np.arange(len(ids)) * 3 + k for k in range(3)]),
            "currency": np.concatenate([payments["currency"].to_numpy()] * 3),
            "text": np.concatenate([text.to_numpy() for _, text in sources]),
        }
    )
    texts = texts[texts["text"] != ""].sort_values("text_id")
    found = find_named(texts, keys)
    text_id = found["text_id"].to_numpy().astype(np.int64)
    found["payment_id"] = ids[text_id // 3]
    found["rule"] = np.where(text_id % 3 < 2, "structured_reference", "invoice_number")
    by_structure = found["rule"] == "structured_reference"
    found = found[by_structure | ~found["payment_id"].isin(found.loc[by_structure, "payment_id"])]
    return found.drop_duplicates(["payment_id", "invoice_id"])[columns].reset_index(drop=True)


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A text column, empty strings where the column or a value is missing."""
    if name not in frame.columns:
        return pd.Series([""] * len(frame), index=frame.index, dtype=object)
    return frame[name].where(frame[name].notna(), "").astype(str)


def _rf_payloads(references: pd.Series) -> pd.Series:
    """The reference inside each valid RF creditor reference; empty where there is none."""
    given = references != ""
    out = pd.Series("", index=references.index, dtype=object)
    out[given] = [rf_payload(t) or "" for t in references[given]]
    return out


def _named_by_payment(named: pd.DataFrame) -> dict[str, tuple[str, dict[str, str]]]:
    out: dict[str, tuple[str, dict[str, str]]] = {}
    for payment_id, invoice_id, words, rule in named.itertuples(index=False):
        out.setdefault(payment_id, (rule, {}))[1][invoice_id] = words
    return out


def _certain(
    payments: pd.DataFrame,
    named: pd.DataFrame,
    book: OpenBook,
    payers: PayerDirectory,
    policy: MatchingPolicy,
    rejected: set[tuple[str, str]],
) -> pd.DataFrame:
    """The payments the passes would apply without a doubt, decided for the whole batch at once:
    each names exactly one invoice, open for exactly the payment's amount, that no other payment of
    the batch names, by a rule scoring at least the auto-apply score, from no payer account known to
    belong to another customer, and not a match a person took back. Returns payment_id,
    invoice_id, amount_minor, rule, score, evidence (JSON, as the passes write it)."""
    columns = ["payment_id", "invoice_id", "amount_minor", "rule", "score", "evidence"]
    if not len(named):
        return pd.DataFrame(columns=columns)
    one = named[~named["payment_id"].duplicated(keep=False) & ~named["invoice_id"].duplicated(keep=False)]
    invoices = book.invoices[["invoice_id", "open_minor", "customer_id"]]
    wanted = [c for c in ("payment_id", "unapplied_minor", "reference", "payer_account") if c in payments]
    facts = one.merge(payments[wanted], on="payment_id").merge(invoices, on="invoice_id")
    amount = facts["unapplied_minor"].astype("int64").to_numpy()
    opening = facts["open_minor"].astype("int64").to_numpy()  # no earlier payment of the batch touched it
    owner = facts["customer_id"]
    accounts = _column(facts, "payer_account").str.replace(r"\s+", "", regex=True).str.upper()
    account = accounts.map(pd.Series(payers.accounts, dtype=object) if payers.accounts else {})
    score = np.where(
        facts["rule"] == "structured_reference",
        policy.scores.structured_reference,
        policy.scores.invoice_number,
    )
    taken_back = pd.Series(
        [(p, i) in rejected for p, i in zip(facts["payment_id"], facts["invoice_id"], strict=True)]
        if rejected
        else np.zeros(len(facts), dtype=bool),
        index=facts.index,
        dtype=bool,
    )
    sure = (
        (amount > 0)
        & (amount == opening)
        & (score >= policy.auto_apply_score)
        & (account.isna() | (account == owner)).to_numpy()
        & ~taken_back.to_numpy()
    )
    facts, score, account = facts[sure], score[sure], account[sure]
    how = np.where(account.isna(), _UNKNOWN_ACCOUNT, _KNOWN_ACCOUNT)
    evidence = _joined(
        '{"reference": ',
        _json_strings(_column(facts, "reference")),
        ', "matched": {',
        _json_strings(facts["invoice_id"]),
        ": ",
        _json_strings(facts["words"]),
        '}, "payer": ',
        _json_strings(pd.Series(how)),
        "}",
    )
    return pd.DataFrame(
        {
            "payment_id": facts["payment_id"].to_numpy(),
            "invoice_id": facts["invoice_id"].to_numpy(),
            "amount_minor": facts["unapplied_minor"].astype("int64").to_numpy(),
            "rule": facts["rule"].to_numpy(),
            "score": score,
            "evidence": evidence,
        },
        columns=columns,
    )


def _json_strings(texts: pd.Series) -> pa.Array:
    """Each text as a JSON string literal, exactly as `json.dumps` writes it; plain printable ASCII
    (nearly every text) is quoted in one vectorised step, the rest escaped one by one."""
    values = pa.array(texts.astype(str).to_numpy(), pa.string())
    plain = pc.match_substring_regex(values, r"^[ !#-\[\]-~]*$")
    quoted = pc.binary_join_element_wise('"', values, '"', "")
    odd = pc.filter(values, pc.invert(plain)).to_pylist()
    if not odd:
        return quoted
    escaped = pa.array([_json_text(t) for t in odd], pa.string())
    return pc.replace_with_mask(quoted, pc.invert(plain), escaped)


def _joined(*parts: str | pa.Array) -> np.ndarray:
    """Strings and string arrays concatenated element-wise."""
    return pc.binary_join_element_wise(*parts, "").to_numpy(zero_copy_only=False)


_KNOWN_ACCOUNT = "payer account"
_UNKNOWN_ACCOUNT = "payer account not known"


def _respect(
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


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


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
    evidence: dict[str, object] = {"reference": _text(payment.reference), "matched": named}
    if not open_named:
        return Decision(
            [],
            rule,
            0.0,
            evidence,
            reason=f"{_NAMES_PAID}: {', '.join(sorted(named))}",
            suggestions=[],
        )
    # the payer's account can contradict a reference; a name alone is too weak to overrule one
    customer = payers.accounts.get(normalise_account(_text(getattr(payment, "payer_account", ""))))
    evidence["payer"] = _KNOWN_ACCOUNT if customer else _UNKNOWN_ACCOUNT
    if customer and all(book.customer[i] != customer for i in open_named):
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
    discounted = [i for i in candidates if _discount_fits(book, i, amount, payment.value_date)]
    if len(discounted) == 1:
        return Decision(
            [(discounted[0], amount)],
            "early_payment_discount",
            policy.scores.early_payment_discount * confidence,
            evidence | {"discount": _discount_evidence(book, discounted[0])},
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
            discount=book.discount.get(last),
            value_date=pd.Timestamp(payment.value_date).date(),
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
    payments: pd.DataFrame,
    decided: dict[str, Decision],
    certain: pd.DataFrame,
    book: OpenBook,
    as_of: date,
    rule_version: str,
) -> CashApplication:
    rows, exception_rows = [], []
    remaining_of: dict[str, int] = {}
    for payment in payments[payments["payment_id"].isin(decided.keys())].itertuples(index=False):
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
        remaining_of[payment.payment_id] = remaining
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
    position = pd.Series(np.arange(len(payments)), index=payments["payment_id"].to_numpy())
    currency = payments.set_index("payment_id")["currency"] if len(payments) else pd.Series(dtype=object)
    sure = pd.DataFrame(
        {
            "allocation_id": certain["payment_id"] + "/" + certain["invoice_id"],
            "payment_id": certain["payment_id"],
            "invoice_id": certain["invoice_id"],
            "amount_minor": certain["amount_minor"],
            "currency": certain["payment_id"].map(currency),
            "rule": certain["rule"],
            "rule_version": rule_version,
            "score": certain["score"].astype(float).round(4),
            "evidence": certain["evidence"],
            "as_of": as_of,
            "payment_unapplied_after_minor": 0,
            "invoice_open_after_minor": 0,
        },
        columns=_ALLOCATION_COLUMNS,
    )
    allocations = pd.concat(
        [frame for frame in (pd.DataFrame(rows, columns=_ALLOCATION_COLUMNS), sure) if len(frame)]
        or [pd.DataFrame(columns=_ALLOCATION_COLUMNS)],
        ignore_index=True,
    )
    allocations = allocations.iloc[
        np.argsort(position.reindex(allocations["payment_id"]).to_numpy(), kind="stable")
    ].reset_index(drop=True)
    left = payments["payment_id"].map(remaining_of)
    left = left.where(left.notna(), 0).astype("int64") if len(payments) else left
    unapplied = pd.DataFrame(
        {
            "payment_id": payments["payment_id"].to_numpy(),
            "currency": payments["currency"].to_numpy(),
            "unapplied_minor": left.to_numpy() if len(payments) else [],
        },
        columns=["payment_id", "currency", "unapplied_minor"],
    )
    exceptions = pd.DataFrame(exception_rows, columns=EXCEPTION_COLUMNS)
    write_offs = pd.DataFrame([w for d in decided.values() for w in d.write_offs], columns=WRITE_OFF_COLUMNS)
    cases = pd.DataFrame([c for d in decided.values() for c in d.cases], columns=CASE_COLUMNS)
    counts = {
        "payments_considered": len(payments),
        "payments_matched": int(allocations["payment_id"].nunique()) if len(allocations) else 0,
        "allocations": len(allocations),
        "payments_left_unapplied": int((unapplied["unapplied_minor"] > 0).sum()) if len(unapplied) else 0,
        "exceptions": len(exceptions),
        "small_differences_written_off": int((write_offs["kind"] == "small_difference").sum()),
        "early_payment_discounts": int((write_offs["kind"] == "early_payment_discount").sum()),
        "deduction_cases_opened": len(cases),
    }
    by_rule = allocations.groupby("rule")["payment_id"].nunique().to_dict() if len(allocations) else {}
    counts.update({f"payments_by_{rule}": int(n) for rule, n in sorted(by_rule.items())})
    return CashApplication(allocations, unapplied, exceptions, counts, write_offs, cases)


EXCEPTION_COLUMNS = ["payment_id", "currency", "unapplied_minor", "reason", "suggestions", "as_of"]
WRITE_OFF_COLUMNS = ADJUSTMENT_COLUMNS
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

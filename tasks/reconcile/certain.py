"""The certain common cases of cash application, decided for the whole batch at once.

A payment naming exactly one invoice that no other payment of the batch names, by a rule scoring at
least the auto-apply score, from no payer account known to belong to another customer, and not a
match a person took back, is applied without a doubt: open for exactly the payment's amount
(`certain`, vectorised: pandas and Arrow, no Python loop per payment), or for more, the rest then
settled as the passes settle a short payment (`certain_short`: vectorised facts, then a short loop
for the typo check and the settlement). Both give the allocations and evidence the passes would;
they are made as the round starts rather than in value-date order, so a typo check of an earlier
payment in the passes sees their invoices already paid (docs/stages.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as _json_text  # type: ignore[attr-defined]
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rules.matching import MatchingPolicy
from tasks.reconcile.book import OpenBook
from tasks.reconcile.decisions import KNOWN_ACCOUNT, UNKNOWN_ACCOUNT
from tasks.reconcile.matching import PayerDirectory
from tasks.reconcile.named import text_column
from tasks.reconcile.passes import amount_explained, meant_instead
from tasks.reconcile.short_payments import settle_residual

CERTAIN_COLUMNS = ["payment_id", "invoice_id", "amount_minor", "rule", "score", "evidence", "open_after"]


def certain(sure: SureFacts) -> pd.DataFrame:
    """The payments the passes would apply without a doubt, decided for the whole batch at once:
    of the sure facts (`sure_facts`), those open for exactly the payment's amount. Returns
    payment_id, invoice_id, amount_minor, rule, score, evidence (JSON, as the passes write it),
    open_after (0)."""
    exact = sure.amount == sure.opening
    return _frame(
        sure.facts[exact], sure.score[exact], sure.account[exact], np.zeros(int(exact.sum()), dtype=np.int64)
    )


def certain_short(
    sure: SureFacts, book: OpenBook, payers: PayerDirectory, policy: MatchingPolicy
) -> tuple[pd.DataFrame, list[dict[str, Any]], list[dict[str, Any]]]:
    """The short payments the passes would apply without a doubt, decided at once: of the sure
    facts, those for less than the invoice's open amount, where no open invoice a typo away from
    the one named fits the amount better (`meant_instead`, asked only when the amount is not the
    invoice less its early-payment discount or a small difference). Each is applied in full to
    its invoice, and what it leaves there is settled as the passes settle it (`settle_residual`):
    an early-payment discount or a small difference written off, or a deduction case. Returns the
    allocations as `certain` does (open_after: what the invoice still has open), the write-offs
    and the cases. Call it after the exact certain matches are applied to the book: the typo
    check reads the book as it then stands."""
    short = sure.amount < sure.opening
    facts, amount, opening, score, account = (
        sure.facts[short],
        sure.amount[short],
        sure.opening[short],
        sure.score[short],
        sure.account[short],
    )
    kept = np.ones(len(facts), dtype=bool)
    after = opening - amount
    write_offs, cases = [], []
    rows = zip(
        facts["payment_id"].tolist(),
        facts["invoice_id"].tolist(),
        facts["customer_id"].tolist(),
        facts["currency"].tolist(),
        facts["value_date"].tolist(),
        text_column(facts, "reference").tolist(),
        text_column(facts, "payer_account").tolist(),
        amount.tolist(),
        opening.tolist(),
        facts["rule"].tolist(),
        strict=True,
    )
    for n, (
        payment_id,
        invoice_id,
        customer,
        currency,
        paid_on,
        remittance,
        payer,
        paid,
        meant,
        rule,
    ) in enumerate(rows):
        payment = _Payment(paid, currency, paid_on, payer)
        if (
            not amount_explained(payment, [invoice_id], paid, book, policy)
            and len(meant_instead(payment, {invoice_id: ""}, book, payers)) == 1
        ):
            kept[n] = False  # most likely a typo: the passes send it to the queue
            continue
        write_off, case = settle_residual(
            discount=book.discount.get(invoice_id),
            instalments=book.parts.get(invoice_id),
            value_date=pd.Timestamp(paid_on).date(),
            rule=rule,
            payment_id=payment_id,
            invoice_id=invoice_id,
            customer_id=customer,
            currency=currency,
            residual=meant - paid,
            meant=meant,
            remittance=remittance,
            policy=policy,
            as_of=book.as_of,
            rule_version=book.rule_version,
        )
        if write_off:
            after[n] -= write_off["amount_minor"]
            write_offs.append(write_off)
        if case:
            cases.append(case)
    return _frame(facts[kept], score[kept], account[kept], after[kept]), write_offs, cases


class _Payment(NamedTuple):
    """What the short-payment and typo checks read of a payment."""

    unapplied_minor: int
    currency: str
    value_date: Any
    payer_account: str


@dataclass
class SureFacts:
    """The payments of a batch that may be applied without a doubt, with what decides it."""

    facts: pd.DataFrame  # the payment's columns, invoice_id, words, rule, customer_id
    amount: np.ndarray  # the payment's cash to apply
    opening: np.ndarray  # the invoice's open amount as the round began
    score: np.ndarray  # the score of the rule that named it
    account: pd.Series  # the customer the payer's account belongs to, if known


def sure_facts(
    payments: pd.DataFrame,
    named: pd.DataFrame,
    book: OpenBook,
    payers: PayerDirectory,
    policy: MatchingPolicy,
    rejected: set[tuple[str, str]],
) -> SureFacts:
    """The payments naming exactly one invoice that no other payment of the batch names, by a rule
    scoring at least the auto-apply score, from no payer account known to belong to another
    customer, not taken back, with cash to apply onto an invoice still open. Read before any
    payment of the round is applied."""
    one = named[~named["payment_id"].duplicated(keep=False) & ~named["invoice_id"].duplicated(keep=False)]
    wanted = [
        c
        for c in ("payment_id", "currency", "value_date", "unapplied_minor", "reference", "payer_account")
        if c in payments
    ]
    facts = one.merge(payments[wanted], on="payment_id")
    facts["customer_id"] = [book.customer[i] for i in facts["invoice_id"].tolist()]
    amount = facts["unapplied_minor"].astype("int64").to_numpy()
    opening = np.fromiter(
        (book.open_left[i] for i in facts["invoice_id"].tolist()), dtype=np.int64, count=len(facts)
    )
    owner = facts["customer_id"]
    accounts = text_column(facts, "payer_account").str.replace(r"\s+", "", regex=True).str.upper()
    account = accounts.map(pd.Series(payers.accounts, dtype=object) if payers.accounts else {})
    score = np.where(
        facts["rule"] == "structured_reference",
        policy.scores.structured_reference,
        policy.scores.invoice_number,
    )
    sure = (
        (amount > 0)
        & (opening > 0)
        & (score >= policy.auto_apply_score)
        & (account.isna() | (account == owner)).to_numpy()
        & ~taken_back(facts, rejected)
    )
    return SureFacts(facts[sure], amount[sure], opening[sure], score[sure], account[sure])


def _frame(facts: pd.DataFrame, score: np.ndarray, account: pd.Series, after: np.ndarray) -> pd.DataFrame:
    """The sure matches as rows: each applies the whole payment to its invoice."""
    return pd.DataFrame(
        {
            "payment_id": facts["payment_id"].to_numpy(),
            "invoice_id": facts["invoice_id"].to_numpy(),
            "amount_minor": facts["unapplied_minor"].astype("int64").to_numpy(),
            "rule": facts["rule"].to_numpy(),
            "score": score,
            "evidence": _evidence(facts, account) if len(facts) else np.array([], dtype=object),
            "open_after": after,
        },
        columns=CERTAIN_COLUMNS,
    )


def taken_back(facts: pd.DataFrame, rejected: set[tuple[str, str]]) -> np.ndarray:
    """Per (payment, invoice) row: whether a person took this match back."""
    return pd.Series(
        [(p, i) in rejected for p, i in zip(facts["payment_id"], facts["invoice_id"], strict=True)]
        if rejected
        else np.zeros(len(facts), dtype=bool),
        index=facts.index,
        dtype=bool,
    ).to_numpy()


def _evidence(facts: pd.DataFrame, account: pd.Series) -> np.ndarray:
    """The evidence JSON of each certain match, byte for byte as `json.dumps` writes the passes'
    evidence: the reference, the invoice and the words that named it, whether the account is known."""
    how = np.where(account.isna(), UNKNOWN_ACCOUNT, KNOWN_ACCOUNT)
    return joined(
        '{"reference": ',
        json_strings(text_column(facts, "reference")),
        ', "matched": {',
        json_strings(facts["invoice_id"]),
        ": ",
        json_strings(facts["words"]),
        '}, "payer": ',
        json_strings(pd.Series(how)),
        "}",
    )


def json_strings(texts: pd.Series) -> pa.Array:
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


def joined(*parts: str | pa.Array) -> np.ndarray:
    """Strings and string arrays concatenated element-wise."""
    return pc.binary_join_element_wise(*parts, "").to_numpy(zero_copy_only=False)

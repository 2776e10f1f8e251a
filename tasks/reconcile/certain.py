"""The certain common case of cash application, decided for the whole batch at once.

A payment naming exactly one invoice, open for exactly the payment's amount, that no other payment
of the batch names, by a rule scoring at least the auto-apply score, from no payer account known to
belong to another customer, and not a match a person took back, is applied without a doubt. This
is vectorised (pandas and Arrow, no Python loop per payment) and gives exactly the allocations and
evidence the one-payment-at-a-time passes would.
"""

from __future__ import annotations

from json.encoder import encode_basestring_ascii as _json_text  # type: ignore[attr-defined]

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rules.matching import MatchingPolicy
from tasks.reconcile.book import OpenBook
from tasks.reconcile.decisions import KNOWN_ACCOUNT, UNKNOWN_ACCOUNT
from tasks.reconcile.matching import PayerDirectory
from tasks.reconcile.named import text_column

CERTAIN_COLUMNS = ["payment_id", "invoice_id", "amount_minor", "rule", "score", "evidence"]


def certain(
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
    if not len(named):
        return pd.DataFrame(columns=CERTAIN_COLUMNS)
    one = named[~named["payment_id"].duplicated(keep=False) & ~named["invoice_id"].duplicated(keep=False)]
    wanted = [c for c in ("payment_id", "unapplied_minor", "reference", "payer_account") if c in payments]
    facts = one.merge(payments[wanted], on="payment_id")
    facts["customer_id"] = [book.customer[i] for i in facts["invoice_id"].tolist()]
    amount = facts["unapplied_minor"].astype("int64").to_numpy()
    # the open amounts as the round began: no payment of the round has touched them yet
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
        & (amount == opening)
        & (score >= policy.auto_apply_score)
        & (account.isna() | (account == owner)).to_numpy()
        & ~_taken_back(facts, rejected)
    )
    facts, score, account = facts[sure], score[sure], account[sure]
    return pd.DataFrame(
        {
            "payment_id": facts["payment_id"].to_numpy(),
            "invoice_id": facts["invoice_id"].to_numpy(),
            "amount_minor": facts["unapplied_minor"].astype("int64").to_numpy(),
            "rule": facts["rule"].to_numpy(),
            "score": score,
            "evidence": _evidence(facts, account),
        },
        columns=CERTAIN_COLUMNS,
    )


def _taken_back(facts: pd.DataFrame, rejected: set[tuple[str, str]]) -> np.ndarray:
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
    return _joined(
        '{"reference": ',
        _json_strings(text_column(facts, "reference")),
        ', "matched": {',
        _json_strings(facts["invoice_id"]),
        ": ",
        _json_strings(facts["words"]),
        '}, "payer": ',
        _json_strings(pd.Series(how)),
        "}",
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

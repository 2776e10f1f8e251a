"""How good cash application is, measured against the true allocations of a generated book.

Pure: our allocations and the truth in, figures out.
"""

from __future__ import annotations

from typing import Any

import pandas as pd


def match_quality(
    payments: pd.DataFrame, allocations: pd.DataFrame, truth: pd.DataFrame, exceptions: int
) -> dict[str, Any]:
    """Figures of `o2c bench match`.

    payments: payment_id, amount_minor. allocations and truth: payment_id, invoice_id, amount_minor.
    - applied automatically: payments with any allocation, by count and by value (allocated / received);
    - invoice-level: payments that truly pay invoices and whose allocations equal the truth exactly
      (same invoices, same amounts), as a share of those payments;
    - false allocations: the share of the allocated amount that went to a (payment, invoice) pair the
      truth does not have, or beyond the true amount of a pair.
    """
    ours = allocations.groupby(["payment_id", "invoice_id"])["amount_minor"].sum()
    true = truth.groupby(["payment_id", "invoice_id"])["amount_minor"].sum()
    allocated = int(ours.sum())
    matched_true = ours.index.isin(true.index)
    wrong = int(ours[~matched_true].sum()) + int(
        (ours[matched_true] - true.reindex(ours[matched_true].index)).clip(lower=0).sum()
    )
    per_payment_ours = {p: frozenset(g.droplevel(0).items()) for p, g in ours.groupby(level=0)}
    per_payment_true = {p: frozenset(g.droplevel(0).items()) for p, g in true.groupby(level=0)}
    exact = sum(1 for p, pairs in per_payment_true.items() if per_payment_ours.get(p) == pairs)
    received = int(payments["amount_minor"].sum())
    applied_payments = allocations["payment_id"].nunique()
    return {
        "payments": len(payments),
        "payments_with_true_invoices": len(per_payment_true),
        "applied_automatically_by_count": _share(applied_payments, len(payments)),
        "applied_automatically_by_value": _share(allocated, received),
        "invoice_level_correct": _share(exact, len(per_payment_true)),
        "false_allocation_share": _share(wrong, allocated),
        "exceptions": exceptions,
    }


def _share(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole else 0.0

"""What a cash-application run gives back, and how its rows are written.

`CashApplication` holds the allocations, the cash left unapplied, the exception queue (with
suggestions), the small differences and discounts written off, the deduction cases opened, and the
run's counts. `outcome` turns one round's decisions (and its vectorised certain matches) into these
frames; `combined` joins the rounds of a run into the one result the flow publishes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tasks.platform.money import to_major_str
from tasks.reconcile.book import OpenBook
from tasks.reconcile.decisions import NAMES_PAID, ON_ACCOUNT, Decision
from tasks.reconcile.sets import among
from tasks.reconcile.short_payments import ADJUSTMENT_COLUMNS

# json.dumps(..., default=str) with one encoder, not a new one per row
_EVIDENCE = json.JSONEncoder(default=str)
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
ALLOCATION_COLUMNS = [
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
    "payment_amount_minor",
    "payment_currency",
]


ON_ACCOUNT_COLUMNS = ["payment_id", "customer_id", "currency", "unapplied_minor", "reason", "as_of"]


@dataclass
class CashApplication:
    allocations: pd.DataFrame
    unapplied: pd.DataFrame  # payment_id, currency, unapplied_minor after this run
    exceptions: pd.DataFrame = field(default_factory=pd.DataFrame)  # the exception queue
    counts: dict[str, int] = field(default_factory=dict)
    write_offs: pd.DataFrame = field(default_factory=pd.DataFrame)  # small differences written off
    cases: pd.DataFrame = field(default_factory=pd.DataFrame)  # deduction cases for larger short payments
    on_account: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ON_ACCOUNT_COLUMNS))


def outcome(
    payments: pd.DataFrame,
    decided: dict[str, Decision],
    sure: tuple[pd.DataFrame, list[dict[str, Any]], list[dict[str, Any]]],
    book: OpenBook,
    as_of: date,
    rule_version: str,
) -> CashApplication:
    """One round as a cash application: the passes' decisions and the certain matches (with the
    write-offs and cases of the certain short payments) as allocations in payment order, what is
    left on each payment, the exceptions, write-offs, cases."""
    certain, sure_write_offs, sure_cases = sure
    decided_allocations, exception_rows, remaining_of = _decided_rows(
        payments, decided, book, as_of, rule_version
    )
    # where each payment stands in the round, hashed once for both uses
    where = pd.Index(payments["payment_id"].to_numpy())
    allocations = _in_payment_order(
        [decided_allocations, _certain_allocations(certain, payments, where, book, as_of, rule_version)],
        where,
    )
    unapplied = unapplied_frame(payments, remaining_of)
    exceptions = pd.DataFrame(exception_rows, columns=EXCEPTION_COLUMNS)
    write_offs = pd.DataFrame(
        sure_write_offs + [w for d in decided.values() for w in d.write_offs], columns=WRITE_OFF_COLUMNS
    )
    cases = pd.DataFrame(sure_cases + [c for d in decided.values() for c in d.cases], columns=CASE_COLUMNS)
    counts = run_counts(payments, allocations, unapplied, exceptions, write_offs, cases)
    return CashApplication(allocations, unapplied, exceptions, counts, write_offs, cases)


def _in_payment_order(parts: list[pd.DataFrame], where: pd.Index) -> pd.DataFrame:
    """The allocation rows of `parts` as one frame in the order of the payments `where` lists (each
    part's own order kept among a payment's rows, the earlier part first): each column joined and
    put in order as one array, the frame made once (not stacked, then reordered, then renumbered:
    three copies of three quarters of a million rows)."""
    parts = [part for part in parts if len(part)]
    if not parts:
        return pd.DataFrame(columns=ALLOCATION_COLUMNS)
    paid = np.concatenate([part["payment_id"].to_numpy() for part in parts])
    order = np.argsort(where.get_indexer(paid), kind="stable")
    return pd.DataFrame(
        {
            column: np.concatenate([part[column].to_numpy() for part in parts])[order]
            for column in ALLOCATION_COLUMNS
        },
        columns=ALLOCATION_COLUMNS,
    )


def _decided_rows(
    payments: pd.DataFrame, decided: dict[str, Decision], book: OpenBook, as_of: date, rule_version: str
) -> tuple[pd.DataFrame, list[dict[str, object]], dict[str, int]]:
    """(allocations, exception rows, cash left per payment) of the payments the passes decided."""
    payment_ids: list[str] = []
    invoice_ids: list[str] = []
    amounts: list[int] = []
    currencies: list[str] = []
    rules: list[str] = []
    scores: list[float] = []
    evidences: list[str] = []
    remainders: list[int] = []
    exception_rows = []
    remaining_of: dict[str, int] = {}
    chosen = payments[among(payments["payment_id"], decided.keys())]
    for payment_id, currency, unapplied in zip(
        chosen["payment_id"].tolist(),
        chosen["currency"].tolist(),
        chosen["unapplied_minor"].tolist(),
        strict=True,
    ):
        decision = decided[payment_id]
        remaining = int(unapplied)
        if decision.parts:
            evidence = _EVIDENCE.encode(decision.evidence)
            score = round(decision.score, 4)
            for invoice_id, amount in decision.parts:
                remaining -= amount
                payment_ids.append(payment_id)
                invoice_ids.append(invoice_id)
                amounts.append(amount)
                currencies.append(currency)
                rules.append(decision.rule)
                scores.append(score)
                evidences.append(evidence)
                remainders.append(remaining)
        else:
            exception_rows.append(
                {
                    "payment_id": payment_id,
                    "currency": currency,
                    "unapplied_minor": remaining,
                    "reason": decision.reason or "no invoice found",
                    "as_of": as_of,
                    "suggestions": json.dumps(decision.suggestions),
                }
            )
        remaining_of[payment_id] = remaining
    allocations = pd.DataFrame(
        {
            "allocation_id": np.array(
                [f"{p}/{i}" for p, i in zip(payment_ids, invoice_ids, strict=True)], object
            ),
            "payment_id": np.array(payment_ids, dtype=object),
            "invoice_id": np.array(invoice_ids, dtype=object),
            "amount_minor": np.array(amounts, dtype=np.int64),
            "currency": np.array(currencies, dtype=object),
            "rule": np.array(rules, dtype=object),
            "rule_version": rule_version,
            "score": np.array(scores, dtype=np.float64),
            "evidence": np.array(evidences, dtype=object),
            "as_of": as_of,
            "payment_unapplied_after_minor": np.array(remainders, dtype=np.int64),
            "invoice_open_after_minor": np.fromiter(
                (book.open_left[i] for i in invoice_ids), dtype=np.int64, count=len(invoice_ids)
            ),
            "payment_amount_minor": np.array(amounts, dtype=np.int64),
            "payment_currency": np.array(currencies, dtype=object),
        },
        columns=ALLOCATION_COLUMNS,
    )
    return allocations, exception_rows, remaining_of


def _certain_allocations(
    certain: pd.DataFrame,
    payments: pd.DataFrame,
    where: pd.Index,
    book: OpenBook,
    as_of: date,
    rule_version: str,
) -> pd.DataFrame:
    """The certain matches as allocation rows: each uses up its payment on its invoice; what the
    invoice has open after is read at the round's end, as for the passes' decisions (`where`: the
    index of `payments`' ids)."""
    # whole columns as arrays (no index to align): the payments' currencies by their positions, the
    # open amounts by `map` over the book's dict; no Python frame per row
    payment_ids = certain["payment_id"].to_numpy()
    invoice_ids = certain["invoice_id"].tolist()
    found = where.get_indexer(payment_ids)
    if (found < 0).any():  # as a lookup by payment would: a certain match of no payment here is a bug
        raise KeyError(payment_ids[np.flatnonzero(found < 0)[0]])
    paid_in = payments["currency"].to_numpy(dtype=object)[found]
    amounts = certain["amount_minor"].to_numpy()
    return pd.DataFrame(
        {
            "allocation_id": pc.binary_join_element_wise(
                pa.array(payment_ids, pa.string()), pa.array(invoice_ids, pa.string()), "/"
            ).to_numpy(zero_copy_only=False),
            "payment_id": payment_ids,
            "invoice_id": certain["invoice_id"].to_numpy(),
            "amount_minor": amounts,
            "currency": paid_in,
            "rule": certain["rule"].to_numpy(),
            "rule_version": rule_version,
            "score": certain["score"].astype(float).round(4).to_numpy(),
            "evidence": certain["evidence"].to_numpy(),
            "as_of": as_of,
            "payment_unapplied_after_minor": 0,
            "invoice_open_after_minor": np.fromiter(
                map(book.open_left.__getitem__, invoice_ids), dtype=np.int64, count=len(invoice_ids)
            ),
            "payment_amount_minor": amounts,
            "payment_currency": paid_in,
        },
        columns=ALLOCATION_COLUMNS,
    )


def unapplied_frame(payments: pd.DataFrame, left: dict[str, int]) -> pd.DataFrame:
    """payment_id, currency, unapplied_minor of every payment: `left` where given, else 0."""
    return pd.DataFrame(
        {
            "payment_id": payments["payment_id"].to_numpy(),
            "currency": payments["currency"].to_numpy(),
            # `left.get(payment, 0)` by `map`: no Series made of the dict, no Python frame per row
            "unapplied_minor": np.fromiter(
                map(left.get, payments["payment_id"].tolist(), repeat(0)), dtype=np.int64, count=len(payments)
            )
            if len(payments)
            else [],
        },
        columns=["payment_id", "currency", "unapplied_minor"],
    )


def run_counts(
    payments: pd.DataFrame,
    allocations: pd.DataFrame,
    unapplied: pd.DataFrame,
    exceptions: pd.DataFrame,
    write_offs: pd.DataFrame,
    cases: pd.DataFrame,
    **extra: int,
) -> dict[str, int]:
    """The counts a run reports; `extra` ones come before the per-rule counts."""
    counts = {
        "payments_considered": len(payments),
        "payments_matched": int(allocations["payment_id"].nunique()) if len(allocations) else 0,
        "allocations": len(allocations),
        "payments_left_unapplied": int((unapplied["unapplied_minor"] > 0).sum()) if len(unapplied) else 0,
        "exceptions": len(exceptions),
        "small_differences_written_off": int((write_offs["kind"] == "small_difference").sum()),
        "early_payment_discounts": int((write_offs["kind"] == "early_payment_discount").sum()),
        "deduction_cases_opened": len(cases),
        **extra,
    }
    by_rule = allocations.groupby("rule")["payment_id"].nunique().to_dict() if len(allocations) else {}
    counts.update({f"payments_by_{rule}": int(n) for rule, n in sorted(by_rule.items())})
    return counts


def combined(
    payments: pd.DataFrame,
    rounds: list[CashApplication],
    paired: set[tuple[str, str]],
    left: dict[str, int],
    queue: pd.DataFrame,
) -> CashApplication:
    """The rounds as one cash application: every round's allocations, write-offs and cases, the
    cash `left` on each payment and the exception `queue` after the last round (the state a new
    run would find)."""
    allocations, write_offs, cases = (
        stacked([getattr(r, name) for r in rounds]) for name in ("allocations", "write_offs", "cases")
    )
    unapplied = unapplied_frame(payments, left)
    held = queue["reason"].astype(str).str.startswith(ON_ACCOUNT) if len(queue) else pd.Series([], dtype=bool)
    exceptions = _with_cash_already_applied(queue[~held].reset_index(drop=True), paired)
    on_account = held_on_account(queue[held])
    return counted(
        payments, allocations, unapplied, exceptions, write_offs, cases, on_account, rounds=len(rounds)
    )


def held_on_account(rows: pd.DataFrame) -> pd.DataFrame:
    """The payments held on account of a known customer (the passes' `held on account of C`), as
    `cash_on_account` rows: the customer, the cash left, and the reason in words."""
    if not len(rows):
        return pd.DataFrame(columns=ON_ACCOUNT_COLUMNS)
    customers = rows["reason"].astype(str).str.removeprefix(ON_ACCOUNT)
    return pd.DataFrame(
        {
            "payment_id": rows["payment_id"].to_numpy(),
            "customer_id": customers.to_numpy(),
            "currency": rows["currency"].to_numpy(),
            "unapplied_minor": rows["unapplied_minor"].astype("int64").to_numpy(),
            "reason": (
                "no open "
                + rows["currency"].astype(str)
                + " invoice of "
                + customers
                + ": held on its account"
            ).to_numpy(),
            "as_of": rows["as_of"].to_numpy(),
        },
        columns=ON_ACCOUNT_COLUMNS,
    )


def counted(
    payments: pd.DataFrame,
    allocations: pd.DataFrame,
    unapplied: pd.DataFrame,
    exceptions: pd.DataFrame,
    write_offs: pd.DataFrame,
    cases: pd.DataFrame,
    on_account: pd.DataFrame,
    *,
    rounds: int,
) -> CashApplication:
    """A cash application of these frames, with the counts a run reports (`payments`: those
    considered; `rounds`: the matching rounds it took)."""
    counts = run_counts(
        payments,
        allocations,
        unapplied,
        exceptions,
        write_offs,
        cases,
        matching_rounds=rounds,
        held_on_account=len(on_account),
    )
    return CashApplication(allocations, unapplied, exceptions, counts, write_offs, cases, on_account)


def stacked(frames: list[pd.DataFrame]) -> pd.DataFrame:
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
    waiting = set(exceptions["payment_id"].tolist())
    paid: dict[str, list[str]] = {}
    for payment_id, invoice_id in sorted(pair for pair in paired if pair[0] in waiting):
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
        reasons.append(head if reason.startswith(NAMES_PAID) else f"{head}; {reason}")
    return exceptions.assign(reason=reasons)

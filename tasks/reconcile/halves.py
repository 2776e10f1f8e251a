"""A large batch's rounds run as two halves, one per core: its currencies split in two, the smaller
half's payments matched in a second process while this one matches the larger half's.

Why the halves give the same allocations as one run: every rule of a round looks only at invoices of
the payment's own currency (the invoices a payment names are looked up as `currency:number`, a
payer's invoices per (customer, currency), open amounts per (currency, amount)), and which payments
a round decides again depends only on what their decisions looked at (`seen.py`). So the rounds of
one currency never see those of another: each half reaches the same fixed point alone as within the
whole batch (checked on the 1M bench book: the same allocations, write-offs, cases, exceptions, cash
on account and counts). The pass across currencies and the reminder charges, which do look across,
run after the halves are joined.

Below `HALVES_FROM` payments, or when one currency holds nearly every payment, the second process
(about a second to start, and the batch's half to hand over) costs more than it saves: the batch
runs whole. Should the second process fail, this one matches that half too (the same answer).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tasks.platform.elsewhere import Elsewhere
from tasks.reconcile.named import named_invoices
from tasks.reconcile.outcome import CashApplication, counted, stacked, unapplied_frame
from tasks.reconcile.references import InvoiceKeys
from tasks.reconcile.sets import in_order

HALVES_FROM = 100_000  # payments in the batch
_SMALLER_AT_LEAST = 0.2  # of the payments, in the half matched elsewhere


def currency_halves(
    payments: pd.DataFrame, *, at_least: int | None = None
) -> tuple[set[str], set[str]] | None:
    """The currencies of the half matched here (the larger) and of the half matched elsewhere,
    each currency given to the lighter half by its count of payments, largest first; None when the
    batch is better matched whole (fewer than `at_least` payments, `HALVES_FROM` unless given)."""
    if len(payments) < (HALVES_FROM if at_least is None else at_least):
        return None
    counts = payments["currency"].astype(str).value_counts()
    here: set[str] = set()
    there: set[str] = set()
    weight = {"here": 0, "there": 0}
    for currency, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        side = "here" if weight["here"] <= weight["there"] else "there"
        (here if side == "here" else there).add(str(currency))
        weight[side] += int(count)
    if weight["there"] < _SMALLER_AT_LEAST * len(payments):
        return None
    return here, there


def of_currencies(frame: pd.DataFrame, currencies: set[str]) -> pd.DataFrame:
    """The rows of `frame` in one of `currencies`, in the order they stand."""
    return frame[frame["currency"].astype(str).isin(currencies).to_numpy()].reset_index(drop=True)


def start_elsewhere(
    payments: pd.DataFrame, invoices: pd.DataFrame, options: dict[str, Any], all_have_digits: bool
) -> Elsewhere | None:
    """`rounds_of_half` of these payments and invoices (in due order), started in a second process;
    None if it could not be started (the half is then matched here). `options`:
    `_apply_in_rounds`'s keyword arguments but the keys and what is named; the payer directory goes
    without its link to the process ranking names (this half's names are ranked in its own
    process, as they are asked for)."""
    payers = options.get("payers")
    sent = dict(options, payers=payers.detached() if payers is not None else None)
    try:
        return Elsewhere(__name__, "rounds_of_half", payments, invoices, sent, all_have_digits)
    except OSError:  # no process to be had (a limit on processes, no disk for the hand-over)
        return None


def half_result(
    elsewhere: Elsewhere | None,
    payments: pd.DataFrame,
    invoices: pd.DataFrame,
    options: dict[str, Any],
    all_have_digits: bool,
) -> tuple[CashApplication, InvoiceKeys, pd.DataFrame]:
    """What `rounds_of_half` gave in the second process; worked out here if it never started or
    failed (the same answer either way)."""
    if elsewhere is not None:
        try:
            return elsewhere.result()  # type: ignore[no-any-return]
        except OSError:
            pass
    return rounds_of_half(payments, invoices, options, all_have_digits)


def rounds_of_half(
    payments: pd.DataFrame, invoices: pd.DataFrame, options: dict[str, Any], all_have_digits: bool
) -> tuple[CashApplication, InvoiceKeys, pd.DataFrame]:
    """The rounds of one half, with the keys of its invoices and what its payments name, read first
    (in the second process, or here should it have failed)."""
    from tasks.reconcile.apply import _apply_in_rounds, _no_cycle_collection

    with _no_cycle_collection():
        keys, named = texts_of_half(payments, invoices, all_have_digits)
        return _apply_in_rounds(payments, invoices, keys=keys, named=named, **options), keys, named


def texts_of_half(
    payments: pd.DataFrame,
    invoices: pd.DataFrame,
    all_have_digits: bool,
    owners: dict[str, str] | None = None,
) -> tuple[InvoiceKeys, pd.DataFrame]:
    """The keys of a half's invoices (in due order) and the invoices its payments name, as
    `apply_cash` reads them for the whole batch (`all_have_digits`: of the whole batch's invoices;
    `owners`: invoice -> customer, of these invoices or more; made here when not given)."""
    keys = InvoiceKeys(invoices, in_due_order=True, all_have_digits=all_have_digits)
    if owners is None:
        owners = dict(zip(invoices["invoice_id"].tolist(), invoices["customer_id"].tolist(), strict=True))
    return keys, named_invoices(in_order(payments, ["value_date", "payment_id"]), keys, owners)


def joined_halves(ordered: pd.DataFrame, halves: list[CashApplication]) -> CashApplication:
    """The halves as one cash application over `ordered` (the batch's payments by value date): the
    allocations, write-offs, cases, exceptions and cash on account of the first half, then of the
    second; the rounds counted as the longer half needed them (the halves ran side by side)."""
    allocations, write_offs, cases, exceptions, on_account = (
        stacked([getattr(h, name) for h in halves]).reset_index(drop=True)
        for name in ("allocations", "write_offs", "cases", "exceptions", "on_account")
    )
    left: dict[str, int] = {}
    for half in halves:
        left.update(
            zip(
                half.unapplied["payment_id"].tolist(), half.unapplied["unapplied_minor"].tolist(), strict=True
            )
        )
    rounds = max(h.counts.get("matching_rounds", 0) for h in halves)
    return counted(
        ordered,
        allocations,
        unapplied_frame(ordered, left),
        exceptions,
        write_offs,
        cases,
        on_account,
        rounds=rounds,
    )

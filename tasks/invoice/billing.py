"""Invoice: fulfilled, not yet billed orders in; numbered invoices out.

Pure: the caller passes the unbilled orders (with their customer's payment terms), their lines and
the last number used per series and year. Invoices are issued by `tasks/invoice/issue.py`, credit
notes by `tasks/invoice/credits.py`; this module decides what is billed, what is refused and why,
and checks the completeness of the run. Numbers continue each year's series without gaps and are
only consumed by invoices that are published with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from tasks.invoice.credits import billed_so_far, credit_notes, credits_to_issue, settle_credits
from tasks.invoice.issue import issue_invoices, last_numbers, line_totals, subscription_invoices


@dataclass
class Billing:
    invoices: pd.DataFrame  # one row per new invoice
    sequences: pd.DataFrame  # series, year, last_number after this billing
    skipped: pd.DataFrame  # order_id, reason: fulfilled orders that could not be billed
    lines: pd.DataFrame = field(default_factory=pd.DataFrame)  # each invoice's lines, as billed
    control: pd.DataFrame = field(default_factory=pd.DataFrame)  # completeness, per currency
    adjustments: pd.DataFrame = field(default_factory=pd.DataFrame)  # credit notes settled on invoices
    periods: pd.DataFrame = field(default_factory=pd.DataFrame)  # subscription periods billed
    instalments: pd.DataFrame = field(default_factory=pd.DataFrame)  # the parts of invoices paid in parts

    def counts(self) -> dict[str, int]:
        """What the run billed, as its summary and audit record say it."""
        issued = self.invoices
        if not len(issued):
            return {
                "orders_billed": 0,
                "subscription_periods_billed": 0,
                "credit_notes": 0,
                "orders_skipped": len(self.skipped),
                "amount_billed_minor": 0,
            }
        return {
            "orders_billed": int(((issued["kind"] == "invoice") & issued["order_id"].notna()).sum()),
            "subscription_periods_billed": len(self.periods),
            "credit_notes": int((issued["kind"] == "credit_note").sum()),
            "orders_skipped": len(self.skipped),
            "amount_billed_minor": int(issued["amount_minor"].sum()),
        }


def bill_orders(
    orders: pd.DataFrame,
    lines: pd.DataFrame,
    sequences: pd.DataFrame,
    *,
    as_of: date,
    series: str,
    billed: pd.DataFrame | None = None,
    periods: pd.DataFrame | None = None,
    refused: dict[str, str] | None = None,
) -> Billing:
    """Bill every order and subscription period (see `bill_series`), each legal entity in its own
    series: the orders and periods of customers with a `legal_entity` are numbered in the series
    named by it (`DE01-2026-000001`, credit notes `DE01-CN-2026-000001`), the others in `series`.
    Each series is gapless per year on its own. `refused` (customer_id -> reason) names customers
    no valid invoice can be issued to: their orders are skipped with that reason before numbering,
    their subscription periods wait for the next run."""
    if refused and periods is not None and "customer_id" in periods:
        periods = periods[~periods["customer_id"].astype(str).isin(refused.keys())]
    entity_of_order = _entities(orders)
    entity_of_period = _entities(periods)
    entities = sorted(set(entity_of_order) | set(entity_of_period))
    if entities in ([], [""]):
        return bill_series(
            orders,
            lines,
            sequences,
            as_of=as_of,
            series=series,
            billed=billed,
            periods=periods,
            refused=refused,
        )
    parts = []
    for entity in entities:
        mine = orders[entity_of_order == entity]
        part = bill_series(
            mine,
            lines[lines["order_id"].isin(mine["order_id"])],
            sequences,
            as_of=as_of,
            series=entity or series,
            billed=billed,
            periods=periods[entity_of_period == entity] if periods is not None else None,
            refused=refused,
        )
        part.invoices = part.invoices.assign(legal_entity=entity or None)
        parts.append(part)
    control = pd.concat([p.control for p in parts if len(p.control)] or [parts[0].control])
    numbers = ["orders_in", "amount_in_minor", "orders_out", "amount_out_minor"]
    if len(control):
        control = control.groupby("currency", as_index=False)[numbers].sum()[["currency", *numbers]]

    def joined(name: str) -> pd.DataFrame:
        frames = [getattr(p, name) for p in parts]
        return pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)

    return Billing(
        joined("invoices"),
        joined("sequences"),
        joined("skipped"),
        joined("lines"),
        control,
        joined("adjustments"),
        joined("periods"),
        joined("instalments"),
    )


def _entities(frame: pd.DataFrame | None) -> pd.Series:
    """Each row's legal entity ('' for the workspace's own series)."""
    if frame is None:
        return pd.Series(dtype=object)
    if "legal_entity" not in frame:
        return pd.Series("", index=frame.index, dtype=object)
    return frame["legal_entity"].fillna("").astype(str).str.strip()


def bill_series(
    orders: pd.DataFrame,
    lines: pd.DataFrame,
    sequences: pd.DataFrame,
    *,
    as_of: date,
    series: str,
    billed: pd.DataFrame | None = None,
    periods: pd.DataFrame | None = None,
    refused: dict[str, str] | None = None,
) -> Billing:
    """Bill every order in `orders`, issued on `as_of`: an invoice due after the customer's terms,
    or, for an order that credits another (`credit_for`: a cancellation or a return, its lines with
    negative quantities), a credit note against the invoice of the order it credits. An order of
    returns only that names no order (as the Online Retail file's `C` invoices) is a credit note on
    the customer's account: it stays open, negative, as the customer's credit.

    orders: order_id, customer_id, currency, fulfilled_date, payment_terms_days, payment_terms
    (optional: "net 30", "eom 15", "2% 10 net 30"; see `tasks/platform/terms.py`), credit_for (optional).
    lines: order_id, line_no, quantity, unit_price_minor, tax_rate_ppm.
    sequences: series, year, last_number. Invoices are numbered in `series`, credit notes in
    `<series>-CN`, each without gaps.
    billed: order_id, invoice_id, customer_id, currency, open_minor of orders billed before.
    periods: subscription periods due (`tasks/invoice/subscriptions.periods_due`) with their customer's
    payment_terms_days and payment_terms: each billed as an invoice of one line, numbered after the
    orders' invoices.
    """
    priced = line_totals(lines) if len(lines) else lines.assign(net_minor=[], tax_minor=[])
    totals = _order_totals(priced)
    billable = _billable(orders, totals)
    reasons, is_credit, on_account = _refusals(billable, priced)
    if refused:  # no valid invoice can be issued to them: refused before anything is numbered
        theirs = billable["customer_id"].astype(str).map(refused)
        reasons = reasons.where(reasons.notna() | theirs.isna(), theirs)
        on_account = on_account & reasons.isna()
    invoices, instalments = issue_invoices(
        billable[reasons.isna() & ~is_credit & ~on_account], as_of, series, sequences
    )
    subscribed, period_lines, billed_periods, period_instalments = subscription_invoices(
        periods, as_of, series, sequences, len(invoices)
    )
    known = billed_so_far(billed, invoices)
    credits, not_credited = credits_to_issue(
        billable[reasons.isna() & is_credit], billable[on_account], known
    )
    reasons[not_credited.index] = not_credited
    notes = credit_notes(credits, credits["credit_for"].map(known["invoice_id"]), as_of, series, sequences)
    everything = pd.concat(
        [f for f in (invoices, subscribed, notes) if len(f)] or [invoices], ignore_index=True
    )
    skipped = pd.DataFrame(
        {"order_id": billable.loc[reasons.notna(), "order_id"], "reason": reasons.dropna()}
    )
    return Billing(
        everything,
        last_numbers(sequences, everything, series, as_of.year),
        skipped.reset_index(drop=True),
        _billed_lines(priced, everything, period_lines),
        completeness(orders, totals, everything, skipped),
        settle_credits(notes, known.set_index("invoice_id")["open_minor"], as_of),
        billed_periods,
        pd.concat(
            [f for f in (instalments, period_instalments) if len(f)] or [instalments], ignore_index=True
        ),
    )


def _order_totals(priced: pd.DataFrame) -> pd.DataFrame:
    """Net and tax per order, from its priced lines."""
    if not len(priced):
        return pd.DataFrame(columns=["net_minor", "tax_minor"])
    return priced.groupby("order_id")[["net_minor", "tax_minor"]].sum()


def _billable(orders: pd.DataFrame, totals: pd.DataFrame) -> pd.DataFrame:
    """The orders with their lines' net and tax, `credit_for` None where it names no order, in
    billing order (fulfilled date, then order id)."""
    billable = orders.merge(totals, left_on="order_id", right_index=True, how="left")
    if "credit_for" not in billable:
        billable["credit_for"] = None
    billable["credit_for"] = billable["credit_for"].where(billable["credit_for"].fillna("") != "", None)
    return billable.sort_values(["fulfilled_date", "order_id"]).reset_index(drop=True)


def _refusals(billable: pd.DataFrame, priced: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Why each order cannot be billed (None: it can), which orders credit another, and which are
    returns naming no order (credit on the customer's account)."""
    reasons = pd.Series(None, index=billable.index, dtype=object)
    reasons[billable["net_minor"].isna()] = "order has no lines"
    amount = pd.to_numeric(billable["net_minor"]).fillna(0) + pd.to_numeric(billable["tax_minor"]).fillna(0)
    is_credit = billable["credit_for"].notna()
    positive = priced[priced["quantity"] > 0]["order_id"] if len(priced) else pd.Series(dtype=object)
    returns_only = billable["net_minor"].notna() & ~billable["order_id"].isin(positive)
    reasons[reasons.isna() & ~is_credit & (amount < 0) & ~returns_only] = (
        "its lines total below zero but are not all returns: bill the sale and the return apart"
    )
    on_account = reasons.isna() & ~is_credit & returns_only  # a return naming no order: the customer's credit
    reasons[reasons.isna() & is_credit & billable["order_id"].isin(positive)] = (
        "a cancellation or return has lines with positive quantities"
    )
    return reasons, is_credit, on_account


def _billed_lines(priced: pd.DataFrame, issued: pd.DataFrame, period_lines: pd.DataFrame) -> pd.DataFrame:
    """Each issued invoice's lines (orders' and subscription periods'), in invoice and line order."""
    billed_lines = priced.merge(issued[["order_id", "invoice_id", "currency"]].dropna(), on="order_id")
    if len(period_lines):
        billed_lines = pd.concat([billed_lines, period_lines], ignore_index=True)
    billed_lines = billed_lines.sort_values(["invoice_id", "line_no"]).reset_index(drop=True)
    return billed_lines[[c for c in LINE_COLUMNS if c in billed_lines.columns]]


def completeness(
    orders: pd.DataFrame, totals: pd.DataFrame, invoices: pd.DataFrame, skipped: pd.DataFrame
) -> pd.DataFrame:
    """The control between the fulfilled orders in and what came out, per currency, in count and in
    amount (net + tax of their lines): orders in = invoiced + skipped with a reason."""
    columns = ["currency", "orders_in", "amount_in_minor", "orders_out", "amount_out_minor"]
    if not len(orders):
        return pd.DataFrame(columns=columns)
    amount = (totals["net_minor"] + totals["tax_minor"]) if len(totals) else pd.Series(dtype="int64")
    frame = orders[["order_id", "currency"]].assign(
        amount_minor=orders["order_id"].map(amount).fillna(0).astype("int64")
    )
    out = pd.concat(
        [
            invoices.loc[invoices["order_id"].notna(), ["order_id", "currency", "amount_minor"]],
            frame[frame["order_id"].isin(skipped["order_id"])],
        ]
    )
    into = frame.groupby("currency").agg(
        orders_in=("order_id", "size"), amount_in_minor=("amount_minor", "sum")
    )
    outof = out.groupby("currency").agg(
        orders_out=("order_id", "size"), amount_out_minor=("amount_minor", "sum")
    )
    control = into.join(outof, how="outer").fillna(0).astype("int64").reset_index()
    return control[columns]


LINE_COLUMNS = [
    "invoice_id",
    "line_no",
    "order_id",
    "sku",
    "description",
    "quantity",
    "unit_price_minor",
    "tax_rate_ppm",
    "net_minor",
    "tax_minor",
    "currency",
]


BUYER_COLUMNS = [
    "invoice_id", "customer_id", "name", "email", "address", "postcode", "city", "country", "vat_id",
    "einvoice", "buyer_reference", "language",
]  # fmt: skip


def buyers_of(invoices: pd.DataFrame, customers: pd.DataFrame | None) -> pd.DataFrame:
    """Who each invoice billed now is made out to, as the customer master says today: the snapshot
    its documents print for ever after (`invoice_buyers`)."""
    if customers is None or not len(invoices):
        return pd.DataFrame(columns=BUYER_COLUMNS)
    known = customers.drop_duplicates("customer_id")
    merged = invoices[["invoice_id", "customer_id"]].merge(known, on="customer_id", how="left")
    for column in BUYER_COLUMNS:
        if column not in merged.columns:
            merged[column] = None
    return merged[BUYER_COLUMNS].reset_index(drop=True)


def within(facts: dict[str, Any], customers: frozenset[str]) -> dict[str, Any]:
    """The invoice stage's facts limited to `customers` (`tasks/platform/scope.py`): their orders,
    those orders' lines, their subscriptions; the rest (numbering, the customer master) whole."""
    orders = facts["orders"][facts["orders"]["customer_id"].astype(str).isin(customers)]
    subscriptions = facts["subscriptions"]
    return facts | {
        "orders": orders.reset_index(drop=True),
        "lines": facts["lines"][facts["lines"]["order_id"].isin(orders["order_id"])].reset_index(drop=True),
        "subscriptions": subscriptions[subscriptions["customer_id"].astype(str).isin(customers)].reset_index(
            drop=True
        ),
    }

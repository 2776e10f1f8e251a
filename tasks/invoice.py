"""Invoice: fulfilled, not yet billed orders in; numbered invoices out.

Pure: the caller passes the unbilled orders (with their customer's payment terms), their lines and
the last number used per series and year. Each line's tax is rounded on its own, so an invoice
total is always the sum of its rounded lines. Numbers continue each year's series without gaps and
are only consumed by invoices that are published with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from tasks.terms import parse_terms

PPM = 1_000_000


@dataclass
class Billing:
    invoices: pd.DataFrame  # one row per new invoice
    sequences: pd.DataFrame  # series, year, last_number after this billing
    skipped: pd.DataFrame  # order_id, reason: fulfilled orders that could not be billed
    lines: pd.DataFrame = field(default_factory=pd.DataFrame)  # each invoice's lines, as billed
    control: pd.DataFrame = field(default_factory=pd.DataFrame)  # completeness, per currency


def line_totals(lines: pd.DataFrame) -> pd.DataFrame:
    """Net and tax per line in minor units; tax = net x rate, rounded half away from zero per line."""
    net = lines["quantity"].astype("int64") * lines["unit_price_minor"].astype("int64")
    ppm = lines["tax_rate_ppm"].astype("int64")
    magnitude = (2 * net.abs() * ppm + PPM) // (2 * PPM)
    tax = magnitude.where(net >= 0, -magnitude)
    return lines.assign(net_minor=net, tax_minor=tax)


def bill_orders(
    orders: pd.DataFrame, lines: pd.DataFrame, sequences: pd.DataFrame, *, as_of: date, series: str
) -> Billing:
    """Bill every order in `orders`, issued on `as_of`, due after the customer's terms.

    orders: order_id, customer_id, currency, fulfilled_date, payment_terms_days, payment_terms
    (optional: "net 30", "eom 15", "2% 10 net 30"; see `tasks/terms.py`).
    lines: order_id, line_no, quantity, unit_price_minor, tax_rate_ppm.
    sequences: series, year, last_number.
    """
    priced = line_totals(lines) if len(lines) else lines.assign(net_minor=[], tax_minor=[])
    totals = (
        priced.groupby("order_id")[["net_minor", "tax_minor"]].sum()
        if len(priced)
        else pd.DataFrame(columns=["net_minor", "tax_minor"])
    )
    billable = orders.merge(totals, left_on="order_id", right_index=True, how="left")
    no_lines = billable["net_minor"].isna()
    skipped = pd.DataFrame({"order_id": billable.loc[no_lines, "order_id"], "reason": "order has no lines"})
    billable = billable[~no_lines].sort_values(["fulfilled_date", "order_id"]).reset_index(drop=True)

    year = as_of.year
    known = sequences[(sequences["series"] == series) & (sequences["year"] == year)]
    last = int(known["last_number"].iloc[0]) if len(known) else 0
    numbers = range(last + 1, last + 1 + len(billable))
    written = (
        billable["payment_terms"] if "payment_terms" in billable else pd.Series("", index=billable.index)
    )
    terms = [
        parse_terms(text, int(days))
        for text, days in zip(written.fillna(""), billable["payment_terms_days"].astype("int64"), strict=True)
    ]
    amounts = (billable["net_minor"] + billable["tax_minor"]).astype("int64")
    discounts = [t.discount(as_of, int(a)) for t, a in zip(terms, amounts, strict=True)]
    invoices = pd.DataFrame(
        {
            "invoice_id": [f"{series}-{year}-{n:06d}" for n in numbers],
            "customer_id": billable["customer_id"],
            "order_id": billable["order_id"],
            "issue_date": as_of,
            "due_date": [t.due(as_of) for t in terms],
            "currency": billable["currency"],
            "net_minor": billable["net_minor"].astype("int64"),
            "tax_minor": billable["tax_minor"].astype("int64"),
            "discount_date": pd.Series([d for d, _ in discounts], dtype=object),
            "discount_amount_minor": pd.Series([v for _, v in discounts], dtype="Int64"),
        }
    )
    invoices["amount_minor"] = invoices["net_minor"] + invoices["tax_minor"]
    invoices["origin"] = "billed"
    new_sequences = pd.DataFrame({"series": [series], "year": [year], "last_number": [last + len(billable)]})
    billed_lines = priced.merge(invoices[["order_id", "invoice_id", "currency"]], on="order_id")
    billed_lines = billed_lines.sort_values(["invoice_id", "line_no"]).reset_index(drop=True)
    return Billing(
        invoices,
        new_sequences if len(billable) else new_sequences.iloc[0:0],
        skipped,
        billed_lines[[c for c in LINE_COLUMNS if c in billed_lines.columns]],
        completeness(orders, totals, invoices, skipped),
    )


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
            invoices[["order_id", "currency", "amount_minor"]],
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

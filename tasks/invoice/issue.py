"""Issuing invoices: numbered invoices for orders and for subscription periods, with their due
date, early-payment discount and instalments from the payment terms, and the last number each
series reaches.

Pure. Each line's tax is rounded on its own (`line_totals`), so an invoice total is always the sum
of its rounded lines; numbers continue each year's series without gaps.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from tasks.platform.terms import parse_terms

PPM = 1_000_000
INSTALMENT_COLUMNS = ["invoice_id", "instalment", "due_date", "amount_minor", "currency"]


def line_totals(lines: pd.DataFrame) -> pd.DataFrame:
    """Net and tax per line in minor units; tax = net x rate, rounded half away from zero per line."""
    net = lines["quantity"].astype("int64") * lines["unit_price_minor"].astype("int64")
    ppm = lines["tax_rate_ppm"].astype("int64")
    magnitude = (2 * net.abs() * ppm + PPM) // (2 * PPM)
    tax = magnitude.where(net >= 0, -magnitude)
    return lines.assign(net_minor=net, tax_minor=tax)


def last_number(sequences: pd.DataFrame, series: str, year: int) -> int:
    known = sequences[(sequences["series"] == series) & (sequences["year"] == year)]
    return int(known["last_number"].iloc[0]) if len(known) else 0


def issue_invoices(
    regular: pd.DataFrame, as_of: date, series: str, sequences: pd.DataFrame, offset: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Invoices of `regular` (orders or subscription periods with their net and tax), numbered from
    the series' last number + `offset` + 1, with the instalments of those whose terms split them."""
    year = as_of.year
    last = last_number(sequences, series, year) + offset
    numbers = range(last + 1, last + 1 + len(regular))
    written = regular["payment_terms"] if "payment_terms" in regular else pd.Series("", index=regular.index)
    read: dict[tuple[str, int], Any] = {}  # a few distinct terms among many orders: read each once
    terms = [
        read.get((text, days)) or read.setdefault((text, days), parse_terms(text, days))
        for text, days in zip(
            written.fillna("").tolist(), regular["payment_terms_days"].astype("int64").tolist(), strict=True
        )
    ]
    amounts = (regular["net_minor"] + regular["tax_minor"]).astype("int64")
    discounts = [t.discount(as_of, int(a)) for t, a in zip(terms, amounts, strict=True)]
    # a discount that rounds to nothing (2 % of 0.24) or to the whole amount is not offered at all
    discounts = [
        (day, value) if value is not None and 0 < value < int(a) else (None, None)
        for (day, value), a in zip(discounts, amounts, strict=True)
    ]
    invoices = pd.DataFrame(
        {
            "invoice_id": [f"{series}-{year}-{n:06d}" for n in numbers],
            "customer_id": regular["customer_id"].to_numpy(),
            "order_id": regular["order_id"].to_numpy(),
            "issue_date": as_of,
            "due_date": [t.schedule(as_of, int(a))[-1][0] for t, a in zip(terms, amounts, strict=True)],
            "currency": regular["currency"].to_numpy(),
            "net_minor": regular["net_minor"].astype("int64").to_numpy(),
            "tax_minor": regular["tax_minor"].astype("int64").to_numpy(),
            "discount_date": pd.Series([d for d, _ in discounts], dtype=object),
            "discount_amount_minor": pd.Series([v for _, v in discounts], dtype="Int64"),
        }
    )
    invoices["amount_minor"] = invoices["net_minor"] + invoices["tax_minor"]
    invoices["origin"] = "billed"
    invoices["kind"] = "invoice"
    invoices["credit_for_invoice"] = None
    instalments = pd.DataFrame(
        [
            {"invoice_id": i, "instalment": n + 1, "due_date": d, "amount_minor": a, "currency": c}
            for i, t, total, c in zip(
                invoices["invoice_id"], terms, amounts, invoices["currency"], strict=True
            )
            if t.instalments > 1
            for n, (d, a) in enumerate(t.schedule(as_of, int(total)))
        ],
        columns=INSTALMENT_COLUMNS,
    )
    return invoices, instalments


def subscription_invoices(
    periods: pd.DataFrame | None, as_of: date, series: str, sequences: pd.DataFrame, after: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(invoices, their lines, the periods they bill, instalments) for the subscription periods due, numbered
    after the `after` invoices of orders in this run."""
    period_columns = ["subscription_id", "period_start", "period_end", "invoice_id"]
    if periods is None or not len(periods):
        empty = pd.DataFrame(columns=INSTALMENT_COLUMNS)
        return pd.DataFrame(), pd.DataFrame(), pd.DataFrame(columns=period_columns), empty
    lines = line_totals(
        periods.assign(quantity=1, unit_price_minor=periods["amount_minor"], line_no=1).reset_index(drop=True)
    )
    priced = periods.reset_index(drop=True).assign(
        net_minor=lines["net_minor"], tax_minor=lines["tax_minor"], order_id=None
    )
    issued, instalments = issue_invoices(priced, as_of, series, sequences, offset=after)
    issued["subscription_id"] = priced["subscription_id"].to_numpy()
    issued["order_id"] = None
    period_lines = pd.DataFrame(
        {
            "invoice_id": issued["invoice_id"],
            "line_no": 1,
            "order_id": None,
            "sku": priced["subscription_id"].to_numpy(),
            "description": [
                f"{plan} {start} to {end}".strip()
                for plan, start, end in zip(
                    priced["plan"], priced["period_start"], priced["period_end"], strict=True
                )
            ],
            "quantity": 1,
            "unit_price_minor": priced["amount_minor"].to_numpy(),
            "tax_rate_ppm": priced["tax_rate_ppm"].to_numpy(),
            "net_minor": priced["net_minor"].to_numpy(),
            "tax_minor": priced["tax_minor"].to_numpy(),
            "currency": priced["currency"].to_numpy(),
        }
    )
    billed = priced[["subscription_id", "period_start", "period_end"]].assign(invoice_id=issued["invoice_id"])
    return issued, period_lines, billed[period_columns], instalments


def last_numbers(sequences: pd.DataFrame, issued: pd.DataFrame, series: str, year: int) -> pd.DataFrame:
    """The last number used per series this run issued in."""
    rows = []
    for name, kind in ((series, "invoice"), (f"{series}-CN", "credit_note")):
        count = int((issued["kind"] == kind).sum()) if len(issued) else 0
        if count:
            rows.append(
                {"series": name, "year": year, "last_number": last_number(sequences, name, year) + count}
            )
    return pd.DataFrame(rows, columns=["series", "year", "last_number"])

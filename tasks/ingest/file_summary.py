"""What became of one file of orders: rows and amounts in, quarantined (by reason), loaded, and
billed on invoices and credit notes, with the controls that tie them together.

Pure: the file's order lines (as read), its quarantined rows and what the ledger holds of its
batches in; a table of figures and the controls out. A line's amount in the file is quantity x
unit price, exact (decimal text, never a float); what the ledger holds is in minor units.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

from tasks.platform.money import exponent

_VALUES = re.compile(r"'[^']*'|\d+")


def reason_class(reasons: str) -> str:
    """A quarantine reason without its row's own values ("exact duplicate of row 9" and "... of
    row 12" are one class)."""
    first = str(reasons).split("; ")[0]
    return " ".join(_VALUES.sub("N", first).split())


def line_amount(quantity: Any, unit_price: Any) -> Decimal | None:
    try:
        return Decimal(str(quantity).strip()) * Decimal(str(unit_price).strip())
    except (InvalidOperation, ValueError):
        return None


def summarise(
    lines: pd.DataFrame,
    first_row_number: int,
    counts_in: dict[str, int],
    quarantined: pd.DataFrame,
    loaded: pd.DataFrame,
) -> dict[str, Any]:
    """The figures of one file.

    lines: the file's order lines as text (index = position in the file); counts_in: rows per
    dataset in the file; quarantined: (dataset, row_number, reasons); loaded: the `summary/loaded`
    query (what, n, currency, net_minor).
    """
    amounts = [line_amount(q, p) for q, p in zip(lines["quantity"], lines["unit_price"], strict=True)]
    amount_of = dict(zip(lines.index, amounts, strict=True))
    got = {row.what: row for row in loaded.itertuples()}
    currency = str(got["order lines"].currency) if pd.notna(got["order lines"].currency) else ""
    scale = Decimal(10) ** exponent(currency) if currency else Decimal(1)

    def major(minor: Any) -> Decimal:
        return Decimal(0) if minor is None or pd.isna(minor) else Decimal(int(minor)) / scale

    in_amount = sum((a for a in amounts if a is not None), Decimal(0))
    rows = [
        _figure("customers in the file", counts_in.get("customers", 0)),
        _figure("orders in the file", counts_in.get("orders", 0)),
        _figure("order lines in the file", len(lines), in_amount),
    ]
    q_amount = _quarantined_figures(rows, quarantined, amount_of, first_row_number)
    loaded_amount = major(got["order lines"].net_minor)
    on_invoices = major(got["lines on invoices"].net_minor)
    on_credits = major(got["lines on credit notes"].net_minor)
    rows += [
        _figure("customers loaded", got["customers"].n),
        _figure("orders loaded", got["orders"].n),
        _figure("order lines loaded", got["order lines"].n, loaded_amount),
        _figure("orders invoiced", got["orders invoiced"].n),
        _figure("order lines on invoices", got["lines on invoices"].n, on_invoices),
        _figure("orders credited (credit notes)", got["orders credited"].n),
        _figure("order lines on credit notes", got["lines on credit notes"].n, on_credits),
        _figure(
            "order lines loaded, not billed",
            int(got["order lines"].n) - int(got["lines on invoices"].n) - int(got["lines on credit notes"].n),
            loaded_amount - on_invoices - on_credits,
        ),
    ]
    lines_q = int((quarantined["dataset"] == "order_lines").sum())
    controls = {
        "lines in = quarantined + loaded": len(lines) == lines_q + int(got["order lines"].n),
        "amount in = quarantined + loaded": in_amount == q_amount + loaded_amount,
    }
    return {"currency": currency, "figures": rows, "controls": controls}


def _figure(what: str, n: int, amount: Decimal | None = None) -> dict[str, Any]:
    """One line of the table: what, how many rows, and their amount (two decimals where exact)."""
    shown = None if amount is None else f"{amount:.2f}" if amount == round(amount, 2) else f"{amount:f}"
    return {"what": what, "rows": int(n), "amount": shown}


def _quarantined_figures(
    rows: list[dict[str, Any]],
    quarantined: pd.DataFrame,
    amount_of: dict[Any, Decimal | None],
    first_row_number: int,
) -> Decimal:
    """Append the quarantined rows by dataset and reason class; the quarantined order lines' amount."""
    q_amount = Decimal(0)
    for dataset in ("customers", "orders", "order_lines"):
        mine = quarantined[quarantined["dataset"] == dataset]
        if mine.empty:
            continue
        label = dataset.replace("_", " ")
        classes = mine.assign(why=mine["reasons"].map(reason_class)).groupby("why", sort=True)
        for why, group in classes:
            amount = None
            if dataset == "order_lines":
                found = [amount_of.get(int(r) - first_row_number) for r in group["row_number"]]
                amount = sum((a for a in found if a is not None), Decimal(0))
                q_amount += amount
            rows.append(_figure(f"{label} quarantined: {why}", len(group), amount))
    return q_amount

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

from tasks.platform.terms import parse_terms
from tasks.reconcile.short_payments import ADJUSTMENT_COLUMNS

PPM = 1_000_000


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


def line_totals(lines: pd.DataFrame) -> pd.DataFrame:
    """Net and tax per line in minor units; tax = net x rate, rounded half away from zero per line."""
    net = lines["quantity"].astype("int64") * lines["unit_price_minor"].astype("int64")
    ppm = lines["tax_rate_ppm"].astype("int64")
    magnitude = (2 * net.abs() * ppm + PPM) // (2 * PPM)
    tax = magnitude.where(net >= 0, -magnitude)
    return lines.assign(net_minor=net, tax_minor=tax)


def bill_orders(
    orders: pd.DataFrame,
    lines: pd.DataFrame,
    sequences: pd.DataFrame,
    *,
    as_of: date,
    series: str,
    billed: pd.DataFrame | None = None,
    periods: pd.DataFrame | None = None,
) -> Billing:
    """Bill every order and subscription period (see `bill_series`), each legal entity in its own
    series: the orders and periods of customers with a `legal_entity` are numbered in the series
    named by it (`DE01-2026-000001`, credit notes `DE01-CN-2026-000001`), the others in `series`.
    Each series is gapless per year on its own."""
    entity_of_order = _entities(orders)
    entity_of_period = _entities(periods)
    entities = sorted(set(entity_of_order) | set(entity_of_period))
    if entities in ([], [""]):
        return bill_series(
            orders, lines, sequences, as_of=as_of, series=series, billed=billed, periods=periods
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
    totals = (
        priced.groupby("order_id")[["net_minor", "tax_minor"]].sum()
        if len(priced)
        else pd.DataFrame(columns=["net_minor", "tax_minor"])
    )
    billable = orders.merge(totals, left_on="order_id", right_index=True, how="left")
    if "credit_for" not in billable:
        billable["credit_for"] = None
    billable["credit_for"] = billable["credit_for"].where(billable["credit_for"].fillna("") != "", None)
    billable = billable.sort_values(["fulfilled_date", "order_id"]).reset_index(drop=True)
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
    regular = billable[reasons.isna() & ~is_credit & ~on_account]
    invoices, instalments = _invoices(regular, as_of, series, sequences)
    subscribed, period_lines, billed_periods, period_instalments = _subscription_invoices(
        periods, as_of, series, sequences, len(invoices)
    )
    known = _billed_so_far(billed, invoices)
    credits = billable[reasons.isna() & is_credit]
    original = credits["credit_for"].map(known["invoice_id"])
    same = (credits["currency"] == credits["credit_for"].map(known["currency"])) & (
        credits["customer_id"] == credits["credit_for"].map(known["customer_id"])
    )
    reasons[credits.index[original.isna()]] = [
        f"credits order {o}, which no invoice bills" for o in credits.loc[original.isna(), "credit_for"]
    ]
    wrong = original.notna() & ~same
    reasons[credits.index[wrong]] = "credits an order of another customer or currency"
    credits = pd.concat([credits[original.notna() & same], billable[on_account]]).sort_values(
        ["fulfilled_date", "order_id"]
    )
    notes = _credit_notes(credits, credits["credit_for"].map(known["invoice_id"]), as_of, series, sequences)
    adjustments = _settle_credits(notes, known.set_index("invoice_id")["open_minor"], as_of)
    everything = pd.concat(
        [f for f in (invoices, subscribed, notes) if len(f)] or [invoices], ignore_index=True
    )
    skipped = pd.DataFrame(
        {"order_id": billable.loc[reasons.notna(), "order_id"], "reason": reasons.dropna()}
    )
    billed_lines = priced.merge(everything[["order_id", "invoice_id", "currency"]].dropna(), on="order_id")
    if len(period_lines):
        billed_lines = pd.concat([billed_lines, period_lines], ignore_index=True)
    billed_lines = billed_lines.sort_values(["invoice_id", "line_no"]).reset_index(drop=True)
    return Billing(
        everything,
        _sequences(sequences, everything, series, as_of.year),
        skipped.reset_index(drop=True),
        billed_lines[[c for c in LINE_COLUMNS if c in billed_lines.columns]],
        completeness(orders, totals, everything, skipped),
        adjustments,
        billed_periods,
        pd.concat(
            [f for f in (instalments, period_instalments) if len(f)] or [instalments], ignore_index=True
        ),
    )


def _last_number(sequences: pd.DataFrame, series: str, year: int) -> int:
    known = sequences[(sequences["series"] == series) & (sequences["year"] == year)]
    return int(known["last_number"].iloc[0]) if len(known) else 0


def _invoices(
    regular: pd.DataFrame, as_of: date, series: str, sequences: pd.DataFrame, offset: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Invoices of `regular` (orders or subscription periods with their net and tax), numbered from
    the series' last number + `offset` + 1, with the instalments of those whose terms split them."""
    year = as_of.year
    last = _last_number(sequences, series, year) + offset
    numbers = range(last + 1, last + 1 + len(regular))
    written = regular["payment_terms"] if "payment_terms" in regular else pd.Series("", index=regular.index)
    terms = [
        parse_terms(text, int(days))
        for text, days in zip(written.fillna(""), regular["payment_terms_days"].astype("int64"), strict=True)
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


INSTALMENT_COLUMNS = ["invoice_id", "instalment", "due_date", "amount_minor", "currency"]


def _subscription_invoices(
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
    invoices, instalments = _invoices(priced, as_of, series, sequences, offset=after)
    invoices["subscription_id"] = priced["subscription_id"].to_numpy()
    invoices["order_id"] = None
    period_lines = pd.DataFrame(
        {
            "invoice_id": invoices["invoice_id"],
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
    billed = priced[["subscription_id", "period_start", "period_end"]].assign(
        invoice_id=invoices["invoice_id"]
    )
    return invoices, period_lines, billed[period_columns], instalments


def _billed_so_far(billed: pd.DataFrame | None, invoices: pd.DataFrame) -> pd.DataFrame:
    """order_id -> invoice_id, customer_id, currency, open_minor: before this run and in it."""
    columns = ["order_id", "invoice_id", "customer_id", "currency", "open_minor"]
    now = invoices.assign(open_minor=invoices["amount_minor"])[columns]
    before = billed[columns] if billed is not None and len(billed) else pd.DataFrame(columns=columns)
    return (
        pd.concat([before, now], ignore_index=True)
        .drop_duplicates("order_id")
        .set_index("order_id", drop=False)
    )


def _credit_notes(
    credits: pd.DataFrame, originals: pd.Series, as_of: date, series: str, sequences: pd.DataFrame
) -> pd.DataFrame:
    """Credit notes (negative amounts, due on issue) numbered in `<series>-CN`."""
    cn_series = f"{series}-CN"
    last = _last_number(sequences, cn_series, as_of.year)
    notes = pd.DataFrame(
        {
            "invoice_id": [
                f"{cn_series}-{as_of.year}-{n:06d}" for n in range(last + 1, last + 1 + len(credits))
            ],
            "customer_id": credits["customer_id"].to_numpy(),
            "order_id": credits["order_id"].to_numpy(),
            "issue_date": as_of,
            "due_date": as_of,
            "currency": credits["currency"].to_numpy(),
            "net_minor": credits["net_minor"].astype("int64").to_numpy(),
            "tax_minor": credits["tax_minor"].astype("int64").to_numpy(),
            "discount_date": pd.Series([None] * len(credits), dtype=object),
            "discount_amount_minor": pd.Series([None] * len(credits), dtype="Int64"),
        }
    )
    notes["amount_minor"] = notes["net_minor"] + notes["tax_minor"]
    notes["origin"] = "billed"
    notes["kind"] = "credit_note"
    notes["credit_for_invoice"] = [o if isinstance(o, str) else None for o in originals]
    return notes


def _settle_credits(notes: pd.DataFrame, open_of: pd.Series, as_of: date) -> pd.DataFrame:
    """Each credit note takes what it credits off its invoice's open amount, at most what is open
    there; what the invoice no longer owes (it was paid) stays open on the credit note as the
    customer's credit. Two rows per credit note: one on the invoice, one settling the note."""
    rows: list[dict[str, object]] = []
    left = {k: int(v) for k, v in open_of.items()}
    for note in notes.itertuples(index=False):
        credited = -int(note.amount_minor)
        applied = max(0, min(credited, left.get(note.credit_for_invoice, 0)))
        if applied <= 0:
            continue
        left[note.credit_for_invoice] = left.get(note.credit_for_invoice, 0) - applied
        base = {"currency": note.currency, "rule_version": "invoice", "as_of": as_of, "payment_id": None}
        rows.append(
            base
            | {
                "adjustment_id": f"{note.invoice_id}/{note.credit_for_invoice}",
                "invoice_id": note.credit_for_invoice,
                "kind": "credit_note",
                "amount_minor": applied,
                "reason": f"credit note {note.invoice_id}",
            }
        )
        rows.append(
            base
            | {
                "adjustment_id": f"{note.invoice_id}/applied",
                "invoice_id": note.invoice_id,
                "kind": "credit_note",
                "amount_minor": -applied,
                "reason": f"applied to invoice {note.credit_for_invoice}",
            }
        )
    return pd.DataFrame(rows, columns=ADJUSTMENT_COLUMNS)


def _sequences(sequences: pd.DataFrame, issued: pd.DataFrame, series: str, year: int) -> pd.DataFrame:
    """The last number used per series this run issued in."""
    rows = []
    for name, kind in ((series, "invoice"), (f"{series}-CN", "credit_note")):
        count = int((issued["kind"] == kind).sum()) if len(issued) else 0
        if count:
            rows.append(
                {"series": name, "year": year, "last_number": _last_number(sequences, name, year) + count}
            )
    return pd.DataFrame(rows, columns=["series", "year", "last_number"])


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

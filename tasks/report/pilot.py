"""A pilot's comparison: what o2c decided for the pilot's customers beside what the legacy process
did for them, agreement by agreement and difference by difference, each with its reason.

The legacy files are CSVs a person exports from the old process: applications of cash
(`payment_id, invoice_id, amount`, an optional `currency`) and reminders (`customer_id,
reminder_date`, an optional `level`). Which one a file is, its header says. Pure: the legacy rows,
o2c's rows and the facts that explain a difference in; the compared rows and the totals out.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.platform.money import MoneyError, to_major_str, to_minor

ALLOCATION_COLUMNS = {"payment_id", "invoice_id", "amount"}
REMINDER_COLUMNS = {"customer_id", "reminder_date"}
COMPARED = [
    "kind", "outcome", "cause", "customer_id", "payment_id", "invoice_id", "reminder_date", "legacy", "o2c", "reason",
]  # fmt: skip


class LegacyProblem(ValueError):
    """A legacy file that cannot be read: the file, row and column named."""


@dataclass(frozen=True)
class Facts:
    """What o2c knows that explains a difference."""

    payments: set[str]
    invoice_customer: dict[str, str]
    exceptions: dict[str, str]  # payment -> why it is in the exception queue
    excluded: dict[str, str]  # customer@date -> why the remind run left it out
    segments: dict[str, str]

    @classmethod
    def of(cls, rows: pd.DataFrame) -> Facts:
        by_kind = {k: g for k, g in rows.groupby("kind")} if len(rows) else {}

        def pairs(kind: str) -> dict[str, str]:
            group = by_kind.get(kind)
            if group is None:
                return {}
            return dict(zip(group["id"].astype(str), group["reason"].fillna("").astype(str), strict=True))

        return cls(
            set(pairs("payment")), pairs("invoice"), pairs("exception"), pairs("excluded"), pairs("customer")
        )


def read_legacy(path: Path, currency_of: dict[str, str]) -> tuple[str, pd.DataFrame]:
    """('allocations' or 'reminders', its rows): amounts in minor units of the row's currency (the
    `currency` column, else the invoice's in o2c), dates as dates. A problem names file, row, column."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            table = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise LegacyProblem(f"{path.name}: cannot be read ({exc})") from None
    if not table:
        raise LegacyProblem(f"{path.name}: empty, not even a header")
    names = [h.strip() for h in table[0]]
    rows = [dict(zip(names, r, strict=False)) for r in table[1:] if any(cell.strip() for cell in r)]
    header = set(names)
    if header >= ALLOCATION_COLUMNS:
        return "allocations", _allocations(path, rows, currency_of)
    if header >= REMINDER_COLUMNS:
        return "reminders", _reminders(path, rows)
    raise LegacyProblem(
        f"{path.name}: the header names neither applications of cash (payment_id, invoice_id, amount)"
        " nor reminders (customer_id, reminder_date)"
    )


def _allocations(path: Path, rows: list[dict[str, str]], currency_of: dict[str, str]) -> pd.DataFrame:
    out = []
    for n, row in enumerate(rows, start=2):
        payment, invoice = (row.get("payment_id") or "").strip(), (row.get("invoice_id") or "").strip()
        if not payment or not invoice:
            column = "payment_id" if not payment else "invoice_id"
            raise LegacyProblem(f"{path.name}, row {n}, column {column}: empty")
        currency = (row.get("currency") or "").strip().upper() or currency_of.get(invoice, "")
        if not currency:
            raise LegacyProblem(
                f"{path.name}, row {n}, column currency: empty, and invoice {invoice} is not in o2c's ledger"
            )
        try:
            amount = to_minor((row.get("amount") or "").strip(), currency)
        except MoneyError as exc:
            raise LegacyProblem(f"{path.name}, row {n}, column amount: {exc}") from None
        out.append(
            {"payment_id": payment, "invoice_id": invoice, "amount_minor": amount, "currency": currency}
        )
    return pd.DataFrame(out, columns=["payment_id", "invoice_id", "amount_minor", "currency"])


def _reminders(path: Path, rows: list[dict[str, str]]) -> pd.DataFrame:
    out = []
    for n, row in enumerate(rows, start=2):
        customer = (row.get("customer_id") or "").strip()
        if not customer:
            raise LegacyProblem(f"{path.name}, row {n}, column customer_id: empty")
        text = (row.get("reminder_date") or "").strip()
        try:
            day = datetime.strptime(text, "%Y-%m-%d").date()
        except ValueError:
            raise LegacyProblem(
                f"{path.name}, row {n}, column reminder_date: {text!r} is not YYYY-MM-DD"
            ) from None
        out.append({"customer_id": customer, "reminder_date": day, "level": (row.get("level") or "").strip()})
    return pd.DataFrame(out, columns=["customer_id", "reminder_date", "level"])


def compare_allocations(
    legacy: pd.DataFrame, ours: pd.DataFrame, facts: Facts, pilot: set[str] | None
) -> list[dict[str, Any]]:
    """One row per (payment, invoice) either side applied cash to, for the pilot's customers."""
    legacy = legacy.assign(customer_id=legacy["invoice_id"].map(facts.invoice_customer))
    if pilot is not None:
        legacy = legacy[legacy["customer_id"].isin(pilot)]
        ours = ours[ours["customer_id"].isin(pilot)]
    theirs = {(r.payment_id, r.invoice_id): r for r in legacy.itertuples(index=False)}
    mine = {(r.payment_id, r.invoice_id): r for r in ours.itertuples(index=False)}
    ours_by_payment: dict[str, list[Any]] = {}
    for r in ours.itertuples(index=False):
        ours_by_payment.setdefault(r.payment_id, []).append(r)
    rows = []
    for key in sorted(set(theirs) | set(mine)):
        t, m = theirs.get(key), mine.get(key)
        row = {"kind": "allocation", "payment_id": key[0], "invoice_id": key[1], "reminder_date": None}
        row["customer_id"] = facts.invoice_customer.get(key[1], "")
        row["legacy"] = _amount(t) if t is not None else ""
        row["o2c"] = f"{_amount(m)} ({m.rule})" if m is not None else ""
        if t is not None and m is not None:
            same = int(t.amount_minor) == int(m.amount_minor) and t.currency == m.currency
            row["outcome"] = "agree" if same else "differ"
            row["cause"] = "" if same else "another amount"
            row["reason"] = "" if same else "the same invoice, another amount"
        elif t is not None:
            row["outcome"] = "legacy only"
            row["cause"], row["reason"] = _why_not_ours(key, ours_by_payment, facts)
        else:
            assert m is not None
            others = [r.invoice_id for r in legacy.itertuples(index=False) if r.payment_id == key[0]]
            row["outcome"] = "o2c only"
            row["cause"] = (
                "legacy applied it elsewhere" if others else f"legacy did not apply it; o2c by {m.rule}"
            )
            row["reason"] = (
                f"legacy applied this payment to {', '.join(sorted(others))}"
                if others
                else f"legacy did not apply this payment; o2c by {m.rule} (score {float(m.score):.2f})"
            )
        rows.append(row)
    return rows


def _amount(r: Any) -> str:
    return f"{to_major_str(int(r.amount_minor), str(r.currency))} {r.currency}"


def _why_not_ours(
    key: tuple[str, str], ours_by_payment: dict[str, list[Any]], facts: Facts
) -> tuple[str, str]:
    """(cause, reason) of a legacy application o2c did not make."""
    payment, invoice = key
    if payment not in facts.payments:
        return "not in o2c's ledger", "the payment is not in o2c's ledger"
    if invoice not in facts.invoice_customer:
        return "not in o2c's ledger", "the invoice is not in o2c's ledger"
    elsewhere = [r.invoice_id for r in ours_by_payment.get(payment, []) if r.invoice_id != invoice]
    if elsewhere:
        return "o2c applied it elsewhere", f"o2c applied this payment to {', '.join(sorted(elsewhere))}"
    if payment in facts.exceptions:
        return "o2c left it to a person", f"o2c left it to a person: {facts.exceptions[payment]}"
    return "o2c has not applied it", "o2c has not applied this payment"


def compare_reminders(
    legacy: pd.DataFrame, ours: pd.DataFrame, facts: Facts, pilot: set[str] | None
) -> list[dict[str, Any]]:
    """One row per (customer, date) either side reminded, for the pilot's customers."""
    if pilot is not None:
        legacy = legacy[legacy["customer_id"].isin(pilot)]
        ours = ours[ours["customer_id"].isin(pilot)]
    theirs = {(r.customer_id, _day(r.reminder_date)): r for r in legacy.itertuples(index=False)}
    mine = {(r.customer_id, _day(r.reminder_date)): r for r in ours.itertuples(index=False)}
    days_of: dict[str, list[date]] = {}
    for customer, day in mine:
        days_of.setdefault(customer, []).append(day)
    rows = []
    for key in sorted(set(theirs) | set(mine)):
        t, m = theirs.get(key), mine.get(key)
        row = {
            "kind": "reminder",
            "customer_id": key[0],
            "payment_id": "",
            "invoice_id": "",
            "reminder_date": key[1],
        }
        row["legacy"] = ("sent" + (f" (level {t.level})" if t.level else "")) if t is not None else ""
        row["o2c"] = f"level {m.level} ({m.level_name})" if m is not None else ""
        if t is not None and m is not None:
            row["outcome"], row["cause"], row["reason"] = "agree", "", ""
        elif t is not None:
            row["outcome"] = "legacy only"
            excluded = facts.excluded.get(f"{key[0]}@{key[1].isoformat()}")
            near = sorted(d for d in days_of.get(key[0], []) if abs((d - key[1]).days) <= 14)
            if excluded:
                row["cause"], row["reason"] = (
                    "o2c left the customer out",
                    f"o2c left the customer out: {excluded}",
                )
            elif near:
                row["cause"] = "o2c reminded within 14 days"
                row["reason"] = f"o2c reminded on {', '.join(d.isoformat() for d in near)}"
            else:
                row["cause"], row["reason"] = "o2c had no reminder due", "o2c had no reminder due that day"
        else:
            row["outcome"], row["cause"], row["reason"] = (
                "o2c only",
                "legacy sent none",
                "legacy sent no reminder that day",
            )
        rows.append(row)
    return rows


def _day(value: Any) -> date:
    return (
        value if isinstance(value, date) and not isinstance(value, datetime) else pd.Timestamp(value).date()
    )


def causes(rows: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    """(kind, cause, count) of the differences, most frequent first."""
    counted: dict[tuple[str, str], int] = {}
    for row in rows:
        if row["outcome"] != "agree":
            counted[(row["kind"], row["cause"])] = counted.get((row["kind"], row["cause"]), 0) + 1
    return sorted(((k, c, n) for (k, c), n in counted.items()), key=lambda t: (t[0], -t[2], t[1]))


def totals(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per kind, how many rows had each outcome."""
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        kind = out.setdefault(row["kind"], {"agree": 0, "differ": 0, "legacy only": 0, "o2c only": 0})
        kind[row["outcome"]] += 1
    return out


def pilot_customers(ids_file: Path | None, segment: str | None, facts: Facts) -> set[str] | None:
    """The pilot's customers: the ids in a file (one per line, or a CSV with `customer_id`), or
    those of a segment of the customer master; None: every customer."""
    chosen: set[str] | None = None
    if ids_file is not None:
        lines = [
            line.strip() for line in ids_file.read_text(encoding="utf-8-sig").splitlines() if line.strip()
        ]
        if lines and lines[0].split(",")[0].strip() == "customer_id":
            lines = [line.split(",")[0].strip() for line in lines[1:]]
        chosen = set(lines)
    if segment is not None:
        of_segment = {c for c, s in facts.segments.items() if s == segment}
        chosen = of_segment if chosen is None else chosen & of_segment
    return chosen

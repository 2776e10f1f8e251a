"""A source's text rows typed by its contract, with every reason a row cannot be used.

`parse_rows` types each contract column (text, e-mail, payment terms, whole numbers, dates,
money in minor units of the row's currency, rates in parts per million) and collects the parse
failures per row position, each naming the column and quoting the value. `text_problems` finds
the text refused before it is typed (a control character, a value longer than the column's
`max_length`); a cell refused so gets no second reason. `conflicts_with_ledger` finds the rows
whose key the ledger already holds with different values. Pure: no ledger, no files.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tasks.ingest.model import IngestContext
from tasks.platform import parse
from tasks.platform.contracts import Contract
from tasks.platform.terms import TermsError, parse_terms


class _Failures:
    """The reasons per row position; a cell whose text was refused before typing gets no other."""

    def __init__(self, rows: pd.DataFrame) -> None:
        self.rows = rows
        self.by_row: dict[int, list[str]] = {}
        self.refused: set[tuple[int, str]] = set()  # (row, column) whose text was refused

    def refuse_text(self, i: int, column: str, reason: str) -> None:
        self.by_row.setdefault(i, []).append(f"{column}: {reason}")
        self.refused.add((i, column))

    def add(self, i: Any, column: str, reason: str) -> None:
        if (int(i), column) not in self.refused:
            self.by_row.setdefault(int(i), []).append(f"{column}: {reason}")

    def where(self, mask: pd.Series, column: str, why: str) -> None:
        """A reason for every row the mask marks, quoting the row's value."""
        for i in mask[mask.fillna(False).astype(bool)].index:
            self.add(i, column, f"{parse.shown(self.rows.at[i, column])} {why}")


def parse_rows(
    rows: pd.DataFrame, contract: Contract, date_format: str, context: IngestContext
) -> tuple[pd.DataFrame, dict[int, list[str]]]:
    """Typed columns for every contract column, plus the parse failures per row position."""
    typed = pd.DataFrame(index=rows.index)
    failures = _Failures(rows)
    for name, why in text_problems(rows, contract).items():
        for i, reason in why.items():
            failures.refuse_text(i, name, reason)
    currency = _currencies(rows, contract, context, failures)
    for name, spec in contract.columns.items():
        kind = spec["type"]
        if kind == "currency":
            typed[name] = currency
        elif kind in ("string", "email", "terms"):
            typed[name] = _checked_text(rows, name, kind, failures)
        elif kind == "integer":
            typed[name], bad = parse.parse_integer(rows[name])
            failures.where(bad, name, "is not a whole number")
        elif kind == "date":
            typed[name], bad = parse.parse_date(rows[name], date_format)
            failures.where(bad, name, f"is not a date in the format {date_format}")
        elif kind in ("money", "rate"):
            typed[contract.typed_column(name)] = _scaled(rows, name, kind, currency, failures)
    return typed, failures.by_row


def _currencies(
    rows: pd.DataFrame, contract: Contract, context: IngestContext, failures: _Failures
) -> pd.Series | None:
    """Each row's currency: its own column, or (order lines) its order's currency in the ledger."""
    if "currency" in contract.columns:
        currency, bad = parse.parse_currency(rows["currency"])
        for i in bad[bad.fillna(False).astype(bool)].index:
            value = rows.at[i, "currency"]
            failures.add(i, "currency", f"{parse.shown(value)} {parse.currency_problem(value)}")
        return currency
    if "order_id" in rows.columns:  # order lines are priced in their order's currency
        return rows["order_id"].str.strip().map(context.order_currency)
    return None


def _checked_text(rows: pd.DataFrame, name: str, kind: str, failures: _Failures) -> pd.Series:
    """A text column; an e-mail address or payment terms that cannot be read get their reason."""
    text = parse.parse_text(rows[name])
    if kind == "email":
        problems = parse.email_problems(rows[name])
        for i in problems[problems.notna()].index:
            failures.add(i, name, f"{parse.shown(rows.at[i, name])} {problems[i]}")
    elif kind == "terms":
        problems = text.map(_terms_problem)
        for i in problems[problems.notna()].index:
            failures.add(i, name, f"{problems[i]}")
    return text


def _scaled(
    rows: pd.DataFrame, name: str, kind: str, currency: pd.Series | None, failures: _Failures
) -> pd.Series:
    """A money column in minor units of each row's currency, or a rate in parts per million."""
    exponents = parse.exponents_for(currency) if kind == "money" and currency is not None else None
    if kind == "rate":
        exponents = pd.Series(6, index=rows.index)
    if exponents is None:
        exponents = pd.Series(pd.NA, index=rows.index, dtype="Int64")
    scaled, malformed, too_precise = parse.parse_decimal_scaled(rows[name], exponents)
    failures.where(malformed, name, "is not a decimal number")
    failures.where(
        exponents.isna() & ~parse.blank(rows[name]) & ~malformed,
        name,
        "cannot be read without a known currency",
    )
    what = "decimals" if kind == "rate" else "the currency's decimals"
    failures.where(too_precise, name, f"has more than {what}")
    return scaled


def text_problems(rows: pd.DataFrame, contract: Contract) -> dict[str, dict[int, str]]:
    """Per column, the rows whose text is refused before it is typed, with the reason: a control
    character inside the value (any column; tab and line breaks only where the contract says
    `multiline`), or text longer than the column's `max_length`."""
    found: dict[str, dict[int, str]] = {}
    for name in contract.columns:
        values = rows[name]
        control = parse.control_characters(values, multiline=contract.multiline(name))
        for i in control[control.notna()].index:
            found.setdefault(name, {})[int(i)] = (
                f"{parse.shown(values[i])} contains control character"
                f" {parse.describe_character(str(control[i]))}"
            )
        limit = contract.max_length(name)
        if limit is None:
            continue
        lengths = parse.too_long(values, limit)
        for i in lengths[lengths.notna()].index:
            found.setdefault(name, {}).setdefault(
                int(i), f"{parse.shown(values[i])} is longer than the {limit:,} characters allowed"
            )
    return found


def _terms_problem(text: object) -> str | None:
    """Why payment terms cannot be read, or None (empty terms fall back to payment_terms_days)."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        parse_terms(text)
    except TermsError as exc:
        return str(exc)
    return None


def conflicts_with_ledger(
    typed: pd.DataFrame, existing: pd.DataFrame | None, contract: Contract
) -> dict[int, list[str]]:
    """Rows whose key the ledger holds with different values: a changed amount or date is never
    dropped silently as "already present". A value the file leaves blank is not a difference."""
    if existing is None or existing.empty:
        return {}
    keys = [contract.typed_column(k) for k in contract.key]
    compared = [
        c
        for c in (contract.typed_column(n) for n in contract.columns)
        if c in existing.columns and c not in keys
    ]
    ledger_rows = existing.drop_duplicates(keys).set_index(keys)
    repeated = (
        pd.MultiIndex.from_frame(typed[keys]).isin(ledger_rows.index)
        if len(keys) > 1
        else (typed[keys[0]].isin(ledger_rows.index))
    )
    found: dict[int, list[str]] = {}
    for position, row in typed[repeated].iterrows():
        key = tuple(row[k] for k in keys) if len(keys) > 1 else row[keys[0]]
        held = ledger_rows.loc[key]
        differing = [c for c in compared if pd.notna(row[c]) and _comparable(row[c]) != _comparable(held[c])]
        if differing:
            names = ", ".join(c.removesuffix("_minor").removesuffix("_ppm") for c in differing)
            found[int(position)] = [f"{contract.key[0]}: already in the ledger with a different {names}"]
    return found


def _comparable(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d")
    return str(value)

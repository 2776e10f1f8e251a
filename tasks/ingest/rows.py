"""A source's text rows typed by its contract, with every reason a row cannot be used.

`parse_rows` types each contract column of an Arrow table of text (text, e-mail, payment terms,
whole numbers, dates, money in minor units of the row's currency, rates in parts per million; see
`tasks.ingest.cells`) and collects the failures per row position, each naming the column and
quoting the value. `text_problems` finds the text refused before it is typed (a control character,
a value longer than the column's `max_length`); a cell refused so gets no second reason. Reasons
are built only for the rows that fail, in the order the columns are checked: text first, then the
currency, then each column in the contract's order. `conflicts_with_ledger` finds the rows whose
key the ledger already holds with different values, as a join. Pure: no ledger, no files.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tasks.ingest import cells
from tasks.platform import bank_ids, parse
from tasks.platform.contracts import TEXT_TYPES, Contract
from tasks.platform.ledger import Engine
from tasks.platform.terms import TermsError, parse_terms


class _Failures:
    """The reasons per row position; a cell whose text was refused before typing gets no other."""

    def __init__(self, text: pa.Table) -> None:
        self.text = text
        self.by_row: dict[int, list[str]] = {}
        self.refused: set[tuple[int, str]] = set()  # (row, column) whose text was refused

    def refuse_text(self, i: int, column: str, reason: str) -> None:
        self.by_row.setdefault(i, []).append(f"{column}: {reason}")
        self.refused.add((i, column))

    def add(self, i: int, column: str, reason: str) -> None:
        if (i, column) not in self.refused:
            self.by_row.setdefault(i, []).append(f"{column}: {reason}")

    def where(self, mask: Any, column: str, why: str) -> None:
        """A reason for every row the mask marks, quoting the row's value."""
        rows = cells.positions(mask)
        for i, value in zip(rows, cells.values_at(self.text.column(column), rows), strict=True):
            self.add(i, column, f"{parse.shown(value)} {why}")

    def given(self, reasons: Any, column: str) -> None:
        """The reasons already written per row (missing where the row's value is fine)."""
        rows = cells.positions(pc.is_valid(reasons))
        for i, reason in zip(rows, cells.values_at(reasons, rows), strict=True):
            self.add(i, column, str(reason))


def parse_rows(
    text: pa.Table,
    contract: Contract,
    date_format: str,
    order_currency: pa.Table | None,
    engine: Engine,
) -> tuple[pa.Table, dict[int, list[str]]]:
    """Typed columns for every contract column (money and rates under their typed names), plus the
    parse failures per row position. `order_currency` (order_id, currency) prices order lines."""
    failures = _Failures(text)
    for name, why in text_problems(text, contract).items():
        for i, reason in why.items():
            failures.refuse_text(i, name, reason)
    currency, exponents = _currencies(text, contract, order_currency, failures)
    typed: dict[str, Any] = {}
    for name, spec in contract.columns.items():
        kind = spec["type"]
        values = text.column(name)
        if kind == "currency":
            typed[name] = currency
        elif kind in TEXT_TYPES:
            typed[name] = cells.text(cells.trimmed(values))
            if kind == "email":
                failures.given(cells.email_reasons(values), name)
            elif kind in _CHECKED_TEXT:
                failures.given(cells.reasons_of_text(values, _CHECKED_TEXT[kind]), name)
        elif kind == "integer":
            typed[name], bad = cells.whole_numbers(cells.trimmed(values))
            failures.where(bad, name, "is not a whole number")
        elif kind == "date":
            typed[name], bad = cells.dates(values, date_format)
            failures.where(bad, name, f"is not a date in the format {date_format}")
        elif kind in ("money", "rate"):
            row_exponents = exponents if kind == "money" else pa.repeat(pa.scalar(6, pa.int32()), len(text))
            typed[contract.typed_column(name)] = _scaled(engine, text, name, kind, row_exponents, failures)
    return pa.table(typed), failures.by_row


def _currencies(
    text: pa.Table, contract: Contract, order_currency: pa.Table | None, failures: _Failures
) -> tuple[Any, Any]:
    """Each row's currency and its exponent: its own column, or (order lines) its order's currency
    in the ledger; missing everywhere when it has neither."""
    if "currency" in contract.columns:
        codes, exponents, reasons = cells.currencies(text.column("currency"))
        failures.given(reasons, "currency")
        return codes, exponents
    if "order_id" in text.column_names:  # order lines are priced in their order's currency
        orders = order_currency if order_currency is not None else _no_orders()
        known = orders.column("order_id").combine_chunks()
        where = pc.index_in(cells.trimmed(text.column("order_id")), value_set=known)
        codes = pc.take(orders.column("currency"), where)
        return codes, cells.exponents_of(codes)
    return None, pa.nulls(len(text), pa.int32())


def _no_orders() -> pa.Table:
    return pa.table({"order_id": pa.array([], pa.string()), "currency": pa.array([], pa.string())})


def _scaled(engine: Engine, text: pa.Table, name: str, kind: str, exponents: Any, failures: _Failures) -> Any:
    """A money column in minor units of each row's currency, or a rate in parts per million."""
    cut = cells.trimmed(text.column(name))
    scaled, malformed, too_precise = cells.scaled_decimals(engine, cut, exponents)
    failures.where(malformed, name, "is not a decimal number")
    unknown = pc.and_(pc.is_null(exponents), pc.invert(cells.blank(cut)))
    failures.where(pc.and_(unknown, pc.invert(malformed)), name, "cannot be read without a known currency")
    what = "decimals" if kind == "rate" else "the currency's decimals"
    failures.where(too_precise, name, f"has more than {what}")
    return scaled


def text_problems(text: pa.Table, contract: Contract) -> dict[str, dict[int, str]]:
    """Per column, the rows whose text is refused before it is typed, with the reason: a control
    character inside the value (any column; tab and line breaks only where the contract says
    `multiline`), or text longer than the column's `max_length`."""
    found: dict[str, dict[int, str]] = {}
    for name in contract.columns:
        values = text.column(name)
        for i, character in cells.control_characters(values, multiline=contract.multiline(name)).items():
            value = values[i].as_py()
            found.setdefault(name, {})[i] = (
                f"{parse.shown(value)} contains control character {parse.describe_character(character)}"
            )
        limit = contract.max_length(name)
        if limit is None:
            continue
        for i, value in cells.too_long(values, limit).items():
            found.setdefault(name, {}).setdefault(
                i, f"{parse.shown(value)} is longer than the {limit:,} characters allowed"
            )
    return found


def _quoted(problem: Callable[[str | None], str | None]) -> Callable[[object], str | None]:
    """A check of an identifier whose reason quotes the value (`'DE123' is not a valid VAT ID ...`)."""

    def check(text: object) -> str | None:
        why = problem(text if isinstance(text, str) else None)
        return f"{parse.shown(text)} {why}" if why else None

    return check


def _terms_problem(text: object) -> str | None:
    """Why payment terms cannot be read, or None (empty terms fall back to payment_terms_days)."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        parse_terms(text)
    except TermsError as exc:
        return str(exc)
    return None


_CHECKED_TEXT: dict[str, Callable[[object], str | None]] = {
    "terms": _terms_problem,
    "vat_id": _quoted(bank_ids.vat_id_problem),
    "account": _quoted(bank_ids.account_problem),
    "accounts": _quoted(bank_ids.accounts_problem),
    "bic": _quoted(bank_ids.bic_problem),
}
"""The text columns whose every distinct value is checked, by their contract type."""


def conflicts_with_ledger(
    typed: pa.Table, existing: pa.Table | pd.DataFrame | None, contract: Contract
) -> dict[int, list[str]]:
    """Rows whose key the ledger holds with different values: a changed amount or date is never
    dropped silently as "already present". A value the file leaves blank is not a difference.
    The rows are matched to the ledger's in one join, and compared as text (dates as YYYY-MM-DD)."""
    if existing is None or len(existing) == 0:
        return {}
    held = (
        existing if isinstance(existing, pa.Table) else pa.Table.from_pandas(existing, preserve_index=False)
    )
    keys = [contract.typed_column(k) for k in contract.key]
    compared = [
        c
        for c in (contract.typed_column(n) for n in contract.columns)
        if c in held.column_names and c not in keys
    ]
    mine = typed.select(keys + compared).append_column(
        "o2c_row", pa.array(np.arange(len(typed), dtype=np.int64))
    )
    theirs = _first_per_key(held.select(keys + compared), keys, typed.schema)
    joined = mine.join(theirs, keys, join_type="inner", right_suffix="__held", use_threads=False)
    if joined.num_rows == 0:
        return {}
    differing = {
        c: pc.and_(
            pc.is_valid(joined.column(c)),
            pc.not_equal(_comparable(joined.column(c)), joined.column(f"{c}__held")),
        )
        for c in compared
    }
    if not differing:
        return {}
    any_change = functools.reduce(pc.or_, differing.values())
    changed = pa.table({"o2c_row": joined.column("o2c_row"), **differing}).filter(any_change)
    found: dict[int, list[str]] = {}
    for record in changed.sort_by("o2c_row").to_pylist():  # only the rows that differ
        names = [c.removesuffix("_minor").removesuffix("_ppm") for c in compared if record[c]]
        found[int(record["o2c_row"])] = [
            f"{contract.key[0]}: already in the ledger with a different {', '.join(names)}"
        ]
    return found


def _first_per_key(held: pa.Table, keys: list[str], types: pa.Schema) -> pa.Table:
    """The ledger's first row of each key: its key columns of the batch's types (for the join), its
    compared columns as comparable text, renamed `<column>__held`."""
    first = held.append_column("o2c_at", pa.array(np.arange(len(held), dtype=np.int64)))
    first = first.group_by(keys, use_threads=False).aggregate([("o2c_at", "min")])
    held = held.take(first.column("o2c_at_min"))
    return pa.table(
        {
            (c if c in keys else f"{c}__held"): (
                held.column(c).cast(types.field(c).type) if c in keys else _comparable(held.column(c))
            )
            for c in held.column_names
        }
    )


def _comparable(values: Any) -> Any:
    """Each value as text for comparing a row with the ledger's: dates as YYYY-MM-DD, missing as
    empty."""
    if pa.types.is_null(values.type):
        return pc.fill_null(pc.cast(values, pa.string()), "")
    if pa.types.is_timestamp(values.type) or pa.types.is_date(values.type):
        values = pc.strftime(
            pc.cast(values, pa.timestamp("s")) if pa.types.is_date(values.type) else values, "%Y-%m-%d"
        )
    return pc.fill_null(pc.cast(values, pa.string()), "")

"""An order book: one file of order lines, each carrying its order and its customer (as the UCI
Online Retail file), split into the three canonical datasets `customers`, `orders` and
`order_lines`.

Pure: the file's text columns and its mapping in, three `RawSource`s out, each row keeping the row
number of the line it came from. Customers and orders are taken from the first line that names
them. Two problems are found here, before any contract, and reported on the line:
- an exact duplicate of an earlier line (every column the same) is quarantined, naming that line,
  so a line is never billed twice because the file repeats it;
- a line whose customer column is blank is quarantined, naming the column: nobody can be billed.
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.ingest.model import Mapping, RawSource, SourceRejected
from tasks.platform.config import SHIPPED_CONTRACTS
from tasks.platform.contracts import load_contract


def split_order_book(
    frame: pd.DataFrame,
    mapping: Mapping,
    source: str,
    fingerprint: str,
    contracts_dir: Path = SHIPPED_CONTRACTS,
) -> list[RawSource]:
    """The customers, orders and order lines of one order-book file (see the module's docstring)."""
    frame = frame.rename(columns=lambda c: str(c).strip()).fillna("")
    duplicate_of = _first_copies(frame)
    rows = transform(frame, mapping, source)
    if "currency" not in rows.columns and mapping.default_currency:
        rows["currency"] = mapping.default_currency
    if "line_no" not in rows.columns:
        rows["line_no"] = (rows.groupby("order_id", sort=False).cumcount() + 1).astype(str)
    for needed in ("order_id", "customer_id"):
        if needed not in rows.columns:
            raise SourceRejected(f"{source}: an order book's mapping must map {needed}")

    customer_source = mapping.columns.get("customer_id", "customer_id")
    no_customer = rows["customer_id"].astype(str).str.strip() == ""
    problems: dict[int, list[str]] = {}
    for i in rows.index[no_customer]:
        problems.setdefault(int(i), []).append(
            f"{customer_source} is blank: a line without a customer cannot be billed"
        )
    for i, first in duplicate_of.items():
        problems.setdefault(int(i), []).append(f"exact duplicate of row {first + 2} (every column the same)")

    customers = rows[~no_customer].drop_duplicates("customer_id", keep="first")
    orders = rows.drop_duplicates("order_id", keep="first")
    sources = []
    for dataset, part, part_problems in (
        ("customers", customers, {}),
        ("orders", orders, {}),
        ("order_lines", rows, problems),
    ):
        contract = load_contract(dataset, contracts_dir)
        absent = [c for c in contract.required if c not in part.columns]
        if absent:
            raise SourceRejected(
                f"{source}: the mapping gives no {', '.join(absent)} for the {dataset} of an order book"
            )
        shaped = part.reindex(columns=list(contract.columns), fill_value="").fillna("").astype(str)
        sources.append(
            RawSource(
                dataset,
                source,
                fingerprint,  # the batch id adds the dataset
                shaped,
                2,
                mapping,
                row_problems=part_problems,
            )
        )
    return sources


def transform(frame: pd.DataFrame, mapping: Any, source: str) -> pd.DataFrame:
    """A file's rows under canonical names: its mapped columns renamed, then `extract`,
    `constants` and `templates` applied (the mapping or one of its parts)."""
    missing = [src for src in mapping.columns.values() if src not in frame.columns]
    if missing:
        raise SourceRejected(f"{source}: mapped column(s) not in the file: {', '.join(missing)}")
    rows = pd.DataFrame(
        {canonical: frame[src] for canonical, src in mapping.columns.items()}, index=frame.index
    )
    for column, pattern in mapping.extract.items():
        if column not in rows.columns:
            raise SourceRejected(f"{source}: mapping extracts from {column!r}, which is not mapped")
        found = rows[column].astype(str).str.extract(re.compile(pattern), expand=False)
        rows[column] = found.fillna(rows[column])
    for column, value in mapping.constants.items():
        rows[column] = value
    for column, template in mapping.templates.items():
        rows[column] = _fill(template, rows, source)
    return rows


def split_parts(
    frame: pd.DataFrame, mapping: Any, source: str, fingerprint: str, contracts_dir: Path = SHIPPED_CONTRACTS
) -> list[RawSource]:
    """One file read as several datasets (`dataset: split`, one `parts` entry each, as the IBM
    accounts-receivable file gives customers, invoices and the payments that settled them). A part
    with `distinct: true` keeps the first row per key (a customer named on many rows); every row
    keeps its row number in the file."""
    frame = frame.rename(columns=lambda c: str(c).strip()).fillna("")
    sources = []
    for part in mapping.parts:
        rows = transform(frame, part, source)
        contract = load_contract(part.dataset, contracts_dir)
        absent = [c for c in contract.required if c not in rows.columns]
        if absent:
            raise SourceRejected(f"{source}: the mapping's {part.dataset} part gives no {', '.join(absent)}")
        if part.distinct:
            rows = rows.drop_duplicates(list(contract.key), keep="first")
        shaped = rows.reindex(columns=list(contract.columns), fill_value="").fillna("").astype(str)
        date_format = part.date_format or mapping.date_format
        sources.append(
            RawSource(
                part.dataset,
                source,
                fingerprint,
                shaped,
                2,
                part.model_copy(update={"date_format": date_format}),
            )
        )
    return sources


def _fill(template: str, rows: pd.DataFrame, source: str) -> pd.Series:
    """A template such as "Customer {customer_id}" filled in for every row, column-wise."""
    filled = pd.Series("", index=rows.index, dtype=object)
    for literal, field, _spec, _conversion in string.Formatter().parse(template):
        filled = filled + literal
        if field is not None:
            if field not in rows.columns:
                raise SourceRejected(
                    f"{source}: the mapping's template {template!r} names {field!r}, not mapped"
                )
            filled = filled + rows[field].astype(str)
    return filled


def _first_copies(frame: pd.DataFrame) -> pd.Series:
    """For each line that repeats an earlier one exactly: the position of the first copy."""
    repeated = frame.duplicated(keep="first")
    if not repeated.any():
        return pd.Series(dtype="int64")
    group = frame.groupby(list(frame.columns), sort=False, dropna=False).ngroup()
    first = pd.Series(frame.index, index=frame.index).groupby(group).transform("min")
    return first[repeated]

"""The shared types of ingest: what a source is once read, how a mapping describes it, what the
ledger already knows, and the one error that refuses a source.

`SourceRejected` is raised for a source that cannot be read as its dataset at all. `Mapping` (with
its `Part`s for a file holding several datasets) says how a file's or a query's own columns map
onto a canonical dataset, and is checked against the contracts when it is built. `RawSource` is a
source read as text, ready for `tasks.ingest.canonical.prepare_batch`; `IngestContext` is what the
ledger already knows that its rows are checked against. Every reader (files, SQL, order books,
bank statements) builds on this module, which imports none of them.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, ValidationInfo, model_validator

from tasks.platform.config import SHIPPED_CONTRACTS
from tasks.platform.contracts import load_contract
from tasks.platform.money import CURRENCY_EXPONENTS
from tasks.platform.problems import InputRejected

# The order datasets are loaded in, so that references (an order's customer) resolve.
DATASETS = ("customers", "subscriptions", "orders", "order_lines", "invoices", "payments", "cases")
ORDER_BOOK = "order_book"  # one file of order lines split into customers, orders and order lines
SPLIT = "split"  # one file read as several datasets, one mapping part each
PARTS = ("customers", "orders", "order_lines")  # the datasets of an order book


class SourceRejected(InputRejected):
    """A source that cannot be read as its dataset at all; nothing of it reaches the ledger."""


def fingerprint_bytes(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _check_patterns(extract: dict[str, str]) -> None:
    for column, pattern in extract.items():
        try:
            if re.compile(pattern).groups < 1:
                raise ValueError(f"extract.{column}: the pattern needs a group, as ^(\\d+)")
        except re.error as exc:
            raise ValueError(f"extract.{column}: not a regular expression ({exc})") from None


def _contracts_of(info: ValidationInfo) -> Path:
    """The contracts folder a mapping is checked against: the run's (`load_mapping` passes it in the
    validation context), else the shipped one."""
    return Path((info.context or {}).get("contracts_dir", SHIPPED_CONTRACTS))


def _check_columns(
    datasets: tuple[str, ...],
    columns: dict[str, str],
    constants: dict[str, str],
    templates: dict[str, str],
    what: str,
    contracts_dir: Path,
) -> None:
    """Refuse a mapping that names a canonical column its dataset(s) do not have: it would be read
    and dropped without a word. A mapped column only a template uses (`{raw_no}`) is a helper."""
    known: set[str] = set()
    for dataset in datasets:
        known |= set(load_contract(dataset, contracts_dir).columns)
    helpers = {
        name
        for template in templates.values()
        for _, name, _, _ in string.Formatter().parse(template)
        if name
    }
    unknown = [
        c
        for c in dict.fromkeys([*columns, *constants, *templates])
        if c not in known and not (c in columns and c in helpers)
    ]
    if unknown:
        names = ", ".join(repr(c) for c in unknown[:5])
        raise ValueError(
            f"names column(s) {names} that {what} does not have (it has: {', '.join(sorted(known))})"
        )


class Part(BaseModel):
    """One dataset read from a file that holds several (`dataset: split`)."""

    model_config = ConfigDict(extra="forbid")
    dataset: str
    columns: dict[str, str] = {}
    extract: dict[str, str] = {}
    constants: dict[str, str] = {}
    templates: dict[str, str] = {}
    distinct: bool = False  # keep the first row per key (a customer named on many rows)
    date_format: str | None = None  # default: the mapping's

    @model_validator(mode="after")
    def _known(self, info: ValidationInfo) -> Part:
        if self.dataset not in DATASETS:
            raise ValueError(f"part dataset must be one of {', '.join(DATASETS)}")
        _check_patterns(self.extract)
        _check_columns(
            (self.dataset,), self.columns, self.constants, self.templates, self.dataset, _contracts_of(info)
        )
        return self


class Mapping(BaseModel):
    """How a source's own layout maps onto a canonical dataset (`<file>.mapping.yaml`)."""

    model_config = ConfigDict(extra="forbid")
    dataset: str
    date_format: str = "%Y-%m-%d"
    default_currency: str | None = None
    columns: dict[str, str] = {}
    table: str | None = None
    query: str | None = None
    # Only for an order book (one file split into customers, orders and order lines):
    extract: dict[str, str] = {}  # canonical column -> regex whose first group is kept ("17850.0" -> "17850")
    constants: dict[str, str] = {}  # canonical column -> the same text on every row
    templates: dict[str, str] = {}  # canonical column -> "Customer {customer_id}" over the mapped columns
    # Only for `dataset: split` (one file, several datasets):
    parts: list[Part] = []

    @model_validator(mode="after")
    def _known_dataset(self, info: ValidationInfo) -> Mapping:
        if self.dataset not in (*DATASETS, ORDER_BOOK, SPLIT):
            raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, {ORDER_BOOK} or {SPLIT}")
        if (self.extract or self.constants or self.templates) and self.dataset != ORDER_BOOK:
            raise ValueError(
                "extract, constants and templates are for dataset order_book only (or a split's parts)"
            )
        if (self.dataset == SPLIT) != bool(self.parts):
            raise ValueError("dataset split needs parts, and only a split has parts")
        _check_patterns(self.extract)
        if self.default_currency is not None and self.default_currency not in CURRENCY_EXPONENTS:
            raise ValueError(
                f"default_currency {self.default_currency!r} is not an ISO 4217 code in capitals, as EUR"
            )
        contracts = _contracts_of(info)
        if self.dataset == ORDER_BOOK:
            _check_columns(PARTS, self.columns, self.constants, self.templates, "an order book", contracts)
        elif self.dataset != SPLIT:
            _check_columns((self.dataset,), self.columns, {}, {}, self.dataset, contracts)
        elif self.columns:
            raise ValueError("a split maps its columns in each of its parts, not above them")
        return self


@dataclass
class RawSource:
    """A source read as text: every cell a string, blanks as empty strings."""

    dataset: str
    source: str
    fingerprint: str
    rows: pd.DataFrame
    first_row_number: int  # the number a person sees for the first data row (2 under a CSV header)
    mapping: Mapping | None = None
    row_problems: dict[int, list[str]] = field(default_factory=dict)  # found while reading (a bad statement)
    notes: list[str] = field(default_factory=list)  # problems reported with the batch, not per row
    quarantine_ceiling: float | None = None  # overrides the contract's (a bank file quarantines by statement)
    mapping_path: str | None = None  # the mapping file it was read with, kept as evidence

    @property
    def batch_id(self) -> str:
        """The ingest batch this source makes: its dataset and the start of its fingerprint."""
        return f"{self.dataset}:{self.fingerprint[:24]}"


@dataclass
class IngestContext:
    """What the ledger already knows that a batch's references resolve against: as the ledger reads
    it (Arrow: a column of customer ids, a table of order_id and currency), or as Python sets and
    dicts (a test, a small source)."""

    customers: set[str] | pa.Array | pa.ChunkedArray = field(default_factory=set)
    order_currency: dict[str, str] | pa.Table = field(default_factory=dict)
    existing: pd.DataFrame | pa.Table | None = None  # ledger rows of this dataset whose key the batch repeats
    contracts_dir: Path = SHIPPED_CONTRACTS  # the run's contracts (its Settings' `contracts_dir`)

    def customer_ids(self) -> pa.Array:
        """The customer ids the ledger holds, as one Arrow column."""
        if isinstance(self.customers, pa.ChunkedArray):
            return self.customers.combine_chunks()
        if isinstance(self.customers, pa.Array):
            return self.customers
        return pa.array(sorted(self.customers), pa.string())

    def orders(self) -> pa.Table:
        """The orders the ledger holds, with their currency: (order_id, currency)."""
        if isinstance(self.order_currency, pa.Table):
            return self.order_currency
        return pa.table(
            {
                "order_id": pa.array(list(self.order_currency), pa.string()),
                "currency": pa.array(list(self.order_currency.values()), pa.string()),
            }
        )

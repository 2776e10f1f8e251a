"""Ingest: files and SQL sources in, canonical typed rows and quarantined rows out.

Reading (`read_source`, `read_sql_source`) turns a file or a query into text columns; a source that
cannot be read as its dataset at all raises `SourceRejected` with one line naming the file and the
problem (and the row and column where there is one). `prepare_batch` is pure: text rows, the
contract and what the ledger already knows in, typed rows per ledger table, quarantined rows with
every reason and the checkpoint result out.

A file is refused whole, before any row is typed, when its shape cannot be trusted:
- a CSV that is not UTF-8 (a UTF-8 byte-order mark is allowed and dropped), holds a NUL byte, has
  a header naming a column twice, is separated by something other than commas, has a row with more
  or fewer fields than its header, has broken quoting, or has a header and no rows;
- a compressed file that would inflate beyond `MAX_INFLATED_BYTES` or `MAX_INFLATION_RATIO` times
  its size (a zip bomb): an XLSX or Parquet file from the sizes it declares, before anything is
  inflated; a .csv.gz (whose sizes are not declared) as soon as its inflated bytes pass the limit;
- an XLSX that is no workbook (a renamed CSV, an old .xls), or whose header names a column twice;
- a mapping file that is not a small regular YAML file of keys, that names a column its dataset
  does not have, or (through `read_sources`) that lies outside the workspace and the shipped
  `data_contracts/mappings/`, a sidecar mapping that is a link leading out of its folder among them.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import string
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from tasks.ingest.order_book import ORDER_BOOK, PARTS, SPLIT, split_order_book, split_parts
from tasks.platform import parse
from tasks.platform.checkpoint import CheckpointResult, Contract, load_contract, run_checkpoint
from tasks.platform.config import CONTRACTS_DIR, PROJECT_ROOT
from tasks.platform.money import CURRENCY_EXPONENTS
from tasks.platform.terms import TermsError, parse_terms

# The order datasets are loaded in, so that references (an order's customer) resolve.
DATASETS = ("customers", "subscriptions", "orders", "order_lines", "invoices", "payments", "cases")
FILE_SUFFIXES = (".csv", ".parquet", ".xlsx", ".gz")  # .csv.gz: a gzip-compressed CSV

# What a compressed file may inflate to: far beyond any business file (the UCI Online Retail book is
# 48 MB as CSV), far below what would take the machine down. Real tables deflate 5 to 20 times; a
# zip bomb about 1,000 times: above the ratio (and the floor) a file is refused as a bomb.
MAX_INFLATED_BYTES = 512 * 1024 * 1024
MAX_INFLATION_RATIO = 100
RATIO_FLOOR_BYTES = 16 * 1024 * 1024  # smaller than this inflated, any ratio is harmless
MAX_ARCHIVE_MEMBERS = 10_000  # an XLSX workbook holds a few dozen parts
MAX_MAPPING_BYTES = 256 * 1024  # a mapping is a page of YAML
# Where a mapping named on the command line (or a run's parameters) may lie, besides the workspace.
SHIPPED_MAPPINGS = (PROJECT_ROOT / "data_contracts" / "mappings", CONTRACTS_DIR / "mappings")
_UTF8_BOM = b"\xef\xbb\xbf"
_WIDE_BOMS = {  # the longest first: a UTF-32 LE mark starts with the UTF-16 LE one
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}


class SourceRejected(Exception):
    """A source that cannot be read as its dataset at all; nothing of it reaches the ledger."""


def _check_patterns(extract: dict[str, str]) -> None:
    for column, pattern in extract.items():
        try:
            if re.compile(pattern).groups < 1:
                raise ValueError(f"extract.{column}: the pattern needs a group, as ^(\\d+)")
        except re.error as exc:
            raise ValueError(f"extract.{column}: not a regular expression ({exc})") from None


def _check_columns(
    datasets: tuple[str, ...],
    columns: dict[str, str],
    constants: dict[str, str],
    templates: dict[str, str],
    what: str,
) -> None:
    """Refuse a mapping that names a canonical column its dataset(s) do not have: it would be read
    and dropped without a word. A mapped column only a template uses (`{raw_no}`) is a helper."""
    known: set[str] = set()
    for dataset in datasets:
        known |= set(load_contract(dataset).columns)
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
    def _known(self) -> Part:
        if self.dataset not in DATASETS:
            raise ValueError(f"part dataset must be one of {', '.join(DATASETS)}")
        _check_patterns(self.extract)
        _check_columns((self.dataset,), self.columns, self.constants, self.templates, self.dataset)
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
    def _known_dataset(self) -> Mapping:
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
        if self.dataset == ORDER_BOOK:
            _check_columns(PARTS, self.columns, self.constants, self.templates, "an order book")
        elif self.dataset != SPLIT:
            _check_columns((self.dataset,), self.columns, {}, {}, self.dataset)
        elif self.columns:
            raise ValueError("a split maps its columns in each of its parts, not above them")
        return self


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file: a small regular UTF-8 YAML file of keys, without aliases.

    A file that is not a mapping is refused without quoting it: a mistaken path (`/etc/passwd`)
    never shows its content in the message."""
    if not path.exists():
        raise SourceRejected(f"{path}: mapping file not found")
    if not path.is_file():
        raise SourceRejected(f"{path.name}: a mapping must be a regular file (this is a folder or a device)")
    size = path.stat().st_size
    if size > MAX_MAPPING_BYTES:
        raise SourceRejected(
            f"{path.name}: not a valid mapping ({size:,} bytes; a mapping file is at most {MAX_MAPPING_BYTES:,})"
        )
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SourceRejected(f"{path.name}: not a valid mapping (not UTF-8 text)") from None
    try:
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=yaml.SafeLoader)):
            raise SourceRejected(
                f"{path.name}: not a valid mapping (it uses YAML aliases, *name; write each value out)"
            )
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise SourceRejected(f"{path.name}: not a valid mapping (not YAML{where})") from None
    if not isinstance(data, dict):
        raise SourceRejected(
            f"{path.name}: not a valid mapping (a mapping file is YAML keys such as dataset: and columns:)"
        )
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        detail = "; ".join(_validation_problem(error) for error in exc.errors(include_input=False)[:3])
        raise SourceRejected(f"{path.name}: not a valid mapping ({detail})") from None


def _validation_problem(error: Any) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()))
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def detect_dataset(path: Path, mapping: Mapping | None) -> str:
    """The canonical dataset a file feeds: from its mapping, else from its name (`orders_2026.csv`)."""
    if mapping is not None:
        return mapping.dataset
    stem = path.name.lower()
    # Longest names first, so that order_lines*.csv is not taken for orders.
    for dataset in sorted(DATASETS, key=len, reverse=True):
        if stem.startswith(dataset):
            return dataset
    raise SourceRejected(
        f"{path.name}: cannot tell which dataset this file is; name it {'|'.join(DATASETS)}*.csv or give a mapping"
    )


def fingerprint_bytes(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


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


def read_file_sources(path: Path, mapping: Mapping | None = None) -> list[RawSource]:
    """The canonical sources of one file: itself, or the three parts of an order book."""
    if mapping is not None and mapping.dataset == ORDER_BOOK:
        frame, content = _read_frame(path)
        return split_order_book(frame, mapping, str(path), fingerprint_bytes(content))
    if mapping is not None and mapping.dataset == SPLIT:
        frame, content = _read_frame(path)
        return split_parts(frame, mapping, str(path), fingerprint_bytes(content))
    return [read_source(path, mapping)]


def _read_frame(path: Path) -> tuple[pd.DataFrame, bytes]:
    """A CSV (plain or gzip-compressed), Parquet or XLSX file as text columns, and its bytes."""
    if not path.exists():
        raise SourceRejected(f"{path}: file not found")
    if not path.is_file():
        raise SourceRejected(f"{path.name}: not a regular file (a folder, a device or a pipe)")
    content = path.read_bytes()
    name = path.name
    suffix = ".csv" if name.lower().endswith(".csv.gz") else path.suffix.lower()
    try:
        if name.lower().endswith(".gz"):
            if suffix != ".csv":
                raise SourceRejected(f"{name}: only CSV files may be gzip-compressed (.csv.gz)")
            frame = _read_csv(_gunzip(content, name), name)
        elif suffix == ".csv":
            frame = _read_csv(content, name)
        elif suffix == ".parquet":
            frame = _read_parquet(content, name)
        elif suffix == ".xlsx":
            frame = _read_xlsx(content, name)
        else:
            raise SourceRejected(f"{name}: unsupported file type {suffix!r} (use .csv, .parquet or .xlsx)")
    except SourceRejected:
        raise
    except Exception as exc:  # any parser's complaint means the file is not readable as a table
        raise SourceRejected(f"{name}: cannot be read as {suffix[1:].upper()} ({_first_line(exc)})") from None
    if frame.empty and len(frame.columns):
        raise SourceRejected(f"{name}: a header and no rows: nothing to load (an empty export?)")
    return frame, content


def read_source(path: Path, mapping: Mapping | None = None) -> RawSource:
    """Read a CSV (or .csv.gz), Parquet or XLSX file as text columns, mapped to canonical names."""
    dataset = detect_dataset(path, mapping) if path.exists() else ""
    frame, content = _read_frame(path)
    first_row = 1 if path.suffix.lower() == ".parquet" else 2
    rows = apply_mapping(frame, dataset, mapping, path.name)
    return RawSource(dataset, str(path), fingerprint_bytes(content), rows, first_row, mapping)


def read_sql_source(url: str, mapping: Mapping) -> RawSource:
    """Read the mapping's `table` or `query` from any SQLAlchemy URL as text columns."""
    import sqlalchemy as sa

    if not (mapping.table or mapping.query):
        raise SourceRejected("mapping: an SQL source needs 'table' or 'query'")
    safe_url = sa.engine.make_url(url).render_as_string(hide_password=True)
    try:
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            if mapping.query:
                frame = pd.read_sql_query(sa.text(mapping.query), connection)
            else:
                table = sa.Table(str(mapping.table), sa.MetaData(), autoload_with=connection)
                frame = pd.read_sql_query(sa.select(table), connection)
        engine.dispose()
    except Exception as exc:
        raise SourceRejected(
            f"{safe_url}: cannot read {mapping.table or 'query'} ({_first_line(exc)})"
        ) from None
    text = _as_text(frame)
    source = f"{safe_url}#{mapping.table or 'query'}"
    rows = apply_mapping(text, mapping.dataset, mapping, source)
    fingerprint = fingerprint_bytes(rows.to_csv(index=False).encode("utf-8"))
    return RawSource(mapping.dataset, source, fingerprint, rows, 1, mapping)


def apply_mapping(frame: pd.DataFrame, dataset: str, mapping: Mapping | None, source: str) -> pd.DataFrame:
    """Rename source columns to canonical ones and check that every required column is there."""
    contract = load_contract(dataset)
    frame = frame.rename(columns=lambda c: str(c).strip())
    renames = {src: canonical for canonical, src in (mapping.columns if mapping else {}).items()}
    missing_sources = [src for src in renames if src not in frame.columns]
    if missing_sources:
        raise SourceRejected(f"{source}: mapped column(s) not in the file: {', '.join(missing_sources)}")
    frame = frame.rename(columns=renames)
    if mapping and mapping.default_currency and "currency" not in frame.columns:
        frame["currency"] = mapping.default_currency
    missing = [c for c in contract.required if c not in frame.columns]
    if missing:
        raise SourceRejected(
            f"{source}: missing required column(s) {', '.join(missing)} for dataset {dataset}"
            f" (found: {', '.join(map(str, frame.columns[:12]))})"
        )
    for name in contract.columns:
        if name not in frame.columns:
            frame[name] = ""
    return frame[list(contract.columns)].reset_index(drop=True).fillna("")


@dataclass
class IngestContext:
    """What the ledger already knows that a batch's references resolve against."""

    customers: set[str] = field(default_factory=set)
    order_currency: dict[str, str] = field(default_factory=dict)
    existing: pd.DataFrame | None = None  # ledger rows of this dataset whose key the batch repeats


@dataclass
class PreparedBatch:
    dataset: str
    source: str
    batch_id: str
    fingerprint: str
    tables: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame
    checkpoint: CheckpointResult
    control_totals: dict[str, int]
    row_count: int

    @property
    def halted(self) -> bool:
        return self.checkpoint.outcome == "halted"


def prepare_batch(raw: RawSource, context: IngestContext) -> PreparedBatch:
    """Parse, check and split one source's rows into ledger rows and quarantined rows."""
    contract = load_contract(raw.dataset)
    date_format = raw.mapping.date_format if raw.mapping else "%Y-%m-%d"
    typed, failures = parse_rows(raw.rows, contract, date_format, context)
    for row, reasons in raw.row_problems.items():  # first: they say what is wrong with the row as a whole
        failures[row] = [*reasons, *failures.get(row, [])]
    for row, reasons in conflicts_with_ledger(typed, context.existing, contract).items():
        failures.setdefault(row, []).extend(reasons)
    known = {
        "customers": context.customers | _batch_keys(typed, raw.dataset, "customers"),
        "orders": set(context.order_currency) | _batch_keys(typed, raw.dataset, "orders"),
    }
    result = run_checkpoint(
        typed,
        contract,
        source=raw.source,
        known_keys=known,
        prior_failures=failures,
        ceiling=raw.quarantine_ceiling,
        first_row_number=raw.first_row_number,
        column_labels=_column_labels(raw.mapping),
        raw_rows=raw.rows,
    )
    bad = sorted(result.failed_rows)
    good = typed.drop(index=bad)
    records = raw.rows.loc[bad].to_dict("records")  # one lookup for all, not one per row
    quarantine = pd.DataFrame(
        {
            "stage": "ingest",
            "dataset": raw.dataset,
            "source": raw.source,
            "row_number": [raw.first_row_number + i for i in bad],
            "key": ["/".join(str(r[k]) for k in contract.key) for r in records],
            "reasons": ["; ".join(result.failed_rows[i]) for i in bad],
            "raw_record": [json.dumps(r, ensure_ascii=False) for r in records],
        }
    )
    batch_id = f"{raw.dataset}:{raw.fingerprint[:24]}"
    tables = {} if result.outcome == "halted" else to_ledger_tables(good, raw.dataset, batch_id)
    totals = _control_totals(typed, contract)
    return PreparedBatch(
        raw.dataset, raw.source, batch_id, raw.fingerprint, tables, quarantine, result, totals, len(raw.rows)
    )


def _column_labels(mapping: Mapping | Part | None) -> dict[str, str]:
    """Canonical column -> the file's own name, for a halt's listing (`amount (Betrag in the file)`)."""
    return dict(mapping.columns) if mapping is not None else {}


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


def parse_rows(
    rows: pd.DataFrame, contract: Contract, date_format: str, context: IngestContext
) -> tuple[pd.DataFrame, dict[int, list[str]]]:
    """Typed columns for every contract column, plus the parse failures per row position."""
    typed = pd.DataFrame(index=rows.index)
    failures: dict[int, list[str]] = {}
    refused: set[tuple[int, str]] = set()  # (row, column) whose text was refused before typing

    def fail(mask: pd.Series, column: str, why: str) -> None:
        for i in mask[mask.fillna(False).astype(bool)].index:
            if (int(i), column) not in refused:
                failures.setdefault(int(i), []).append(f"{column}: {parse.shown(rows.at[i, column])} {why}")

    for name, why in text_problems(rows, contract).items():
        for i, reason in why.items():
            failures.setdefault(i, []).append(f"{name}: {reason}")
            refused.add((i, name))

    currency = None
    if "currency" in contract.columns:
        currency, bad = parse.parse_currency(rows["currency"])
        for i in bad[bad.fillna(False).astype(bool)].index:
            if (int(i), "currency") not in refused:
                value = rows.at[i, "currency"]
                failures.setdefault(int(i), []).append(
                    f"currency: {parse.shown(value)} {parse.currency_problem(value)}"
                )
    elif "order_id" in rows.columns:  # order lines are priced in their order's currency
        currency = rows["order_id"].str.strip().map(context.order_currency)
    for name, spec in contract.columns.items():
        kind = spec["type"]
        if kind == "currency":
            typed[name] = currency
        elif kind in ("string",):
            typed[name] = parse.parse_text(rows[name])
        elif kind == "email":
            typed[name] = parse.parse_text(rows[name])
            problems = parse.email_problems(rows[name])
            for i in problems[problems.notna()].index:
                if (int(i), name) not in refused:
                    failures.setdefault(int(i), []).append(
                        f"{name}: {parse.shown(rows.at[i, name])} {problems[i]}"
                    )
        elif kind == "terms":
            typed[name] = parse.parse_text(rows[name])
            problems = typed[name].map(_terms_problem)
            for i in problems[problems.notna()].index:
                if (int(i), name) not in refused:
                    failures.setdefault(int(i), []).append(f"{name}: {problems[i]}")
        elif kind == "integer":
            typed[name], bad = parse.parse_integer(rows[name])
            fail(bad, name, "is not a whole number")
        elif kind == "date":
            typed[name], bad = parse.parse_date(rows[name], date_format)
            fail(bad, name, f"is not a date in the format {date_format}")
        elif kind in ("money", "rate"):
            exponents = parse.exponents_for(currency) if kind == "money" and currency is not None else None
            if kind == "rate":
                exponents = pd.Series(6, index=rows.index)
            if exponents is None:
                exponents = pd.Series(pd.NA, index=rows.index, dtype="Int64")
            scaled, malformed, too_precise = parse.parse_decimal_scaled(rows[name], exponents)
            typed[contract.typed_column(name)] = scaled
            fail(malformed, name, "is not a decimal number")
            fail(
                exponents.isna() & ~parse.blank(rows[name]) & ~malformed,
                name,
                "cannot be read without a known currency",
            )
            what = "decimals" if kind == "rate" else "the currency's decimals"
            fail(too_precise, name, f"has more than {what}")
    return typed, failures


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


def to_ledger_tables(good: pd.DataFrame, dataset: str, batch_id: str) -> dict[str, pd.DataFrame]:
    """The ledger rows of a checked batch, by table."""
    frame = good.copy()
    frame["batch_id"] = batch_id
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = frame[column].dt.date
    if dataset == "customers":
        frame["payment_terms_days"] = frame["payment_terms_days"].fillna(30)
        frame["dunning_profile"] = frame["dunning_profile"].fillna("standard")
        frame["language"] = frame["language"].fillna("en")
        accounts = frame[["customer_id", "bank_accounts", "batch_id"]].dropna(subset=["bank_accounts"])
        accounts = accounts.assign(account=accounts["bank_accounts"].str.split(";")).explode("account")
        accounts["account"] = accounts["account"].str.replace(" ", "", regex=False).str.upper()
        accounts = accounts[accounts["account"] != ""].drop_duplicates(["customer_id", "account"])
        return {
            "customers": frame.drop(columns=["bank_accounts"]),
            "customer_bank_accounts": accounts[["customer_id", "account", "batch_id"]],
        }
    if dataset == "invoices":
        frame["origin"] = "ingested"
    if dataset == "cases":
        frame["status"] = frame["status"].fillna("open")
        frame["invoice_id"] = frame["invoice_id"].map(_invoice_list)
    return {dataset: frame}


def _invoice_list(value: Any) -> Any:
    """A case's invoices as one sorted ';'-separated text, or missing for the whole customer."""
    if not isinstance(value, str):
        return None
    ids = sorted({part.strip() for part in value.split(";") if part.strip()})
    return ";".join(ids) or None


def _batch_keys(typed: pd.DataFrame, dataset: str, wanted: str) -> set[str]:
    if dataset != wanted:
        return set()
    column = "customer_id" if wanted == "customers" else "order_id"
    return set(typed[column].dropna().astype(str))


def _control_totals(typed: pd.DataFrame, contract: Contract) -> dict[str, int]:
    money = [contract.typed_column(n) for n, s in contract.columns.items() if s["type"] == "money"]
    if not money or "currency" not in typed.columns or contract.dataset == "customers":
        return {}
    sums = typed.groupby("currency")[money[0]].sum()
    return {str(cur): int(total) for cur, total in sums.items()}


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as text: dates as ISO dates, numbers as written, missing as empty."""
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            out[str(column)] = values.dt.strftime("%Y-%m-%d").fillna("")
        else:
            out[str(column)] = values.map(_cell_text)
    return out


def _cell_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return ""
    if hasattr(value, "isoformat") and hasattr(value, "year"):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_csv(content: bytes, name: str) -> pd.DataFrame:
    """Text columns of a CSV whose shape was checked first (`_check_csv`): every row as many fields
    as the header, never a shift, a padding or a truncation."""
    text = _decode_csv(content, name)
    _check_csv(text, name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, index_col=False)


def _decode_csv(content: bytes, name: str) -> str:
    """A CSV's bytes as text: UTF-8, a UTF-8 byte-order mark dropped. Invalid bytes are kept as
    escapes (`surrogateescape`) so that `_check_csv` can say in which row and column they are."""
    if not content.strip():
        raise SourceRejected(f"{name}: the file is empty")
    for mark, encoding in _WIDE_BOMS.items():
        if content.startswith(mark):
            raise SourceRejected(
                f"{name}: {encoding} text (it starts with a {encoding} byte-order mark); save it as UTF-8"
            )
    head = content[:4096]
    half = len(head) // 2
    odd, even = head[1::2].count(0), head[0::2].count(0)
    if half >= 8 and max(odd, even) >= 0.8 * half and min(odd, even) <= 0.1 * half:  # ASCII as UTF-16
        raise SourceRejected(
            f"{name}: UTF-16 text without a byte-order mark (every other byte is NUL); save it as UTF-8"
        )
    return content.removeprefix(_UTF8_BOM).decode("utf-8", errors="surrogateescape")


# In a column's name: control characters (a line break in a spreadsheet's header cell is fine),
# byte-order marks and zero-width characters, which make `amount` fail to match `amount`.
_INVISIBLE_IN_HEADER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2060\ufeff]")
_BAD_CHARACTER = re.compile("[\x00\udc80-\udcff]")  # NUL, or a byte that is not UTF-8 (escaped)


@contextmanager
def _csv_fields_of_any_size() -> Iterator[None]:
    """The csv module refuses fields above 128 KiB; the contract's `max_length` judges them instead,
    naming the row and column."""
    previous = csv.field_size_limit(2**31 - 1)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _check_csv(text: str, name: str) -> None:
    """Refuse a CSV whose shape cannot be trusted, naming the file, the row (the header is row 1,
    as the quarantine counts; blank lines are skipped) and the column where there is one."""
    find_bad = _BAD_CHARACTER.search(text) is not None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    row, line = 0, 0  # the last record read: its row number and the line it ended on
    start = 1  # the line the record being read starts on
    with _csv_fields_of_any_size():
        try:
            header = None
            for record in reader:
                start, line = line + 1, reader.line_num
                if not record or (len(record) == 1 and record[0] and not record[0].strip(" \t")):
                    continue  # a blank line, skipped as the parser skips it
                row += 1
                if find_bad:
                    _refuse_bad_characters(record, header, _where(name, row, start))
                if header is None:
                    header = _checked_header(record, name)
                    width = len(header)
                elif len(record) != width:
                    raise SourceRejected(
                        f"{_where(name, row, start)}: {len(record)} field(s) where the header has {width}"
                        " (an unquoted comma, or a missing or stray delimiter)"
                    )
        except csv.Error as exc:
            raise SourceRejected(f"{_where(name, row + 1, line + 1)}: {_quoting_problem(str(exc))}") from None
    if header is None:
        raise SourceRejected(f"{name}: the file is empty")
    if row == 1:
        raise SourceRejected(f"{name}: a header and no rows: nothing to load (an empty export?)")


def _where(name: str, row: int, first_line: int) -> str:
    """`customers.csv row 4` (and `(line 6)` where the row does not start on its own line number)."""
    return f"{name} row {row}" + (f" (line {first_line})" if first_line != row else "")


def _checked_header(record: list[str], name: str, where: str = "row 1: the header") -> list[str]:
    """The header's names, refused when it names a column twice (whichever copy would be read, the
    other is dropped without a word) or when the file is separated by something else than commas."""
    names = [field.strip() for field in record]
    if len(names) == 1:
        for delimiter, label in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
            if delimiter in names[0]:
                raise SourceRejected(
                    f"{name} {where} is one column {parse.shown(names[0])}: the file is separated by"
                    f" {label}, not commas; export it comma-separated"
                )
    seen: dict[str, int] = {}
    for number, column in enumerate(names, start=1):
        invisible = _INVISIBLE_IN_HEADER.search(column)
        if invisible:
            raise SourceRejected(
                f"{name} {where}'s column {number} {parse.shown(column)} holds the invisible character"
                f" {parse.describe_character(invisible.group())} (a second byte-order mark, or a copy and paste?)"
            )
        if not column:
            continue  # an unnamed column (a trailing comma on every line) is never read
        key = column.casefold()
        if key in seen:
            first = names[seen[key] - 1]
            twice = (
                f"{parse.shown(column)} twice"
                if first == column
                else f"{parse.shown(first)} and {parse.shown(column)}"
            )
            raise SourceRejected(
                f"{name} {where} names column {twice} (columns {seen[key]} and {number}); keep one"
            )
        seen[key] = number
    return names


def _refuse_bad_characters(record: list[str], header: list[str] | None, where: str) -> None:
    """Refuse the first NUL or non-UTF-8 byte of a record, naming its column (`header` None: the
    record is the header)."""
    for number, value in enumerate(record, start=1):
        found = _BAD_CHARACTER.search(value)
        if found is None:
            continue
        if header is None:
            label = f"the header (column {number})"
        elif number <= len(header) and header[number - 1]:
            label = f"column {parse.shown(header[number - 1])}"
        else:
            label = f"column {number}"
        if found.group() == "\x00":
            raise SourceRejected(
                f"{where}, {label}: a NUL byte (U+0000); a CSV file holds text, never NUL (is it binary?)"
            )
        byte = ord(found.group()) - 0xDC00
        raise SourceRejected(
            f"{where}, {label}: byte 0x{byte:02X} is not UTF-8 (Latin-1 or Windows-1252?); save the file as UTF-8"
        )


def _quoting_problem(message: str) -> str:
    if "expected after" in message:
        return 'a quote inside a field that is not quoted as a whole (quote the field, and double its quotes: "")'
    if "unexpected end of data" in message:
        return "a quoted field is never closed (a missing closing quote)"
    return f"malformed CSV ({message})"


def _gunzip(content: bytes, name: str) -> bytes:
    """A .csv.gz inflated, refused once it passes the bomb limits (it is never inflated further)."""
    limit = _inflation_limit(len(content))
    chunks, size = [], 0
    with gzip.GzipFile(fileobj=io.BytesIO(content)) as stream:
        while chunk := stream.read(1024 * 1024):
            size += len(chunk)
            if size > limit:
                raise SourceRejected(f"{name}: {_bomb(len(content), limit)}")
            chunks.append(chunk)
    return b"".join(chunks)


def _inflation_limit(compressed: int) -> int:
    return min(MAX_INFLATED_BYTES, max(RATIO_FLOOR_BYTES, MAX_INFLATION_RATIO * compressed))


def _bomb(compressed: int, inflated: int, exact: bool = False) -> str:
    size = f"{inflated:,} bytes" if exact else f"more than {inflated:,} bytes"
    return (
        f"inflates from {compressed:,} to {size}, beyond the limits"
        f" ({MAX_INFLATED_BYTES:,} bytes, {MAX_INFLATION_RATIO} times its size): a zip bomb or not a business file"
    )


def _read_xlsx(content: bytes, name: str) -> pd.DataFrame:
    """The first sheet of an XLSX workbook as text columns. The archive's declared sizes are checked
    before anything is inflated (Python's zipfile never inflates a member beyond its declared size:
    a member that lies about it fails its CRC instead)."""
    if not zipfile.is_zipfile(io.BytesIO(content)):
        if content.startswith(b"\xd0\xcf\x11\xe0"):
            raise SourceRejected(f"{name}: an Excel 97-2003 workbook (.xls), not XLSX; save it as .xlsx")
        if _looks_like_text(content):
            raise SourceRejected(f"{name}: text, not an XLSX workbook (a CSV renamed .xlsx? name it .csv)")
        raise SourceRejected(f"{name}: not an XLSX workbook (not a zip archive)")
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        members = archive.infolist()
        if len(members) > MAX_ARCHIVE_MEMBERS:
            raise SourceRejected(f"{name}: {len(members):,} parts in the archive; a workbook has a few dozen")
        inflated = sum(m.file_size for m in members)
        if inflated > _inflation_limit(len(content)):
            raise SourceRejected(f"{name}: {_bomb(len(content), inflated, exact=True)}")
        for member in members:
            if member.file_size > RATIO_FLOOR_BYTES and member.file_size > MAX_INFLATION_RATIO * max(
                member.compress_size, 1
            ):
                raise SourceRejected(
                    f"{name}: part {member.filename} {_bomb(member.compress_size, member.file_size, exact=True)}"
                )
        if "xl/workbook.xml" not in archive.namelist():
            raise SourceRejected(f"{name}: a zip archive but not an XLSX workbook (no xl/workbook.xml)")
    table = pd.read_excel(io.BytesIO(content), dtype=object, header=None)
    if table.empty:
        raise SourceRejected(f"{name}: the first sheet is empty")
    header = [_cell_text(v) for v in table.iloc[0]]
    names = _checked_header(header, name)
    columns = [column or f"Unnamed: {number}" for number, column in enumerate(names)]
    body = table.iloc[1:].reset_index(drop=True)
    body.columns = columns
    return _as_text(body)


def _read_parquet(content: bytes, name: str) -> pd.DataFrame:
    """A Parquet file as text columns, refused from its footer when its data would inflate beyond
    the limits."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(io.BytesIO(content))
    metadata = parquet.metadata
    inflated = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    if inflated > _inflation_limit(len(content)):
        raise SourceRejected(f"{name}: {_bomb(len(content), inflated, exact=True)}")
    _checked_header([str(c) for c in parquet.schema_arrow.names], name, where="the schema")
    return _as_text(pd.read_parquet(io.BytesIO(content)))


def _looks_like_text(content: bytes) -> bool:
    head = content[:4096]
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            return False
    return b"\x00" not in head


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def inbox_files(inbox: Path) -> list[Path]:
    """The data files dropped in the inbox (mapping files beside them are read with them)."""
    if not inbox.exists():
        return []
    from tasks.ingest.bank.statements import STATEMENT_SUFFIXES

    wanted = FILE_SUFFIXES + STATEMENT_SUFFIXES
    return sorted(p for p in inbox.iterdir() if p.is_file() and p.suffix.lower() in wanted)


def batch_record(batch: PreparedBatch) -> pd.DataFrame:
    """The ingest_batches row: the source's fingerprint, row count and control totals as read.

    rows_loaded and rows_already_present are filled in by the ledger once the batch is published."""
    return pd.DataFrame(
        [
            {
                "batch_id": batch.batch_id,
                "dataset": batch.dataset,
                "source": batch.source,
                "fingerprint": batch.fingerprint,
                "row_count": batch.row_count,
                "rows_loaded": 0,
                "rows_already_present": 0,
                "rows_quarantined": len(batch.quarantine),
                "control_totals": json.dumps(batch.control_totals),
                "loaded_at": pd.Timestamp.now().floor("s"),
            }
        ]
    )


def read_sources(
    paths: list[str], mapping: str | None, sql_url: str | None, *, workspace: Path | None = None
) -> list[RawSource]:
    """Read every source before loading any, so an unreadable one stops the run with nothing written.

    A mapping named here must lie (links and `..` resolved) inside `workspace` (default: the running
    flow's `home`) or the shipped `data_contracts/mappings/`; a sidecar mapping beside a file may not
    be a link leading out of that file's folder."""
    chosen_mapping = None
    if mapping:
        chosen_mapping = _named_mapping(
            Path(mapping), workspace if workspace is not None else _flow_workspace()
        )
    if sql_url:
        if chosen_mapping is None:
            raise SourceRejected("--sql needs --mapping (naming the dataset and the table or query)")
        source = read_sql_source(sql_url, load_mapping(chosen_mapping))
        source.mapping_path = mapping
        return [source]
    sources = []
    for path in map(Path, paths):
        if path.suffix.lower() not in FILE_SUFFIXES and path.exists():
            from tasks.ingest.bank.source import read_statement_source  # bank files: camt, MT940, BAI2

            sources.append(read_statement_source(path))
            continue
        chosen = chosen_mapping or _sidecar(path)
        read = read_file_sources(path, load_mapping(chosen) if chosen else None)
        for source in read:
            source.mapping_path = str(chosen) if chosen else None
        sources.extend(read)
    return sorted(sources, key=lambda s: (DATASETS.index(s.dataset), s.source))


def _named_mapping(path: Path, workspace: Path | None) -> Path:
    """A mapping named by whoever started the run, refused when it lies outside the places a mapping
    may come from: a mistaken or hostile path (`../../etc/passwd`, a link out) is never read."""
    if workspace is None:
        return path
    real = path.resolve()
    roots = [workspace.resolve(), *(folder.resolve() for folder in SHIPPED_MAPPINGS)]
    if any(real.is_relative_to(root) for root in roots):
        return path
    shown = f"{path} (a link to {real})" if path.is_symlink() else str(path)
    raise SourceRejected(
        f"{shown}: a mapping file must lie inside the workspace ({roots[0]}) or data_contracts/mappings/;"
        " copy it there"
    )


def _sidecar(path: Path) -> Path | None:
    """The `<file>.mapping.yaml` beside a file, if there is one; a link that leads out of the file's
    folder is refused (a mapping dropped into an inbox is read from the inbox only)."""
    sidecar = path.with_name(path.name + ".mapping.yaml")
    if not sidecar.is_symlink():
        return sidecar if sidecar.exists() else None
    real = sidecar.resolve()
    if not real.is_relative_to(path.parent.resolve()):
        raise SourceRejected(
            f"{sidecar.name}: a mapping beside a file must lie in its folder, not link to {real}"
        )
    return sidecar if sidecar.exists() else None


def _flow_workspace() -> Path | None:
    """The running ingest flow's workspace (its `home` parameter), or None outside a flow run."""
    from prefect.runtime import flow_run

    try:
        if not flow_run.id:
            return None
        home = (flow_run.parameters or {}).get("home")
    except Exception:  # outside a flow run there is none
        return None
    from tasks.platform.config import load_settings

    return load_settings(home).home

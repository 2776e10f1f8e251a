"""Ingest: files and SQL sources in, canonical typed rows and quarantined rows out.

Reading (`read_source`, `read_sql_source`) turns a file or a query into text columns; a source that
cannot be read as its dataset at all raises `SourceRejected` with one line naming the file and the
problem. `prepare_batch` is pure: text rows, the contract and what the ledger already knows in,
typed rows per ledger table, quarantined rows with every reason and the checkpoint result out.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from tasks import parse
from tasks.checkpoint import CheckpointResult, Contract, load_contract, run_checkpoint
from tasks.order_book import ORDER_BOOK, SPLIT, split_order_book, split_parts
from tasks.terms import TermsError, parse_terms

# The order datasets are loaded in, so that references (an order's customer) resolve.
DATASETS = ("customers", "subscriptions", "orders", "order_lines", "invoices", "payments", "cases")
FILE_SUFFIXES = (".csv", ".parquet", ".xlsx", ".gz")  # .csv.gz: a gzip-compressed CSV


class SourceRejected(Exception):
    """A source that cannot be read as its dataset at all; nothing of it reaches the ledger."""


def _check_patterns(extract: dict[str, str]) -> None:
    for column, pattern in extract.items():
        try:
            if re.compile(pattern).groups < 1:
                raise ValueError(f"extract.{column}: the pattern needs a group, as ^(\\d+)")
        except re.error as exc:
            raise ValueError(f"extract.{column}: not a regular expression ({exc})") from None


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
        return self


def load_mapping(path: Path) -> Mapping:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return Mapping.model_validate(data)
    except FileNotFoundError:
        raise SourceRejected(f"{path}: mapping file not found") from None
    except (yaml.YAMLError, ValidationError) as exc:
        first = str(exc).splitlines()
        detail = "; ".join(line.strip() for line in first[1:3]) if len(first) > 1 else str(exc)
        raise SourceRejected(f"{path.name}: not a valid mapping ({detail})") from None


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
    content = path.read_bytes()
    suffix = ".csv" if path.name.lower().endswith(".csv.gz") else path.suffix.lower()
    try:
        if path.name.lower().endswith(".gz"):
            if suffix != ".csv":
                raise SourceRejected(f"{path.name}: only CSV files may be gzip-compressed (.csv.gz)")
            frame = _read_csv(gzip.decompress(content))
        elif suffix == ".csv":
            frame = _read_csv(content)
        elif suffix == ".parquet":
            frame = _as_text(pd.read_parquet(io.BytesIO(content)))
        elif suffix == ".xlsx":
            frame = _as_text(pd.read_excel(io.BytesIO(content), dtype=object))
        else:
            raise SourceRejected(
                f"{path.name}: unsupported file type {suffix!r} (use .csv, .parquet or .xlsx)"
            )
    except SourceRejected:
        raise
    except UnicodeDecodeError:
        raise SourceRejected(f"{path.name}: not UTF-8 text") from None
    except Exception as exc:  # any parser's complaint means the file is not readable as a table
        raise SourceRejected(
            f"{path.name}: cannot be read as {suffix[1:].upper()} ({_first_line(exc)})"
        ) from None
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

    def fail(mask: pd.Series, column: str, why: str) -> None:
        for i in mask[mask].index:
            failures.setdefault(int(i), []).append(f"{column}: {rows.at[i, column]!r} {why}")

    currency = None
    if "currency" in contract.columns:
        currency, bad = parse.parse_currency(rows["currency"])
        fail(bad, "currency", "is not an ISO 4217 currency")
    elif "order_id" in rows.columns:  # order lines are priced in their order's currency
        currency = rows["order_id"].str.strip().map(context.order_currency)
    for name, spec in contract.columns.items():
        kind = spec["type"]
        if kind == "currency":
            typed[name] = currency
        elif kind in ("string",):
            typed[name] = parse.parse_text(rows[name])
        elif kind == "terms":
            typed[name] = parse.parse_text(rows[name])
            problems = typed[name].map(_terms_problem)
            for i in problems[problems.notna()].index:
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


def _read_csv(content: bytes) -> pd.DataFrame:
    """Text columns of a CSV; a row with more fields than the header is an error, never a shift."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        return pd.read_csv(
            io.BytesIO(content), dtype=str, keep_default_na=False, encoding="utf-8", index_col=False
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def inbox_files(inbox: Path) -> list[Path]:
    """The data files dropped in the inbox (mapping files beside them are read with them)."""
    if not inbox.exists():
        return []
    from tasks.bank.statements import STATEMENT_SUFFIXES

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


def read_sources(paths: list[str], mapping: str | None, sql_url: str | None) -> list[RawSource]:
    """Read every source before loading any, so an unreadable one stops the run with nothing written."""
    if sql_url:
        if not mapping:
            raise SourceRejected("--sql needs --mapping (naming the dataset and the table or query)")
        source = read_sql_source(sql_url, load_mapping(Path(mapping)))
        source.mapping_path = mapping
        return [source]
    sources = []
    for path in map(Path, paths):
        if path.suffix.lower() not in FILE_SUFFIXES and path.exists():
            from tasks.bank.source import read_statement_source  # bank files: camt, MT940, BAI2

            sources.append(read_statement_source(path))
            continue
        sidecar = path.with_name(path.name + ".mapping.yaml")
        chosen = Path(mapping) if mapping else (sidecar if sidecar.exists() else None)
        read = read_file_sources(path, load_mapping(chosen) if chosen else None)
        for source in read:
            source.mapping_path = str(chosen) if chosen else None
        sources.extend(read)
    return sorted(sources, key=lambda s: (DATASETS.index(s.dataset), s.source))

"""Canonical rows: one source's text rows, its contract and what the ledger already knows in;
typed rows per ledger table, quarantined rows with every reason, and the checkpoint result out.

`prepare_batch` is pure. It types the rows over Arrow (`tasks.ingest.rows`, in an in-memory
compute engine), adds the problems found while reading and the conflicts with the ledger, runs the
contract's checkpoint (a pandas frame, for now), and splits the rows into ledger rows (by table,
stamped with the batch id, Arrow-backed) and quarantined rows (the row number a person sees, the
key, every reason and the raw record). `batch_record` is the batch's `ingest_batches` row. Reading
the sources is `tasks.ingest.sources`; the shared types are `tasks.ingest.model`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tasks.ingest.model import IngestContext, Mapping, Part, RawSource
from tasks.ingest.rows import conflicts_with_ledger, parse_rows
from tasks.platform.checkpoint import CheckpointResult, run_checkpoint
from tasks.platform.contracts import Contract, load_contract
from tasks.platform.ledger import Engine, compute


@dataclass
class PreparedBatch:
    """One source made ready to publish: its ledger rows by table, its quarantined rows, the
    checkpoint's result and the control totals as read."""

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
    contract = load_contract(raw.dataset, context.contracts_dir)
    date_format = raw.mapping.date_format if raw.mapping else "%Y-%m-%d"
    text = text_table(raw.rows, contract)
    positions = raw.rows.index.to_numpy()  # a row's position in its file (the quarantine numbers it)
    orders = context.orders() if _prices_by_order(contract) else None
    with compute() as engine:
        typed, parsed = parse_rows(text, contract, date_format, orders, engine)
        conflicts = conflicts_with_ledger(typed, context.existing, contract)
        totals = _control_totals(engine, typed, contract)
    failures = {int(positions[i]): reasons for i, reasons in parsed.items()}
    for row, reasons in raw.row_problems.items():  # first: they say what is wrong with the row as a whole
        failures[row] = [*reasons, *failures.get(row, [])]
    for i, reasons in conflicts.items():
        failures.setdefault(int(positions[i]), []).extend(reasons)
    references = [contract.typed_column(column) for column in contract.references]
    frame = checkpoint_frame(typed, raw.rows.index, references)
    result = run_checkpoint(
        frame,
        contract,
        source=raw.source,
        known_keys=known_keys(typed, raw.dataset, contract, context),
        prior_failures=failures,
        ceiling=raw.quarantine_ceiling,
        first_row_number=raw.first_row_number,
        column_labels=_column_labels(raw.mapping),
        raw_rows=raw.rows,
    )
    bad = sorted(result.failed_rows)
    quarantine = _quarantine(raw, bad, result.failed_rows, contract)
    batch_id = raw.batch_id
    tables = {}
    if result.outcome != "halted":
        good = typed.filter(pa.array(~np.isin(positions, bad))) if bad else typed
        tables = to_ledger_tables(ledger_frame(good), raw.dataset, batch_id)
    return PreparedBatch(
        raw.dataset, raw.source, batch_id, raw.fingerprint, tables, quarantine, result, totals, len(raw.rows)
    )


def text_table(rows: pd.DataFrame, contract: Contract) -> pa.Table:
    """A source's rows as an Arrow table of text, one column per contract column (no copy for the
    Arrow-backed columns of a CSV read by Arrow)."""
    table = pa.Table.from_pandas(rows[list(contract.columns)], preserve_index=False)
    return pa.table(
        {
            name: column if column.type == pa.string() else pc.cast(column, pa.string())
            for name, column in zip(table.column_names, table.columns, strict=True)
        }
    )


# The typed rows as the checkpoint takes them today: whole numbers and money as nullable integers,
# dates as datetime64, text as Arrow-backed strings (no Python object per value), but for the
# columns it looks up in a set of keys (a reference), held as Python strings: pandas looks Arrow-
# backed text up by turning every key into an Arrow scalar, one by one (3 s for a million orders).
# When the checkpoint takes Arrow, `typed` goes to it as it is.
_CHECKPOINT_TYPES = {pa.int64(): pd.Int64Dtype(), pa.string(): pd.StringDtype("pyarrow")}


def checkpoint_frame(typed: pa.Table, positions: pd.Index, looked_up: list[str]) -> pd.DataFrame:
    """The typed rows as the checkpoint takes them: a pandas frame indexed by row position, the
    `looked_up` columns as Python strings."""
    frame = typed.to_pandas(types_mapper=_CHECKPOINT_TYPES.get)
    for column in looked_up:
        frame[column] = frame[column].astype(pd.StringDtype("python"))
    frame.index = positions
    return frame


def ledger_frame(good: pa.Table) -> pd.DataFrame:
    """The checked rows as the ledger takes them: Arrow-backed columns (read without a Python
    object per value), dates as calendar dates."""
    days = {
        name: pc.cast(column, pa.date32())
        for name, column in zip(good.column_names, good.columns, strict=True)
        if pa.types.is_timestamp(column.type)
    }
    for name, column in days.items():
        good = good.set_column(good.column_names.index(name), name, column)
    return good.to_pandas(types_mapper=pd.ArrowDtype)


def ledger_facts_needed(dataset: str, contract: Contract) -> set[str]:
    """What a batch needs the ledger to say: its customers (a reference to them) and its orders (a
    reference to them, or order lines priced in their order's currency)."""
    needed = {d for d in contract.references.values() if d in ("customers", "orders")}
    if _prices_by_order(contract):
        needed.add("orders")
    return needed


def _prices_by_order(contract: Contract) -> bool:
    return "currency" not in contract.columns and "order_id" in contract.columns


def known_keys(
    typed: pa.Table, dataset: str, contract: Contract, context: IngestContext
) -> dict[str, set[str]]:
    """For each dataset the batch refers to (customers, orders), the referred keys that exist, in
    the ledger or in this very batch: the distinct values of the batch's reference columns found in
    one set lookup, never the ledger's whole key set in Python."""
    known: dict[str, set[str]] = {"customers": set(), "orders": set()}
    for column, referenced in contract.references.items():
        if referenced not in known:
            continue
        values = pc.unique(typed.column(contract.typed_column(column))).drop_null()
        if referenced == "customers":
            held: Any = context.customer_ids()
        else:
            held = context.orders().column("order_id").combine_chunks()
        found = pc.is_in(values, value_set=held)
        if dataset == referenced:  # the batch's own customers (orders) count too
            own = typed.column("customer_id" if referenced == "customers" else "order_id").combine_chunks()
            found = pc.or_(found, pc.is_in(values, value_set=own))
        known[referenced].update(pc.filter(values, found).to_pylist())
    return known


def _quarantine(
    raw: RawSource, bad: list[int], reasons: dict[int, list[str]], contract: Contract
) -> pd.DataFrame:
    """The quarantined rows: the row number a person sees, the key, every reason, the raw record."""
    records = raw.rows.loc[bad].to_dict("records")  # one lookup for all, not one per row
    return pd.DataFrame(
        {
            "stage": "ingest",
            "dataset": raw.dataset,
            "source": raw.source,
            "row_number": [raw.first_row_number + i for i in bad],
            "key": ["/".join(str(r[k]) for k in contract.key) for r in records],
            "reasons": ["; ".join(reasons[i]) for i in bad],
            "raw_record": [json.dumps(r, ensure_ascii=False) for r in records],
        }
    )


def _column_labels(mapping: Mapping | Part | None) -> dict[str, str]:
    """Canonical column -> the file's own name, for a halt's listing (`amount (Betrag in the file)`)."""
    return dict(mapping.columns) if mapping is not None else {}


def to_ledger_tables(good: pd.DataFrame, dataset: str, batch_id: str) -> dict[str, pd.DataFrame]:
    """The ledger rows of a checked batch, by table."""
    frame = good.reset_index(drop=True)  # the ledger reads Arrow-backed columns without the index
    frame["batch_id"] = _constant(batch_id, len(frame))
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]) and not isinstance(
            frame[column].dtype, pd.ArrowDtype
        ):
            frame[column] = _dates(frame[column])
    if dataset == "customers":
        frame["payment_terms_days"] = frame["payment_terms_days"].fillna(30)
        frame["dunning_profile"] = frame["dunning_profile"].fillna("standard")
        frame["language"] = frame["language"].fillna("en")
        accounts = frame[["customer_id", "bank_accounts", "batch_id"]].astype(object)
        accounts = accounts.dropna(subset=["bank_accounts"])
        accounts = accounts.assign(account=accounts["bank_accounts"].str.split(";")).explode("account")
        accounts["account"] = accounts["account"].str.replace(" ", "", regex=False).str.upper()
        accounts = accounts[accounts["account"] != ""].drop_duplicates(["customer_id", "account"])
        return {
            "customers": frame.drop(columns=["bank_accounts"]),
            "customer_bank_accounts": accounts[["customer_id", "account", "batch_id"]],
        }
    if dataset == "invoices":
        frame["origin"] = _constant("ingested", len(frame))
    if dataset == "cases":
        frame["status"] = frame["status"].fillna("open")
        frame["invoice_id"] = frame["invoice_id"].map(_invoice_list)
    return {dataset: frame}


def _constant(value: str, rows: int) -> pd.arrays.ArrowExtensionArray:
    """The same text on every row, Arrow-backed (the ledger reads it without a Python object per row)."""
    encoded = value.encode("utf-8")
    wide = rows * len(encoded) >= 2**31  # beyond what 32-bit offsets address
    offsets = np.arange(rows + 1, dtype=np.int64) * len(encoded)
    kind = pa.large_string() if wide else pa.string()
    buffers = [
        None,
        pa.py_buffer(offsets if wide else offsets.astype(np.int32)),
        pa.py_buffer(encoded * rows),
    ]
    return pd.arrays.ArrowExtensionArray(pa.Array.from_buffers(kind, rows, buffers))


def _dates(stamps: pd.Series) -> pd.Series:
    """The calendar date of each timestamp (missing stays missing), Arrow-backed, as the ledger's DATE."""
    days = pc.cast(pa.array(stamps, from_pandas=True), pa.date32())
    return pd.Series(pd.arrays.ArrowExtensionArray(days), index=stamps.index)


def _invoice_list(value: Any) -> Any:
    """A case's invoices as one sorted ';'-separated text, or missing for the whole customer."""
    if not isinstance(value, str):
        return None
    ids = sorted({part.strip() for part in value.split(";") if part.strip()})
    return ";".join(ids) or None


def _control_totals(engine: Engine, typed: pa.Table, contract: Contract) -> dict[str, int]:
    """The file's amounts as read, per currency, summed exactly (every row, quarantined or not)."""
    money = [contract.typed_column(n) for n, s in contract.columns.items() if s["type"] == "money"]
    if not money or "currency" not in typed.column_names or contract.dataset == "customers":
        return {}
    engine.register(
        "amounts", pa.table({"currency": typed.column("currency"), "amount_minor": typed.column(money[0])})
    )
    totals = engine.named("ingest/control_totals")
    return {
        str(currency): int(total)
        for currency, total in zip(
            totals.column("currency").to_pylist(), totals.column("total").to_pylist(), strict=True
        )
    }


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

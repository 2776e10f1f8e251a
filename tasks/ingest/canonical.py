"""Canonical rows: one source's text rows, its contract and what the ledger already knows in;
typed rows per ledger table, quarantined rows with every reason, and the checkpoint result out.

`prepare_batch` is pure. It types the rows (`tasks.ingest.rows`), adds the problems found while
reading and the conflicts with the ledger, runs the contract's checkpoint, and splits the rows into
ledger rows (by table, stamped with the batch id) and quarantined rows (the row number a person
sees, the key, every reason and the raw record). `batch_record` is the batch's `ingest_batches`
row. Reading the sources is `tasks.ingest.sources`; the shared types are `tasks.ingest.model`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from tasks.ingest.model import IngestContext, Mapping, Part, RawSource
from tasks.ingest.rows import conflicts_with_ledger, parse_rows
from tasks.platform.checkpoint import CheckpointResult, run_checkpoint
from tasks.platform.contracts import Contract, load_contract


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
    quarantine = _quarantine(raw, bad, result.failed_rows, contract)
    batch_id = f"{raw.dataset}:{raw.fingerprint[:24]}"
    tables = {} if result.outcome == "halted" else to_ledger_tables(good, raw.dataset, batch_id)
    totals = _control_totals(typed, contract)
    return PreparedBatch(
        raw.dataset, raw.source, batch_id, raw.fingerprint, tables, quarantine, result, totals, len(raw.rows)
    )


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

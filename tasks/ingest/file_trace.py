"""Tracing one ingested file through the ledger (`o2c summary FILE`): the file's sources read again
as ingest read them (with the mapping it was ingested with, or the one beside it), the batch ids
their fingerprints give, and what the ledger holds of those batches: rows loaded, invoiced and
credited, and the rows kept in quarantine. `tasks/ingest/file_summary.py` turns them into figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tasks.ingest import file_summary
from tasks.ingest.mappings import load_mapping
from tasks.ingest.model import RawSource
from tasks.ingest.sources import read_file_sources
from tasks.platform.ledger import Ledger


def read_sources(path: Path, mapping: Path | None = None) -> dict[str, RawSource]:
    """The file's sources by dataset; without `mapping`, the `<file>.mapping.yaml` beside it if there
    is one. Raises `tasks.ingest.model.SourceRejected` for a file ingest would refuse."""
    sidecar = path.with_name(path.name + ".mapping.yaml")
    chosen = mapping or (sidecar if sidecar.exists() else None)
    loaded = load_mapping(chosen) if chosen else None
    return {s.dataset: s for s in read_file_sources(path, loaded)}


def summarise(ledger: Ledger, path: Path, sources: dict[str, RawSource]) -> dict[str, Any]:
    """The figures and controls of a file holding order lines, from what the ledger holds of its
    batches (`file_summary.summarise`)."""
    batch = {d: s.batch_id for d, s in sources.items()}
    loaded = ledger.query(
        "ingest/summary/loaded",
        customers_batch=batch.get("customers", ""),
        orders_batch=batch.get("orders", ""),
        lines_batch=batch["order_lines"],
    )
    quarantined = ledger.query("ingest/summary/quarantined", source=str(path))
    lines = sources["order_lines"]
    return file_summary.summarise(
        lines.rows, lines.first_row_number, {d: len(s.rows) for d, s in sources.items()}, quarantined, loaded
    )

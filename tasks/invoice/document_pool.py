"""Rendering many invoice documents at once, in a pool of processes.

A PDF costs about 25 ms of one core (fpdf2 is pure Python): a run that bills tens of thousands of
invoices renders them in `workers` processes, each writing its share of the documents whole (HTML
first, then the PDF, whose presence means both are there). The processes are started fresh
(`spawn`): the parent holds Prefect's and DuckDB's threads, which a fork would copy half-held.
Below `POOL_THRESHOLD` documents the start of the processes costs more than it saves, and they are
rendered in the calling process.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

POOL_THRESHOLD = 200  # documents; a process starts in about a second


def render_in_pool(docs: list[Any], folder: Path, templates: Path, workers: int) -> int:
    """Render `docs` (InvoiceDocument) into `folder` in `workers` processes; how many were written."""
    chunks = [docs[start::workers] for start in range(workers)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return sum(pool.map(_render_chunk, chunks, [folder] * workers, [templates] * workers))


def _render_chunk(docs: list[Any], folder: Path, templates: Path) -> int:
    from tasks.invoice.documents import write_rendered

    return write_rendered(docs, folder, templates)

"""Reading the sources of an ingest run: data files, SQL tables or queries and bank statements in,
`RawSource`s (text columns under canonical names) out.

`read_sources` reads every source before any is loaded, so that an unreadable one stops the run
with nothing written; a file is read with the mapping named for the run or its sidecar
`<file>.mapping.yaml`, and a bank statement (camt, MT940/MT942, BAI2) by `tasks.ingest.bank`. A
source that cannot be read as its dataset at all raises `SourceRejected` with one line naming the
file and the problem (and the row and column where there is one).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tasks.ingest.bank.source import read_statement_source
from tasks.ingest.bank.statements import STATEMENT_SUFFIXES
from tasks.ingest.file_formats import as_text, first_line, read_frame
from tasks.ingest.mappings import apply_mapping, load_mapping, named_mapping, sidecar_mapping
from tasks.ingest.model import (
    DATASETS,
    ORDER_BOOK,
    SPLIT,
    Mapping,
    RawSource,
    SourceRejected,
    fingerprint_bytes,
)
from tasks.ingest.order_book import split_order_book, split_parts
from tasks.platform.config import SHIPPED_CONTRACTS, SHIPPED_RULES

FILE_SUFFIXES = (".csv", ".parquet", ".xlsx", ".gz")  # .csv.gz: a gzip-compressed CSV


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


def read_file_sources(
    path: Path, mapping: Mapping | None = None, contracts_dir: Path = SHIPPED_CONTRACTS
) -> list[RawSource]:
    """The canonical sources of one file: itself, or the three parts of an order book."""
    if mapping is not None and mapping.dataset == ORDER_BOOK:
        frame, content = read_frame(path)
        return split_order_book(
            _python_text(frame), mapping, str(path), fingerprint_bytes(content), contracts_dir
        )
    if mapping is not None and mapping.dataset == SPLIT:
        frame, content = read_frame(path)
        return split_parts(_python_text(frame), mapping, str(path), fingerprint_bytes(content), contracts_dir)
    return [read_source(path, mapping, contracts_dir)]


def _python_text(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame's Arrow-backed text as Python strings: an order book's or a split's `extract`
    patterns are Python regular expressions, run by pandas on Python strings."""
    arrow = [c for c in frame.columns if isinstance(frame[c].dtype, pd.ArrowDtype)]
    return frame.astype(dict.fromkeys(arrow, object)) if arrow else frame


def read_source(
    path: Path, mapping: Mapping | None = None, contracts_dir: Path = SHIPPED_CONTRACTS
) -> RawSource:
    """Read a CSV (or .csv.gz), Parquet or XLSX file as text columns, mapped to canonical names."""
    dataset = detect_dataset(path, mapping) if path.exists() else ""
    frame, content = read_frame(path)
    first_row = 1 if path.suffix.lower() == ".parquet" else 2
    rows = apply_mapping(frame, dataset, mapping, path.name, contracts_dir)
    return RawSource(dataset, str(path), fingerprint_bytes(content), rows, first_row, mapping)


def read_sql_source(url: str, mapping: Mapping, contracts_dir: Path = SHIPPED_CONTRACTS) -> RawSource:
    """Read the mapping's `table` or `query` from any SQLAlchemy URL as text columns."""
    import sqlalchemy as sa  # only an SQL source needs it

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
            f"{safe_url}: cannot read {mapping.table or 'query'} ({first_line(exc)})"
        ) from None
    text = as_text(frame)
    source = f"{safe_url}#{mapping.table or 'query'}"
    rows = apply_mapping(text, mapping.dataset, mapping, source, contracts_dir)
    fingerprint = fingerprint_bytes(rows.to_csv(index=False).encode("utf-8"))
    return RawSource(mapping.dataset, source, fingerprint, rows, 1, mapping)


def inbox_files(inbox: Path) -> list[Path]:
    """The data files dropped in the inbox (mapping files beside them are read with them)."""
    if not inbox.exists():
        return []
    wanted = FILE_SUFFIXES + STATEMENT_SUFFIXES
    return sorted(p for p in inbox.iterdir() if p.is_file() and p.suffix.lower() in wanted)


def read_sources(
    paths: list[str],
    mapping: str | None,
    sql_url: str | None,
    *,
    workspace: Path | None = None,
    contracts_dir: Path = SHIPPED_CONTRACTS,
    rules_dir: Path = SHIPPED_RULES,
) -> list[RawSource]:
    """Read every source before loading any, so an unreadable one stops the run with nothing written.

    A mapping named here must lie (links and `..` resolved) inside `workspace` (a run passes its
    own) or the shipped `data_contracts/mappings/`; a sidecar mapping beside a file may not be a link
    leading out of that file's folder. Without a workspace, a named mapping may lie anywhere.
    Sources are read against the contracts of `contracts_dir`, bank statements with the policy of
    `rules_dir` (a run passes its Settings' folders)."""
    chosen_mapping = named_mapping(Path(mapping), workspace, contracts_dir) if mapping else None
    if sql_url:
        if chosen_mapping is None:
            raise SourceRejected("--sql needs --mapping (naming the dataset and the table or query)")
        source = read_sql_source(sql_url, load_mapping(chosen_mapping, contracts_dir), contracts_dir)
        source.mapping_path = mapping
        return [source]
    sources = []
    for path in map(Path, paths):
        if path.suffix.lower() not in FILE_SUFFIXES and path.exists():
            sources.append(read_statement_source(path, rules_dir))  # bank files: camt, MT940, BAI2
            continue
        chosen = chosen_mapping or sidecar_mapping(path)
        read = read_file_sources(path, load_mapping(chosen, contracts_dir) if chosen else None, contracts_dir)
        for source in read:
            source.mapping_path = str(chosen) if chosen else None
        sources.extend(read)
    return sorted(sources, key=lambda s: (DATASETS.index(s.dataset), s.source))

"""The journal's files: CSV, or JSON with its columns described (`o2c journal --out`)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from tasks.report.journal import COLUMNS, FORMAT, FORMAT_VERSION, Journal, JournalProblem, totals


def write_file(journal: Journal, path: Path) -> None:
    """The journal as CSV (`.csv`) or as JSON (`.json`: the columns described, then the lines),
    written whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    if path.suffix.lower() == ".json":
        _json_text(journal, partial)
    elif path.suffix.lower() == ".csv":
        _write_csv(journal.lines, partial)
    else:
        raise JournalProblem(f"{path.name}: write the journal as .csv or .json")
    partial.replace(path)


_FORMULA = r"^[=+\-@\t\r]"
_NUMBER = r"^[+-]?[0-9]+(\.[0-9]+)?$"


def _as_text(lines: pa.Table) -> pa.Table:
    """Dates as YYYY-MM-DD; text a spreadsheet would run as a formula neutralised with a leading
    `'` (as the exports do), for the whole column at once."""
    columns = []
    for name in lines.column_names:
        column = lines.column(name)
        if pa.types.is_date(column.type):
            column = pc.strftime(column, "%Y-%m-%d")
        elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            risky = pc.and_(
                pc.match_substring_regex(column, _FORMULA),
                pc.invert(pc.match_substring_regex(column, _NUMBER)),
            )
            column = pc.if_else(
                pc.fill_null(risky, False), pc.binary_join_element_wise("'", column, ""), column
            )
        columns.append(column)
    return pa.table(columns, names=lines.column_names)


def _write_csv(lines: pa.Table, path: Path) -> None:
    from pyarrow import csv

    options = csv.WriteOptions(include_header=True, quoting_style="needed")
    csv.write_csv(_as_text(lines), path, write_options=options)


def _json_text(journal: Journal, path: Path) -> None:
    """The JSON file, its lines written a batch at a time."""
    head = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "from": journal.date_from.isoformat(),
        "to": journal.date_to.isoformat(),
        "entity": journal.entity,
        "account_map_version": journal.account_map_version,
        "columns": [{"name": n, "type": t, "description": x} for n, t, x in COLUMNS],
        "totals": totals(journal.lines),
    }
    text = pa.table(
        [
            pc.strftime(c, "%Y-%m-%d") if pa.types.is_date(c.type) else c
            for c in (journal.lines.column(n) for n in journal.lines.column_names)
        ],
        names=journal.lines.column_names,
    )
    with path.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps(head, indent=1, ensure_ascii=False)[:-2] + ',\n "lines": [')
        first = True
        for batch in text.to_batches(max_chunksize=50_000):
            for row in batch.to_pylist():
                handle.write(("\n  " if first else ",\n  ") + json.dumps(row, ensure_ascii=False))
                first = False
        handle.write("\n ]\n}\n")

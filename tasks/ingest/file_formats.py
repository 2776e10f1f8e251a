"""A data file (CSV, gzip-compressed CSV, Parquet or XLSX) read as text columns, and its bytes.

Every cell comes out as text: dates as ISO dates, whole numbers without a decimal point, missing
values as empty strings, so that the contract types them all in one place. A file whose shape
cannot be trusted is refused whole with `SourceRejected`: an XLSX that is no workbook (a renamed
CSV, an old .xls) or whose header names a column twice, a compressed file that would inflate like
a bomb (`tasks.ingest.limits`), a CSV that fails its checks (`tasks.ingest.csv_reader`), a file
with a header and no rows.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from tasks.ingest.csv_reader import checked_header, read_csv
from tasks.ingest.limits import check_archive, gunzip, refuse_declared
from tasks.ingest.model import SourceRejected


def read_frame(path: Path) -> tuple[pd.DataFrame, bytes]:
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
            frame = read_csv(gunzip(content, name), name)
        elif suffix == ".csv":
            frame = read_csv(content, name)
        elif suffix == ".parquet":
            frame = _read_parquet(content, name)
        elif suffix == ".xlsx":
            frame = _read_xlsx(content, name)
        else:
            raise SourceRejected(f"{name}: unsupported file type {suffix!r} (use .csv, .parquet or .xlsx)")
    except SourceRejected:
        raise
    except Exception as exc:  # any parser's complaint means the file is not readable as a table
        raise SourceRejected(f"{name}: cannot be read as {suffix[1:].upper()} ({first_line(exc)})") from None
    if frame.empty and len(frame.columns):
        raise SourceRejected(f"{name}: a header and no rows: nothing to load (an empty export?)")
    return frame, content


def _read_xlsx(content: bytes, name: str) -> pd.DataFrame:
    """The first sheet of an XLSX workbook as text columns. The archive's declared sizes are checked
    before anything is inflated."""
    if not zipfile.is_zipfile(io.BytesIO(content)):
        if content.startswith(b"\xd0\xcf\x11\xe0"):
            raise SourceRejected(f"{name}: an Excel 97-2003 workbook (.xls), not XLSX; save it as .xlsx")
        if _looks_like_text(content):
            raise SourceRejected(f"{name}: text, not an XLSX workbook (a CSV renamed .xlsx? name it .csv)")
        raise SourceRejected(f"{name}: not an XLSX workbook (not a zip archive)")
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        check_archive(archive, name, len(content))
        if "xl/workbook.xml" not in archive.namelist():
            raise SourceRejected(f"{name}: a zip archive but not an XLSX workbook (no xl/workbook.xml)")
    table = pd.read_excel(io.BytesIO(content), dtype=object, header=None)
    if table.empty:
        raise SourceRejected(f"{name}: the first sheet is empty")
    header = [cell_text(v) for v in table.iloc[0]]
    names = checked_header(header, name)
    columns = [column or f"Unnamed: {number}" for number, column in enumerate(names)]
    body = table.iloc[1:].reset_index(drop=True)
    body.columns = columns
    return as_text(body)


def _read_parquet(content: bytes, name: str) -> pd.DataFrame:
    """A Parquet file as text columns, refused from its footer when its data would inflate beyond
    the limits."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(io.BytesIO(content))
    metadata = parquet.metadata
    inflated = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    refuse_declared(name, len(content), inflated)
    checked_header([str(c) for c in parquet.schema_arrow.names], name, where="the schema")
    # As pandas reads it (the index restored from pandas' metadata), text columns left in Arrow
    table = pq.read_table(io.BytesIO(content))
    return as_text(table.to_pandas(types_mapper=_arrow_text))


def _arrow_text(kind: Any) -> pd.ArrowDtype | None:
    """Arrow-backed text for a text column, pandas' own type for any other."""
    return pd.ArrowDtype(kind) if kind in (pa.string(), pa.large_string()) else None


def _looks_like_text(content: bytes) -> bool:
    head = content[:4096]
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            return False
    return b"\x00" not in head


def first_line(exc: BaseException) -> str:
    """A parser's complaint on one short line."""
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as text: dates as ISO dates, numbers as written, missing as empty."""
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        values = frame[column]
        if isinstance(values.dtype, pd.ArrowDtype) and values.dtype.pyarrow_dtype in (
            pa.string(),
            pa.large_string(),
        ):
            out[str(column)] = values.fillna("")  # text stays text, without a Python object per value
        elif pd.api.types.is_datetime64_any_dtype(values):
            out[str(column)] = values.dt.strftime("%Y-%m-%d").fillna("")
        else:
            out[str(column)] = values.map(cell_text)
    return out


def cell_text(value: Any) -> str:
    """One cell as text (see `as_text`)."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return ""
    if hasattr(value, "isoformat") and hasattr(value, "year"):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)

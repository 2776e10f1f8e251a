"""A CSV file read as text columns, once its shape can be trusted.

A CSV is refused whole, naming the file, the row (the header is row 1, as the quarantine counts)
and the column where there is one, when it is not UTF-8 (a UTF-8 byte-order mark is allowed and
dropped), holds a NUL byte, has a header naming a column twice or holding an invisible character,
is separated by something other than commas, has a row with more or fewer fields than its header,
has broken quoting, or has a header and no rows. `checked_header` is shared with the XLSX and
Parquet readers.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd

from tasks.ingest import arrow_csv
from tasks.ingest.model import SourceRejected
from tasks.platform import parse

_UTF8_BOM = b"\xef\xbb\xbf"
_WIDE_BOMS = {  # the longest first: a UTF-32 LE mark starts with the UTF-16 LE one
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}


def read_csv(content: bytes, name: str) -> pd.DataFrame:
    """Text columns of a CSV whose shape was checked first: every row as many fields as the header,
    never a shift, a padding or a truncation.

    A plain file (UTF-8, no NUL, strict quoting, every row as wide as its header) is read by Arrow
    into Arrow-backed text columns, no Python object per value; any other goes the careful way
    (`_check_csv`, then pandas), which finds the row and column to name in the refusal."""
    _refuse_wide_text(content, name)
    table = arrow_csv.plain_table(content.removeprefix(_UTF8_BOM))
    if table is None:
        return _read_checked(content, name)
    checked_header(table.column_names, name)
    # pandas names an unnamed column by its position; the mapping never reads one
    names = [column or f"Unnamed: {number}" for number, column in enumerate(table.column_names)]
    return table.rename_columns(names).to_pandas(types_mapper=pd.ArrowDtype)


def _read_checked(content: bytes, name: str) -> pd.DataFrame:
    """The careful way: every record read by Python's csv module, refused at the first problem."""
    text = _decode_csv(content, name)
    _check_csv(text, name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, index_col=False)


def _refuse_wide_text(content: bytes, name: str) -> None:
    """Refuse an empty file, and UTF-16 or UTF-32 text (with or without a byte-order mark)."""
    if not content or content.isspace():  # what strip() would leave empty, without copying the file
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


def _decode_csv(content: bytes, name: str) -> str:
    """A CSV's bytes as text: UTF-8, a UTF-8 byte-order mark dropped. Invalid bytes are kept as
    escapes (`surrogateescape`) so that `_check_csv` can say in which row and column they are."""
    _refuse_wide_text(content, name)
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
                    header = checked_header(record, name)
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


def checked_header(record: list[str], name: str, where: str = "row 1: the header") -> list[str]:
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

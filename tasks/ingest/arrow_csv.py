"""A plain CSV file read by Arrow: text columns without a Python object per value.

`plain_table` reads a CSV's bytes (UTF-8, byte-order mark removed) as an Arrow table of text
columns when it is plain: no NUL byte, valid UTF-8, quoting that Python's strict csv reader accepts
(a quoted field opens at the start of a field and closes before a comma or a line end), every row
exactly as wide as its header, at least one row. Otherwise it returns None, and the caller reads
the file the careful way, which names the row and column of the problem. Arrow reads a plain file
exactly as pandas reads it: the same fields, the same text, blank lines skipped.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.csv as arrow_csv

# One pass over the file, in C: runs without quotes, and quoted fields that open at the start of a
# field and close before a comma, a line end or the end of the file, with no quote inside (the
# common case: `"Suzuki Machinery Co., Ltd."`). The first pattern also refuses line breaks inside
# quotes, so that Arrow may split the file at any line end (faster); the second allows them.
_SIMPLE_QUOTING = re.compile(rb'(?:[^"]++|(?<![^,\r\n])"[^"\r\n]*+"(?![^,\r\n]))*+')
_SIMPLE_QUOTING_MULTILINE = re.compile(rb'(?:[^"]++|(?<![^,\r\n])"[^"]*+"(?![^,\r\n]))*+')
# From an opening quote to its closing quote (doubled quotes inside), if it is ever closed.
_QUOTED_FIELD = re.compile(rb'"(?:[^"]++|"")*+(")?')
_FIELD_END = b",\r\n"
_UTF8_BOM = b"\xef\xbb\xbf"


def plain_table(content: bytes) -> pa.Table | None:
    """The CSV as an Arrow table of text columns (header names as written), or None when it is not
    plain (see the module's docstring)."""
    if b"\x00" in content or content.startswith(_UTF8_BOM):  # Arrow would drop a second mark unseen
        return None
    quoting = _quoting(content)
    if quoting is None:
        return None
    try:
        table = _read(content, newlines_in_values=quoting)
    except (pa.ArrowInvalid, UnicodeDecodeError):  # a ragged row, bytes that are not UTF-8, a huge field
        return None
    if table.num_rows == 0 or table.num_columns == 1:  # in one column, a row of spaces is a blank line
        return None
    return table


def _quoting(content: bytes) -> bool | None:
    """None when some quoting breaks Python's strict csv rules; else whether a quoted field holds a
    line break."""
    if b'"' not in content:
        return False
    if _matches_whole(_SIMPLE_QUOTING, content):
        return False
    if _matches_whole(_SIMPLE_QUOTING_MULTILINE, content):
        return True
    return True if _strict_quoting(content) else None


def _matches_whole(pattern: re.Pattern[bytes], content: bytes) -> bool:
    found = pattern.match(content)
    return found is not None and found.end() == len(content)


def _strict_quoting(content: bytes) -> bool:
    """Whether every quoted field closes, and closes before a comma, a line end or the end of the
    file, as Python's strict csv reader requires; a quote inside an unquoted field is text."""
    position = 0
    while (start := content.find(b'"', position)) != -1:
        if start > 0 and content[start - 1] not in _FIELD_END:
            position = start + 1  # inside an unquoted field (`5" screen`): a character like any other
            continue
        field = _QUOTED_FIELD.match(content, start)
        if field is None or field.group(1) is None:
            return False  # never closed
        end = field.end()
        if end < len(content) and content[end] not in _FIELD_END:
            return False  # `"abc"def`: a quote inside a field that is not quoted as a whole
        position = end
    return True


def _read(content: bytes, *, newlines_in_values: bool) -> pa.Table:
    """Every column as text, empty fields as empty strings (never missing), nothing inferred."""
    parse = arrow_csv.ParseOptions(newlines_in_values=newlines_in_values)
    buffer = pa.py_buffer(content)
    with arrow_csv.open_csv(pa.BufferReader(buffer), parse_options=parse) as head:
        names = head.schema.names  # the header, as Arrow reads it: only the first block is parsed
    convert = arrow_csv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()),
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    return arrow_csv.read_csv(pa.BufferReader(buffer), parse_options=parse, convert_options=convert)

"""A source's text columns typed a whole column at a time, over Arrow, with the positions of the
values that cannot be read.

Each function takes a column of text as read (an Arrow string column, blank = empty) and returns
typed values plus what fails, as `tasks.platform.parse` does for a pandas column, with the same
rules: values trimmed of what Python's `str.strip()` trims, currencies and dates judged by the very
functions of `tasks.platform.parse` but once per distinct value (a million rows hold a few thousand
dates and five currencies), whole numbers and decimals judged by set operations, money scaled to
integer minor units in the compute engine (`sql/ingest/decimal_cells.sql`) without a float.
Control characters and over-long text are first looked for over the whole column; only the few
values found are looked at in Python, to name the character exactly.

Pure: columns in, columns and positions out; the engine is the in-memory one a caller opened.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tasks.platform import parse
from tasks.platform.ledger import Engine
from tasks.platform.money import CURRENCY_EXPONENTS

Column: TypeAlias = Any  # an Arrow column of one type: a ChunkedArray or an Array

# What Python's str.strip() trims (pandas' .str.strip() too): every character str.isspace() says is
# white space, from tab and space to the ideographic space.
WHITESPACE = "".join(ch for ch in map(chr, range(sys.maxunicode + 1)) if ch.isspace())
_SURROUNDING = " \t\r\n"  # what the text checks trim (tasks.platform.parse)
# The control characters of tasks.platform.parse, in RE2's syntax, to find the candidates at once.
_CONTROL_IN_LINE = r"[\x00-\x1f\x7f-\x{9f}\x{2028}\x{2029}]"
_CONTROL_IN_FREE_TEXT = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x{9f}\x{2028}\x{2029}]"
_WHOLE_NUMBER = r"^[+-]?[0-9]{1,15}$"  # parse.parse_integer's, anchored for RE2


def trimmed(values: Column) -> Column:
    """Each value without the white space around it (Python's `str.strip()`): the column itself
    (no copy) when no value starts or ends with a byte white space can start or end with."""
    if not _may_need_trimming(values):
        return values
    return pc.utf8_trim(values, characters=WHITESPACE)


# The bytes a white-space character starts with in UTF-8 (ASCII ones, and the lead bytes of U+0085,
# U+00A0, U+1680, U+2000..U+205F and U+3000), and those it may end with (ASCII ones, and any
# continuation byte).
_WHITE_FIRST = np.zeros(256, bool)
_WHITE_FIRST[[0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0xC2, 0xE1, 0xE2, 0xE3]] = True
_WHITE_LAST = np.zeros(256, bool)
_WHITE_LAST[[0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20]] = True
_WHITE_LAST[0x80:0xC0] = True


def _may_need_trimming(values: Column) -> bool:
    """Whether some value may start or end with white space, from its first and last byte only:
    never a false negative (a value ending in any non-ASCII character counts)."""
    for offsets, data in _text_bytes(values):
        if data.size == 0:
            continue
        # An empty value reads its neighbour's byte: a false alarm at worst, never a miss.
        starts = np.minimum(offsets[:-1] - offsets[0], data.size - 1)
        ends = np.maximum(offsets[1:] - offsets[0] - 1, 0)
        if _WHITE_FIRST[data[starts]].any() or _WHITE_LAST[data[ends]].any():
            return True
    return False


def blank(cut: Column) -> Column:
    """Whether each trimmed value is missing or empty (its text was white space only)."""
    return pc.fill_null(pc.equal(cut, ""), True)


def text(cut: Column) -> Column:
    """Trimmed text; blanks become missing (`parse.parse_text`)."""
    empty = pc.equal(cut, "")
    if not pc.any(empty).as_py():
        return cut
    return pc.if_else(empty, pa.scalar(None, pa.string()), cut)


def positions(mask: Column) -> list[int]:
    """The positions where `mask` is true (missing counts as false)."""
    return np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False)).tolist()


def values_at(values: Column, where: list[int]) -> list[object]:
    """The values at `where`, as Python objects, in one take."""
    return pc.take(values, pa.array(where, pa.int64())).to_pylist() if where else []


def per_distinct(values: Column, judge: Callable[[pd.Series], Iterable[pa.Array]]) -> list[Column]:
    """`judge` run once over the distinct values (a pandas Series of Python objects), each of its
    results (Arrow arrays aligned with the distinct values) spread back to every row."""
    distinct = pc.unique(values)
    where = pc.index_in(values, value_set=distinct)
    judged = judge(pd.Series(distinct.to_pylist(), dtype=object))
    return [pc.take(result, where) for result in judged]


def control_characters(values: Column, *, multiline: bool) -> dict[int, str]:
    """The first control character inside each value that holds one (surrounding spaces, tabs and
    line ends trimmed), by position: `parse.control_characters`, looked at in Python only where the
    column's bytes hold one at all, and then only in the values RE2 finds one in."""
    if not _may_hold_control(values, multiline):
        return {}
    candidates = positions(
        pc.match_substring_regex(values, _CONTROL_IN_FREE_TEXT if multiline else _CONTROL_IN_LINE)
    )
    pattern = re.compile(parse._CONTROL_IN_FREE_TEXT if multiline else parse._CONTROL_IN_LINE)
    found = {}
    for i, value in zip(candidates, values_at(values, candidates), strict=True):
        hit = pattern.search(value.strip(_SURROUNDING)) if isinstance(value, str) else None
        if hit:
            found[i] = hit.group()
    return found


def too_long(values: Column, limit: int) -> dict[int, str]:
    """The values longer than `limit` characters once trimmed, by position (a value of at most
    `limit` bytes never is: the lengths are looked at only when the longest value is longer)."""
    if _longest_in_bytes(values) <= limit:
        return {}
    candidates = positions(pc.greater(pc.utf8_length(values), limit))
    return {
        i: value
        for i, value in zip(candidates, values_at(values, candidates), strict=True)
        if isinstance(value, str) and len(value.strip(_SURROUNDING)) > limit
    }


def _text_bytes(values: Column) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Per chunk of a text column: the byte offsets of its values and the bytes they span (UTF-8)."""
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    for chunk in chunks:
        if len(chunk) == 0 or pa.types.is_null(chunk.type):
            continue
        wide = pa.types.is_large_string(chunk.type)
        _validity, offsets_buffer, data_buffer = chunk.buffers()
        offsets = np.frombuffer(offsets_buffer, np.int64 if wide else np.int32)[
            chunk.offset : chunk.offset + len(chunk) + 1
        ]
        data = np.frombuffer(data_buffer, np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
        yield offsets, data[offsets[0] : offsets[-1]]


def _longest_in_bytes(values: Column) -> int:
    return max((int(np.diff(offsets).max()) for offsets, _ in _text_bytes(values)), default=0)


def _may_hold_control(values: Column, multiline: bool) -> bool:
    """Whether the column's bytes hold a control character anywhere (in UTF-8, C0 and DEL are single
    bytes, C1 controls are C2 80..9F, the line and paragraph separators E2 80 A8..A9): one pass
    over the bytes, never a false negative."""
    for _offsets, data in _text_bytes(values):
        low = data < 0x20
        if multiline:
            low &= (data != 0x09) & (data != 0x0A) & (data != 0x0D)
        if low.any() or (data == 0x7F).any():
            return True
        lead = np.flatnonzero(data[:-1] == 0xC2)
        if lead.size and ((data[lead + 1] >= 0x80) & (data[lead + 1] <= 0x9F)).any():
            return True
        lead = np.flatnonzero(data[:-2] == 0xE2)
        if (
            lead.size
            and ((data[lead + 1] == 0x80) & ((data[lead + 2] == 0xA8) | (data[lead + 2] == 0xA9))).any()
        ):
            return True
    return False


def currencies(values: Column) -> tuple[Column, Column, Column]:
    """ISO 4217 codes as given (trimmed; anything else missing), each row's exponent (missing where
    the code is not known) and the reason a present value is not a currency (missing where it is)."""

    def judge(distinct: pd.Series) -> list[pa.Array]:
        codes, bad = parse.parse_currency(distinct)
        reasons = [
            f"{parse.shown(value)} {parse.currency_problem(value)}" if refused else None
            for value, refused in zip(distinct, bad.fillna(False), strict=True)
        ]
        exponents = [CURRENCY_EXPONENTS.get(code) if isinstance(code, str) else None for code in codes]
        return [
            pa.array(codes.astype(object).where(codes.notna(), None).tolist(), pa.string()),
            pa.array(exponents, pa.int32()),
            pa.array(reasons, pa.string()),
        ]

    codes, exponents, reasons = per_distinct(values, judge)
    return codes, exponents, reasons


def exponents_of(codes: Column) -> Column:
    """The ISO 4217 exponent of each currency code (missing where unknown or missing)."""
    (exponents,) = per_distinct(
        codes, lambda distinct: [pa.array([CURRENCY_EXPONENTS.get(c) for c in distinct], pa.int32())]
    )
    return exponents


def email_reasons(values: Column) -> Column:
    """Why each present value is not one plausible e-mail address, quoting it (missing where it is)."""

    def judge(distinct: pd.Series) -> list[pa.Array]:
        problems = parse.email_problems(distinct)
        reasons = [
            None if pd.isna(problem) else f"{parse.shown(value)} {problem}"
            for value, problem in zip(distinct, problems, strict=True)
        ]
        return [pa.array(reasons, pa.string())]

    (reasons,) = per_distinct(values, judge)
    return reasons


def reasons_of_text(values: Column, problem: Callable[[object], str | None]) -> Column:
    """`problem` of each value's trimmed text (missing when blank), once per distinct value."""

    def judge(distinct: pd.Series) -> list[pa.Array]:
        texts = parse.parse_text(distinct)
        return [pa.array([problem(None if pd.isna(t) else t) for t in texts], pa.string())]

    (reasons,) = per_distinct(values, judge)
    return reasons


def whole_numbers(cut: Column) -> tuple[Column, Column]:
    """Whole numbers of at most 15 digits (a sign allowed) from trimmed text, and whether a present
    value is not one."""
    ok = pc.fill_null(pc.match_substring_regex(cut, _WHOLE_NUMBER), False)
    digits = pc.replace_substring_regex(pc.if_else(ok, cut, pa.scalar(None, pa.string())), r"^\+", "")
    return pc.cast(digits, pa.int64()), pc.and_(pc.invert(blank(cut)), pc.invert(ok))


def dates(values: Column, date_format: str) -> tuple[Column, Column]:
    """Dates (timestamps, as pandas parses them with `date_format`), and whether a present value is
    not a date in that format: `parse.parse_date` over the distinct values."""

    def judge(distinct: pd.Series) -> list[pa.Array]:
        parsed, bad = parse.parse_date(distinct, date_format)
        stamps = pa.array(parsed.astype("datetime64[ns]"), pa.timestamp("ns"), from_pandas=True)
        return [stamps, pa.array(bad.fillna(False).astype(bool).tolist(), pa.bool_())]

    stamps, bad = per_distinct(values, judge)
    return stamps, bad


def scaled_decimals(engine: Engine, cut: Column, exponents: Column) -> tuple[Column, Column, Column]:
    """Decimal text (trimmed) as an integer count of 10^-exponent units (`parse.parse_decimal_scaled`),
    in the compute engine: (scaled, malformed, too_precise), one row out per row in."""
    engine.register("cells", pa.table({"text": cut, "exponent": pc.cast(exponents, pa.int32())}))
    out = engine.named("ingest/decimal_cells")
    return out.column("scaled"), out.column("malformed"), out.column("too_precise")

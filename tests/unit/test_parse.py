"""Vectorised parsing of text columns: every value typed, or marked as failed with the reason's flag."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from tasks.platform import parse

# text        exponent  scaled  malformed  too_precise
DECIMALS = [
    ("1234.50", 2, 123450, False, False),
    ("1234.5", 2, 123450, False, False),
    ("38.0", 2, 3800, False, False),  # trailing zeros do not count as decimals
    ("38.000", 2, 3800, False, False),
    ("0.29", 2, 29, False, False),  # never through a float: 0.29 * 100 = 28.999...
    ("-3", 2, -300, False, False),
    ("+3", 2, 300, False, False),
    (" 12.50 ", 2, 1250, False, False),
    ("1.", 2, 100, False, False),
    ("1500", 0, 1500, False, False),
    ("1500.00", 0, 1500, False, False),
    ("1.234", 3, 1234, False, False),
    ("0.190000", 6, 190000, False, False),  # a tax rate in ppm
    ("1234567890123.45", 2, 123456789012345, False, False),
    ("1.005", 2, None, False, True),
    ("1.5", 0, None, False, True),
    ("1.2345", 3, None, False, True),
    ("12,50", 2, None, True, False),
    ("1,234.50", 2, None, True, False),
    (".5", 2, None, True, False),
    ("1e3", 2, None, True, False),
    ("abc", 2, None, True, False),
    ("EUR 5", 2, None, True, False),
    ("", 2, None, False, False),  # blank is missing, not malformed
    ("   ", 2, None, False, False),
]


def test_parse_decimal_scaled() -> None:
    text = pd.Series([row[0] for row in DECIMALS])
    exponents = pd.Series([row[1] for row in DECIMALS], dtype="Int64")
    scaled, malformed, too_precise = parse.parse_decimal_scaled(text, exponents)
    got = [
        (t, e, None if pd.isna(s) else int(s), bool(m), bool(p))
        for t, e, s, m, p in zip(text, exponents, scaled, malformed, too_precise, strict=True)
    ]
    assert got == DECIMALS
    assert str(scaled.dtype) == "Int64"


def test_parse_decimal_scaled_leaves_rows_without_an_exponent_missing() -> None:
    text = pd.Series(["12.50", "12.505", "abc"])
    exponents = pd.Series([pd.NA, pd.NA, pd.NA], dtype="Int64")
    scaled, malformed, too_precise = parse.parse_decimal_scaled(text, exponents)
    assert scaled.isna().all()
    assert malformed.tolist() == [False, False, True]
    assert too_precise.tolist() == [False, False, False]  # cannot tell without a currency


def test_parse_decimal_scaled_keeps_the_index() -> None:
    text = pd.Series(["1.00", "x"], index=[10, 20])
    scaled, malformed, _ = parse.parse_decimal_scaled(text, pd.Series([2, 2], index=[10, 20]))
    assert scaled.index.tolist() == [10, 20]
    assert scaled[10] == 100
    assert pd.isna(scaled[20])
    assert malformed.to_dict() == {10: False, 20: True}


def test_parse_decimal_scaled_never_wraps_around_for_large_clf_amounts() -> None:
    text = pd.Series(["999999999999999.0000"])
    scaled, malformed, too_precise = parse.parse_decimal_scaled(text, pd.Series([4], dtype="Int64"))
    # either parsed exactly or flagged; never a different number
    assert bool(malformed[0]) or bool(too_precise[0]) or int(scaled[0]) == 9_999_999_999_999_990_000


def test_exponents_for() -> None:
    currencies = pd.Series(["EUR", "JPY", "KWD", None])
    assert parse.exponents_for(currencies).tolist() == [2, 0, 3, pd.NA]


def test_parse_currency_takes_exact_upper_case_codes_only() -> None:
    values = pd.Series(["EUR", " USD ", "jpy", "EUr", "XYZ", "", "EURO"])
    codes, bad = parse.parse_currency(values)
    assert codes.tolist()[:2] == ["EUR", "USD"]
    assert codes[2:].isna().all()  # never corrected to upper case
    assert bad.tolist() == [False, False, True, True, True, False, True]


def test_a_mis_cased_currency_says_how_to_write_it() -> None:
    assert parse.currency_problem("EUr") == (
        "is not an ISO 4217 currency (codes are written in capitals, as EUR)"
    )
    assert parse.currency_problem("XYZ") == "is not an ISO 4217 currency"


def test_control_characters_are_found_tab_and_line_breaks_only_refused_outside_free_text() -> None:
    values = pd.Series(["Acme\x00", "a\tb", "line\nbreak", " trimmed\n", "esc\x1b[31m", "ok", "", "\u2028x"])
    found = parse.control_characters(values).tolist()
    assert found == ["\x00", "\t", "\n", pd.NA, "\x1b", pd.NA, pd.NA, "\u2028"]
    free = parse.control_characters(values, multiline=True).tolist()
    assert free == ["\x00", pd.NA, pd.NA, pd.NA, "\x1b", pd.NA, pd.NA, "\u2028"]


def test_describe_character_names_what_a_person_cannot_see() -> None:
    assert parse.describe_character("\x00") == "U+0000 (NUL)"
    assert parse.describe_character("\r") == "U+000D (carriage return)"
    assert parse.describe_character("\x01") == "U+0001"


def test_too_long_gives_the_length_of_values_above_the_limit() -> None:
    lengths = parse.too_long(pd.Series(["abc", "abcd", " abc ", ""]), 3)
    assert lengths.tolist() == [pd.NA, 4, pd.NA, pd.NA]


def test_shown_quotes_a_value_without_copying_a_huge_one() -> None:
    assert parse.shown("a\nb") == "'a\\nb'"
    huge = parse.shown("x" * 10_000_000)
    assert huge == f"{'x' * 60!r}... (10,000,000 characters)"


def test_email_problems() -> None:
    values = pd.Series(
        ["ap@acme.example", "", "ap@acme.example\r\nBcc: x@evil.example", "Acme <ap@acme.example>", "no-at"]
    )
    problems = parse.email_problems(values).tolist()
    assert [pd.isna(p) for p in problems[:2]] == [True, True]
    assert "line break" in problems[2]
    assert "not a bare address" in problems[3]
    assert "not an e-mail address" in problems[4]


def test_parse_integer() -> None:
    values = pd.Series(["30", " 14 ", "-3", "+7", "", "1.0", "thirty", "1e2"])
    numbers, bad = parse.parse_integer(values)
    assert numbers.tolist() == [30, 14, -3, 7, pd.NA, pd.NA, pd.NA, pd.NA]
    assert bad.tolist() == [False, False, False, False, False, True, True, True]
    assert str(numbers.dtype) == "Int64"


def test_parse_date() -> None:
    values = pd.Series(["2026-02-28", " 2028-02-29 ", "2026-02-30", "28.02.2026", ""])
    dates, bad = parse.parse_date(values, "%Y-%m-%d")
    assert dates.tolist()[:2] == [datetime(2026, 2, 28), datetime(2028, 2, 29)]
    assert dates[2:].isna().all()
    assert bad.tolist() == [False, False, True, True, False]


def test_parse_date_in_the_sources_own_format() -> None:
    dates, bad = parse.parse_date(pd.Series(["31.01.2026", "2026-01-31"]), "%d.%m.%Y")
    assert dates[0] == datetime(2026, 1, 31)
    assert bad.tolist() == [False, True]


def test_parse_text_trims_and_blanks_become_missing() -> None:
    assert parse.parse_text(pd.Series([" Acme GmbH ", "", "  ", "x"])).tolist() == [
        "Acme GmbH",
        pd.NA,
        pd.NA,
        "x",
    ]


def test_blank() -> None:
    assert parse.blank(pd.Series(["", " ", None, "0", "x"])).tolist() == [True, True, True, False, False]

"""Invoice numbers found in remittance text, for a whole batch at once.

The vectorised reader is checked against literal cases and against a plain one-text-at-a-time
reading of the same rules (`_one_by_one` below) on thousands of messy generated texts.
"""

from __future__ import annotations

import random
import re

import pandas as pd
import pyarrow as pa
import pytest

from tasks.reconcile.references import InvoiceKeys, find_named, keys_of

# text               keys
KEYS = [
    ("O2C-2026-000123", {"O2C2026000123", "O-2-C-2026-123"}),
    ("o2c-2026-123", {"O2C2026123", "O-2-C-2026-123"}),
    ("INV-2026-000100", {"INV2026000100", "INV-2026-100"}),  # only leading zeros go
    ("O2C2026000123", {"O2C2026000123", "O-2-C-2026000123"}),  # zeros inside a run are not leading
    ("000123", {"000123", "123"}),
    ("000-00", {"00000", "0-0"}),  # a run of zeros keeps one
    ("A1B2", {"A1B2", "A-1-B-2"}),
]


@pytest.mark.parametrize(("joined", "keys"), KEYS)
def test_the_keys_an_invoice_number_is_known_by(joined: str, keys: set[str]) -> None:
    compact, runs = keys_of(pa.array([joined]))
    assert {compact[0].as_py(), runs[0].as_py()} == keys


def invoices(*ids: str, currency: str = "EUR") -> pd.DataFrame:
    return pd.DataFrame(
        {"invoice_id": list(ids), "currency": currency, "due_date": pd.Timestamp("2026-01-01")}
    )


def named(texts: list[str], index: InvoiceKeys, currency: str = "EUR") -> list[dict[str, str]]:
    frame = pd.DataFrame({"text_id": range(len(texts)), "currency": currency, "text": texts})
    found = find_named(frame, index)
    out: list[dict[str, str]] = [{} for _ in texts]
    for text_id, invoice_id, words in zip(found["text_id"], found["invoice_id"], found["words"], strict=True):
        out[text_id][invoice_id] = words
    return out


def test_runs_of_up_to_four_words_are_read_with_their_evidence() -> None:
    index = InvoiceKeys(invoices("O2C-2026-000012", "INV-O2C-2026-12-7", "OK-1"))
    assert named(["Inv o2c 2026 12 ok 1"], index) == [
        {"O2C-2026-000012": "o2c 2026 12", "OK-1": "ok 1"}  # five words would be needed for the other
    ]


def test_the_same_number_twice_is_named_once_where_it_first_appears() -> None:
    index = InvoiceKeys(invoices("O2C-2026-000012", "O2C-2026-000013"))
    assert named(["o2c 2026 13, O2C-2026-000012 and O2C2026000013"], index) == [
        {"O2C-2026-000013": "o2c 2026 13", "O2C-2026-000012": "O2C 2026 000012"}
    ]


def test_ocr_confusions_are_repaired_in_words_with_a_digit_only() -> None:
    index = InvoiceKeys(invoices("INV-2026-000101", "OIL-1"))
    assert named(["INV 2O26 OOO1O1", "OIL 1", "Oil l"], index) == [
        {"INV-2026-000101": "INV 2O26 OOO1O1"},
        {"OIL-1": "OIL 1"},
        {},  # `Oil` and `l` hold no digit, so neither is repaired into `0IL-1`-like readings
    ]


def test_a_number_of_another_currency_is_not_named() -> None:
    index = InvoiceKeys(invoices("O2C-2026-000012", currency="USD"))
    assert named(["O2C-2026-000012"], index) == [{}]


def test_nothing_is_read_from_empty_or_missing_text() -> None:
    index = InvoiceKeys(invoices("O2C-2026-000012"))
    assert named(["", "--- / ---", None], index) == [{}, {}, {}]  # type: ignore[list-item]


def test_a_shared_key_belongs_to_the_invoice_falling_due_first() -> None:
    frame = pd.DataFrame(
        {
            "invoice_id": ["A-0012", "A-12"],  # both known as `A-12`
            "currency": "EUR",
            "due_date": pd.to_datetime(["2026-03-01", "2026-02-01"]),
        }
    )
    assert named(["a 12"], InvoiceKeys(frame)) == [{"A-12": "a 12"}]


# ---------------------------------------------------------------------------------------------------
# The same rules read one text at a time, as the oracle for the vectorised reader

_RUNS = re.compile(r"[A-Z]+|[0-9]+")
_OCR = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "L": "1"})


def _keys(text: str) -> set[str]:
    upper = text.upper()
    runs = "-".join(r.lstrip("0") or "0" if r.isdigit() else r for r in _RUNS.findall(upper))
    return {re.sub(r"[^A-Z0-9]", "", upper), runs}


def _one_by_one(text: str, index: dict[str, str]) -> dict[str, str]:
    words = re.findall(r"[A-Za-z0-9]+", text)
    fixed = [w.translate(_OCR) if re.fullmatch(r"[0-9OoIlL]*[0-9][0-9OoIlL]*", w) else w for w in words]
    found: dict[str, str] = {}
    for start in range(len(words)):
        for width in range(1, min(4, len(words) - start) + 1):
            if not any(any(c.isdigit() for c in w) for w in fixed[start : start + width]):
                continue
            for source in (words, fixed):
                for key in sorted(_keys("-".join(source[start : start + width]))):
                    if key in index:
                        found.setdefault(index[key], " ".join(words[start : start + width]))
    return found


def test_the_vectorised_reader_agrees_with_reading_one_text_at_a_time() -> None:
    rng = random.Random(5)
    ids = [f"O2C-2026-{i:06d}" for i in range(1, 2000)] + ["INV-2026-000100", "A1B2", "12345", "R-007"]
    noise = ["thanks", "RE:", "100.00", "inv", "2026", "Oo1", "--", "Lil", "0", "a1b2", "O2C", "00"]

    def messy() -> str:
        parts = []
        for _ in range(rng.randint(0, 7)):
            number, r = rng.choice(ids), rng.random()
            variants = [
                number,
                number.replace("-", " ").lower(),
                number.replace("0", "O").replace("1", "l"),
                number.replace("-", ""),
                number.replace("-000", "-"),
                rng.choice(noise),
            ]
            parts.append(variants[min(int(r * 10), 5)])
        return " ".join(parts)

    texts = [messy() for _ in range(4000)]
    index: dict[str, str] = {}
    for number in sorted(ids):
        for key in _keys(number):
            index.setdefault(key, number)
    expected = [_one_by_one(t, index) for t in texts]
    got = named(texts, InvoiceKeys(invoices(*ids)))
    assert sum(len(e) for e in expected) > 3000  # the texts really name invoices
    assert got == expected
    assert [list(g) for g in got] == [list(e) for e in expected]  # in the order they appear


def test_a_small_batch_of_keys_finds_the_positions_a_whole_lookup_finds() -> None:
    """`where` answers a batch much smaller than the lookup by scanning the lookup for the batch's
    keys (or by the dict of positions, once built); both give what Arrow's `index_in` gives."""
    book = InvoiceKeys(invoices(*[f"INV-2026-{n:06d}" for n in range(1, 2_001)]))
    asked = pa.array(
        ["EUR:INV2026000007", "EUR:INV-2026-1999", "EUR:NOPE", "USD:INV2026000007", "EUR:INV2026000007"]
    )
    assert len(asked) * 20 < len(book.lookup)  # the small-batch path
    expected = pa.compute.index_in(asked, value_set=book.lookup).to_pylist()
    assert book._positions is None
    assert book.where(asked).to_pylist() == expected
    assert book.where(asked).to_pylist()[2:4] == [None, None]
    assert book.owner_of("EUR", "INV2026000007") == "INV-2026-000007"  # builds the dict of positions
    assert book._positions is not None
    assert book.where(asked).to_pylist() == expected

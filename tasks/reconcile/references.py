"""Invoice numbers found in remittance text, for a whole batch of payments at once.

Pure and vectorised (Arrow compute kernels, no Python loop per payment), so that a million
payments are read in seconds. An invoice number is recognised as bank data really carries it:
upper or lower case, with spaces, dashes or nothing between its parts, leading zeros dropped, common
OCR confusions (O for 0, I or l for 1) repaired, embedded in other text.

An invoice is known by two keys: the compact form (letters and digits only: `INV2026000123`) and
the runs form (letter and digit runs, leading zeros dropped, kept apart: `INV-2026-123`). Keeping
runs apart is what stops `O2C-2026-000012 100.00` from reading as `O2C-2026-012100`. A text is read
as words (runs of letters and digits); every run of up to four consecutive words is looked up by
both keys, and the words that named an invoice are kept as the evidence of the match.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

MAX_WORDS_IN_NUMBER = 4
_CHUNK_TEXTS = 1_000_000  # texts read at a time, which bounds memory at a million payments
_OCR_WORD = r"^[0-9OoIlL]*[0-9][0-9OoIlL]*$"  # a word with a digit and only look-alike letters
_OCR_DIGITS = (("O", "0"), ("o", "0"), ("I", "1"), ("l", "1"), ("L", "1"))


def keys_of(joined: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(compact, runs) keys of texts whose words are already joined by `-`."""
    upper = pc.ascii_upper(joined)
    compact = pc.replace_substring(upper, "-", "")
    # only texts with a letter next to a digit, or a leading zero, have a runs form of their own
    mixed = pc.match_substring_regex(upper, r"(^|-)0|[A-Z][0-9]|[0-9][A-Z]")
    subset = pc.filter(upper, mixed)
    runs = pc.replace_substring_regex(subset, r"([A-Z])([0-9])", r"\1-\2")
    runs = pc.replace_substring_regex(runs, r"([0-9])([A-Z])", r"\1-\2")
    runs = pc.replace_substring_regex(runs, r"(^|-)0+([0-9])", r"\1\2")
    return compact, pc.replace_with_mask(upper, mixed, runs)


def words_of(texts: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Every word of every text, in order, with the index of the text it came from."""
    split = pc.split_pattern_regex(pc.fill_null(texts, ""), r"[^A-Za-z0-9]+")
    words = pc.list_flatten(split)
    parents = pc.list_parent_indices(split).to_numpy()
    keep = pc.not_equal(words, "")
    return pc.filter(words, keep), parents[keep.to_numpy(zero_copy_only=False)]


def ocr_repaired(words: pa.Array) -> pa.Array:
    """Words read by OCR with letters where digits belong (`2O26` -> `2026`) repaired; real words
    (without a digit, or with other letters) stay as they are."""
    fixed = words
    for wrong, right in _OCR_DIGITS:
        fixed = pc.replace_substring(fixed, wrong, right)
    return pc.if_else(pc.match_substring_regex(words, _OCR_WORD), fixed, words)


class InvoiceKeys:
    """Every key each invoice is known by, prepared for lookup: `currency:key` strings, the invoice
    owning each, and the characters a key can begin and end with. Where two invoices share a key,
    the one falling due first (then the lower number) owns it."""

    def __init__(
        self, invoices: pd.DataFrame, *, in_due_order: bool = False, all_have_digits: bool | None = None
    ) -> None:
        """`all_have_digits`: whether every invoice number of the book holds a digit, when these
        invoices are only part of it (else read from them)."""
        ordered = invoices if in_due_order else invoices.sort_values(["due_date", "invoice_id"])
        ids = pa.array(ordered["invoice_id"].astype(str).to_numpy(), pa.string())
        words, parents = words_of(ids)
        compact, runs = keys_of(_join_per_text(words, parents, len(ordered), "-"))
        currency = pa.array(ordered["currency"].astype(str).to_numpy(), pa.string())
        keys = pa.chunked_array([compact, runs]).combine_chunks()
        lookup = pc.binary_join_element_wise(
            pa.chunked_array([currency, currency]).combine_chunks(), keys, ":"
        )
        owners = np.concatenate([ordered["invoice_id"].to_numpy()] * 2)
        # each invoice as a whole number, for work on numbers rather than its text
        places = np.tile(pc.dictionary_encode(ids).indices.to_numpy(zero_copy_only=False).astype(np.int64), 2)
        keep = _first_of_each(lookup)
        keep &= pc.not_equal(keys, "").to_numpy(zero_copy_only=False)
        self.lookup = pc.filter(lookup, pa.array(keep))
        self.owners = owners[keep]
        self.places = places[keep]
        self.keys = pc.filter(keys, pa.array(keep))
        self.first = pc.unique(pc.utf8_slice_codeunits(self.keys, 0, 1))
        self.last = pc.unique(pc.utf8_slice_codeunits(self.keys, -1))
        self.all_have_digits = every_number_has_digits(ids) if all_have_digits is None else all_have_digits

        self._positions: dict[str, int] | None = None

    @classmethod
    def joined(cls, parts: list[InvoiceKeys]) -> InvoiceKeys:
        """The keys of the invoices of different currencies, read in parts (`halves.py`), as one:
        a key is looked up with its currency, so the whole finds what each part found alone."""
        keys = cls.__new__(cls)
        keys.lookup = pa.chunked_array([p.lookup for p in parts], pa.string()).combine_chunks()
        keys.owners = np.concatenate([p.owners for p in parts])
        offsets = np.cumsum([0] + [int(p.places.max(initial=-1)) + 1 for p in parts])
        keys.places = np.concatenate(
            [p.places + offset for p, offset in zip(parts, offsets[:-1], strict=True)]
        )
        keys.keys = pa.chunked_array([p.keys for p in parts], pa.string()).combine_chunks()
        keys.first = pc.unique(pa.chunked_array([p.first for p in parts], pa.string()).combine_chunks())
        keys.last = pc.unique(pa.chunked_array([p.last for p in parts], pa.string()).combine_chunks())
        keys.all_have_digits = all(p.all_have_digits for p in parts)
        keys._positions = None
        return keys

    @property
    def positions(self) -> dict[str, int]:
        """Where each `currency:key` is in `lookup`: a dict built once, for lookups a few at a time
        (a batch of many is looked up in one Arrow kernel instead, which hashes every key anew)."""
        if self._positions is None:
            self._positions = {key: n for n, key in enumerate(self.lookup.to_pylist())}
        return self._positions

    def owner_of(self, currency: str, key: str) -> str | None:
        """The invoice known by `key` in `currency`, if any."""
        where = self.positions.get(f"{currency}:{key}")
        return None if where is None else str(self.owners[where])

    def where(self, keys: pa.Array) -> pa.Array:
        """Per key, its position in `lookup` (null where none). A batch much smaller than the
        lookup hashes its own keys and scans the lookup for them (or reads the dict of positions,
        when one was built), rather than hashing every key of the lookup."""
        if len(keys) * 20 >= len(self.lookup):
            return pc.index_in(keys, value_set=self.lookup)
        if self._positions is None:
            hits = np.flatnonzero(
                pc.is_in(self.lookup, value_set=pc.unique(keys)).to_numpy(zero_copy_only=False)
            )
            found = dict(zip(self.lookup.take(pa.array(hits)).to_pylist(), hits.tolist(), strict=True))
        else:
            found = self._positions
        return pa.array([found.get(k) for k in keys.to_pylist()], pa.int64())


def every_number_has_digits(ids: pa.Array) -> bool:
    """Whether every one of these invoice numbers holds a digit (then only runs of words holding one
    are read as invoice numbers)."""
    return bool(pc.all(pc.match_substring_regex(ids, "[0-9]")).as_py() or not len(ids))


def _first_of_each(values: pa.Array) -> np.ndarray:
    """Per value, whether it is the first of its equals (hashed by Arrow, not as Python strings)."""
    codes = pc.dictionary_encode(values).indices.to_numpy(zero_copy_only=False)
    first = np.zeros(len(values), dtype=bool)
    first[np.unique(codes, return_index=True)[1]] = True
    return first


def _join_per_text(words: pa.Array, parents: np.ndarray, count: int, separator: str) -> pa.Array:
    """The words of each text joined by `separator` (an empty string for a text without words)."""
    offsets = np.searchsorted(parents, np.arange(count + 1)).astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(offsets), words)
    return pc.binary_join(lists, separator)


def find_named(texts: pd.DataFrame, index: InvoiceKeys, *, require_digit: bool | None = None) -> pd.DataFrame:
    """The invoices each text names.

    texts: text_id (any hashable), currency, text. Returns text_id,
    invoice_id, words (the words that named it) and position (where in the text it was named), one
    row per text and invoice, in the order the invoices appear in each text. With `require_digit`
    (the default when every invoice number holds a digit), only runs of words holding a digit are
    looked up.

    Only runs whose first and last characters can begin and end a key are looked up: that skips
    almost every run of ordinary words without changing what is found.
    """
    if require_digit is None:
        require_digit = index.all_have_digits
    parts = [
        _find_chunk(texts.iloc[start : start + _CHUNK_TEXTS], start, index, require_digit)
        for start in range(0, len(texts), _CHUNK_TEXTS)
    ]
    found = pd.concat(parts, ignore_index=True) if parts else _EMPTY.copy()
    return found.sort_values(["text_row", "position"], kind="stable").drop(columns="text_row")


_EMPTY = pd.DataFrame({"text_id": [], "invoice_id": [], "words": [], "position": [], "text_row": []})


def _forms(words: pa.Array, index: InvoiceKeys) -> tuple[pa.Array, pa.Array, np.ndarray, np.ndarray]:
    """Per word: its compact and runs forms (a run of words has as keys their forms joined), and
    whether a key can begin with it (by either form) and end with it."""
    compact, runs = keys_of(words)
    begins = pc.or_(
        pc.is_in(pc.utf8_slice_codeunits(compact, 0, 1), value_set=index.first),
        pc.is_in(pc.utf8_slice_codeunits(runs, 0, 1), value_set=index.first),
    )
    ends = pc.is_in(pc.utf8_slice_codeunits(compact, -1), value_set=index.last)
    return compact, runs, begins.to_numpy(zero_copy_only=False), ends.to_numpy(zero_copy_only=False)


def _forms_repaired(
    plain: tuple[pa.Array, pa.Array, np.ndarray, np.ndarray],
    repaired: pa.Array,
    changed: np.ndarray,
    index: InvoiceKeys,
) -> tuple[pa.Array, pa.Array, np.ndarray, np.ndarray]:
    """The forms of the OCR-repaired words: worked out for the few words repair changed only."""
    if not changed.any():
        return plain
    mask = pa.array(changed)
    compact, runs, begins, ends = _forms(pc.filter(repaired, mask), index)
    begins_all, ends_all = plain[2].copy(), plain[3].copy()
    begins_all[changed], ends_all[changed] = begins, ends
    return (
        pc.replace_with_mask(plain[0], mask, compact),
        pc.replace_with_mask(plain[1], mask, runs),
        begins_all,
        ends_all,
    )


def _find_chunk(texts: pd.DataFrame, first: int, index: InvoiceKeys, require_digit: bool) -> pd.DataFrame:
    """`find_named` over one chunk of texts (`first`: the row of its first text in the batch): every
    run of up to `MAX_WORDS_IN_NUMBER` words, as read and OCR-repaired, looked up by both keys."""
    if not len(texts) or not len(index.owners):
        return _EMPTY.copy()
    words, parents = words_of(pa.array(texts["text"].to_numpy(), pa.string(), from_pandas=True))
    repaired = ocr_repaired(words)
    changed = pc.not_equal(words, repaired).to_numpy(zero_copy_only=False)
    has_digit = pc.match_substring_regex(repaired, "[0-9]").to_numpy(zero_copy_only=False)
    currency = pa.array(texts["currency"].to_numpy(), pa.string()).take(pa.array(parents))
    forms = {id(words): _forms(words, index)}
    forms[id(repaired)] = _forms_repaired(forms[id(words)], repaired, changed, index)
    starts_of, widths_of, keys_of_run = [], [], []
    total = len(words)
    for width in range(1, MAX_WORDS_IN_NUMBER + 1):
        starts = np.arange(max(total - width + 1, 0))
        starts = starts[parents[starts] == parents[starts + width - 1]]  # within one text
        if require_digit:
            digit = np.zeros(len(starts), dtype=bool)
            for offset in range(width):
                digit |= has_digit[starts + offset]
            starts = starts[digit]
        repairs = np.zeros(len(starts), dtype=bool)
        for offset in range(width):
            repairs |= changed[starts + offset]
        for source, chosen in ((words, starts), (repaired, starts[repairs])):
            upper, runs, begins, ends = forms[id(source)]
            chosen = chosen[begins[chosen] & ends[chosen + width - 1]]
            if not len(chosen):
                continue
            prefix = currency.take(pa.array(chosen))
            for key in (_window(upper, chosen, width, ""), _window(runs, chosen, width, "-")):
                starts_of.append(chosen)
                widths_of.append(np.full(len(chosen), width))
                keys_of_run.append(pc.binary_join_element_wise(prefix, key, ":"))
    if not starts_of:
        return _EMPTY.copy()
    return _found(texts, first, words, parents, index, starts_of, widths_of, keys_of_run)


def _found(
    texts: pd.DataFrame,
    first: int,
    words: pa.Array,
    parents: np.ndarray,
    index: InvoiceKeys,
    starts_of: list[np.ndarray],
    widths_of: list[np.ndarray],
    keys_of_run: list[pa.Array],
) -> pd.DataFrame:
    """The runs of words whose keys name an invoice, as rows of `find_named`: per text row the
    first (shortest, earliest) run naming each invoice, with the words as its evidence."""
    where = index.where(pa.chunked_array(keys_of_run).combine_chunks())
    matched = pc.is_valid(where).to_numpy(zero_copy_only=False)
    positions = pc.drop_null(where).to_numpy()
    begins = np.concatenate(starts_of)[matched]
    widths = np.concatenate(widths_of)[matched]
    # by start, then width; of the runs naming one invoice in one text, the first so ordered
    order = np.lexsort((widths, begins))
    begins, widths, positions = begins[order], widths[order], positions[order]
    text_row = parents[begins]
    pair = text_row.astype(np.int64) * (int(index.places.max(initial=0)) + 1) + index.places[positions]
    firsts = np.sort(np.unique(pair, return_index=True)[1])
    found = pd.DataFrame(
        {
            "start": begins[firsts],
            "width": widths[firsts],
            "invoice_id": index.owners[positions[firsts]],
            "text_row": text_row[firsts],
        }
    )
    evidence = np.empty(len(found), dtype=object)
    for width, rows in found.groupby("width").indices.items():
        spans = _window(words, found["start"].to_numpy()[rows], int(width), " ")
        evidence[rows] = spans.to_numpy(zero_copy_only=False)
    rows = found["text_row"].to_numpy()
    return pd.DataFrame(
        {
            "text_id": texts["text_id"].to_numpy()[rows],
            "invoice_id": found["invoice_id"].to_numpy(),
            "words": evidence,
            "position": found["start"].to_numpy() - np.searchsorted(parents, rows),
            "text_row": rows + first,
        }
    )


def _window(words: pa.Array, starts: np.ndarray, width: int, separator: str) -> pa.Array:
    """The runs of `width` words beginning at `starts`, joined by `separator`."""
    columns = [words.take(pa.array(starts + offset)) for offset in range(width)]
    if width == 1:
        return columns[0]
    return pc.binary_join_element_wise(*columns, separator)

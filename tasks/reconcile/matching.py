"""The pieces cash application is built from: structured references, who paid, amount search.

Pure functions; `tasks/reconcile/apply.py` runs them as passes over a batch of payments.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING

import numpy as np
from rapidfuzz import fuzz, process

from tasks.platform.bank_ids import creditor_reference_payload

if TYPE_CHECKING:
    from tasks.platform.elsewhere import Elsewhere

_LEGAL_FORMS = frozenset(
    [
        "gmbh",
        "ag",
        "kg",
        "ohg",
        "se",
        "sarl",
        "sas",
        "sa",
        "ltd",
        "limited",
        "plc",
        "llc",
        "inc",
        "corp",
        "co",
        "bv",
        "nv",
        "spa",
        "srl",
        "kk",
        "ab",
        "oy",
        "u",
        "und",
        "cie",
    ]
)
_NON_WORD = re.compile(r"[^a-z0-9]+")


def rf_reference_valid(text: str) -> bool:
    """Whether `text` is a valid ISO 11649 creditor reference (`RF`, two check digits, up to 21
    letters or digits; spaces allowed), by python-stdnum's check."""
    return creditor_reference_payload(text) is not None


def rf_payload(text: str) -> str | None:
    """The reference inside a valid RF creditor reference (`RF18INV2026000123` -> `INV2026000123`)."""
    return creditor_reference_payload(text)


def normalise_account(account: str | None) -> str:
    return re.sub(r"\s+", "", account or "").upper()


def normalise_name(name: str | None) -> str:
    """A company name without legal form, punctuation and case: `ACME GmbH.` -> `acme`,
    `Chevalier S.A.` -> `chevalier` (single letters in a row are one abbreviation: `s a` -> `sa`)."""
    words = _NON_WORD.sub(" ", (name or "").lower()).split()
    joined: list[str] = []
    for word in words:
        if len(word) == 1 and joined and len(joined[-1]) <= 2 and joined[-1].isalpha() and word.isalpha():
            joined[-1] += word
        else:
            joined.append(word)
    return " ".join(w for w in joined if w not in _LEGAL_FORMS)


class PayerDirectory:
    """Who a payer is: by bank account (master data and confirmed matches), else by name."""

    def __init__(self, accounts: dict[str, str], names: dict[str, str], name_threshold: float) -> None:
        self.accounts = {normalise_account(a): c for a, c in accounts.items()}
        self.customer_by_name: dict[str, list[str]] = {}
        for customer_id, name in names.items():
            self.customer_by_name.setdefault(normalise_name(name), []).append(customer_id)
        self.choices = [n for n in self.customer_by_name if n]
        self.threshold = name_threshold
        self._seen: dict[tuple[str, str], tuple[str | None, float, str]] = {}
        self._account_seen: dict[str, str | None] = {}
        self._ranked: dict[str, list[tuple[str, float, int]]] = {}  # the best two, per name as read
        self._grams = grams_of(self.choices)
        self._ahead: Elsewhere | None = None

    def rank_ahead(self, ranking: Elsewhere) -> None:
        """Take the rankings of payer names from `ranking` (`ranking.ranked_all`, in another
        process): the first name asked for that is not ranked yet waits for them."""
        self._ahead = ranking

    def detached(self) -> PayerDirectory:
        """This directory without its link to the process ranking names ahead (which cannot be
        handed to another process): names not ranked yet are ranked as they are asked for."""
        alone = copy.copy(self)
        alone._ahead = None
        return alone

    def stop_ahead(self) -> None:
        """Rank every name in this process from now on (the other process is ending)."""
        self._ahead = None

    def by_account(self, account: str | None) -> str | None:
        """The customer a bank account is known to belong to (each account read once)."""
        key = account or ""
        if key not in self._account_seen:
            self._account_seen[key] = self.accounts.get(normalise_account(key))
        return self._account_seen[key]

    def identify(self, account: str | None, name: str | None) -> tuple[str | None, float, str]:
        """(customer_id, confidence 0-1, how) of the payer; (None, 0, reason) when unknown."""
        key = (account or "", name or "")
        if key not in self._seen:
            self._seen[key] = self._identify(account, name)
        return self._seen[key]

    def _identify(self, account: str | None, name: str | None) -> tuple[str | None, float, str]:
        known = self.by_account(account)
        if known:
            return known, 1.0, "payer account"
        by_name = ("", name or "")  # an unknown account says nothing: the name alone decides
        if by_name not in self._seen:
            self._seen[by_name] = self._by_name(name)
        return self._seen[by_name]

    def _by_name(self, name: str | None) -> tuple[str | None, float, str]:
        wanted = normalise_name(name)
        if not wanted or not self.choices:
            return None, 0.0, "no payer account or name"
        ranked = self._ranked.get(wanted)
        if ranked is None and self._ahead is not None:  # ranked in the other process: wait for them
            ahead, self._ahead = self._ahead, None
            with suppress(OSError):  # the other process failed: ranked here
                self._ranked.update(ahead.result())
            ranked = self._ranked.get(wanted)
        if ranked is None:  # names written differently often read the same (`ACME GmbH`, `Acme GmbH.`)
            ranked = self._ranked[wanted] = ranked_names(wanted, self.choices, self._grams)
        if not ranked or ranked[0][1] < self.threshold:
            return None, 0.0, f"payer name {name!r} matches no customer"
        best = ranked[0]
        if len(ranked) > 1 and ranked[1][1] >= best[1] - 2:
            return None, 0.0, f"payer name {name!r} fits several customers"
        customers = self.customer_by_name[best[0]]
        if len(customers) > 1:
            return None, 0.0, f"payer name {name!r} fits several customers"
        return customers[0], float(best[1]) / 100, f"payer name ~ {best[0]!r} ({best[1]:.0f})"

    def namesakes(self, account: str | None, name: str | None) -> list[tuple[str, float]]:
        """(customer, confidence) of each customer a payer name fits about equally well, when the
        account is not known and the name fits several (the best names within two points of each
        other, each above the threshold, or one name several customers share): up to
        `_NAMESAKES` of them; empty when the name fits one customer, none, or more than that."""
        if self.by_account(account):
            return []
        wanted = normalise_name(name)
        if not wanted or not self.choices:
            return []
        self._by_name(name)  # ranks the name, once
        ranked = self._ranked.get(wanted) or []
        if not ranked or ranked[0][1] < self.threshold:
            return []
        close = [(choice, score) for choice, score, _ in ranked if score >= ranked[0][1] - 2]
        if len(close) > _NAMESAKES:
            return []
        fits = [(c, float(score) / 100) for choice, score in close for c in self.customer_by_name[choice]]
        return fits if 1 < len(fits) <= _NAMESAKES else []


_NAMESAKES = 3  # the most customers one payer name may fit for the amount to tell them apart
_SCAN_ALL_UP_TO = 2_000  # names compared one by one below this many customers
_LIKELY = 64  # names compared in full when there are more: those sharing the most rare trigrams


def grams_of(choices: list[str]) -> _GramIndex | None:
    """The trigram index of the customers' names, when there are too many to compare every one."""
    return _GramIndex(choices) if len(choices) > _SCAN_ALL_UP_TO else None


def ranked_names(wanted: str, choices: list[str], grams: _GramIndex | None) -> list[tuple[str, float, int]]:
    """The customer names `wanted` (a normalised payer name) fits best, best first: the most a
    payer name may fit, and one more to tell whether it fits several."""
    return process.extract(
        wanted, grams.likely(wanted) if grams else choices, scorer=fuzz.token_set_ratio, limit=_NAMESAKES + 1
    )


def _trigrams(name: str) -> set[str]:
    padded = f"  {name} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


class _GramIndex:
    """Which customer names are worth comparing with a payer name, among tens of thousands.

    Comparing a payer name with every customer's name costs milliseconds per name at 50,000
    customers. A name scoring above the threshold shares most of its letter trigrams with the
    payer name, so the names sharing the most of its rarer trigrams (a trigram found in over 5 %
    of names, like `ltd` or `ust`, says little) are the only ones compared in full.
    """

    def __init__(self, names: list[str]) -> None:
        postings: dict[str, list[int]] = {}
        for position, name in enumerate(names):
            for gram in _trigrams(name):
                postings.setdefault(gram, []).append(position)
        self.names = names
        self.common = max(len(names) // 20, _LIKELY)
        self.postings = {g: np.asarray(p, dtype=np.int64) for g, p in postings.items()}

    def likely(self, name: str) -> list[str]:
        """The names sharing the most rare trigrams with `name`; all names if it has none rare."""
        found = [self.postings[g] for g in _trigrams(name) if g in self.postings]
        rare = [p for p in found if len(p) <= self.common]
        if not rare:
            return self.names
        postings = np.concatenate(rare)
        shared = np.bincount(postings, minlength=len(self.names))
        # worked out over the postings (thousands), never over every name (tens of thousands): a
        # name sharing n trigrams appears n times in them
        per = shared[postings]
        tally = np.bincount(per)  # postings per number shared; n of them per name sharing n
        tally[1:] //= np.arange(1, len(tally))  # names per number shared
        # the fewest shared that still makes the cut, every name above it, then the first names
        # in the list at it
        above = np.cumsum(tally[::-1])[::-1]  # names sharing at least n trigrams, for each n
        least = int(np.flatnonzero(above >= _LIKELY)[-1]) if above[0] >= _LIKELY else 1
        over = np.unique(postings[per > least])
        wanted = _LIKELY - len(over)
        at = postings[per == least]
        if len(at) > wanted * least:  # the first `wanted` names at it: `least` postings each
            at = np.partition(at, wanted * least - 1)[: wanted * least]
        positions = np.sort(np.concatenate([over, np.unique(at)[:wanted]]))
        return [self.names[i] for i in positions.tolist()]


def combinations_summing_to(
    amounts: Sequence[int], target: int, *, max_items: int, max_steps: int, limit: int = 2
) -> tuple[list[tuple[int, ...]], bool]:
    """Index sets of `amounts` (2 to `max_items` of them) that sum exactly to `target`.

    Stops after `limit` solutions (two mean the answer is ambiguous) or after `max_steps` sets of
    invoices were looked at; the flag says whether the search was complete. The bound is a count,
    not a time, so the answer never depends on how busy the machine is.
    """
    order = sorted(range(len(amounts)), key=lambda i: -amounts[i])
    values = [amounts[i] for i in order]
    suffix = [0] * (len(values) + 1)
    for i in range(len(values) - 1, -1, -1):
        suffix[i] = suffix[i + 1] + values[i]
    found: list[tuple[int, ...]] = []
    steps = 0
    complete = True
    stack: list[tuple[int, int, tuple[int, ...]]] = [(0, 0, ())]
    while stack:
        steps += 1
        if steps > max_steps:
            complete = False
            break
        start, total, chosen = stack.pop()
        if total == target and len(chosen) >= 2:
            found.append(tuple(sorted(order[i] for i in chosen)))
            if len(found) >= limit:
                break
            continue
        if len(chosen) >= max_items or start >= len(values) or total + suffix[start] < target:
            continue
        for i in range(len(values) - 1, start - 1, -1):
            if total + values[i] <= target:
                stack.append((i + 1, total + values[i], (*chosen, i)))
    return found, complete


def closest(amounts: Iterable[tuple[str, int]], target: int, count: int) -> list[tuple[str, int]]:
    """The `count` (invoice, open amount) pairs nearest to `target`, nearest first."""
    return sorted(amounts, key=lambda pair: (abs(pair[1] - target), pair[0]))[:count]

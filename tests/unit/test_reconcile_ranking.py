"""Payer names ranked in a second process (`tasks/reconcile/ranking.py`): the same answers as
ranking each in this process, from one ranking of them all, and the same again if it fails."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from tasks.platform import elsewhere
from tasks.reconcile.matching import PayerDirectory, normalise_name
from tasks.reconcile.ranking import ranked_ahead

WORDS = ["nord", "sud", "acme", "alpen", "rhein", "delta", "orion", "vega", "atlas", "kappa"]
TRADES = ["logistik", "metall", "foods", "textil", "chemie", "software", "bau", "energie"]


def customers() -> dict[str, str]:
    """3,000 customers: above the count at which names are found through the trigram index."""
    rng = random.Random(5)
    return {f"C{k:05d}": f"{rng.choice(WORDS)} {rng.choice(TRADES)} {k} GmbH" for k in range(3_000)}


def payments(names: dict[str, str]) -> pd.DataFrame:
    """Payers known by name only: exact names, typos, a name fitting several, an unknown one; and
    one payer whose account is known."""
    rng = random.Random(9)
    written = [names[f"C{k:05d}"] for k in rng.sample(range(3_000), 30)]
    written += [name.replace("a", "e", 1) for name in written[:15]]
    written += ["acme logistik GmbH", "unknown name entirely", "ACME LOGISTIK GMBH"]
    frame = pd.DataFrame({"payment_id": [f"P{n}" for n in range(len(written))], "payer_name": written})
    frame["payer_account"] = ""
    known = pd.DataFrame(
        {"payment_id": ["PK"], "payer_name": ["delta bau 7 GmbH"], "payer_account": ["DE01 KNOWN"]}
    )
    return pd.concat([frame, known], ignore_index=True)


def directory(names: dict[str, str]) -> PayerDirectory:
    return PayerDirectory({"DE01KNOWN": "C00007"}, names, 90)


def test_names_ranked_in_the_other_process_give_the_answers_ranking_each_here_gives() -> None:
    names = customers()
    paid = payments(names)
    here = directory(names)
    expected = [here.identify(a, n) for a, n in zip(paid["payer_account"], paid["payer_name"], strict=True)]
    ahead = directory(names)
    with ranked_ahead(paid, ahead, at_least=1):
        first = ahead.identify("", paid["payer_name"][0])
        # one answer asked for brought every name's ranking: the other process ranked them all
        sent = {normalise_name(n) for n in paid["payer_name"][:-1]}
        assert set(ahead._ranked) == sent
        assert normalise_name("delta bau 7 GmbH") not in ahead._ranked  # its account tells who paid
        got = [ahead.identify(a, n) for a, n in zip(paid["payer_account"], paid["payer_name"], strict=True)]
    assert first == expected[0]
    assert got == expected
    assert {how for _, _, how in got} >= {"payer account"}


def test_a_ranking_that_fails_is_done_here_with_the_same_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    names = customers()
    paid = payments(names)
    expected = [directory(names).identify("", n) for n in paid["payer_name"][:10]]
    monkeypatch.setattr(elsewhere.sys, "executable", "/bin/false")
    failing = directory(names)
    with ranked_ahead(paid, failing, at_least=1):
        assert [failing.identify("", n) for n in paid["payer_name"][:10]] == expected
        assert len(failing._ranked) < len(paid) - 1  # only the names asked for were ranked


def test_a_ranking_that_cannot_start_is_done_here(monkeypatch: pytest.MonkeyPatch) -> None:
    names = customers()
    paid = payments(names)
    expected = [directory(names).identify("", n) for n in paid["payer_name"][:10]]

    def no_process(*args: object, **kwargs: object) -> None:
        raise BlockingIOError("Resource temporarily unavailable")

    monkeypatch.setattr(elsewhere.subprocess, "Popen", no_process)
    alone = directory(names)
    with ranked_ahead(paid, alone, at_least=1):
        assert alone._ahead is None
        assert [alone.identify("", n) for n in paid["payer_name"][:10]] == expected


def test_below_the_threshold_no_process_is_started_and_the_files_go_with_it() -> None:
    names = customers()
    paid = payments(names)
    few = directory(names)
    with ranked_ahead(paid, few):  # 48 names: far below AHEAD_FROM
        assert few._ahead is None
    many = directory(names)
    with ranked_ahead(paid, many, at_least=1):
        started = many._ahead
        assert isinstance(started, elsewhere.Elsewhere)
        folder = started.asked.parent
        assert started.asked.is_file()
    assert many._ahead is None
    assert not folder.exists()


def test_the_names_worth_comparing_are_those_sharing_the_most_rare_trigrams_then_the_first() -> None:
    """`_GramIndex.likely` works over the postings only; its choice is the plain one: the names
    sharing the most rare trigrams with the name, ties taken first in the list, 64 of them."""
    from tasks.reconcile.matching import _LIKELY, _GramIndex, _trigrams

    choices = [normalise_name(n) for n in customers().values()]
    index = _GramIndex(choices)
    rng = random.Random(11)
    for name in [*rng.sample(choices, 25), "acme logistik", "rhein chemie 123", "vega", "kappa"]:
        shared = [
            len({g for g in _trigrams(name) & _trigrams(c) if len(index.postings[g]) <= index.common})
            for c in choices
        ]
        ranked = sorted((-count, position) for position, count in enumerate(shared) if count)
        expected = [choices[p] for _, p in sorted(ranked[:_LIKELY], key=lambda pair: pair[1])]
        if not ranked:  # no trigram rare enough to tell: every name is compared
            expected = choices
        assert index.likely(name) == expected, name

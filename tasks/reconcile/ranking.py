"""Payer names ranked against the customers' names in a second process, while the first goes on.

At a million invoices about a hundred thousand payments come from an account no customer is known
by, and ranking their payers' names against tens of thousands of customers' names was the largest
single piece of reconcile (`matching.ranked_names`: 7-10 s of about 70). The ranking depends on the
names alone, so a second process (the machine's other core) ranks them all from the start of the
run, while this one reads the invoice numbers in the payments' texts and decides the certain
cases; the first name the passes ask for that is not ranked yet waits for the lot. Each name is
ranked by the same function either way, so the decisions are the same.

Below `AHEAD_FROM` names starting a process (about a second) costs more than it saves: the names
are ranked in this process as they are asked for. Should the second process fail, they are too.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tasks.reconcile.matching import PayerDirectory, grams_of, normalise_name, ranked_names
from tasks.reconcile.named import text_column

AHEAD_FROM = 5_000  # distinct payer names known only by name
_ROOT = Path(__file__).resolve().parents[2]  # where `tasks` is imported from


class Ranking:
    """One process ranking payer names: a new interpreter running this module, not a fork (the
    stage runs beside Prefect's threads) and not `multiprocessing`'s spawn (which would run the
    caller's own script again). The names go in and the rankings come back through files in a
    folder of its own, removed by `close`."""

    def __init__(self) -> None:
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def rank(self, names: list[str], choices: list[str]) -> Ranking:
        """Start ranking `names` (normalised payer names) against `choices` (the customers'
        normalised names): each name's `ranked_names`; `result` waits for them."""
        self._folder = tempfile.TemporaryDirectory(prefix="o2c-ranking-")
        asked, answer = Path(self._folder.name, "names.pickle"), Path(self._folder.name, "ranked.pickle")
        asked.write_bytes(pickle.dumps((names, choices), protocol=pickle.HIGHEST_PROTOCOL))
        path = os.pathsep.join([str(_ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tasks.reconcile.ranking", str(asked), str(answer)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": path},
        )
        return self

    def result(self) -> dict[str, list[tuple[str, float, int]]]:
        """Every name's ranking, once the process has given them; OSError if it failed."""
        if self._process is None or self._folder is None:
            raise OSError("no ranking was started")
        if self._process.wait() != 0:
            raise OSError(f"ranking payer names failed (exit {self._process.returncode})")
        ranked: dict[str, list[tuple[str, float, int]]] = pickle.loads(
            Path(self._folder.name, "ranked.pickle").read_bytes()
        )
        return ranked

    def close(self) -> None:
        """End the process (a ranking nobody waited for is not waited for now) and remove its files."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        if self._folder is not None:
            self._folder.cleanup()
        self._process = self._folder = None


def ranked_all(names: list[str], choices: list[str]) -> dict[str, list[tuple[str, float, int]]]:
    """The ranking of each of `names` (payer names as written), by its normalised form; in the
    other process, which builds its own trigram index."""
    grams = grams_of(choices)
    wanted = [name for name in dict.fromkeys(normalise_name(name) for name in names) if name]
    return {name: ranked_names(name, choices, grams) for name in wanted}


@contextmanager
def ranked_ahead(
    payments: pd.DataFrame, payers: PayerDirectory | None, *, at_least: int = AHEAD_FROM
) -> Iterator[None]:
    """Within, the names of the payers of `payments` that no known bank account tells are ranked
    in another process (when there are at least `at_least` different ones).

    Which names are sent changes how soon an answer is at hand, never the answer: the accounts are
    told apart here roughly (in Arrow: ASCII spaces, Unicode upper case), and a name asked for
    that was not sent is ranked in this process, as every name is below `at_least`."""
    if payers is None or not len(payments) or not payers.choices:
        yield
        return
    accounts = pa.array(text_column(payments, "payer_account").to_numpy(dtype=object), pa.string())
    accounts = pc.utf8_upper(pc.replace_substring_regex(accounts, r"\s+", ""))
    known = pc.is_in(accounts, value_set=pa.array(list(payers.accounts), pa.string()))
    names = pa.array(text_column(payments, "payer_name").to_numpy(dtype=object), pa.string())
    unknown = pc.unique(pc.filter(names, pc.and_(pc.invert(known), pc.not_equal(names, ""))))
    if len(unknown) < at_least:
        yield
        return
    ranking = Ranking()
    try:
        payers.rank_ahead(unknown.to_pylist(), ranking)
        yield
    finally:
        payers.stop_ahead()
        ranking.close()


if __name__ == "__main__":  # the other process: python -m tasks.reconcile.ranking NAMES RANKED
    _names, _choices = pickle.loads(Path(sys.argv[1]).read_bytes())
    _ranked = pickle.dumps(ranked_all(_names, _choices), protocol=pickle.HIGHEST_PROTOCOL)
    Path(sys.argv[2] + ".part").write_bytes(_ranked)
    Path(sys.argv[2] + ".part").replace(sys.argv[2])

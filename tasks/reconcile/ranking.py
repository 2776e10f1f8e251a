"""Payer names ranked against the customers' names in a second process, while the first goes on.

At a million invoices about a hundred thousand payments name no invoice and come from an account no
customer is known by; ranking their payers' names against tens of thousands of customers' names
took 4-5 s of the 50-60 that `apply_cash` takes. The ranking depends on the names alone, so once
the payments' texts are read (those naming invoices are placed by them), a second process
(`tasks/platform/elsewhere.py`, on the machine's other core) ranks the names of the others while
this one decides the certain cases; the first name the passes ask for that is not ranked yet
waits for the lot. Each name is ranked by the same function either way, so the decisions are the
same.

Below `AHEAD_FROM` names starting a process (about a second) costs more than it saves: the names
are ranked in this process as they are asked for. Should the second process fail, they are too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tasks.platform.elsewhere import Elsewhere
from tasks.reconcile.matching import PayerDirectory, grams_of, normalise_name, ranked_names
from tasks.reconcile.named import text_column

AHEAD_FROM = 5_000  # distinct payer names known only by name


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
    try:
        ranking = Elsewhere(__name__, "ranked_all", unknown.to_pylist(), payers.choices)
    except OSError:  # no process to be had: every name is ranked here, as it is asked for
        yield
        return
    try:
        payers.rank_ahead(ranking)
        yield
    finally:
        payers.stop_ahead()
        ranking.close()

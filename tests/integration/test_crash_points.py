"""The quick pass of the crash harness (`tests/crash/harness.py`; the full enumeration is `make soak`).

One book: the uninterrupted reference run, a crash at one point of each kind (a ledger commit, the
hand-over of a message to the mailer, each side of a SendGrid call, a checkpoint's publish), each
followed by a re-run that must leave the ledger, the outbox and the files as the reference and
send no message twice; one double start (the soak starts 50); and the comparison itself, shown to see
a change.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.crash.harness import Harness, State, read_state

pytestmark = pytest.mark.integration

BOOK = "few-customers"
# One point of each kind; the names are those `tasks/platform/crash.py` traces (the first of each is tried).
QUICK = (
    "commit reconcile: publish: after",
    "reminders: the mailer took a message, its state not yet written",
    "sendgrid: SendGrid answered, the answer not yet passed on",
    "remind: checkpoints validated, not yet published",
)
ALSO_MET = ("sendgrid: the request is about to go out", "report: the JSON written")
PAIRS = 1  # the soak starts 50 pairs


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    from prefect.settings import PREFECT_API_URL

    root = tmp_path_factory.mktemp("crash")
    harness = Harness(
        root, {"PREFECT_API_URL": str(PREFECT_API_URL.value()), "PREFECT_HOME": str(root / "prefect-home")}
    )
    try:
        yield harness
    finally:
        harness.close()


@pytest.fixture(scope="module")
def reference(harness: Harness) -> tuple[list[str], State, Path]:
    names, state = harness.reference(BOOK)
    home = next(p for p in harness.root.iterdir() if p.name.endswith(f"{BOOK}-reference"))
    return names, state, home


def test_the_reference_run_meets_every_kind_of_point(reference: tuple[list[str], State, Path]) -> None:
    names = reference[0]
    for name in QUICK + ALSO_MET:
        assert any(n.startswith(name) for n in names), f"the run never met {name!r}"
    kinds = {name.split(":", 1)[0].split(" ", 1)[0] for name in names}
    assert {"commit", "sendgrid", "reminders", "report"} <= kinds
    assert len(names) >= 40  # every commit, each side of every call: a run on this book meets ~70


@pytest.mark.parametrize("name", QUICK)
def test_a_crash_at_this_point_and_a_rerun_end_as_one_clean_run(
    harness: Harness, reference: tuple[list[str], State, Path], name: str
) -> None:
    names, expected, _home = reference
    point = names.index(name) + 1  # the first time a run meets it
    outcome = harness.crash_at(BOOK, point, name, expected)
    assert outcome.ok, "\n".join(outcome.problems)


@pytest.mark.parametrize("pair", range(1, PAIRS + 1))
def test_two_runs_started_at_once_end_as_one_run(
    harness: Harness, reference: tuple[list[str], State, Path], pair: int
) -> None:
    outcome = harness.double_start(BOOK, pair, reference[1])
    assert outcome.ok, "\n".join(outcome.problems)


def test_the_comparison_sees_a_ledger_changed_behind_its_back(
    reference: tuple[list[str], State, Path], tmp_path: Path
) -> None:
    _names, expected, home = reference
    assert read_state(home).differences(expected) == []
    copy = tmp_path / "tampered"
    shutil.copytree(home, copy)
    con = duckdb.connect(str(copy / "ledger.duckdb"))
    try:
        (payment, invoice) = con.execute("select payment_id, invoice_id from allocations limit 1").fetchone()
        con.execute(
            "update allocations set amount_minor = amount_minor + 1 where payment_id = ? and invoice_id = ?",
            [payment, invoice],
        )
        con.execute(
            "update reminders set status = 'queued' where reminder_id = (select min(reminder_id) from reminders)"
        )
    finally:
        con.close()
    changes = read_state(copy).differences(expected)
    assert any(line.startswith("allocations:") for line in changes), changes
    assert any(line.startswith("reminders:") for line in changes), changes

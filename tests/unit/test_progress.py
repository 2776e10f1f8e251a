"""Progress reports: a step's text and rate, and every listener of the process told."""

from __future__ import annotations

import time

from tasks.platform.progress import Step, listening, report


def test_a_step_says_what_how_many_and_how_fast() -> None:
    step = Step("ingest", "orders.csv", 1_100_000, None, "rows", 4.0)
    assert step.rate == 275_000
    assert step.text() == "ingest: orders.csv 1,100,000 rows in 4.0 s (275,000 rows/s)"
    assert Step("deliver", "reminders", 300, 4_000, "messages", 2.0).text() == (
        "deliver: reminders 300 of 4,000 messages in 2.0 s (150 messages/s)"
    )


def test_listeners_hear_each_step_while_they_listen() -> None:
    heard: list[Step] = []
    began = time.perf_counter()
    with listening(heard.append):
        report("reconcile", "payments decided", 10, total=20, since=began)
    report("reconcile", "payments decided", 20, total=20, since=began)  # nobody listens any more
    assert [(s.stage, s.done, s.total) for s in heard] == [("reconcile", 10, 20)]

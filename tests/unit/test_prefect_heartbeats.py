"""A flow run's heartbeats stop the moment the run ends (tasks/platform/prefect_heartbeats.py)."""

from __future__ import annotations

import logging
import threading
import time
from types import SimpleNamespace

import pytest
from prefect import flow_engine

from tasks.platform import prefect_heartbeats
from tasks.platform.prefect_heartbeats import heartbeats, install


class FakeEngine:
    """What the heartbeat context reads of a flow run engine, recording each heartbeat sent."""

    def __init__(self, seconds: int | None = 180, failing: bool = False, final: bool = False) -> None:
        self.heartbeat_seconds = seconds
        self.failing = failing
        self.sent: list[tuple[object, object]] = []
        self.flow_run = SimpleNamespace(state=SimpleNamespace(is_final=lambda: final))
        self.logger = logging.getLogger("test-heartbeats")
        self.beating = threading.Event()

    def _build_heartbeat_event_template(self) -> tuple[str, list[str]]:
        return "resource", ["related"]

    def _emit_flow_run_heartbeat(self, resource: object, related: object) -> None:
        self.beating.set()
        if self.failing:
            raise RuntimeError("the API is away")
        self.sent.append((resource, related))


def _threads() -> set[threading.Thread]:
    return set(threading.enumerate())


def test_a_heartbeat_is_sent_at_once_and_the_thread_ends_with_the_run() -> None:
    engine = FakeEngine()
    before = _threads()
    with heartbeats(engine, join_on_exit=False):  # as an async flow run leaves it: not joined
        assert engine.beating.wait(5)
        started = _threads() - before
        assert len(started) == 1
    (thread,) = started
    # woken by the run's end: Prefect's own loop sleeps on in steps of a second
    thread.join(0.3)
    assert not thread.is_alive()
    assert engine.sent == [("resource", ["related"])]
    with heartbeats(engine):  # a synchronous run's end joins the thread
        deadline = time.monotonic() + 5
        while len(engine.sent) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert engine.sent == [("resource", ["related"])] * 2


def test_a_failed_heartbeat_is_skipped_and_the_run_goes_on() -> None:
    engine = FakeEngine(failing=True)
    with heartbeats(engine):
        assert engine.beating.wait(5)
    assert engine.sent == []


def test_no_heartbeat_for_a_run_already_final_nor_without_a_frequency() -> None:
    final = FakeEngine(final=True)
    with heartbeats(final):
        time.sleep(0.05)
    assert final.sent == [] and not final.beating.is_set()
    off = FakeEngine(seconds=None)
    before = _threads()
    with heartbeats(off):
        assert _threads() == before  # no thread at all
    assert off.sent == []


def test_install_replaces_prefects_loop_in_the_version_it_was_written_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import prefect

    # Prefect's own loop, whether or not a flow module imported earlier has installed ours
    prefects = prefect_heartbeats.replaced or flow_engine._send_heartbeats
    assert prefects is not heartbeats
    monkeypatch.setattr(flow_engine, "_send_heartbeats", prefects)
    assert prefect.__version__.startswith("3.8.")
    assert install() is True
    assert flow_engine._send_heartbeats is heartbeats
    assert install() is True  # again: nothing changes


def test_install_leaves_another_prefects_loop_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    import prefect

    def their_loop(engine: object, join_on_exit: bool = True) -> None:  # a rewritten upstream loop
        return None

    monkeypatch.setattr(flow_engine, "_send_heartbeats", their_loop)
    assert install() is False
    assert flow_engine._send_heartbeats is their_loop
    monkeypatch.setattr(prefect, "__version__", "3.9.0")
    monkeypatch.setattr(prefect_heartbeats, "_WRITTEN_FOR", "3.8.")
    assert install() is False
    assert flow_engine._send_heartbeats is their_loop


def test_a_run_ending_just_after_a_heartbeat_gives_it_the_rest_of_its_second() -> None:
    # so that a process ending with the run does not exit with the heartbeat still queued
    engine = FakeEngine()
    began = time.monotonic()
    with heartbeats(engine):
        assert engine.beating.wait(5)
    assert time.monotonic() - began >= 0.9
    later = FakeEngine()
    with heartbeats(later):
        assert later.beating.wait(5)
        time.sleep(1.1)  # a run longer than its heartbeat's second
        ending = time.monotonic()
    assert time.monotonic() - ending < 0.5

"""A flow run's heartbeats that stop as soon as the run ends.

Prefect 3.8 sends a heartbeat for every running flow run (`flows.heartbeat_frequency`, 180 s by
default; the server marks a run that stops sending them as crashed). Its heartbeat thread sleeps
between heartbeats in steps of one second, and a synchronous flow run, as it ends, sets the
thread's stop flag and joins it: every flow run's end waits for the rest of the second the thread
is sleeping, half a second on average (`prefect/flow_engine.py::_send_heartbeats`). Every stage of
the pipeline is one such run: about 3 s of each run of the six stages went on that wait.

`install` replaces that context manager with one that sends the same heartbeats (at once, then
every `heartbeat_seconds`, none once the run's state is final, a failed one logged and skipped)
from a thread that waits on the stop flag itself, so it ends the moment the run does. A run that
ends within a second of a heartbeat still waits out that second, as with Prefect's loop, so that
the heartbeat reaches the server before a process ending with the run exits (Prefect's events
worker would otherwise log it as left over). It replaces Prefect's loop only in the versions it
was written against (3.8, its source checked for the one-second sleep); any other keeps its own.
"""

from __future__ import annotations

import contextvars
import inspect
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_WRITTEN_FOR = "3.8."
_SENDING = 1.0  # seconds a heartbeat is given to reach the server before a run may end
replaced: Any = None  # Prefect's own loop, once `install` has put `heartbeats` in its place


@contextmanager
def heartbeats(engine: Any, join_on_exit: bool = True) -> Iterator[None]:
    """Prefect's `_send_heartbeats(engine, join_on_exit)`, its thread woken by the stop flag."""
    from prefect.flow_engine import MINIMUM_HEARTBEAT_INTERVAL

    heartbeat_seconds = engine.heartbeat_seconds
    if heartbeat_seconds is None:
        yield
        return
    heartbeat_seconds = max(heartbeat_seconds, MINIMUM_HEARTBEAT_INTERVAL)
    resource, related = engine._build_heartbeat_event_template()
    stop = threading.Event()
    sent = [float("-inf")]  # when the last heartbeat was handed to Prefect's events worker

    def beat() -> None:
        while not stop.is_set():
            run = engine.flow_run
            if run and run.state and run.state.is_final():
                engine.logger.debug("Flow run in terminal state, stopping heartbeat")
                return
            try:
                engine._emit_flow_run_heartbeat(resource, related)
                sent[0] = time.monotonic()
            except Exception:
                engine.logger.debug("Failed to emit heartbeat", exc_info=True)
            stop.wait(heartbeat_seconds)  # returns at once when the run ends

    # the thread sees the caller's settings (the API's address), as Prefect's own does
    thread = threading.Thread(target=contextvars.copy_context().run, args=(beat,), daemon=True)
    thread.start()
    engine.logger.debug("Started flow run heartbeat context")
    try:
        yield
    finally:
        stop.set()
        if join_on_exit:
            thread.join(timeout=2)
            # a heartbeat just sent is given the rest of its second to reach the server
            time.sleep(max(0.0, sent[0] + _SENDING - time.monotonic()))
        engine.logger.debug("Stopped flow run heartbeat context")


def install() -> bool:
    """Use `heartbeats` for Prefect's flow runs from now on, in this process; True if it was put
    in place (or already was), False where this Prefect's heartbeat loop is not the one it replaces."""
    import prefect
    from prefect import flow_engine

    current = getattr(flow_engine, "_send_heartbeats", None)
    if current is heartbeats:
        return True
    if current is None or not prefect.__version__.startswith(_WRITTEN_FOR):
        return False
    try:
        source = inspect.getsource(current)
    except (OSError, TypeError):
        return False
    if "time.sleep(1)" not in source or "join_on_exit" not in source:
        return False
    global replaced
    replaced = current
    flow_engine._send_heartbeats = heartbeats  # type: ignore[attr-defined]
    return True

"""Where a stage's wall time goes: the project's own work, Prefect, or Great Expectations.

A sampling thread looks at the main thread's stack every few milliseconds and files each sample
under the innermost frame that belongs to one of three: Great Expectations (anywhere in the stack:
a check it runs is its time, whatever library it calls), Prefect (its engine, client, artifacts
and logging: orchestration), or this project (`tasks/`, `rules/`, `flows/`, `tools/`: the
stage's own work, including the pandas, DuckDB and PDF code it calls). Library frames (pandas,
DuckDB, httpx, threading) count for whoever called them. Sampling measures, it asserts nothing:
about 1 % of one core for the sampler itself.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

PROJECT = str(Path(__file__).resolve().parents[1])
OURS = tuple(f"{PROJECT}/{folder}/" for folder in ("tasks", "rules", "flows", "tools", "cli"))
SELF = str(Path(__file__).resolve())
INTERVAL = 0.005


def classify(frame: FrameType | None) -> str:
    """`gx`, `prefect`, `work` or `other` for one stack, from its innermost frame outwards."""
    decided = None
    while frame is not None:
        name = frame.f_code.co_filename
        if "/great_expectations/" in name:
            return "gx"
        if decided is None:
            if "/site-packages/prefect/" in name:
                decided = "prefect"
            elif name.startswith(OURS) and name != SELF:
                decided = "work"
        frame = frame.f_back
    return decided or "other"


def _classified(target: int) -> str:
    """`classify` of thread `target`'s stack as it stands, walked without handing the GIL over.

    Python 3.11 crashes (a segmentation fault, seen once in CI under load) when the walked thread
    returns from frames while another thread follows their `f_back`: that needs the walker to give
    up the GIL mid-walk, which Python does when another thread has waited the switch interval for
    it. The interval is made long for the few microseconds of the walk (the process's threads are
    otherwise scheduled as before)."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(5.0)
    try:
        return classify(sys._current_frames().get(target))
    finally:
        sys.setswitchinterval(interval)


@contextmanager
def sampled() -> Iterator[dict[str, float]]:
    """Sample the calling thread while the block runs; yields the seconds per kind (filled in when
    the block ends): `work`, `prefect`, `gx`, `other`."""
    target = threading.get_ident()
    counts: Counter[str] = Counter()
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(INTERVAL):
            counts[_classified(target)] += 1

    thread = threading.Thread(target=sample, name="o2c-bench-sampler", daemon=True)
    began = time.perf_counter()
    thread.start()
    seconds: dict[str, float] = {}
    try:
        yield seconds
    finally:
        stop.set()
        thread.join()
        wall = time.perf_counter() - began
        total = sum(counts.values()) or 1
        for kind, n in counts.items():
            seconds[kind] = wall * n / total
        for kind in ("work", "prefect", "gx", "other"):
            seconds.setdefault(kind, 0.0)

"""A legal entity's lane in Prefect: a run of the pipeline for one entity holds the global
concurrency limit `o2c-entity-<entity>` (one slot, made the first time it is asked for), so a second
run of the same entity waits in Prefect, visibly, until the first ends, while runs of other
entities go at once. The ledger's own locks keep the data right whatever Prefect does (on
PostgreSQL each entity's stage runs hold the entity's lock: tasks/platform/ledger/working_copy.py);
the lane keeps a whole pipeline of one entity from interleaving its stages with another's, and
shows in the UI (Concurrency) which entity is running."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager


def lane_name(entity: str) -> str:
    """The global concurrency limit of `entity`'s runs: `o2c-entity-DE01`."""
    return "o2c-entity-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", entity).strip("-") or "entity")


@contextmanager
def entity_lane(entity: str | None, *, timeout_seconds: float | None = None) -> Iterator[None]:
    """Hold `entity`'s lane while the block runs (nothing for None: a run of the whole book takes
    turns on the ledger's lock instead)."""
    if not entity:
        yield
        return
    import time

    from prefect.client.orchestration import get_client
    from prefect.concurrency.sync import concurrency
    from prefect.exceptions import ObjectNotFound

    from tasks.platform.progress import run_logger

    name = lane_name(entity)
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:  # the entity's first run: one slot (an operator may change it)
            client.upsert_global_concurrency_limit_by_name(name, 1)
    began = time.monotonic()
    # a lease Prefect fails to renew (its API away for a moment) does not stop the run: the
    # ledger's own locks keep the data right
    with concurrency(
        name, occupy=1, timeout_seconds=timeout_seconds, strict=True, raise_on_lease_renewal_failure=False
    ):
        waited = time.monotonic() - began
        run_logger().info(
            f"{entity}: in its lane {name} after {waited:.1f} s (one run of an entity at a time)"
        )
        yield

"""A legal entity's lane (flows/lanes.py), through Prefect's own global concurrency limits on the
test harness's API: a second holder of one entity's lane waits until the first lets it go, a
holder of another entity's goes at once, and the lane is made with one slot the first time."""

from __future__ import annotations

import pytest
from prefect.client.orchestration import get_client

from flows.lanes import entity_lane, lane_name


def test_runs_of_one_entity_wait_for_each_other_and_other_entities_do_not() -> None:
    with entity_lane("DE01"):
        with entity_lane("FR01", timeout_seconds=10):
            pass  # another entity's lane: at once
        with pytest.raises(TimeoutError), entity_lane("DE01", timeout_seconds=2):
            pass  # the same entity's: waits, here until it gives up
    with entity_lane("DE01", timeout_seconds=10):
        pass  # let go: free again
    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name(lane_name("DE01"))
    assert limit.name == "o2c-entity-DE01" and limit.limit == 1


def test_a_run_of_the_whole_book_holds_no_lane() -> None:
    with entity_lane(None), entity_lane(None):
        pass
    assert lane_name("Acme Ltd / UK") == "o2c-entity-Acme-Ltd-UK"

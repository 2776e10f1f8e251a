"""A finished flow run's return value survives the API answering with its own copy of the state."""

from __future__ import annotations

import uuid

import pytest
from prefect.exceptions import MissingResult
from prefect.states import Completed

from tasks.platform import flow_returns


def _state(run_id: uuid.UUID, data: object = None) -> Completed:
    state = Completed(data=data)
    state.state_details.flow_run_id = run_id
    return state


def test_the_value_kept_in_this_process_stands_in_for_a_state_without_data(monkeypatch) -> None:
    run_id = uuid.uuid4()
    monkeypatch.setitem(flow_returns._returned, str(run_id), {"outcome": "published", "inserted": 3})
    assert flow_returns.result_of(_state(run_id)) == {"outcome": "published", "inserted": 3}
    assert str(run_id) not in flow_returns._returned  # handed out once


def test_a_state_with_its_data_is_read_as_prefect_reads_it() -> None:
    run_id = uuid.uuid4()
    flow_returns._returned[str(run_id)] = {"stale": True}
    assert flow_returns.result_of(_state(run_id, {"outcome": "published"})) == {"outcome": "published"}
    assert str(run_id) not in flow_returns._returned


def test_without_either_the_missing_result_is_not_hidden() -> None:
    with pytest.raises(MissingResult):
        flow_returns.result_of(_state(uuid.uuid4()))


def test_outside_a_flow_run_nothing_is_kept_and_the_value_passes_through() -> None:
    before = dict(flow_returns._returned)
    assert flow_returns.remember([1, 2]) == [1, 2]
    assert flow_returns._returned == before


def test_only_the_latest_runs_are_kept(monkeypatch) -> None:
    monkeypatch.setattr(flow_returns, "_returned", flow_returns.OrderedDict())

    class Run:
        def __init__(self) -> None:
            self.id = uuid.uuid4()

    class Context:
        def __init__(self) -> None:
            self.flow_run = Run()

    contexts = [Context() for _ in range(flow_returns.KEPT + 5)]
    for context in contexts:
        monkeypatch.setattr("prefect.context.FlowRunContext.get", lambda c=context: c)
        flow_returns.remember(str(context.flow_run.id))
    assert len(flow_returns._returned) == flow_returns.KEPT
    assert str(contexts[0].flow_run.id) not in flow_returns._returned
    assert flow_returns._returned[str(contexts[-1].flow_run.id)] == str(contexts[-1].flow_run.id)

"""What a flow run returned, kept in the process that ran it.

Prefect keeps a flow's return value on the state the engine proposes at the end of the run. When
the API answers with its own copy of the state instead (a request retried on a busy server that had
already recorded the first one is rejected, and the server's copy comes back), that copy has no
data, results are not persisted, and `state.result()` raises `MissingResult`; two `o2c run all` at
once on one machine met it. The stages and the pipeline therefore also leave their return value
here, keyed by flow run id, and `result_of` falls back to it: the value is the one the flow
returned in this very process, never a reconstruction.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

KEPT = 256  # flow runs remembered; a long-lived `o2c serve` process forgets the oldest

_returned: OrderedDict[str, Any] = OrderedDict()


def remember(value: Any) -> Any:
    """Keep `value` as the return of the flow run in progress (outside a flow run: nothing kept)."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is not None and context.flow_run is not None:
        _returned[str(context.flow_run.id)] = value
        while len(_returned) > KEPT:
            _returned.popitem(last=False)
    return value


def result_of(state: Any) -> Any:
    """The return value of the finished flow run `state` belongs to."""
    from prefect.exceptions import MissingResult

    key = str(state.state_details.flow_run_id)
    try:
        value = state.result()
    except MissingResult:
        if key not in _returned:
            raise
        return _returned.pop(key)
    _returned.pop(key, None)
    return value

"""The whole pipeline: the six stages in order, each as its own subflow."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow

from flows.escalate import escalate_flow
from flows.ingest import ingest_flow
from flows.invoice import invoice_flow
from flows.reconcile import reconcile_flow
from flows.remind import remind_flow
from flows.report import report_flow
from tasks.stage import resolve_as_of, run_name

STAGE_FLOWS = {
    "ingest": ingest_flow,
    "invoice": invoice_flow,
    "reconcile": reconcile_flow,
    "remind": remind_flow,
    "escalate": escalate_flow,
    "report": report_flow,
}


@flow(name="order_to_cash", flow_run_name=run_name("order-to-cash"))
def order_to_cash(as_of: date | None = None, dry_run: bool = False, home: str | None = None) -> Any:
    """Ingest the inbox, bill, apply cash, remind, escalate and report, as of one date.

    A stage that fails stops the run there: later stages do not run on data it did not vouch for.
    """
    from prefect.states import Failed

    day = resolve_as_of(as_of)
    results: dict[str, Any] = {}
    for stage, stage_flow in STAGE_FLOWS.items():
        state = stage_flow(as_of=day, dry_run=dry_run, home=home, return_state=True)
        if state.is_failed():
            return Failed(name=state.name, message=f"stopped at {stage}: {state.message}", data=results)
        results[stage] = state.result()
    return results

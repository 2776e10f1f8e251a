"""State hooks of the flows: a run that fails or crashes tells finance ops by e-mail.

Only a top-level run notifies: a stage running inside `order_to_cash` leaves it to the pipeline's
run, whose message names the stage. Without `O2C_OPS_RECIPIENTS` nothing is sent. A notice that
cannot be sent is logged; it never hides the run's own failure.
"""

from __future__ import annotations

from typing import Any


def notify_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect `on_failure` / `on_crashed` hook: e-mail finance ops the stage, reason and what was
    left unchanged."""
    from prefect.logging import get_logger

    logger = get_logger("o2c.hooks")
    if flow_run.parent_task_run_id is not None:
        return
    try:
        _notify(flow, flow_run, state)
    except Exception as exc:  # the run's failure is the news; a failed notice must not replace it
        logger.error("could not e-mail finance ops about the failed run %s: %s", flow_run.id, exc)


def _notify(flow: Any, flow_run: Any, state: Any) -> None:
    from datetime import date

    from tasks.platform.config import load_settings
    from tasks.platform.failure_notice import (
        RunFailure,
        failure_messages,
        pipeline_outcome,
        send_failure_notice,
        stage_outcome,
    )
    from tasks.platform.ledger import LedgerBusy, open_ledger
    from tasks.platform.mail import make_mailer

    parameters = flow_run.parameters or {}
    settings = load_settings(parameters.get("home"))
    if not settings.ops_recipients:
        return
    reason = state.message or state.name
    if flow.name == "order_to_cash":
        from flows.parameters import ALL_STAGES

        chosen = [s for s in ALL_STAGES if s in (parameters.get("stages") or ALL_STAGES)]
        stage, unchanged = pipeline_outcome(reason, list(chosen))
    else:
        stage = flow.name
        try:
            with open_ledger(settings.ledger_path, lock_timeout=30) as ledger:
                unchanged = stage_outcome(
                    ledger.row("report/audit/run", run_id=str(flow_run.id)), str(flow_run.id)
                )
        except LedgerBusy:
            unchanged = "unknown: the ledger was busy when this notice was written; see `o2c audit runs`."
    from tasks.platform.artifacts import started_by_of
    from tasks.platform.policy import PolicyError

    failure = RunFailure(
        flow=flow.name,
        run_name=flow_run.name,
        run_id=str(flow_run.id),
        reason=reason,
        as_of=str(parameters.get("as_of") or date.today()),
        started_by=started_by_of(flow_run),
        stage=stage,
        unchanged=unchanged,
        run_url=_run_url(str(flow_run.id)),
    )
    try:
        seller = settings.seller_of("")
    except PolicyError:  # the run may have failed on that very file: the notice still goes out
        from tasks.platform.sellers import FALLBACK_NAME

        seller = settings.seller_name or FALLBACK_NAME
    messages = failure_messages(failure, settings.ops_recipients, seller=seller, folder=settings.templates)
    send_failure_notice(make_mailer(settings), messages)


def _run_url(run_id: str) -> str | None:
    from prefect.settings import PREFECT_UI_URL

    base = PREFECT_UI_URL.value()
    return f"{base.rstrip('/')}/runs/flow-run/{run_id}" if base else None


def o2c_flow(name: str, run_label: str | None = None, **options: Any) -> Any:
    """The Prefect `flow` decorator as every o2c flow uses it: its name, a readable run name (the
    label and the business date: `reconcile 2026-11-20`), and the failure e-mail on failure or crash.
    Its runs' heartbeats stop the moment a run ends (`tasks/platform/prefect_heartbeats.py`)."""
    from prefect import flow

    from tasks.platform.prefect_heartbeats import install
    from tasks.platform.stage import run_name

    install()

    decorate = flow(
        name=name,
        flow_run_name=run_name(run_label or name),
        on_failure=[notify_failure],
        on_crashed=[notify_failure],
        **options,
    )
    return lambda fn: decorate(titled(fn))


def titled(fn: Any) -> Any:
    """`fn` with a title in finance words on each parameter (`flows/parameters.py` TITLES), which the
    Prefect form shows instead of the parameter's name. Prefect titles a parameter by its name and
    takes a title only from the `json_schema_extra` of the parameter's annotation, so each
    annotation is wrapped in one. The parameters for engineers (`ENGINEERS`) are left out of the
    schema, so the form does not offer them; validation and the call are unchanged."""
    import inspect
    from typing import Annotated

    from pydantic import Field
    from pydantic.json_schema import SkipJsonSchema

    from flows.parameters import ENGINEERS, TITLES

    def annotated(p: inspect.Parameter) -> inspect.Parameter:
        if p.name not in TITLES:
            return p
        title = Field(json_schema_extra={"title": TITLES[p.name]})
        if p.name in ENGINEERS:
            return p.replace(annotation=Annotated[p.annotation, title, SkipJsonSchema()])
        return p.replace(annotation=Annotated[p.annotation, title])

    signature = inspect.signature(fn, eval_str=True)
    fn.__signature__ = signature.replace(parameters=[annotated(p) for p in signature.parameters.values()])
    return fn

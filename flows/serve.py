"""`o2c serve`: every deployment of `prefect.yaml`, served from one process, for a team without a
work pool or workers.

The deployments are read from the same `prefect.yaml` that `prefect deploy --all` registers, so the
two ways of running cannot drift apart: same names, entrypoints, descriptions, tags, schedules with
their time zones, and parameters.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tasks.platform.config import PROJECT_ROOT

PREFECT_YAML = PROJECT_ROOT / "prefect.yaml"


@dataclass(frozen=True)
class DeploymentSpec:
    name: str
    entrypoint: str
    description: str
    tags: tuple[str, ...]
    schedules: tuple[dict[str, Any], ...]
    parameters: dict[str, Any] = field(default_factory=dict)
    concurrency_limit: int | None = None

    def schedule_text(self) -> str:
        shown = []
        for s in self.schedules:
            when = s.get("cron") or s.get("rrule") or f"every {s.get('interval')} s"
            shown.append(f"{when} ({s.get('timezone', 'UTC')})")
        return "; ".join(shown) or "on demand"


def read_specs(path: Path = PREFECT_YAML) -> list[DeploymentSpec]:
    """The deployments `prefect.yaml` declares."""
    document = yaml.safe_load(path.read_text()) or {}
    return [
        DeploymentSpec(
            name=d["name"],
            entrypoint=d["entrypoint"],
            description=" ".join(str(d.get("description") or "").split()),
            tags=tuple(d.get("tags") or ()),
            schedules=tuple(d.get("schedules") or ()),
            parameters=dict(d.get("parameters") or {}),
            concurrency_limit=d.get("concurrency_limit"),
        )
        for d in document.get("deployments") or []
    ]


def load_entrypoint(entrypoint: str) -> Any:
    """The flow object an entrypoint (`flows/report.py:report_flow`) names."""
    file_part, _, attribute = entrypoint.partition(":")
    module = importlib.import_module(file_part.removesuffix(".py").replace("/", "."))
    return getattr(module, attribute)


def _schedule(spec: dict[str, Any]) -> Any:
    from prefect.schedules import Cron, Interval, RRule

    timezone = spec.get("timezone")
    if "cron" in spec:
        return Cron(spec["cron"], timezone=timezone)
    if "rrule" in spec:
        return RRule(spec["rrule"], timezone=timezone)
    return Interval(spec["interval"], timezone=timezone)


def runner_deployments(specs: list[DeploymentSpec]) -> list[Any]:
    """Prefect runner deployments for `serve`, one per spec."""
    return [
        load_entrypoint(spec.entrypoint).to_deployment(
            name=spec.name,
            description=spec.description,
            tags=list(spec.tags),
            schedules=[_schedule(s) for s in spec.schedules],
            parameters=spec.parameters,
            concurrency_limit=spec.concurrency_limit,
        )
        for spec in specs
    ]


def serve_all(specs: list[DeploymentSpec], *, limit: int | None = None, pause_within: float = 8.0) -> None:
    """Register every deployment and run what its schedules (or the UI) ask for, until stopped by
    Ctrl-C or SIGTERM; then pause their schedules, so that nothing is scheduled with no one to
    run it. Stopping takes seconds and shows no traceback, also when the Prefect server went away
    first: the pause is given `pause_within` seconds, without the client's own retries (a busy
    server is asked again within that bound), and a server that does not answer is said in one line (Prefect's own `serve` retried for over a minute and
    then printed the connection error's traceback)."""
    import asyncio
    import contextlib
    import os
    import signal

    os.chdir(PROJECT_ROOT)  # entrypoints are relative to the project, as in prefect.yaml
    # Ctrl-C and SIGTERM end the runner the same way: asyncio's own Ctrl-C only cancels the main
    # task, which the runner's task groups could swallow (a stop that never came, under load)
    signal.signal(signal.SIGINT, _exit)
    signal.signal(signal.SIGTERM, _exit)  # the runner's start installs the same (QuietRunner)
    deployments = runner_deployments(specs)
    runner = _runner_class()(pause_on_shutdown=False, limit=limit)
    for deployment in deployments:
        runner.add_deployment(deployment)
    print("Your deployments are being served and polling for scheduled runs (Ctrl-C or SIGTERM stops):")
    for deployment in deployments:
        print(f"  {deployment.flow_name}/{deployment.name}")
    with contextlib.suppress(KeyboardInterrupt, SystemExit):  # Ctrl-C, or SIGTERM
        asyncio.run(runner.start())
    names = [f"{d.flow_name}/{d.name}" for d in deployments]
    try:
        asyncio.run(asyncio.wait_for(_pause(names), pause_within))
    except (KeyboardInterrupt, SystemExit):
        print("stopped before the schedules were paused: pause them in the Prefect UI")
    except Exception as exc:  # noqa: BLE001 (the server is gone or refuses: said, not raised)
        print(f"stopped; the schedules could not be paused ({_why(exc)}): pause them in the Prefect UI")
    else:
        print("stopped; the schedules of the served deployments are paused")


# Prefect's observers of the server's event stream; on the way out, one may find the server already
# gone and log its reconnection's traceback as a warning (seen once in CI): the stop itself says in
# one line whether the server answered
_OBSERVERS = ("prefect.FlowRunCancellingObserver", "prefect.FlowRunSuspendingObserver")


def _exit(*_: object) -> None:
    import logging

    for name in _OBSERVERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    raise SystemExit(0)


def _runner_class() -> Any:
    from prefect.runner import Runner

    class QuietRunner(Runner):  # type: ignore[misc]
        """Prefect's runner, ended by SIGTERM as by Ctrl-C: its own handler calls the runner's stop
        from inside the running loop, where it is never awaited (a RuntimeWarning on the way out),
        before it exits; here the exit alone ends the loop and `serve_all` does the rest."""

        def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
            _exit()

    return QuietRunner


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "the Prefect server did not answer in time"
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status is not None:
        return f"the Prefect server answered {status}"
    return f"{type(exc).__name__}: the Prefect server did not answer"


async def _pause(names: list[str]) -> None:
    """Pause the schedules of the deployments named `flow/deployment`. A server that is gone is
    not asked again (no client retries); a busy one that answers 429 or 5xx (a SQLite-backed
    server under load answers 503 to a locked database) is asked again until the caller's bound."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    with temporary_settings({PREFECT_CLIENT_MAX_RETRIES: 0}):
        async with get_client() as client:
            for name in names:
                while True:
                    try:
                        deployment = await client.read_deployment_by_name(name)
                        await client.pause_deployment(deployment.id)
                        break
                    except Exception as exc:
                        status = getattr(getattr(exc, "response", None), "status_code", None)
                        if status is None or (status != 429 and status < 500):
                            raise
                        await asyncio.sleep(0.5)

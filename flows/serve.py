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


def serve_all(specs: list[DeploymentSpec], *, limit: int | None = None) -> None:
    """Register every deployment and run what its schedules (or the UI) ask for, until stopped."""
    import os

    from prefect import serve

    os.chdir(PROJECT_ROOT)  # entrypoints are relative to the project, as in prefect.yaml
    serve(*runner_deployments(specs), limit=limit, print_starting_message=True)

"""Every stage has its companions, and every deployment's entrypoint imports for real."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

from tasks.platform.config import PROJECT_ROOT, SHIPPED_CONTRACTS
from tasks.platform.stages import STAGE_CONTRACTS, STAGES


@pytest.mark.parametrize("stage", STAGES)
def test_stage_has_its_companions(stage: str) -> None:
    assert (PROJECT_ROOT / "flows" / f"{stage}.py").is_file(), "flow"
    assert (PROJECT_ROOT / "tasks" / f"{stage}.py").is_file() or (PROJECT_ROOT / "tasks" / stage).is_dir(), (
        "tasks"
    )
    assert list((PROJECT_ROOT / "sql" / stage).glob("*.sql")), "sql folder"
    assert stage in STAGE_CONTRACTS and STAGE_CONTRACTS[stage], "contracts"
    for dataset in STAGE_CONTRACTS[stage]:
        assert (SHIPPED_CONTRACTS / f"{dataset}.yaml").is_file(), dataset
    assert list((PROJECT_ROOT / "tests").rglob(f"test_{stage}.py")), "tests"


def test_every_stage_can_be_deployed() -> None:
    """Every stage runs from a deployment: the pipeline's (whose `stages` choices are the registry's),
    and a stage's own deployment, where it has one, runs that stage's registry flow."""
    from tasks.platform.stages import REGISTRY

    entrypoints = {d["entrypoint"] for d in DEPLOYMENTS}
    assert "flows/order_to_cash.py:order_to_cash" in entrypoints
    flows = {entry.flow.replace(".", "/", entry.flow.count(".")).replace(":", ".py:") for entry in REGISTRY}
    # Besides the stages: the pipeline, and the delivery of what the stages queued.
    assert entrypoints - {"flows/order_to_cash.py:order_to_cash", "flows/delivery.py:deliver_flow"} <= flows
    assert len(entrypoints) > 1, "the shipped stages have deployments of their own"


def test_stage_list_and_pipeline_agree() -> None:
    from flows.order_to_cash import STAGE_FLOWS

    assert tuple(STAGE_FLOWS) == STAGES


def test_every_contract_is_used_by_a_stage() -> None:
    used = {name for names in STAGE_CONTRACTS.values() for name in names}
    assert {p.stem for p in SHIPPED_CONTRACTS.glob("*.yaml")} == used


DEPLOYMENTS = yaml.safe_load((Path(__file__).resolve().parent.parent / "prefect.yaml").read_text())[
    "deployments"
]


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=[d["name"] for d in DEPLOYMENTS])
def test_deployment_entrypoint_imports_a_real_flow(deployment: dict) -> None:
    """Prefect falls back to a placeholder when an entrypoint fails to import: import it ourselves."""
    from prefect import Flow

    path, name = deployment["entrypoint"].split(":")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    flow = getattr(module, name)
    assert isinstance(flow, Flow)
    assert deployment["description"]
    assert flow.fn.__doc__, "the flow's docstring is what the UI shows"

"""`o2c bench`: the whole pipeline on a small generated book gives every figure the JSON promises,
with a floor for every stage measured on the same ledger."""

from __future__ import annotations

import json
from pathlib import Path

from tasks.platform.config import load_settings
from tasks.platform.ledger import open_ledger
from tools.bench_pipeline import run_pipeline_benchmark

STAGES = ["ingest", "invoice", "reconcile", "remind", "escalate", "report"]


def test_the_benchmark_times_every_stage_beside_its_floor(tmp_path: Path) -> None:
    home = tmp_path / "bench"
    out = list(run_pipeline_benchmark(invoices=600, customers=60, seed=5, home=str(home)))
    lines, result = [o for o in out if isinstance(o, str)], out[-1]
    assert isinstance(result, dict)
    json.dumps(result)  # what `--json` prints
    assert result["invoices"] == 600
    assert list(result["stages"]) == STAGES
    for stage, figures in result["stages"].items():
        assert figures["seconds"] > 0, stage
        assert figures["rows"] > 0, stage
        assert figures["floor_seconds"] is not None and figures["floor_seconds"] > 0, stage
        assert figures["peak_rss_mb"] > 0, stage
    assert result["total_seconds"] >= sum(f["seconds"] for f in result["stages"].values()) - 0.01
    assert result["prefect_start_seconds"] > 0
    assert result["delivery"]["emails"] > 0
    # the floors ran in transactions rolled back: the ledger holds the stages' own rows only
    with open_ledger(load_settings(home).ledger_path) as ledger:
        allocations = ledger.table("allocations")
    assert len(allocations) > 0
    assert set(allocations["rule_version"].str.split("-").str[0]) == {"v3"}
    assert any(line.startswith("reconcile ") for line in lines)
    reconcile_line = next(line for line in lines if line.startswith("reconcile "))
    assert " - " not in reconcile_line  # a floor and a ratio, not dashes

"""The pure parts of the failure notice, the evidence snapshot and the replay's comparison."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.platform.evidence import Evidence, input_evidence, sha256, snapshot
from tasks.platform.failure_notice import RunFailure, failure_messages, pipeline_outcome, stage_outcome
from tasks.report.replay import ReplayRefused, ReplayRun, compare_run, normalised, plan

STAGES = ["ingest", "invoice", "reconcile", "remind", "escalate", "report"]


def test_a_pipeline_failure_says_what_ran_what_published_nothing_and_what_did_not_run() -> None:
    stage, text = pipeline_outcome("stopped at reconcile: allocations halted", STAGES)
    assert stage == "reconcile"
    assert text == (
        "reconcile published nothing: the ledger holds what it held before reconcile started. "
        "ingest, invoice ran before it and published their results. "
        "remind, escalate, report did not run."
    )
    assert pipeline_outcome("stopped at ingest: bad file", ["ingest"])[1] == (
        "ingest published nothing: the ledger holds what it held before ingest started."
    )
    assert pipeline_outcome("Flow run crashed", STAGES)[0] is None


def test_a_stage_failure_says_whether_anything_was_published() -> None:
    assert stage_outcome(None, "r1").startswith("nothing was written to the ledger")
    assert stage_outcome({"outcome": "halted"}, "r1").startswith("nothing was published")
    assert "o2c audit show r1" in stage_outcome({"outcome": "completed"}, "r1")


def test_one_message_per_recipient_with_a_stable_id() -> None:
    failure = RunFailure(
        "remind", "remind 2026-11-20", "r1", "policy broken", "2026-11-20", "schedule", "remind"
    )
    first = failure_messages(failure, ("a@x.example", "b@x.example"), seller="Acme")
    again = failure_messages(failure, ("a@x.example", "b@x.example"), seller="Acme")
    assert [m["message_id"] for m in first] == [m["message_id"] for m in again]
    assert len({m["message_id"] for m in first}) == 2
    assert first[0]["subject"] == "o2c: remind 2026-11-20 failed"
    assert (
        "Reason: policy broken" in first[0]["body_text"] and "Started by: schedule" in first[0]["body_text"]
    )
    hostile = RunFailure("ingest", "ingest", "r", "<b>x</b>", "d", "cli")
    [message] = failure_messages(hostile, ("a@x.example",), seller="S")
    assert "&lt;b&gt;x&lt;/b&gt;" in message["body_html"] and "<b>x</b>" not in message["body_html"]


def test_the_snapshot_names_every_policy_file_by_its_content(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    (rules / "templates").mkdir(parents=True)
    (rules / "dunning.yaml").write_text("version: 1\n")
    (rules / "templates" / "a.en.txt").write_text("Hello\n")
    (rules / "dunning.py").write_text("# code is not evidence of policy\n")
    found = snapshot((("rules", rules),))
    assert found.files == {
        "rules/dunning.yaml": sha256(b"version: 1\n"),
        "rules/templates/a.en.txt": sha256(b"Hello\n"),
    }
    assert found.blobs[sha256(b"Hello\n")] == b"Hello\n"


def test_an_input_is_kept_with_its_mapping_and_a_sql_source_by_name(tmp_path: Path) -> None:
    data, mapping = tmp_path / "book.csv", tmp_path / "book.csv.mapping.yaml"
    data.write_bytes(b"a,b\n1,2\n")
    mapping.write_bytes(b"dataset: orders\n")
    kept = Evidence()
    input_evidence(kept, str(data), "orders", str(mapping))
    input_evidence(kept, "postgresql://db/orders", "orders", None)
    assert kept.inputs[0]["sha256"] == sha256(b"a,b\n1,2\n")
    assert kept.inputs[0]["mapping_sha256"] == sha256(b"dataset: orders\n")
    assert "sha256" not in kept.inputs[1]
    assert set(kept.blobs) == {sha256(b"a,b\n1,2\n"), sha256(b"dataset: orders\n")}


def run_row(run_id: str, stage: str, **evidence: object) -> dict:
    return {
        "run_id": run_id,
        "stage": stage,
        "as_of": "2026-11-20T00:00:00",
        "outcome": "completed",
        "counts": {"n": 1},
        "evidence": {"files": {"rules/x.yaml": "abc"}, **evidence},
    }


def test_replay_refuses_what_it_cannot_redo() -> None:
    with pytest.raises(ReplayRefused, match="1 change\\(s\\) people made"):
        plan(
            {
                "runs": [run_row("r1", "ingest")],
                "manual_decisions": [
                    {"entity": "credit_holds", "key": "H-1", "action": "insert", "run_id": "cli:1"}
                ],
            }
        )
    with pytest.raises(ReplayRefused, match="not a file"):
        plan({"runs": [run_row("r1", "ingest", inputs=[{"source": "postgresql://x", "name": "x"}])]})
    with pytest.raises(ReplayRefused, match="kept no evidence"):
        plan({"runs": [{**run_row("r1", "remind"), "evidence": {}}]})
    assert [r.stage for r in plan({"runs": [run_row("r1", "ingest"), run_row("r2", "remind")]})] == [
        "ingest",
        "remind",
    ]


def test_the_comparison_ignores_run_ids_and_timestamps_and_names_a_difference() -> None:
    row = {"entity": "allocations", "key": "P/X", "action": "insert", "before": None}
    first = {**row, "after": json.dumps({"amount_minor": 100, "run_id": "a", "created_at": "t1"})}
    second = {**row, "after": json.dumps({"amount_minor": 100, "run_id": "b", "created_at": "t2"})}
    assert normalised(first) == normalised(second)
    run = ReplayRun("a", "reconcile", "2026-11-20", {}, {}, outcome="completed", counts={"n": 1})
    same = {"outcome": "completed", "counts": {"n": 1}}
    assert compare_run(run, same, [first], [second]) == []
    other = {**row, "after": json.dumps({"amount_minor": 99, "run_id": "b"})}
    [problem] = compare_run(run, same, [first], [other])
    assert "1 only in the original, 1 only in the replay" in problem
    assert compare_run(run, {"outcome": "halted", "counts": {"n": 1}}, [], [])[0].endswith("replayed halted")

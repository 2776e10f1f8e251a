"""For auditors: every run keeps its evidence (the rule, contract and input files it used, Data Docs of
its checkpoints), `o2c audit pack` hands it over in one zip file, and `o2c audit replay` runs the
history again on an empty ledger, with the files as they were, and gets the same outputs."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli import app
from flows.reconcile import reconcile_flow
from flows.remind import remind_flow
from tasks.platform.config import PROJECT_ROOT
from tasks.platform.ledger import open_ledger
from tests.integration.ledger_builder import load

AS_OF = date(2026, 11, 20)
CUSTOMERS = (
    "K1,Acme,ap@acme.example,DE,EUR,30,,,standard,en,\nK2,Bolt,ap@bolt.example,DE,EUR,30,,,standard,en,\n"
)
INVOICES = "X-1,K1,2026-10-01,2026-10-31,EUR,100.00,\nX-2,K2,2026-09-01,2026-10-01,EUR,250.00,\n"
PAYMENTS = "P-1,2026-11-05,100.00,EUR,Acme,,X-1\n"
runner = CliRunner()


def runs(home: Path) -> list[dict]:
    listed = runner.invoke(app, ["audit", "runs", "--json", "--home", str(home)])
    assert listed.exit_code == 0, listed.output
    return json.loads(listed.stdout)


def pack(home: Path, run_id: str, out: Path) -> zipfile.ZipFile:
    made = runner.invoke(app, ["audit", "pack", run_id, "--out", str(out), "--home", str(home)])
    assert made.exit_code == 0, made.output
    return zipfile.ZipFile(out)


def replay(pack_file: Path, home: Path) -> tuple[int, str]:
    done = runner.invoke(app, ["audit", "replay", str(pack_file), "--home", str(home), "--json"])
    return done.exit_code, done.stdout or done.output


def test_the_pack_holds_the_evidence_of_one_run(home: Path, tmp_path: Path) -> None:
    load(home, tmp_path / "in", AS_OF, customers=CUSTOMERS, invoices=INVOICES, payments=PAYMENTS)
    reconcile_flow(as_of=AS_OF, home=str(home))
    run = next(r for r in runs(home) if r["stage"] == "reconcile")
    archive = pack(home, run["run_id"], tmp_path / "evidence.zip")

    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["run_id"] == run["run_id"] and manifest["stages"] == ["reconcile"]
    for name, digest in manifest["members"].items():  # every member is what the manifest says
        assert hashlib.sha256(archive.read(name)).hexdigest() == digest
    [record] = json.loads(archive.read("run.json"))
    assert record["started_by"] == "python" and record["as_of"].startswith("2026-11-20")
    assert record["evidence"]["parameters"]["as_of"] == "2026-11-20"
    # the rule and contract files as the run used them
    assert archive.read("files/rules/matching.yaml") == (PROJECT_ROOT / "rules/matching.yaml").read_bytes()
    assert (
        archive.read("files/data_contracts/allocations.yaml")
        == (PROJECT_ROOT / "data_contracts/allocations.yaml").read_bytes()
    )
    # input fingerprints: the batches the ledger held when it ran, each the sha256 of its file
    inputs = pd.read_csv(io.BytesIO(archive.read("inputs.csv")))
    for name in ("customers", "invoices", "payments"):
        row = inputs[inputs["dataset"] == name].iloc[0]
        assert (
            row["fingerprint"] == hashlib.sha256((tmp_path / "in" / f"{name}.csv").read_bytes()).hexdigest()
        )
    checkpoints = json.loads(archive.read("checkpoints.json"))
    assert {c["dataset"] for c in checkpoints} == {"allocations", "invoice_adjustments", "deduction_cases"}
    assert all(c["details"] for c in checkpoints if c["rows_checked"])
    changes = pd.read_csv(io.BytesIO(archive.read("changes.csv")))
    assert list(changes["entity"]) == ["allocations"] and changes["key"].iloc[0] == "P-1/X-1"
    names = archive.namelist()
    assert any(n.startswith("artifacts/") and n.endswith("reconcile-summary.md") for n in names)
    assert "data_docs/reconcile/index.html" in names
    page = archive.read("data_docs/reconcile/allocations-reconcile-stage.html").decode()
    assert "<script" not in page and "https://" not in page and "http://" not in page
    history = json.loads(archive.read("history.json"))
    assert [r["stage"] for r in history["runs"]] == ["ingest", "reconcile"]
    # the input files themselves, for a replay
    for entry in history["runs"][0]["evidence"]["inputs"]:
        assert archive.read(f"blobs/{entry['sha256']}") == (tmp_path / "in" / entry["name"]).read_bytes()


def test_a_changed_pack_is_refused(home: Path, tmp_path: Path) -> None:
    load(home, tmp_path / "in", AS_OF, customers=CUSTOMERS, invoices=INVOICES)
    run = runs(home)[0]
    original = pack(home, run["run_id"], tmp_path / "evidence.zip")
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(forged, "w") as out:
        for name in original.namelist():
            content = original.read(name)
            out.writestr(name, content.replace(b"250.00", b"25.00") if name.startswith("blobs/") else content)
    code, output = replay(forged, tmp_path / "replay")
    assert code == 2
    assert "does not match its sha256 in the manifest" in output or "does not match" in output


def test_replay_on_an_empty_ledger_gives_the_same_outputs_with_the_rules_as_they_were(
    home: Path, tmp_path: Path
) -> None:
    load(home, tmp_path / "in", AS_OF, customers=CUSTOMERS, invoices=INVOICES, payments=PAYMENTS)
    reconcile_flow(as_of=AS_OF, home=str(home))
    # The last run used a dunning policy that differs from today's: its first reminder comes only
    # after 90 days, so it sends nothing. A replay with today's files would remind K2.
    rules = tmp_path / "rules_then"
    shutil.copytree(PROJECT_ROOT / "rules", rules, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    policy = (rules / "dunning.yaml").read_text()
    for was, then in (
        ("days: 7\n", "days: 90\n"),
        ("days: 21\n", "days: 100\n"),
        ("days: 35\n", "days: 110\n"),
    ):
        policy = policy.replace(f"        {was}", f"        {then}")
    (rules / "dunning.yaml").write_text(policy)
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "O2C_RULES_DIR": str(rules), "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    code = (
        "from datetime import date; from flows.remind import remind_flow; "
        f"remind_flow(as_of=date(2026, 11, 20), home={str(home)!r})"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=PROJECT_ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    then = runs(home)[-1]
    assert then["stage"] == "remind" and then["counts"]["customers_reminded"] == 0
    today = remind_flow(as_of=AS_OF, home=str(home), dry_run=True)  # today's rules would remind K2
    assert [r["customer_id"] for r in today["planned"]["reminders"]] == ["K2"]

    archive_path = tmp_path / "evidence.zip"
    pack(home, then["run_id"], archive_path)
    code_, output = replay(archive_path, tmp_path / "replay")
    assert code_ == 0, output
    result = json.loads(output)
    assert result["same"] is True
    assert [r["stage"] for r in result["runs"]] == ["ingest", "reconcile", "remind"]
    assert all(r["same"] for r in result["runs"])
    with open_ledger(tmp_path / "replay" / "ledger.duckdb") as ledger:
        replayed = ledger.table("allocations")
        reminders = ledger.table("reminders")
    assert list(replayed["allocation_id"]) == ["P-1/X-1"] and reminders.empty
    # the replay's runs went to a temporary API of its own, not to the server this test uses
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    replay_ids = [r["replay_run_id"] for r in result["runs"]]
    assert len(set(replay_ids)) == 3 and set(replay_ids).isdisjoint(r["run_id"] for r in runs(home))
    with get_client(sync_client=True) as client:
        live = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=replay_ids)))
        assert live == [], "a replay wrote its runs to the live Prefect server"
        assert client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[then["run_id"]])))


def test_replay_says_what_differs(home: Path, tmp_path: Path) -> None:
    load(home, tmp_path / "in", AS_OF, customers=CUSTOMERS, invoices=INVOICES)
    run = runs(home)[0]
    archive_path = tmp_path / "evidence.zip"
    original = pack(home, run["run_id"], archive_path)
    # Claim the original run changed one row more than it did (and keep the manifest consistent).
    changes = original.read("changes.csv").decode()
    extra = changes.splitlines()[1].replace("K1", "K9") + "\r\n"
    members = {n: original.read(n) for n in original.namelist()}
    members["changes.csv"] = (changes + extra).encode()
    manifest = json.loads(members["manifest.json"])
    manifest["members"]["changes.csv"] = hashlib.sha256(members["changes.csv"]).hexdigest()
    members["manifest.json"] = json.dumps(manifest).encode()
    altered = tmp_path / "altered.zip"
    with zipfile.ZipFile(altered, "w") as out:
        for name, content in members.items():
            out.writestr(name, content)
    code, output = replay(altered, tmp_path / "replay")
    assert code == 1, output
    result = json.loads(output)
    assert result["same"] is False
    assert "1 only in the original" in result["differences"][0]


def test_replay_refuses_a_history_with_decisions_people_made(home: Path, tmp_path: Path) -> None:
    load(home, tmp_path / "in", AS_OF, customers=CUSTOMERS, invoices=INVOICES)
    placed = runner.invoke(
        app, ["hold", "place", "--customer", "K2", "--reason", "asked", "--by", "maria", "--home", str(home)]
    )
    assert placed.exit_code == 0, placed.output
    remind_flow(as_of=AS_OF, home=str(home))
    archive_path = tmp_path / "evidence.zip"
    pack(home, runs(home)[-1]["run_id"], archive_path)
    code, output = replay(archive_path, tmp_path / "replay")
    assert code == 2
    assert "1 change(s) people made between runs" in output and "credit_holds" in output


@pytest.mark.parametrize("stage", ["reconcile"])
def test_every_stage_run_writes_its_data_docs_offline(home: Path, tmp_path: Path, stage: str) -> None:
    load(home, tmp_path / "in", AS_OF, customers=CUSTOMERS, invoices=INVOICES, payments=PAYMENTS)
    summary = reconcile_flow(as_of=AS_OF, home=str(home))
    index = Path(summary["data_docs"])
    assert index.name == "index.html" and index.parent.name == stage
    text = index.read_text()
    assert "allocations-reconcile-stage.html" in text  # the only checkpoint with rows to check
    for dataset in ("invoice_adjustments", "deduction_cases"):  # no write-offs, no deductions
        assert f"<td>{dataset}</td>" in text
    assert text.count("no rows to check") == 2
    assert sorted(p.name for p in index.parent.glob("*.html")) == [
        "allocations-reconcile-stage.html",
        "index.html",
    ]
    ingest_docs = list((home / "data_docs").glob("*/ingest/index.html"))
    assert len(ingest_docs) == 1
    listing = json.loads((ingest_docs[0].parent / "checkpoints.json").read_text())
    assert sorted(e["dataset"] for e in listing) == ["customers", "invoices", "payments"]

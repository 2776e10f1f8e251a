"""Adding a stage is its own new files and one registry entry (docs/adding-a-stage.md).

In a temporary copy of the project, a toy stage `tally` (count the invoices per currency, check the
counts against a contract of its own, record the run) is added the way the docs say: a flow, a task
package, a data contract, a SQL file, and one `Stage(...)` entry in `tasks/platform/stages.py`. No
other file of the copy is edited. Then, in a process of its own against the session's Prefect API,
the pipeline runs ingest and the new stage, and everything derived from the registry knows it: the
stage list, the Prefect form's choices, the pipeline's order and the ledger's stage runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from tasks.platform.config import PROJECT_ROOT

COPIED = ("flows", "tasks", "rules", "tools", "cli", "data_contracts", "sql", "prefect.yaml")

NEW_FILES = {
    "tasks/tally/__init__.py": '''
        """Tally: the invoices per currency (a toy stage)."""

        import pandas as pd


        def tally(invoices: pd.DataFrame) -> pd.DataFrame:
            """One row per currency: how many invoices and their amount in minor units."""
            grouped = invoices.groupby("currency", as_index=False).agg(
                invoices=("invoice_id", "count"), amount_minor=("amount_minor", "sum")
            )
            return grouped.astype({"invoices": "int64", "amount_minor": "int64"})
        ''',
    "sql/tally/invoices.sql": """
        select invoice_id, currency, amount_minor from invoices
        """,
    "sql/tally/runs.sql": """
        select stage, outcome from stage_runs order by finished_at
        """,
    "data_contracts/tally_counts.yaml": """
        dataset: tally_counts
        grain: one row per currency
        key: [currency]
        on_failure: halt
        columns:
          currency: {type: currency, required: true}
          invoices: {type: integer, required: true, min: 1}
          amount_minor: {type: minor, required: true, min: 0}
        """,
    "flows/tally.py": '''
        """Tally flow: count the invoices per currency, check the counts and record the run."""

        from datetime import date
        from typing import Any

        from flows.hooks import o2c_flow
        from tasks.platform.artifacts import current_run_id
        from tasks.platform.checkpoint import run_checkpoint
        from tasks.platform.contracts import load_contract
        from tasks.platform.ledger import Publication, open_ledger
        from tasks.platform.runner import StageRun, run_stage
        from tasks.platform.stage import finish
        from tasks.tally import tally


        def _tally(run: StageRun) -> dict[str, Any]:
            with open_ledger(run.settings.ledger_path) as ledger:
                counts = tally(ledger.query("tally/invoices"))
            check = run_checkpoint(counts, load_contract("tally_counts"), source="tally stage")
            pub = Publication(current_run_id(), "tally", run.as_of, counts={"currencies": len(counts)})
            return finish(run.settings, pub, [check], dry_run=run.dry_run)


        @o2c_flow("tally")
        def tally_flow(as_of: date | None = None, dry_run: bool = False, home: str | None = None) -> Any:
            """Count the invoices per currency.

            Args:
                as_of: The business date the run works as of (YYYY-MM-DD). Empty: today.
                dry_run: Compute and show, write and send nothing.
                home: The workspace folder. Empty: $O2C_HOME.
            """
            return run_stage("tally", _tally, as_of=as_of, dry_run=dry_run, home=home)
        ''',
}

REGISTRY_ENTRY = """    Stage(
        "tally",
        "flows.tally:tally_flow",
        reads=("invoices",),
        writes=("tally_counts",),
    ),
"""

CHECK = """
import json, sys
from datetime import date
from prefect.utilities.callables import parameter_schema
from flows.order_to_cash import STAGE_FLOWS, order_to_cash
from flows.parameters import ALL_STAGES
from tasks.platform.ledger import open_ledger
from tasks.platform.config import load_settings
from tasks.platform.stages import STAGE_CONTRACTS, STAGES
from tools.generate import generate_book, write_book

home = sys.argv[1]
write_book(generate_book(customers=5, invoices=30, seed=3, as_of=date(2026, 11, 20)), load_settings(home).inbox)
schema = parameter_schema(order_to_cash.fn).model_dump()
result = order_to_cash(as_of=date(2026, 11, 20), stages=["tally", "ingest"], home=home)
with open_ledger(load_settings(home).ledger_path) as ledger:
    runs = ledger.query("tally/runs").values.tolist()
    currencies = int(ledger.query("tally/invoices")["currency"].nunique())
print(json.dumps({
    "stages": list(STAGES), "all_stages": list(ALL_STAGES), "flows": list(STAGE_FLOWS),
    "contracts": STAGE_CONTRACTS["tally"],
    "choices": schema["properties"]["stages"]["items"]["enum"],
    "result": sorted(result), "tally": result["tally"]["counts"], "outcome": result["tally"]["outcome"],
    "runs": runs, "currencies": currencies,
}))
"""


def _copy_project(target: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in COPIED:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        elif source.is_file():
            shutil.copy2(source, target / name)


def _add_toy_stage(copy: Path) -> list[str]:
    """The toy stage's files and its registry entry; returns the files that existed and changed."""
    for relative, text in NEW_FILES.items():
        path = copy / relative
        assert not path.exists(), relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    registry = copy / "tasks" / "platform" / "stages.py"
    text = registry.read_text(encoding="utf-8")
    closing = text.index("\n)\n", text.index("REGISTRY: tuple[Stage, ...] = ("))
    registry.write_text(text[: closing + 1] + REGISTRY_ENTRY + text[closing + 1 :], encoding="utf-8")
    return ["tasks/platform/stages.py"]


def test_a_toy_stage_is_its_own_files_and_one_registry_entry(tmp_path: Path) -> None:
    from prefect.settings import PREFECT_API_URL

    copy = tmp_path / "copy"
    copy.mkdir()
    _copy_project(copy)
    before = {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    edited = _add_toy_stage(copy)
    after = {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    changed = sorted(str(p) for p in before if after[p] != before[p])
    assert changed == edited == ["tasks/platform/stages.py"]
    assert sorted(str(p) for p in set(after) - set(before)) == sorted(NEW_FILES)

    env = {k: v for k, v in os.environ.items() if k not in ("O2C_HOME", "O2C_RULES_DIR", "O2C_CONTRACTS_DIR")}
    env.update(PYTHONPATH=str(copy), PREFECT_API_URL=str(PREFECT_API_URL.value()), O2C_MAILER="file")
    done = subprocess.run(
        [sys.executable, "-c", CHECK, str(tmp_path / "home")],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    order = ["ingest", "invoice", "reconcile", "remind", "escalate", "report", "tally"]
    assert seen["stages"] == seen["all_stages"] == seen["flows"] == seen["choices"] == order
    assert seen["contracts"] == ["tally_counts"]
    assert seen["result"] == ["ingest", "tally"]  # run in pipeline order, whatever order they were asked in
    assert seen["outcome"] == "completed" and seen["tally"] == {"currencies": seen["currencies"]} != {
        "currencies": 0
    }
    assert [stage for stage, _ in seen["runs"]][-1] == "tally"
    assert seen["runs"][-1][1] == "completed"

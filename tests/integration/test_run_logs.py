"""A run started by `o2c` logs what it did at INFO to its run log in Prefect (the UI's Logs tab),
while the terminal stays quiet: the progress of its steps reaches the API, not stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from uuid import UUID

from tests.integration.conftest import AS_OF, book_files

PROJECT = Path(__file__).resolve().parents[2]


def _o2c(*args: str) -> subprocess.CompletedProcess[str]:
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()), "DO_NOT_TRACK": "1"}
    for inherited in ("PREFECT_LOGGING_LEVEL", "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"):
        env.pop(inherited, None)  # the command's own defaults, as a person's shell would leave them
    command = Path(sys.executable).with_name("o2c")
    return subprocess.run(
        [str(command), *args], env=env, capture_output=True, text=True, cwd=PROJECT, timeout=300
    )


def test_a_run_logs_its_progress_to_prefect_and_not_to_the_terminal(book_dir: Path, tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    assert _o2c("ingest", *book_files(book_dir), "--home", home).returncode == 0
    done = _o2c("run", "invoice", "--as-of", AS_OF.isoformat(), "--no-deliver", "--json", "--home", home)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr  # nothing below a warning on the terminal
    run_id = UUID(json.loads(done.stdout)["run_id"])

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId

    with get_client(sync_client=True) as client:
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])), limit=200
        )
        assert client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
    messages = [log.message for log in logs]
    # what the run did: each checkpoint's outcome, the counts and totals, the rows written
    assert any(
        m.startswith("invoice: checkpoint billed_invoices from invoice stage passed: ") for m in messages
    ), messages
    assert any(
        m.startswith("invoice as of ") and ": completed; " in m and "orders_billed" in m for m in messages
    ), messages
    assert any(m.startswith("invoice: rows written: ") and "invoices " in m for m in messages), messages
    assert any(m.startswith("invoice: fulfilled orders billed ") and "rows/s" in m for m in messages), (
        messages
    )

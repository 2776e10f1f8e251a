"""Hostile inputs through the real `o2c` process: one or two representatives of each family of the
corpus (`tests/hostile/manifest.yaml`, every case of which runs in-process in
`tests/unit/test_hostile_inputs.py`).

Each runs `o2c ingest FILE [--mapping M] --home TMPDIR` in a fresh workspace, against the session's
Prefect API (the test harness), and must end with exit code 2, one `error:` line naming the file
(and the row and column where there is one; a halt lists its first reasons under it), no traceback
anywhere, and no business row in the ledger (`o2c status --json`: quarantined rows are fine).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from tests.hostile.corpus import BUSINESS_TABLES, Case, assert_message, load_cases, stage

O2C = Path(sys.executable).with_name("o2c")
REPRESENTATIVES = [c for c in load_cases() if c.representative]


def o2c_ingest(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    from prefect.settings import PREFECT_API_URL

    env = {k: v for k, v in os.environ.items() if k != "O2C_HOME"}
    env["PREFECT_API_URL"] = str(PREFECT_API_URL.value())
    return subprocess.run(
        [str(O2C), "ingest", *args, "--home", str(home)],
        cwd=home,  # a relative --mapping is read from where the command runs
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def error_message(stderr: str) -> str:
    """The `error: ` line and the reason lines under it, without the prefix."""
    lines = stderr.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("error: ")]
    assert len(starts) == 1, stderr
    block = [lines[starts[0]].removeprefix("error: ")]
    block.extend(line for line in lines[starts[0] + 1 :] if line.startswith("  "))
    return "\n".join(block)


@pytest.mark.parametrize("case", REPRESENTATIVES, ids=[c.id for c in REPRESENTATIVES])
def test_o2c_refuses_a_hostile_input_with_one_clear_line(case: Case, tmp_path: Path) -> None:
    home = tmp_path / "home"
    args = stage(case, tmp_path / "in", home)
    done = o2c_ingest(args, home)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert_message(case, error_message(done.stderr))
    status = CliRunner().invoke(app, ["status", "--json", "--home", str(home)])
    assert status.exit_code == 0, status.output
    tables = json.loads(status.output)["tables"]
    assert {t: tables[t] for t in BUSINESS_TABLES} == dict.fromkeys(BUSINESS_TABLES, 0)
    if case.outcome == "halted":
        assert tables["quarantine"] > 0  # kept out of the ledger, every row with its reasons

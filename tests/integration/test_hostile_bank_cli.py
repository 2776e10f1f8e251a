"""Three of the hostile bank files through the real command line: `o2c ingest FILE` in a fresh
workspace against the session's Prefect API (the test harness), then `o2c status --json`. Each ends
with exit 2 and one `error:` line naming the file and the reason, no traceback, no payment in the
ledger. The whole corpus runs in process in `tests/unit/test_hostile_bank.py`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.test_hostile_bank import CORPUS, PROJECT, REASONS

CLI_CASES = ["camt_xxe_file_passwd.xml", "mt940_cut_mid_61.sta", "bai2_no_trailers.bai"]


@pytest.fixture
def prefect_api_url() -> str:
    from prefect.settings import PREFECT_API_URL

    return str(PREFECT_API_URL.value())


def _o2c(*args: str, api_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREFECT_API_URL": api_url, "DO_NOT_TRACK": "1"}
    command = Path(sys.executable).with_name("o2c")
    return subprocess.run(
        [str(command), *args], env=env, capture_output=True, text=True, cwd=PROJECT, timeout=300
    )


@pytest.mark.integration
@pytest.mark.parametrize("name", CLI_CASES)
def test_o2c_ingest_refuses_a_hostile_file_in_one_line(
    name: str, tmp_path: Path, prefect_api_url: str
) -> None:
    home = tmp_path / "home"
    done = _o2c("ingest", str(CORPUS / name), "--home", str(home), api_url=prefect_api_url)
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr  # no log lines of the library or of Prefect beside it
    assert lines[0].startswith(f"error: {name}: ") and REASONS[name] in lines[0], lines[0]
    assert "Traceback" not in done.stderr + done.stdout
    status = _o2c("status", "--json", "--home", str(home), api_url=prefect_api_url)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["tables"]["payments"] == 0

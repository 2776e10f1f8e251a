"""What an operator runs on their machines (`deploy/`): the compose file names the same commands and
variables as the runbook, and the systemd units, as written, start the real processes: a Prefect
server on PostgreSQL (a database of its own on 127.0.0.1:5432, dropped afterwards), the one-off
set-up (work pool and deployments), a worker that runs a deployment, and the site the run's links
point to; each stops on the unit's signal within the unit's time.

Containers cannot be started here, so the compose file and the Dockerfile are checked, not run;
systemd is not PID 1 here, so each unit's command runs as systemd would run it (its environment
file, its working directory), with the paths and ports of this checkout."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[2]
DEPLOY = PROJECT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
RUNBOOK = (PROJECT / "docs" / "operations.md").read_text(encoding="utf-8")
CONFIGURATION = (PROJECT / "docs" / "configuration.md").read_text(encoding="utf-8")


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    return document


def test_the_compose_file_runs_the_runbooks_commands_with_documented_variables() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "prefect-server", "setup", "worker", "site", "webhook"}
    commands = {name: " ".join(s.get("command") or []) for name, s in services.items()}
    for name in ("prefect-server", "worker", "site", "webhook"):
        program = re.sub(r" --host \S+| --port \S+", "", commands[name])
        assert f"`{program}" in RUNBOOK or f" {program}" in RUNBOOK, f"{name}: {program!r} not in the runbook"
    assert commands["setup"] == "deploy/setup.sh" and "deploy/setup.sh" in RUNBOOK
    setup = (DEPLOY / "setup.sh").read_text()
    assert "prefect work-pool create o2c --type process" in setup and "deploy --all" in setup
    variables = {
        v for s in services.values() for v in (s.get("environment") or {}) if not v.startswith("POSTGRES_")
    }
    undocumented = {v for v in variables if f"`{v}`" not in CONFIGURATION}
    assert not undocumented, (
        f"variables the compose file sets that docs/configuration.md does not name: {undocumented}"
    )
    example = (DEPLOY / "o2c.env.example").read_text()
    named = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", example, re.M))
    assert {v for v in variables if v.startswith("O2C_")} <= named, "o2c.env.example misses a variable"
    # the database password and the SendGrid key come from the environment, never written here
    assert "${POSTGRES_PASSWORD" in (DEPLOY / "compose.yaml").read_text()
    assert services["worker"]["environment"]["SENDGRID_API_KEY"] == "${SENDGRID_API_KEY:-}"


def test_the_image_installs_exactly_the_locked_dependencies() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "uv sync --frozen --no-dev" in dockerfile
    python = re.search(r"^FROM python:(\d+\.\d+)", dockerfile, re.M)
    assert python and python.group(1) == "3.11"
    assert "USER o2c" in dockerfile  # not root
    for service in compose()["services"].values():
        if service.get("image", "").startswith("o2c"):
            assert service["build"]["dockerfile"] == "deploy/Dockerfile"


# --------------------------------------------------------------------------------------------
# the systemd units, run as systemd would run them


def unit(path: Path, paths: dict[str, str]) -> dict[str, list[str]]:
    """The unit's settings (a key may repeat), with this checkout's paths for the installed ones."""
    text = path.read_text()
    for installed, here in paths.items():
        text = text.replace(installed, here)
    settings: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def environment(settings: dict[str, list[str]]) -> dict[str, str]:
    env = {"HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}
    for file in settings.get("EnvironmentFile", []):
        for line in Path(file).read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                key, _, value = line.partition("=")
                env[key.strip()] = value.strip()
    for assignment in settings.get("Environment", []):
        key, _, value = assignment.partition("=")
        env[key] = value
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    return env


def no_schedules(api: str) -> None:
    """Every deployment's schedules paused, and the runs they already planned removed (no worker
    runs yet, so none has started)."""
    for deployment in httpx.post(f"{api}/deployments/filter", json={}, timeout=10).json():
        for schedule in deployment.get("schedules") or []:
            paused = httpx.patch(
                f"{api}/deployments/{deployment['id']}/schedules/{schedule['id']}",
                json={"active": False},
                timeout=10,
            )
            assert paused.status_code == 204, paused.text
    for planned in httpx.post(f"{api}/flow_runs/filter", json={}, timeout=10).json():
        assert planned["state"]["type"] == "SCHEDULED", planned
        assert httpx.delete(f"{api}/flow_runs/{planned['id']}", timeout=10).status_code == 204


def launch(
    settings: dict[str, list[str]],
    log: Path,
    argv: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """The unit's command as systemd runs it (its environment file, its working directory), in a
    session of its own, its output to `log`; `argv` and `env` in place of the unit's own."""
    with log.open("wb") as out:
        return subprocess.Popen(
            argv or shlex.split(settings["ExecStart"][0]),
            env=env or environment(settings),
            cwd=settings["WorkingDirectory"][0],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def until_healthy(api: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Wait up to two minutes for the Prefect server at `api` to answer its health check."""
    deadline = time.monotonic() + 120
    while True:
        assert server.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def prefect_database() -> Iterator[str]:
    """A PostgreSQL database of its own for the Prefect server, dropped afterwards."""
    name = f"o2c_deploy_{uuid.uuid4().hex[:10]}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as con:
        con.execute(f'create database "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as con:
            con.execute(f'drop database if exists "{name}" with (force)')


def test_the_systemd_units_start_the_real_processes(prefect_database: str, tmp_path: Path) -> None:
    api_port, site_port = free_port(), free_port()
    home, env_file = tmp_path / "srv-o2c", tmp_path / "o2c.env"
    home.mkdir()
    example = (DEPLOY / "o2c.env.example").read_text()
    values = {
        "PREFECT_API_DATABASE_CONNECTION_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{prefect_database}",
        "PREFECT_API_URL": f"http://127.0.0.1:{api_port}/api",
        "PREFECT_UI_API_URL": f"http://127.0.0.1:{api_port}/api",
        "O2C_HOME": str(home),
        "O2C_PROJECT_DIR": str(PROJECT),
        "O2C_PUBLIC_URL": f"http://127.0.0.1:{site_port}",
    }
    ledger_db = None
    if os.environ.get("O2C_TEST_LEDGER") == "postgres":  # the ledger in PostgreSQL, still empty
        ledger_db = f"o2c_ledger_{uuid.uuid4().hex[:10]}"
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as con:
            con.execute(f'create database "{ledger_db}"')
        values["O2C_LEDGER_URL"] = f"postgresql+psycopg://postgres@127.0.0.1:5432/{ledger_db}"
    for key, value in values.items():
        example = re.sub(rf"^{key}=.*$", f"{key}={value}", example, flags=re.M)
    env_file.write_text(example + f"PREFECT_HOME={tmp_path / 'prefect-home'}\n")
    paths = {
        "/etc/o2c/o2c.env": str(env_file),
        "/opt/o2c/.venv": str(PROJECT / ".venv"),
        "/opt/o2c": str(PROJECT),
        "--port 4200": f"--port {api_port}",
        "--port 8040": f"--port {site_port}",
        "%H": socket.gethostname(),
        "%i": "1",
    }
    units = {path.name: unit(path, paths) for path in UNITS}
    assert set(units) == {
        "prefect-server.service",
        "o2c-setup.service",
        "o2c-worker@.service",
        "o2c-site.service",
    }
    if shutil.which("systemd-analyze"):
        rendered = tmp_path / "units"
        rendered.mkdir()
        for path in UNITS:
            text = path.read_text()
            for installed, here in paths.items():
                text = text.replace(installed, here)
            (rendered / path.name.replace("@", "-one")).write_text(
                re.sub(r"^User=.*\n", "", text, flags=re.M)
            )
        checked = subprocess.run(
            ["systemd-analyze", "verify", "--man=no", *map(str, sorted(rendered.iterdir()))],
            capture_output=True,
            text=True,
        )
        assert checked.returncode == 0, checked.stderr

    started: list[tuple[subprocess.Popen[bytes], dict[str, list[str]], Path]] = []

    def start(name: str) -> tuple[subprocess.Popen[bytes], Path]:
        settings = units[name]
        log = tmp_path / f"{name}.log"
        process = launch(settings, log)
        started.append((process, settings, log))
        return process, log

    try:
        server, server_log = start("prefect-server.service")
        until_healthy(values["PREFECT_API_URL"], server, server_log)
        setup = units["o2c-setup.service"]
        done = subprocess.run(
            shlex.split(setup["ExecStart"][0]),
            env=environment(setup),
            cwd=setup["WorkingDirectory"][0],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        no_schedules(values["PREFECT_API_URL"])  # the hourly ingest must not start on its own here
        worker, worker_log = start("o2c-worker@.service")
        start("o2c-site.service")
        # the report deployment, run by the worker; its link points at the site, which serves it
        prefect = str(PROJECT / ".venv" / "bin" / "prefect")
        asked = subprocess.run(
            [prefect, "deployment", "run", "report/report-month-end", "--param", "as_of=2026-11-30"],
            env=environment(setup),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert asked.returncode == 0, asked.stdout + asked.stderr
        run_id = re.search(r"UUID: ([0-9a-f-]{36})", asked.stdout)
        assert run_id, asked.stdout
        state = _until_final(values["PREFECT_API_URL"], run_id.group(1), worker, worker_log)
        assert state == "COMPLETED", worker_log.read_text()[-4000:]
        page = httpx.get(f"http://127.0.0.1:{site_port}/reports/report-2026-11-30.html", timeout=10)
        assert page.status_code == 200 and "Receivables as of 2026-11-30" in page.text
        links = httpx.post(
            f"{values['PREFECT_API_URL']}/artifacts/filter",
            json={"artifacts": {"flow_run_id": {"any_": [run_id.group(1)]}}},
            timeout=10,
        ).json()
        assert any(
            f"http://127.0.0.1:{site_port}/reports/report-2026-11-30.html" in a["data"] for a in links
        ), links
        # the worker's run logged what it did at INFO (the UI's Logs tab)
        # (the run's process sends its last lines as it exits, which can be after its state)
        deadline = time.monotonic() + 60
        while True:
            logs = httpx.post(
                f"{values['PREFECT_API_URL']}/logs/filter",
                json={"logs": {"flow_run_id": {"any_": [run_id.group(1)]}}, "limit": 200},
                timeout=10,
            ).json()
            messages = [entry["message"] for entry in logs]
            if any(m.startswith("report as of 2026-11-30: completed; ") for m in messages):
                break
            assert time.monotonic() < deadline, messages
            time.sleep(2)
        assert any(m.startswith("report: checkpoint ageing from report stage passed") for m in messages), (
            messages
        )
        # Prefect's own records are in PostgreSQL
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{prefect_database}") as con:
            (runs,) = con.execute("select count(*) from flow_run").fetchone() or (0,)
        assert runs >= 1
        if ledger_db:  # the set-up made the ledger's schema; the worker's run wrote there
            with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{ledger_db}") as con:
                ran = con.execute("select stage, outcome from stage_runs").fetchall()
            assert ran == [("report", "completed")], ran
    finally:
        killed = []
        for process, settings, log in reversed(started):
            if process.poll() is None:
                began = time.monotonic()
                process.send_signal(getattr(signal, settings.get("KillSignal", ["SIGTERM"])[0]))
                limit = float(settings.get("TimeoutStopSec", ["90"])[0])
                try:
                    process.wait(timeout=limit)
                except subprocess.TimeoutExpired:  # what systemd then does: SIGKILL to the unit's group
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)
                    killed.append(log.name)
                assert time.monotonic() - began <= limit + 10
        # Prefect's process worker does not always finish its own shutdown after SIGTERM (under
        # load it hung, forwarding SIGINT to itself); systemd kills it at TimeoutStopSec, as here.
        # Our own processes and Prefect's server stop by the signal alone.
        assert set(killed) <= {"o2c-worker@.service.log"}, killed
        if ledger_db:
            with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as con:
                con.execute(f'drop database if exists "{ledger_db}" with (force)')
    print(json.dumps({"units": sorted(units), "report run": run_id.group(1) if run_id else None}))


def _until_final(api: str, run_id: str, worker: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + 240
    while True:
        state = httpx.get(f"{api}/flow_runs/{run_id}", timeout=10).json()["state"]["type"]
        if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return str(state)
        assert worker.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"still {state}:\n{log.read_text()[-3000:]}"
        time.sleep(2)

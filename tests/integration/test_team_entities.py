"""A finance team's set-up, run as the systemd units run it (tests/integration/test_deploy.py): a
Prefect server on PostgreSQL, the one-off set-up (the ledger's schema in PostgreSQL, the `o2c`
process work pool, every deployment), two process workers, and the `order-to-cash-by-entity`
deployment run once for DE01 and once for FR01: first one after the other, then both at once on a
new ledger. Each worker runs on a machine of its own (a network namespace joined to this host by a
veth pair: tests/integration/machines.py), takes one run at a time, and reaches the Prefect server
and PostgreSQL over that network. Both runs complete each time, at once they overlap (one on each
machine), and the one PostgreSQL ledger ends with the same rows either way. Each run holds its
entity's lane (flows/lanes.py), a global concurrency limit of one slot that the first run made.

`O2C_TEAM_INVOICES` (default 90) sets the size of the book, to measure the two walls on a larger
one (and `O2C_MAIL_RATE`, passed to the workers, the e-mail throttle): the figures are printed,
never asserted."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.integration.conftest import in_postgres_pass, new_database
from tests.integration.machines import Machine, machines
from tests.integration.test_deploy import (
    DEPLOY,
    PROJECT,
    UNITS,
    environment,
    free_port,
    launch,
    no_schedules,
    prefect_database,
    unit,
    until_healthy,
)
from tests.integration.test_entities_at_once import two_entity_book
from tests.integration.test_ledger_on_postgres import AS_OF, RUN_LOGS, fingerprint

__all__ = ["prefect_database"]  # the fixture, used below
DEPLOYMENT = "order_to_cash/order-to-cash-by-entity"
ENTITIES = ("DE01", "FR01")


@in_postgres_pass
def test_two_workers_run_the_pipeline_of_two_entities_at_once_into_one_ledger(
    prefect_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks.platform.ledger.tables import LEDGER_TABLES

    invoices = int(os.environ.get("O2C_TEAM_INVOICES", "90"))
    book = two_entity_book(tmp_path / "book", customers=max(12, invoices // 10), invoices=invoices)
    api_port = free_port()
    api = f"http://127.0.0.1:{api_port}/api"
    with new_database() as ledger:
        values = {
            "PREFECT_API_DATABASE_CONNECTION_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{prefect_database}",
            "PREFECT_API_URL": api,
            "PREFECT_UI_API_URL": api,
            "O2C_HOME": str(tmp_path / "srv-o2c"),
            "O2C_PROJECT_DIR": str(PROJECT),
            "O2C_LEDGER_URL": ledger.replace("postgresql://", "postgresql+psycopg://"),
        }
        env_file = tmp_path / "o2c.env"
        example = (DEPLOY / "o2c.env.example").read_text()
        for key, value in values.items():
            example = re.sub(rf"^{key}=.*$", f"{key}={value}", example, flags=re.M)
        env_file.write_text(
            example
            + f"PREFECT_HOME={tmp_path / 'prefect-home'}\nPREFECT_WORKER_QUERY_SECONDS=2\n"
            + (f"O2C_MAIL_RATE={os.environ['O2C_MAIL_RATE']}\n" if "O2C_MAIL_RATE" in os.environ else "")
        )
        paths = {
            "/etc/o2c/o2c.env": str(env_file),
            "/opt/o2c/.venv": str(PROJECT / ".venv"),
            "/opt/o2c": str(PROJECT),
            "--port 4200": f"--port {api_port}",
            "%H": socket.gethostname(),
        }
        started: list[tuple[subprocess.Popen[bytes], Path]] = []

        def start(name: str, instance: str = "1") -> dict[str, list[str]]:
            settings = unit(next(p for p in UNITS if p.name == name), {**paths, "%i": instance})
            log = tmp_path / f"{name}-{instance}.log"
            started.append((launch(settings, log), log))
            return settings

        def worker(instance: str, machine: Machine | None) -> None:
            """A worker taking one run at a time: on a machine of its own (its namespace, reaching
            the server and PostgreSQL at this host's address there), else on this host."""
            settings = unit(
                next(p for p in UNITS if p.name == "o2c-worker@.service"), {**paths, "%i": instance}
            )
            argv, env = [*shlex.split(settings["ExecStart"][0]), "--limit", "1"], environment(settings)
            if machine is not None:
                argv = machine.command(argv)
                env["PREFECT_API_URL"] = env["PREFECT_UI_API_URL"] = (
                    f"http://{machine.host_ip}:{api_port}/api"
                )
                env["O2C_LEDGER_URL"] = env["O2C_LEDGER_URL"].replace("127.0.0.1", machine.host_ip)
            log = tmp_path / f"worker-{instance}.log"
            process = launch(settings, log, argv, env)
            started.append((process, log))
            workers.append(log)

        workers: list[Path] = []
        stack = contextlib.ExitStack()
        try:
            start("prefect-server.service")
            until_healthy(api, *started[0])
            setup = unit(next(p for p in UNITS if p.name == "o2c-setup.service"), {**paths, "%i": "1"})
            done = subprocess.run(
                shlex.split(setup["ExecStart"][0]),
                env=environment(setup),
                cwd=setup["WorkingDirectory"][0],
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
            no_schedules(api)  # the hourly ingest must not start on its own during the test
            far = stack.enter_context(machines(2, [api_port, 5432]))
            for n, machine in enumerate(far or [None, None], start=1):
                worker(str(n), machine)
            monkeypatch.setenv("O2C_LEDGER_URL", values["O2C_LEDGER_URL"])

            # one after the other, then both at once on a new ledger, each in a workspace of its own
            serial_home = tmp_path / "one-after-the-other"
            serial_runs, serial_wall = _pipelines(api, serial_home, book, started, at_once=False)
            serial = _after_reports(serial_home)
            _new_ledger(ledger)
            home = tmp_path / "at-once"
            runs, wall = _pipelines(api, home, book, started, at_once=True)
            together = _after_reports(home)
        finally:
            for process, _log in reversed(started):
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    try:
                        process.wait(timeout=30)
                    except subprocess.TimeoutExpired:  # what systemd does at TimeoutStopSec
                        os.killpg(process.pid, signal.SIGKILL)
                        process.wait(timeout=10)
            stack.close()  # then the machines and their forwarders

    # each worker, one run at a time, took one of the two asked for at once: both machines worked
    taken = [log.read_text().count("submitted to infrastructure") for log in workers]
    assert min(taken) >= 1, taken
    (first, second) = runs.values()
    assert first["start"] < second["end"] and second["start"] < first["end"], runs  # at once
    for name, run in {**serial_runs, **runs}.items():
        assert run["state"] == "COMPLETED", (name, run)
        assert any("in its lane o2c-entity-" in line for line in run["logs"]), run["logs"][-20:]
    business = set(LEDGER_TABLES) - RUN_LOGS
    # write-off proposals are numbered in the order their runs drew the numbers: the invoice, amount
    # and reason of each are what must be the same
    for rows in (together, serial):
        rows["write_offs"] = sorted((row[1:] for row in rows["write_offs"]), key=repr)
    differ = {
        t: {
            "at once only": [r for r in together[t] if r not in serial[t]][:3],
            "one after the other only": [r for r in serial[t] if r not in together[t]][:3],
        }
        for t in sorted(business)
        if together[t] != serial[t]
    }
    assert not differ, json.dumps(differ, default=str, indent=1)
    assert min(len(together["invoices"]), len(together["allocations"])) > 0
    print(
        json.dumps(
            {
                "invoices": invoices,
                "one_after_the_other_seconds": round(serial_wall, 1),
                "at_once_seconds": round(wall, 1),
                "workers": "in network namespaces of their own" if far else "on this host",
                "runs": {k: {"seconds": round(v["end"] - v["start"], 1)} for k, v in runs.items()},
            }
        )
    )


def _after_reports(home: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The ledger's rows once each entity's report is made again after both runs. An entity's report
    counts a payment that pays invoices of both entities by what was applied when it ran: the
    pipeline of DE01 reports P-BOTH's share for FR01 as DE01's cash on account when FR01's cash
    application came later, and not when it came first; made again after both, it is the same."""
    from flows.report import report_flow
    from tasks.platform.config import load_settings

    for entity in ENTITIES:
        report_flow(as_of=AS_OF, home=str(home), entity=entity, deliver=False)
    return fingerprint(load_settings(home).ledger_path, home)


def _new_ledger(url: str) -> None:
    """The ledger's database dropped and made again, with the ledger's schema (`o2c ledger migrate`)."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as con:
        con.execute(f'drop database "{name}" with (force)')
        con.execute(f'create database "{name}"')
    done = subprocess.run(
        [str(PROJECT / ".venv" / "bin" / "o2c"), "ledger", "migrate", "--to", url],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _pipelines(
    api: str, home: Path, book: Path, started: list[tuple[subprocess.Popen[bytes], Path]], *, at_once: bool
) -> tuple[dict[str, dict[str, Any]], float]:
    """The deployment run for each entity on the workspace `home` (its inbox the book): all asked
    for at once, or each when the one before ended; each run's state, start, end and log lines, and
    the wall time from the first ask to the last end."""
    (home / "inbox").mkdir(parents=True)
    for source in book.glob("*.csv"):
        (home / "inbox" / source.name).write_bytes(source.read_bytes())
    flow, name = DEPLOYMENT.split("/")
    deployment = httpx.get(f"{api}/deployments/name/{flow}/{name}", timeout=10).json()["id"]
    began = time.monotonic()
    asked: dict[str, str] = {}
    runs: dict[str, dict[str, Any]] = {}
    for entity in ENTITIES:
        made = httpx.post(
            f"{api}/deployments/{deployment}/create_flow_run",
            json={"parameters": {"as_of": AS_OF.isoformat(), "home": str(home), "scope": {"entity": entity}}},
            timeout=10,
        )
        assert made.status_code == 201, made.text
        asked[entity] = made.json()["id"]
        if not at_once:
            runs[entity] = _until_final(api, asked[entity], started)
    for entity, run_id in asked.items():
        if entity not in runs:
            runs[entity] = _until_final(api, run_id, started)
    return runs, time.monotonic() - began


def _until_final(
    api: str, run_id: str, started: list[tuple[subprocess.Popen[bytes], Path]]
) -> dict[str, Any]:
    deadline = time.monotonic() + 900
    while True:
        run = httpx.get(f"{api}/flow_runs/{run_id}", timeout=10).json()
        if run["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            break
        for process, log in started:
            assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"still {run['state']['type']}"
        time.sleep(1)
    logs = httpx.post(
        f"{api}/logs/filter", json={"logs": {"flow_run_id": {"any_": [run_id]}}, "limit": 200}, timeout=10
    ).json()
    start, end = (datetime.fromisoformat(run[k]).timestamp() for k in ("start_time", "end_time"))
    return {
        "state": run["state"]["type"],
        "message": run["state"].get("message"),
        "start": start,
        "end": end,
        "logs": [entry["message"] for entry in logs],
    }

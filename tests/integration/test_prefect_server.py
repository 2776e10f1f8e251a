"""Finance ops can use the Prefect UI for real: a real `prefect server`, `prefect deploy --all` from
prefect.yaml, a process worker on the `o2c` pool, the whole pipeline started through the API the UI
uses, and the run's page opened in headless Chromium (Debian's, driven by selenium and
chromedriver). Screenshots are kept in `test-artifacts/prefect-flow-run.png` (the run and its six
stage subflows) and `test-artifacts/prefect-report-artifacts.png` (the report stage's artifacts).

The session's `prefect_test_harness` points this process's settings at its own ephemeral API; this
test talks to its own server explicitly: subprocesses get their whole Prefect environment, and the
in-process client and `run_deployment` run under `temporary_settings` for this server's URL.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from PIL import Image

from tests.integration.test_report_page import FLAGS

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the project's virtualenv: prefect, o2c
ARTIFACTS = PROJECT / "test-artifacts"
AS_OF = "2026-11-20"
POOL = "o2c"
DEPLOYMENT = "order_to_cash/order-to-cash-weekday-morning"
STAGES = ("ingest", "invoice", "reconcile", "remind", "escalate", "report")
RUN_DEADLINE_SECONDS = 240


# --------------------------------------------------------------------------------------------
# processes: started in their own session, their whole group stopped at teardown, even on failure


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (a flow run the process worker started in a session of its own)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    below = _descendants(process.pid)
    for sig, grace in ((signal.SIGINT, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue
    for pid in below:  # whatever it started in sessions of their own
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _until_final(client: Any, run_id: Any, runner: subprocess.Popen[bytes], log: Path) -> Any:
    """The flow run once it is final; fails when the process running it exits or time runs out."""
    deadline = time.monotonic() + RUN_DEADLINE_SECONDS
    while not (flow_run := client.read_flow_run(run_id)).state.is_final():
        assert runner.poll() is None, f"{runner.args} exited {runner.returncode}:\n{_tail(log)}"
        assert time.monotonic() < deadline, (
            f"run still {flow_run.state.name} after {RUN_DEADLINE_SECONDS} s:\n{_tail(log)}"
        )
        time.sleep(2)
    return flow_run


def served_deployments(client: Any) -> list[tuple[str, str]]:
    return [(client.read_flow(d.flow_id).name, d.name) for d in client.read_deployments()]


def _tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen[bytes], Path]]]:
    """Start a long-running command in a new session with its output in a log file; at teardown the
    process groups are stopped, the last started first (the worker before its server)."""
    started: list[subprocess.Popen[bytes]] = []

    def start(
        name: str, command: list[str], env: dict[str, str], cwd: Path = tmp_path
    ) -> tuple[subprocess.Popen[bytes], Path]:
        log = tmp_path / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                command,
                env=env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        started.append(process)
        return process, log

    yield start
    for process in reversed(started):
        _stop(process)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _environment(url: str, prefect_home: Path, **extra: str) -> dict[str, str]:
    """This process's environment without any Prefect or o2c setting, then this server's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "O2C_"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        PREFECT_HOME=str(prefect_home),
        PREFECT_API_URL=url,
        PREFECT_UI_API_URL=url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        GX_ANALYTICS_ENABLED="false",
    )
    env.update(extra)
    return env


def _run(command: list[str], env: dict[str, str], cwd: Path, timeout: float = 180) -> str:
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (
        f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )
    return done.stdout


@contextmanager
def _client(url: str) -> Iterator[Any]:
    """A Prefect client (and `run_deployment`) for this server, not the session's test harness."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: url}), get_client(sync_client=True) as client:
        assert str(client.api_url).rstrip("/") == url
        yield client


# --------------------------------------------------------------------------------------------
# the server


@pytest.fixture
def server(tmp_path: Path, spawn: Callable[..., tuple[subprocess.Popen[bytes], Path]]) -> dict[str, Any]:
    """A real `prefect server start` on a free port with a fresh PREFECT_HOME, once it is healthy."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    prefect_home = tmp_path / "prefect-home"
    prefect_home.mkdir()
    env = _environment(url, prefect_home)
    process, log = spawn(
        "server", [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)], env
    )
    began = time.monotonic()
    deadline = began + 120
    while True:
        assert process.poll() is None, f"prefect server exited {process.returncode}:\n{_tail(log)}"
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"prefect server not healthy after 120 s:\n{_tail(log)}"
        time.sleep(0.5)
    ready = round(time.monotonic() - began, 1)
    return {
        "url": url,
        "ui": f"http://127.0.0.1:{port}",
        "env": env,
        "log": log,
        "ready_after": ready,
        "process": process,
    }


# --------------------------------------------------------------------------------------------
# the browser


def _browser() -> Any:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is needed to drive the Prefect UI in Chromium (a dev dependency)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not chromium or not chromedriver:
        pytest.fail("Debian's chromium and chromedriver are needed: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    # A single-page app: wait for what it shows, not for page loads (each click waited seconds).
    options.page_load_strategy = "none"
    for flag in [*FLAGS, "--window-size=1400,1000"]:
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))


def _page_text(driver: Any) -> str:
    return str(driver.execute_script("return document.body ? document.body.innerText : ''"))


def _wait_for(driver: Any, *texts: str, timeout: float = 60) -> str:
    """Wait until the page shows every text; on a timeout, keep a screenshot and show the page."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(driver, timeout, poll_frequency=0.25).until(
            lambda d: all(t in _page_text(d) for t in texts)
        )
    except TimeoutException:
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "prefect-ui-timeout.png"))
        missing = [t for t in texts if t not in _page_text(driver)]
        pytest.fail(
            f"{driver.current_url} did not show {missing} in {timeout} s; it shows:\n{_page_text(driver)}"
        )
    return _page_text(driver)


def _click_tab(driver: Any, tab_id: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, f"li.p-tab#{tab_id}"))
    ).click()


def _screenshot(driver: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / name
    shot.unlink(missing_ok=True)
    assert driver.save_screenshot(str(shot)), f"no screenshot written to {shot}"
    with Image.open(shot) as image:
        assert image.width >= 1000 and image.height >= 700
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 50, f"{shot} looks blank"
    return shot


# --------------------------------------------------------------------------------------------
# the test


def test_finance_ops_run_the_pipeline_from_the_prefect_ui(
    server: dict[str, Any], spawn: Callable[..., tuple[subprocess.Popen[bytes], Path]], tmp_path: Path
) -> None:
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterParentFlowRunId,
    )
    from prefect.deployments import run_deployment

    url, env, prefect = server["url"], server["env"], str(BIN / "prefect")
    timings: dict[str, float] = {"server healthy": server["ready_after"]}
    clock = time.monotonic()

    def lap(step: str) -> None:
        nonlocal clock
        timings[step] = round(time.monotonic() - clock, 1)
        clock = time.monotonic()

    # 1. The work pool and every deployment of prefect.yaml, with their schedules and time zones;
    # meanwhile, a workspace with a generated book in its inbox.
    _run([prefect, "work-pool", "create", POOL, "--type", "process"], env, tmp_path)
    deploy, deploy_log = spawn("deploy", [prefect, "--no-prompt", "deploy", "--all"], env, cwd=PROJECT)
    home = tmp_path / "o2c-home"
    generate = ["generate", "--out", str(home / "inbox"), "--customers", "20", "--invoices", "150"]
    _run([str(BIN / "o2c"), *generate, "--as-of", AS_OF], env, tmp_path)
    assert deploy.wait(timeout=180) == 0, (
        f"prefect deploy --all exited {deploy.returncode}:\n{_tail(deploy_log)}"
    )
    lap("pool, deploy and workspace")
    spec = yaml.safe_load((PROJECT / "prefect.yaml").read_text())
    wanted = {d["name"]: d for d in spec["deployments"]}
    with _client(url) as client:
        deployments = {d.name: d for d in client.read_deployments()}
        assert sorted(deployments) == sorted(wanted)
        full_names = {f"{client.read_flow(d.flow_id).name}/{d.name}" for d in deployments.values()}
        assert DEPLOYMENT in full_names
        zoned = 0
        for name, deployment in deployments.items():
            assert deployment.entrypoint == wanted[name]["entrypoint"]
            assert deployment.work_pool_name == POOL
            assert deployment.pull_steps == spec["pull"]
            # one run of a deployment at a time (Prefect's limit), and the ledger's lock across them;
            # runs for single entities go at once (each entity's lane: flows/lanes.py)
            limit = deployment.global_concurrency_limit
            at_once = 8 if name == "order-to-cash-by-entity" else 1
            assert limit is not None and limit.limit == wanted[name]["concurrency_limit"] == at_once, name
            registered = [
                (
                    # Prefect stores an rrule with a DTSTART line of its own in front
                    getattr(s.schedule, "cron", None) or str(s.schedule.rrule).splitlines()[-1],
                    s.schedule.timezone,
                    s.active,
                )
                for s in deployment.schedules
            ]
            declared = [
                (s.get("cron") or s.get("rrule"), s["timezone"], True)
                for s in wanted[name].get("schedules") or []
            ]
            assert registered == declared, name
            zoned += sum(1 for _cron, zone, _active in registered if zone)
        assert zoned and any(s.schedule.timezone for s in deployments[DEPLOYMENT.split("/")[1]].schedules)
        # No scheduled run may start while the test runs: the run below is the only one.
        for deployment in deployments.values():
            for schedule in deployment.schedules:
                client.update_deployment_schedule(deployment.id, schedule.id, active=False)
        # On a busy machine the scheduler may have planned runs before the schedules were paused;
        # no worker exists yet, so none has started: remove them.
        for planned in client.read_flow_runs():
            assert planned.auto_scheduled and planned.state_name == "Scheduled", planned
            client.delete_flow_run(planned.id)

    # 2. A process worker for the pool, once no schedule can start a run of its own.
    worker_env = _environment(
        url,
        Path(env["PREFECT_HOME"]),
        O2C_HOME=str(home),
        O2C_PROJECT_DIR=str(PROJECT),
        O2C_MAILER="file",
        PREFECT_WORKER_QUERY_SECONDS="2",
    )
    worker, worker_log = spawn(
        "worker", [prefect, "worker", "start", "--pool", POOL, "--type", "process"], worker_env
    )

    # 3. The whole pipeline, started through the API the UI's "Run" button uses. Parameters the
    # form would not accept are refused by the server before any run exists.
    with _client(url) as client:
        for bad in ({"stages": ["bill"]}, {"policy_profile": "lenient"}, {"stages": []}):
            with pytest.raises(Exception, match="409 Conflict"):
                run_deployment(DEPLOYMENT, parameters=bad, timeout=0)
        assert client.read_flow_runs() == []
        flow_run = run_deployment(DEPLOYMENT, parameters={"as_of": AS_OF}, timeout=0)
        flow_run = _until_final(client, flow_run.id, worker, worker_log)
        lap("worker and run")
        assert flow_run.state.is_completed(), (
            f"{flow_run.name}: {flow_run.state.name}: {flow_run.state.message}\n{_tail(worker_log, 8000)}"
        )
        assert flow_run.name == f"order-to-cash {AS_OF}"
        assert flow_run.parameters["as_of"] == AS_OF

        subflows = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run.id]))
        )
        by_stage = {run.name.split(" ")[0]: run for run in subflows}
        # the six stages, then the delivery of what they queued (documents and e-mails)
        assert sorted(run.name for run in subflows) == sorted(
            f"{stage} {AS_OF}" for stage in (*STAGES, "deliver")
        )
        assert all(run.state.is_completed() for run in subflows), [(r.name, r.state.name) for r in subflows]

        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run.id, *(r.id for r in subflows)])
            )
        )
        keys = {(a.key, a.flow_run_id) for a in artifacts}
        assert ("order-to-cash-summary", flow_run.id) in keys  # the pipeline's own page
        pipeline = next(a for a in artifacts if a.key == "order-to-cash-summary")
        assert str(pipeline.data).startswith(f"# Order to cash as of {AS_OF}")
        assert "| report | completed |" in str(pipeline.data)
        for stage in STAGES:
            assert (f"{stage}-summary", by_stage[stage].id) in keys, stage
        summary = next(a for a in artifacts if a.key == "reconcile-summary")
        assert str(summary.data).startswith(f"# reconcile as of {AS_OF}")
        headline = next(a for a in artifacts if a.key == "report-headline")
        assert headline.flow_run_id == by_stage["report"].id
        assert str(headline.data).startswith(f"# Receivables as of {AS_OF}")
        assert "| currency | open |" in str(headline.data)

    # 4. The ledger: the run is final, so the worker no longer holds it.
    status = json.loads(_run([str(BIN / "o2c"), "status", "--json", "--home", str(home)], env, tmp_path))
    for table in ("invoices", "payments", "allocations"):
        assert status["tables"][table] > 0, (table, status["tables"])
    ledger_runs = {run["stage"]: run["run_id"] for run in status["latest_runs"]}
    assert ledger_runs == {stage: str(by_stage[stage].id) for stage in STAGES}
    lap("checks")

    # 5. The run's page in the real UI: its name, state, logs and stage subflows; then the report
    # stage's page, reached by its link, with its artifacts.
    driver = _browser()
    lap("browser start")
    try:
        driver.get(f"{server['ui']}/runs/flow-run/{flow_run.id}")
        _wait_for(driver, f"order-to-cash {AS_OF}", "Completed", "order-to-cash-weekday-morning")
        assert f"order-to-cash {AS_OF}" in driver.title
        lap("run page")
        _wait_for(driver, f"Beginning flow run 'order-to-cash {AS_OF}'")  # the Logs tab
        _click_tab(driver, "artifacts")
        _wait_for(driver, "order-to-cash-summary")
        _click_tab(driver, "subflow-runs")
        _wait_for(driver, "7 Flow runs", *(f"{stage} {AS_OF}" for stage in (*STAGES, "deliver")))
        _screenshot(driver, "prefect-flow-run.png")
        lap("logs and subflows")

        from selenium.webdriver.common.by import By

        driver.find_element(By.LINK_TEXT, f"report {AS_OF}").click()
        _wait_for(driver, "Parent Run")
        assert str(by_stage["report"].id) in driver.current_url
        _click_tab(driver, "artifacts")
        _wait_for(driver, "report-headline", "report-summary", f"Receivables as of {AS_OF}")
        tabs = driver.find_element(By.CSS_SELECTOR, "li.p-tab#artifacts")
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", tabs)  # the cards in view
        _screenshot(driver, "prefect-report-artifacts.png")
        lap("report artifacts")

        # the custom-run form finance ops fill in: each parameter by its title in finance words
        driver.get(f"{server['ui']}/deployments/deployment/{flow_run.deployment_id}/run")
        _wait_for(driver, "Business date", "Stages to run", "Rules to apply", "Only these customers")
        _screenshot(driver, "prefect-custom-run-form.png")
        lap("custom run form")
    finally:
        driver.quit()

    # 6. `o2c serve` instead of a worker: the same deployments served from one process; a report
    # asked for through the API runs in it, and the ledger says the UI or the API started it.
    _stop(worker)
    with _client(url) as client:  # a team that serves has no deployments of a work pool
        for deployment in client.read_deployments():
            client.delete_deployment(deployment.id)
    serve_env = {**worker_env, "PREFECT_RUNNER_POLL_FREQUENCY": "2"}
    served, serve_log = spawn("serve", [str(BIN / "o2c"), "serve", "--home", str(home)], serve_env)
    with _client(url) as client:
        deadline = time.monotonic() + 120
        while "being served" not in _tail(serve_log):
            assert served.poll() is None, f"o2c serve exited {served.returncode}:\n{_tail(serve_log)}"
            assert time.monotonic() < deadline, f"o2c serve registered nothing:\n{_tail(serve_log)}"
            time.sleep(1)
        assert all(f"{flow}/{name}" in _tail(serve_log, 20000) for flow, name in served_deployments(client))
        for deployment in client.read_deployments():
            for schedule in deployment.schedules:
                client.update_deployment_schedule(deployment.id, schedule.id, active=False)
        report_run = run_deployment("report/report-month-end", parameters={"as_of": "2026-11-21"}, timeout=0)
        report_run = _until_final(client, report_run.id, served, serve_log)
        assert report_run.state.is_completed(), f"{report_run.state.message}\n{_tail(serve_log, 8000)}"
    lap("o2c serve")
    audit = json.loads(
        _run([str(BIN / "o2c"), "audit", "runs", "--json", "--home", str(home)], env, tmp_path)
    )
    served_run = next(r for r in audit if r["run_id"] == str(report_run.id))
    assert (served_run["stage"], served_run["as_of"], served_run["started_by"]) == (
        "report",
        "2026-11-21",
        "ui or api",
    )
    assert (home / "reports" / "report-2026-11-21.html").exists()
    print(f"timings (s): {timings}")

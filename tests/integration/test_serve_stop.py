"""`o2c serve` and `o2c site` stop cleanly: Ctrl-C (SIGINT) or SIGTERM ends them within 10 s with
no traceback, the served deployments' schedules paused, also when the Prefect server went away
first (then the pause is given up in one line, not retried for a minute). Real processes, a real
`prefect server`."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.integration.test_prefect_server import (  # noqa: F401 (the fixtures, used by name)
    BIN,
    _client,
    _free_port,
    _stop,
    _tail,
    server,
    spawn,
)

STOP_WITHIN_SECONDS = 15

Spawn = Callable[..., tuple[subprocess.Popen[bytes], Path]]


def _until(log: Path, text: str, process: subprocess.Popen[bytes], within: float = 120) -> None:
    deadline = time.monotonic() + within
    while text not in _tail(log, 50_000):
        assert process.poll() is None, f"{process.args} exited {process.returncode}:\n{_tail(log)}"
        assert time.monotonic() < deadline, f"no {text!r} after {within} s:\n{_tail(log)}"
        time.sleep(0.5)


def _stopped_by(process: subprocess.Popen[bytes], sig: signal.Signals, log: Path) -> float:
    began = time.monotonic()
    process.send_signal(sig)
    try:
        process.wait(timeout=60)
    finally:
        took = time.monotonic() - began
    assert process.returncode == 0, f"exit {process.returncode} after {sig.name}:\n{_tail(log)}"
    assert "Traceback" not in _tail(log, 200_000), _tail(log)
    assert took <= STOP_WITHIN_SECONDS, f"{sig.name} took {took:.1f} s:\n{_tail(log)}"
    return took


def test_serve_stops_on_ctrl_c_and_sigterm_also_when_the_server_went_away(
    server: dict[str, Any],  # noqa: F811 (the fixture)
    spawn: Spawn,  # noqa: F811
    tmp_path: Path,
) -> None:
    env, home, port = server["env"], tmp_path / "home", _free_port()
    o2c = str(BIN / "o2c")
    first, first_log = spawn("serve-1", [o2c, "serve", "--home", str(home), "--site-port", str(port)], env)
    _until(first_log, "being served", first)
    second, second_log = spawn("serve-2", [o2c, "serve", "--home", str(home)], env)
    _until(second_log, "being served", second)
    assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200  # the site beside it
    with _client(server["url"]) as client:  # the runner has registered them
        deadline = time.monotonic() + 60
        while len(client.read_deployments()) < 8:
            assert time.monotonic() < deadline, _tail(first_log)
            time.sleep(1)
        for deployment in client.read_deployments():  # no scheduled run may start during the test
            for schedule in deployment.schedules:
                client.update_deployment_schedule(deployment.id, schedule.id, active=False)

    took = _stopped_by(first, signal.SIGINT, first_log)
    assert "the schedules of the served deployments are paused" in _tail(first_log)
    with _client(server["url"]) as client:
        assert all(d.paused for d in client.read_deployments()), "Ctrl-C pauses the schedules"
    print(f"Ctrl-C: stopped in {took:.1f} s")

    _stop(server["process"])  # the Prefect server goes away first
    took = _stopped_by(second, signal.SIGTERM, second_log)
    assert "the schedules could not be paused" in _tail(second_log)
    print(f"SIGTERM with the server gone: stopped in {took:.1f} s")


def test_the_site_stops_on_sigterm_and_says_a_busy_port_in_one_line(spawn: Spawn, tmp_path: Path) -> None:  # noqa: F811
    port = _free_port()
    o2c = str(BIN / "o2c")
    site, log = spawn("site", [o2c, "site", "--home", str(tmp_path / "home"), "--port", str(port)], {})
    _until(log, "reports and Data Docs of", site)
    assert "No report yet" in httpx.get(f"http://127.0.0.1:{port}/", timeout=10).text
    busy = subprocess.run(
        [o2c, "site", "--home", str(tmp_path / "home"), "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert busy.returncode == 2 and "Traceback" not in busy.stderr
    assert f"error: the site cannot listen on 127.0.0.1:{port}" in busy.stderr
    _stopped_by(site, signal.SIGTERM, log)
    assert "site stopped" in _tail(log)

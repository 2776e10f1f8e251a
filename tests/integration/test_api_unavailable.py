"""A Prefect API that answers 503 in the middle of a run (as the SQLite-backed server does when its
database is locked under load) ends `o2c` with its one `error:` line and exit 1: no traceback of
Prefect's engine on the terminal, and nothing half-written in the ledger.

The API is the session's test server behind a small proxy that answers 503 to every creation of a
task run, so the flow run is recorded and then cannot record its first task.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import book_files

PROJECT = Path(__file__).resolve().parents[2]


class _Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = ""

    def log_message(self, *_args: object) -> None:
        pass

    def _forward(self) -> None:
        if self.headers.get("upgrade", "").lower() == "websocket":
            self._tunnel()
            return
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.command == "POST" and self.path.rstrip("/").endswith("/task_runs"):
            payload = b'{"exception_message": "Service Unavailable"}'
            self.send_response(503)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        answer = httpx.request(
            self.command, self.upstream + self.path, content=body, headers=headers, timeout=60
        )
        content = answer.content
        self.send_response(answer.status_code)
        for key, value in answer.headers.items():
            if key.lower() not in ("content-length", "transfer-encoding", "content-encoding", "connection"):
                self.send_header(key, value)
        self.send_header("content-length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def _tunnel(self) -> None:
        """A websocket (Prefect's events) passes through as raw bytes both ways."""
        host, port = self.upstream.removeprefix("http://").split(":")
        upstream = socket.create_connection((host, int(port)))
        head = f"{self.command} {self.path} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in self.headers.items()
        )
        upstream.sendall(head.encode() + b"\r\n")

        def pump(source: Any, sink: socket.socket) -> None:
            try:
                while chunk := source.read1(65536) if hasattr(source, "read1") else source.recv(65536):
                    sink.sendall(chunk)
            except OSError:
                pass
            finally:
                for end in (sink, upstream):
                    with contextlib.suppress(OSError):
                        end.shutdown(socket.SHUT_RDWR)

        back = threading.Thread(target=pump, args=(upstream, self.connection), daemon=True)
        back.start()
        pump(self.rfile, upstream)
        back.join(timeout=5)
        self.close_connection = True

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward


@pytest.fixture
def failing_api() -> Iterator[str]:
    """The address of an API that passes everything to the session's server but task-run creation."""
    from prefect.settings import PREFECT_API_URL

    url = str(PREFECT_API_URL.value())
    root = url[: url.index("/api")]
    handler = type("Proxy", (_Proxy,), {"upstream": root})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api"
    finally:
        server.shutdown()
        server.server_close()


def _o2c(*args: str, api_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_CLIENT_MAX_RETRIES": "0", "DO_NOT_TRACK": "1"}
    command = Path(sys.executable).with_name("o2c")
    return subprocess.run(
        [str(command), *args], env=env, capture_output=True, text=True, cwd=PROJECT, timeout=300
    )


@pytest.mark.integration
def test_a_503_in_the_middle_of_a_run_ends_in_one_line(
    book_dir: Path, tmp_path: Path, failing_api: str
) -> None:
    from prefect.settings import PREFECT_API_URL

    api = str(PREFECT_API_URL.value())
    home = tmp_path / "home"
    loaded = _o2c("ingest", *book_files(book_dir), "--home", str(home), api_url=api)
    assert loaded.returncode == 0, loaded.stderr
    before = json.loads(_o2c("status", "--json", "--home", str(home), api_url=api).stdout)["tables"]

    # The pipeline records its own run, then cannot record the task run of its first stage.
    done = _o2c("run", "all", "--as-of", "2026-11-20", "--home", str(home), api_url=failing_api)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "503" in errors[0], done.stderr

    status = _o2c("status", "--json", "--home", str(home), api_url=api)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["tables"] == before  # nothing half-written

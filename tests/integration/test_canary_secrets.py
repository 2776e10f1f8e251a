"""Secrets never land anywhere o2c or Prefect writes: a canary SendGrid key and a canary PostgreSQL
password go through the real `o2c` command against a real `prefect server` (its own PREFECT_HOME)
and the fake SendGrid, and are then looked for, raw, URL-encoded, hex-encoded and base64-encoded,
in every file of the workspace (the ledger's tables and bytes, the outbox, documents, exports,
reports, Data Docs), in every member of the audit packs, in every byte the commands printed, in
the Prefect server's database (every table, its logs, artifacts and flow-run parameters among
them) and log, and in the e-mails the fake received (bodies: the key in the Authorization header is
where it belongs).

What runs: a book whose customers are read from a throw-away PostgreSQL database owned by a canary
role (`o2c ingest --sql` with the password in the URL), the same ingest against a port nobody
listens on (the run fails, and finance ops get the failure e-mail), and `o2c run all`, whose
e-mails go to SendGrid with one customer answered 401 every time and the first other message 500
at each of the mailer's attempts (left for a later run); then `o2c audit pack` of two runs,
exports, the report page and `o2c outbox list`. Prefect logs at DEBUG, the most a worker shows.

Self-check, done once by hand: a `sitecustomize.py` on PYTHONPATH that logs the key base64-encoded
after "Bearer " made this test fail, naming the stderr of each command that logged it.
"""

from __future__ import annotations

import base64
import csv
import gzip
import io
import json
import os
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
import sqlalchemy as sa

from tests.fake_sendgrid import FakeSendGrid, Recorded, _handler, _recipient
from tools.generate import generate_book, write_book

BIN = Path(sys.executable).parent  # the project's virtualenv: prefect, o2c
AS_OF = "2026-11-20"
ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
UNAUTHORIZED_BODY = (
    b'{"errors":[{"message":"The provided authorization grant is invalid, expired, or revoked",'
    b'"field":null,"help":null}]}'
)


@pytest.fixture(scope="session")
def prefect_api() -> None:
    """Not the session's test harness: everything here runs against this test's own server."""


# --------------------------------------------------------------------------------------------
# the canaries, and every form in which they could be written down


@dataclass(frozen=True)
class Canary:
    name: str
    value: str
    core: str  # the random part: any rendering that keeps the text keeps it

    def needles(self) -> dict[str, bytes]:
        raw = self.value.encode()
        found = {
            "raw": raw,
            "random part": self.core.encode(),
            "url-encoded": urllib.parse.quote(self.value, safe="").encode(),
            "url-encoded (plus)": urllib.parse.quote_plus(self.value).encode(),
            "hex": raw.hex().encode(),
        }
        for offset in range(3):  # base64 of any text holding the secret holds one of these
            encoded = base64.b64encode(b"\0" * offset + raw)
            start, end = -(-8 * offset // 6), 8 * (offset + len(raw)) // 6
            found[f"base64@{offset}"] = encoded[start:end]
            found[f"base64url@{offset}"] = base64.urlsafe_b64encode(b"\0" * offset + raw)[start:end]
        return found


def leaks(where: str, data: bytes, canaries: list[Canary]) -> list[str]:
    """Every canary form found in `data` and in what it unpacks to (zip members, gzip, PDF streams)."""
    found = []
    for part, content in _unpacked(where, data):
        lowered = content.lower()
        for canary in canaries:
            for form, needle in canary.needles().items():
                if needle in content or (form == "random part" and needle in lowered):
                    found.append(f"{canary.name} ({form}) in {part}")
    return found


def _unpacked(where: str, data: bytes, depth: int = 0) -> Iterator[tuple[str, bytes]]:
    yield where, data
    if depth > 3:
        return
    if data[:4] == b"PK\x03\x04":  # zip: audit packs, xlsx
        with suppress(zipfile.BadZipFile), zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                yield from _unpacked(f"{where}!{member}", archive.read(member), depth + 1)
    elif data[:2] == b"\x1f\x8b":
        with suppress(OSError, EOFError):
            yield from _unpacked(f"{where}!gunzip", gzip.decompress(data), depth + 1)
    elif data[:5] == b"%PDF-":
        for number, stream in enumerate(re.findall(rb"stream\r?\n(.*?)endstream", data, re.S)):
            with suppress(zlib.error):
                yield f"{where}!stream{number}", zlib.decompress(stream)


# --------------------------------------------------------------------------------------------
# the fake SendGrid, answering 401 for some recipients


@contextmanager
def sendgrid(unauthorized: set[str]) -> Iterator[FakeSendGrid]:
    """The fake SendGrid of tests/fake_sendgrid.py; requests to an address in `unauthorized` are
    answered 401 as SendGrid answers a revoked key."""
    fake = FakeSendGrid()

    base: Any = _handler(fake)

    class Handler(base):
        def do_POST(self) -> None:  # noqa: N802 (the http.server API)
            request: Any = self
            raw = request.rfile.read(int(self.headers.get("Content-Length", "0")))
            body = json.loads(raw or b"{}")
            if _recipient(body) not in unauthorized:
                request.rfile = io.BytesIO(raw)  # the body again, for the fake to read
                super().do_POST()
                return
            with fake._lock:
                fake.requests.append(Recorded(self.path, dict(self.headers.items()), body))
            self.send_response(401)
            self.send_header("Content-Length", str(len(UNAUTHORIZED_BODY)))
            self.end_headers()
            self.wfile.write(UNAUTHORIZED_BODY)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------------------------
# PostgreSQL: a canary role with a password and a database it owns, dropped afterwards


@contextmanager
def canary_database(password: str, customers_csv: Path) -> Iterator[tuple[str, str]]:
    """(role, database) holding `crm_customers` with the rows of `customers_csv`, all text."""
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    role = database = f"o2c_canary_{secrets.token_hex(6)}"
    try:
        with admin.connect() as con:
            quoted = password.replace("'", "''")
            con.execute(sa.text(f"create role {role} login password '{quoted}'"))
            con.execute(sa.text(f"create database {database} owner {role}"))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is needed for this test: {exc}")
    try:
        with customers_csv.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        columns = list(rows[0])
        owner = sa.create_engine(f"postgresql+psycopg://{role}@127.0.0.1:5432/{database}")
        with owner.begin() as con:
            con.execute(sa.text(f"create table crm_customers ({', '.join(f'{c} text' for c in columns)})"))
            con.execute(
                sa.text(f"insert into crm_customers values ({', '.join(f':{c}' for c in columns)})"),
                rows,
            )
        owner.dispose()
        yield role, database
    finally:
        with admin.connect() as con:
            con.execute(sa.text(f"drop database if exists {database} with (force)"))
            con.execute(sa.text(f"drop role if exists {role}"))
        admin.dispose()


# --------------------------------------------------------------------------------------------
# a real Prefect server with its own PREFECT_HOME, and the o2c command pointed at it


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def prefect_server(prefect_home: Path, log: Path) -> Iterator[tuple[str, Any, dict[str, str]]]:
    """`prefect server start` on a free port; yields (API URL, the process, its environment)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "O2C_", "SENDGRID_"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        PREFECT_HOME=str(prefect_home),
        PREFECT_API_URL=url,
        PREFECT_UI_API_URL=url,
        PREFECT_SERVER_UI_ENABLED="false",  # the API is what is searched; the UI's build takes seconds
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        GX_ANALYTICS_ENABLED="false",
    )
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        yield url, process, env
    finally:
        for sig, grace in ((signal.SIGINT, 15), (signal.SIGKILL, 5)):
            if process.poll() is not None:
                break
            with suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=grace)


def wait_healthy(url: str, process: Any, log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, (
            f"prefect server exited {process.returncode}:\n{log.read_text()[-3000:]}"
        )
        with suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        assert time.monotonic() < deadline, (
            f"prefect server not healthy after 120 s:\n{log.read_text()[-3000:]}"
        )
        time.sleep(0.3)


@dataclass
class Commands:
    """Runs `o2c` as finance ops would, several at once where they may, keeping every byte each
    command printed (in files: a command's output is searched as it was written)."""

    env: dict[str, str]
    cwd: Path
    printed: dict[str, bytes] = field(default_factory=dict)
    took: dict[str, float] = field(default_factory=dict)

    def __call__(self, *args: str, expect: int = 0) -> str:
        return self.together([list(args)], [expect])[0]

    def together(self, commands: list[list[str]], expect: list[int] | None = None) -> list[str]:
        """Start every command at once; wait for all; each must exit as expected (default 0)."""
        clock = time.monotonic()
        running: list[tuple[str, list[str], subprocess.Popen[bytes], Path, Path]] = []
        for args in commands:
            number = len(self.printed) // 2 + len(running)
            out, err = (self.cwd / f"o2c-{number}.{kind}" for kind in ("out", "err"))
            with out.open("wb") as out_file, err.open("wb") as err_file:
                process = subprocess.Popen(
                    [str(BIN / "o2c"), *args], env=self.env, cwd=self.cwd, stdout=out_file, stderr=err_file
                )
            running.append((f"#{number} `o2c {' '.join(args[:2])}`", args, process, out, err))
        printed = []
        for (label, args, process, out, err), wanted in zip(
            running, expect or [0] * len(commands), strict=True
        ):
            code = process.wait(timeout=300)
            self.took[label] = round(time.monotonic() - clock, 1)
            stdout, stderr = out.read_bytes(), err.read_bytes()
            self.printed[f"{label} stdout"], self.printed[f"{label} stderr"] = stdout, stderr
            assert code == wanted, (
                f"o2c {' '.join(args)} exited {code}, not {wanted}:\n"
                f"{stdout.decode(errors='replace')[-3000:]}\n{stderr.decode(errors='replace')[-3000:]}"
            )
            printed.append(stdout.decode())
        return printed


# --------------------------------------------------------------------------------------------
# where to look


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def ledger_rows(ledger: Path) -> dict[str, bytes]:
    """Every row of every ledger table as text (DuckDB compresses strings in its file: the bytes
    alone would not show a secret)."""
    con = duckdb.connect(str(ledger), read_only=True)
    try:
        tables = [t for (t,) in con.execute("select table_name from duckdb_tables()").fetchall()]
        return {
            f"ledger table {t}": repr(con.execute(f'select * from "{t}"').fetchall()).encode() for t in tables
        }
    finally:
        con.close()


def prefect_rows(database: Path) -> dict[str, bytes]:
    """Every row of every table of the Prefect server's SQLite database, as text."""
    con = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        tables = [t for (t,) in con.execute("select name from sqlite_master where type = 'table'")]
        return {
            f"prefect table {t}": repr(con.execute(f'select * from "{t}"').fetchall()).encode(
                "utf-8", "replace"
            )
            for t in tables
        }
    finally:
        con.close()


def last_run(home: Path) -> str:
    con = duckdb.connect(str(home / "ledger.duckdb"), read_only=True)
    try:
        ((run_id,),) = con.execute(
            "select run_id from stage_runs order by finished_at desc limit 1"
        ).fetchall()
        return str(run_id)
    finally:
        con.close()


def delivery_reasons(ledger: Path) -> list[str]:
    """Why each e-mail that did not go out did not, from every outbox table."""
    con = duckdb.connect(str(ledger), read_only=True)
    try:
        return [
            str(reason)
            for table in ("reminders", "invoice_mails", "owner_notices", "report_mails")
            for (reason,) in con.execute(
                f"select status_reason from {table} where status <> 'sent'"
            ).fetchall()
            if reason
        ]
    finally:
        con.close()


def prefect_count(database: Path, sql: str) -> int:
    con = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        ((count,),) = con.execute(sql).fetchall()
        return int(count)
    finally:
        con.close()


# --------------------------------------------------------------------------------------------
# the test


def test_no_secret_is_written_anywhere(tmp_path: Path) -> None:
    began = time.monotonic()
    key_core, password_core = secrets.token_hex(12), secrets.token_hex(12)
    key = Canary("SendGrid key", f"SG.canary-{key_core}", key_core)
    # '/' and '@' are written %2F and %40 in a URL: the raw and the encoded forms differ
    password = Canary("database password", f"pw/canary@{password_core}", password_core)
    canaries = [key, password]
    home, prefect_home, work = tmp_path / "o2c-home", tmp_path / "prefect-home", tmp_path / "work"
    prefect_home.mkdir()
    work.mkdir()
    server_log = tmp_path / "prefect-server.log"

    book = work / "book"  # what `o2c generate --customers 6 --invoices 30 --seed 7` writes
    write_book(generate_book(customers=6, invoices=30, seed=7, as_of=date.fromisoformat(AS_OF)), book)
    with book.joinpath("customers.csv").open(newline="", encoding="utf-8") as handle:
        addresses = [row["email"] for row in csv.DictReader(handle) if row["email"]]
    refused = addresses[0]  # answered 401 every time (this book's first customer has a reminder due)
    (home / "inbox").mkdir(parents=True)
    for name in ("orders", "order_lines", "invoices", "payments"):  # the customers come from SQL
        (home / "inbox" / f"{name}.csv").write_bytes((book / f"{name}.csv").read_bytes())
    mapping = home / "crm.mapping.yaml"  # a mapping must lie inside the workspace
    mapping.write_text("dataset: customers\ntable: crm_customers\n", encoding="utf-8")

    with (
        prefect_server(prefect_home, server_log) as (url, process, server_env),
        sendgrid({refused}) as fake,
        canary_database(password.value, book / "customers.csv") as (role, database),
    ):
        env = dict(
            server_env,
            O2C_HOME=str(home),
            O2C_MAILER="sendgrid",
            SENDGRID_API_KEY=key.value,
            O2C_SENDGRID_HOST=fake.host,
            O2C_OPS_RECIPIENTS="ops@example.com",
            O2C_REPORT_RECIPIENTS="cfo@example.com",
            PREFECT_LOGGING_LEVEL="DEBUG",  # the most a worker's log could show
        )
        o2c = Commands(env, work)
        secret = urllib.parse.quote(password.value, safe="")
        good_url = f"postgresql+psycopg://{role}:{secret}@127.0.0.1:5432/{database}"
        nobody_listens = f"postgresql+psycopg://{role}:{secret}@127.0.0.1:{_free_port()}/{database}"
        wait_healthy(url, process, server_log)
        started = time.monotonic()

        # (a) customers from PostgreSQL (the rest of the book from the inbox by `run all`), and
        # (b) at the same time the same source where nobody listens: that run fails, ops are told
        ingested, _ = o2c.together(
            [
                ["ingest", "--sql", good_url, "--mapping", str(mapping), "--as-of", AS_OF, "--json"],
                ["ingest", "--sql", nobody_listens, "--mapping", str(mapping), "--as-of", AS_OF],
            ],
            expect=[0, 2],
        )
        (sql_ingest,) = json.loads(ingested)
        assert sql_ingest["outcome"] == "completed" and sql_ingest["counts"]["rows_read"] == 6, sql_ingest
        assert b"cannot read crm_customers" in o2c.printed["#1 `o2c ingest --sql` stderr"]
        # (a) all six stages, their e-mails through SendGrid: one customer's refused (401), the first
        # other message answered 500 until the mailer leaves it for a later run
        fake.then("error", "error", "error", "error")
        o2c("run", "all", "--as-of", AS_OF)
        # (c) what an auditor and finance ops take away
        o2c.together(
            [
                ["audit", "pack", sql_ingest["run_id"], "--out", str(work / "sql-ingest.zip")],
                ["audit", "pack", last_run(home), "--out", str(work / "last-run.zip")],
                ["export", "reminders", "--out", str(work / "reminders.csv")],
                ["export", "invoices", "--out", str(work / "invoices.xlsx")],
                ["export", "quarantine", "--out", str(work / "quarantine.csv")],
                ["report", "--as-of", AS_OF, "--json", "--html", str(work / "report.html")],
                ["outbox", "list", "--status", "failed"],
            ]
        )
        commands_took = time.monotonic() - started
        print(f"server healthy after {started - began:.1f} s; commands: {o2c.took}")

        # the canaries were used for real: the searches below are not vacuous
        assert {r.headers.get("Authorization") for r in fake.requests} == {f"Bearer {key.value}"}
        assert fake.to(refused) and fake.to("ops@example.com") and fake.to("cfo@example.com")
        reasons = delivery_reasons(home / "ledger.duckdb")
        assert any(r.startswith("SendGrid answered 401") for r in reasons), reasons
        assert any(r.startswith("SendGrid answered 500") for r in reasons), reasons
        prefect_db = prefect_home / "prefect.db"
        assert prefect_count(prefect_db, "select count(*) from log") > 0
        assert prefect_count(prefect_db, "select count(*) from artifact") > 0
        assert prefect_count(prefect_db, "select count(*) from task_run") > 0
        # Prefect keeps each ingest run's source, without its password
        masked = f"%postgresql+psycopg://{role}:***@127.0.0.1:%"
        assert (
            prefect_count(prefect_db, f"select count(*) from flow_run where parameters like '{masked}'") == 2
        )
        (notice,) = fake.to("ops@example.com")
        assert "cannot read crm_customers" in json.dumps(notice.body)

        places: dict[str, bytes] = {}
        places.update(files_under(home))  # ledger bytes, outbox, documents, reports, Data Docs, evidence
        places.update(ledger_rows(home / "ledger.duckdb"))
        places.update(files_under(work))  # the packs (each member unzipped), exports, report page
        places.update(o2c.printed)
        places.update(prefect_rows(prefect_db))  # log, artifact, flow_run (parameters), task_run, ...
        places.update(files_under(prefect_home))  # the database file's bytes, and anything else
        places["prefect server log"] = server_log.read_bytes()
        for number, request in enumerate(fake.requests):  # what left for a mailbox
            headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
            places[f"sendgrid request {number}"] = json.dumps([headers, request.body]).encode()

    assert str(home / "ledger.duckdb") in places and any("/data_docs/" in p for p in places)
    found = [leak for where, data in places.items() for leak in leaks(where, data, canaries)]
    assert not found, "secrets written down:\n" + "\n".join(found[:40])
    total = time.monotonic() - began
    print(f"canary search: {len(places)} places, commands {commands_took:.1f} s, total {total:.1f} s")

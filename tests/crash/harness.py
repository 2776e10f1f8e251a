"""Crash at every named point, start twice at once: the ledger and the outbox end as one clean run.

For a book, the harness first runs `o2c run all` once without interruption, with
`O2C_CRASH_TRACE` set: that run lists every crash point in the order a run meets them (see
`tasks/platform/crash.py`), and its ledger, outbox and files are the reference. Then, for each point N, on a
fresh workspace with the same inbox:

1. `o2c run all` with `O2C_CRASH_AT=N`: the process must die there (exit code 97), at the point
   the trace named N;
2. `o2c run all` again: it must complete;
3. the messages that were `sending` when the process died are in doubt: the provider may have
   them. They must now be `unknown`, never re-sent. The harness does what a person does: a
   message the provider received is marked sent (`o2c outbox mark-sent`), one it did not is
   released for another try (`o2c outbox retry`), and one more `o2c run all` delivers those;
4. the ledger (every business table row for row; the run history as sets), the outbox and the
   files written must equal the reference, ignoring run ids and the moments rows were written;
   the provider must have received every message exactly once.

Double starts: two `o2c run all` on one fresh workspace at the same moment must end as one run,
with every message received once and no traceback.

The provider is a fake SendGrid API in a process of its own (`tests/crash/provider.py`), reached
through the real `sendgrid` library; the runs are forks of a process that imported the product
once (`tests/crash/zygote.py`), each a real process that really dies.

    python -m tests.crash.harness [--books N] [--pairs N] [--points all|quick] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from queue import Queue
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 11, 20)
CRASH_EXIT_CODE = 97
CANARY_KEY = "SG.canary-crash-harness-9f4e2b"
# The one line o2c ends with when the Prefect API refused a run part-way (cli/common.py).
API_REFUSED = "error: the Prefect API at "

# The books the full enumeration runs on: small, so that every point can be tried, and different
# in shape (a few customers with many invoices; more customers; another seed's mix of payments).
BOOKS = {
    "few-customers": {"customers": 5, "invoices": 30, "seed": 3},
    "more-customers": {"customers": 10, "invoices": 40, "seed": 7},
    "another-mix": {"customers": 8, "invoices": 36, "seed": 11},
}

# Run history: tables a run appends to by design (one row per run, per checkpoint, per change).
HISTORY = {"stage_runs", "checkpoint_runs", "audit_log", "evidence_files", "quarantine"}
OUTBOX = {
    "reminders": "reminder_id",
    "invoice_mails": "mail_id",
    "owner_notices": "mail_id",
    "report_mails": "mail_id",
}
# Columns that say when or by which run a row was written, or how delivery went on the way.
IGNORED = {"run_id", "first_run_id", "attempts", "delivered_ref", "status_reason", "transient_failures"}


# --------------------------------------------------------------------------------------------
# processes


class Zygote:
    """The fork server: `start` a command, `wait` for it."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.crash.zygote"],
            cwd=PROJECT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        ready = self._answer()
        assert ready == {"ready": True}, ready

    def _answer(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the zygote exited ({self.process.poll()})")
        return dict(json.loads(line))

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def start(self, args: list[str], env: dict[str, str | None], out: Path, err: Path) -> int:
        return int(
            self._ask({"op": "start", "args": args, "env": env, "out": str(out), "err": str(err)})["pid"]
        )

    def wait(self, pid: int, timeout: float = 900) -> int | None:
        code = self._ask({"op": "wait", "pid": pid, "timeout": timeout})["code"]
        return None if code is None else int(code)

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=30)


class Provider:
    """The fake SendGrid process and what it received."""

    def __init__(self, folder: Path) -> None:
        self.record = folder / "provider-record.jsonl"
        port_file = folder / "provider-port"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.crash.provider", str(self.record), str(port_file)], cwd=PROJECT
        )
        deadline = time.monotonic() + 30
        while not port_file.exists():
            assert self.process.poll() is None and time.monotonic() < deadline, (
                "the fake provider did not start"
            )
            time.sleep(0.05)
        self.host = f"http://127.0.0.1:{port_file.read_text()}"

    def mark(self) -> int:
        """Where the record ends now: what arrives after this belongs to the next workspace."""
        return len(self.received_since(0))

    def received_since(self, start: int) -> list[str]:
        """The outbox id of each message received after `start`, in order of arrival."""
        if not self.record.exists():
            return []
        lines = self.record.read_text(encoding="utf-8").splitlines()[start:]
        ids = []
        for line in lines:
            args = json.loads(line)["custom_args"]
            kind = next((k for k in args if k.endswith("_id") and k != "customer_id"), "")
            ids.append(f"{kind}={args.get(kind, '')}")
        return ids

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


# --------------------------------------------------------------------------------------------
# what a workspace holds


@dataclass
class State:
    """A workspace's ledger and files, normalised for comparison."""

    tables: dict[str, Counter[tuple[Any, ...]]] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def differences(self, other: State, *, allow: dict[str, set[str]] | None = None) -> list[str]:
        """What differs from `other`, table by table (at most 3 rows shown each)."""
        out = []
        for name in sorted(set(self.tables) | set(other.tables)):
            mine, theirs = self.tables.get(name, Counter()), other.tables.get(name, Counter())
            if mine != theirs:
                extra, missing = mine - theirs, theirs - mine
                out.append(
                    f"{name}: {sum(extra.values())} rows more, {sum(missing.values())} fewer;"
                    f" more {list(extra)[:3]}; fewer {list(missing)[:3]}"
                )
        if self.files != other.files:
            keys = set(self.files) | set(other.files)
            changed = sorted(k for k in keys if self.files.get(k) != other.files.get(k))
            out.append(f"files differ: {changed[:10]}")
        return out


def read_state(home: Path) -> State:
    import duckdb

    from tasks.platform.ledger import LEDGER_TABLES

    state = State()
    con = duckdb.connect(str(home / "ledger.duckdb"), read_only=True)
    try:
        for table in LEDGER_TABLES:
            columns = [
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns where table_name = ? order by ordinal_position",
                    [table],
                ).fetchall()
            ]
            kept = [c for c in columns if c not in IGNORED and not c.endswith("_at")]
            rows = con.execute(f"select {', '.join(kept)} from {table}").fetchall()
            state.tables[table] = (
                _history(table, kept, rows, home)
                if table in HISTORY
                else Counter(tuple(_normal(v, home) for v in row) for row in rows)
            )
    finally:
        con.close()
    for path in sorted(home.rglob("*")):
        relative = path.relative_to(home).as_posix()
        if path.is_dir() or relative.startswith(("data_docs/", "ledger.")) or "crash-" in relative:
            continue
        state.files[relative] = _file_digest(path, home)
    return state


def _history(
    table: str, columns: list[str], rows: list[tuple[Any, ...]], home: Path
) -> Counter[tuple[Any, ...]]:
    """The run history as a set: a re-run adds rows by design, never different ones.

    stage_runs: which stage ran for which date with which outcome (counts differ: a re-run finds
    nothing left to do); checkpoint_runs: every check that looked at rows; audit_log: every row
    inserted or removed exactly once, and which keys changed status; evidence_files and
    quarantine: as sets."""
    index = {c: i for i, c in enumerate(columns)}

    def pick(row: tuple[Any, ...], *names: str) -> tuple[Any, ...]:
        return tuple(_normal(row[index[n]], home) for n in names)

    if table == "stage_runs":
        return Counter(set(pick(r, "stage", "as_of", "outcome") for r in rows))
    if table == "checkpoint_runs":
        wanted = ("stage", "dataset", "source", "contract_hash", "outcome", "rows_checked", "rows_failed")
        return Counter(set(pick(r, *wanted) for r in rows if r[index["rows_checked"]]))
    if table == "audit_log":
        changes = Counter(
            pick(r, "stage", "entity", "key", "action") for r in rows if r[index["action"]] != "status"
        )
        statuses = Counter(
            set(pick(r, "entity", "key", "action") for r in rows if r[index["action"]] == "status")
        )
        return changes + statuses
    return Counter(set(tuple(_normal(v, home) for v in r) for r in rows))


def _normal(value: Any, home: Path) -> Any:
    if isinstance(value, str):
        return value.replace(str(home), "<home>")
    if isinstance(value, float):
        return round(value, 6)
    return value


def _file_digest(path: Path, home: Path) -> str:
    """A file's content, normalised: PDFs carry the moment they were made, so only their size in
    pages is compared; text files are compared whole with the workspace path taken out."""
    import hashlib

    data = path.read_bytes()
    if path.suffix == ".pdf":
        return f"pdf, {data.count(b'/Type /Page') - data.count(b'/Type /Pages')} page(s)"
    if path.suffix in (".eml",):
        return "eml"
    text = data.decode("utf-8", "replace").replace(str(home), "<home>")
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def outbox_statuses(home: Path) -> dict[str, str]:
    """`<table>/<id>` -> delivery state of every outbox message."""
    import duckdb

    con = duckdb.connect(str(home / "ledger.duckdb"), read_only=True)
    try:
        out = {}
        for table, key in OUTBOX.items():
            for message_id, status in con.execute(f"select {key}, status from {table}").fetchall():
                out[f"{table}/{message_id}"] = status
        return out
    finally:
        con.close()


def provider_references(home: Path) -> dict[str, str]:
    """`<table>/<id>` -> the reference the provider knows the message by (its custom argument)."""
    import duckdb

    con = duckdb.connect(str(home / "ledger.duckdb"), read_only=True)
    try:
        out = {}
        for table, key in OUTBOX.items():
            reference = "invoice_id" if table == "invoice_mails" else key
            for message_id, ref in con.execute(f"select {key}, {reference} from {table}").fetchall():
                out[f"{table}/{message_id}"] = str(ref)
        return out
    finally:
        con.close()


# --------------------------------------------------------------------------------------------
# the harness


@dataclass
class Outcome:
    point: int
    name: str
    ok: bool
    problems: list[str]
    in_doubt: int = 0
    seconds: float = 0.0
    api_refusals: int = 0  # runs the Prefect API refused part-way, run again as their error line says


class Harness:
    def __init__(self, root: Path, prefect_env: dict[str, str]) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.provider = Provider(root)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("O2C_", "PREFECT_"))}
        env.update(prefect_env)
        env.update(
            PYTHONPATH=str(PROJECT),
            DO_NOT_TRACK="1",
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            GX_ANALYTICS_ENABLED="false",
            PREFECT_LOGGING_LEVEL="WARNING",
        )
        self.zygote = Zygote(env)
        self.books: dict[str, Path] = {}
        self.serial = 0

    def close(self) -> None:
        self.zygote.close()
        self.provider.close()

    # -- workspaces ------------------------------------------------------------------------
    def book(self, name: str) -> Path:
        if name not in self.books:
            from tools.generate import generate_book, write_book

            folder = self.root / "books" / name
            write_book(generate_book(as_of=AS_OF, **BOOKS[name]), folder)
            shutil.rmtree(folder / "truth", ignore_errors=True)
            self.books[name] = folder
        return self.books[name]

    def workspace(self, book: str, label: str) -> Path:
        self.serial += 1
        home = self.root / f"{self.serial:04d}-{label}"
        shutil.copytree(self.book(book), home / "inbox")
        return home

    def env(self, home: Path, **extra: str | None) -> dict[str, str | None]:
        return {
            "O2C_HOME": str(home),
            "O2C_MAILER": "sendgrid",
            "SENDGRID_API_KEY": CANARY_KEY,
            "O2C_SENDGRID_HOST": self.provider.host,
            "O2C_MAIL_RATE": "0",
            # One message at a time: a run meets its crash points in one order, so the N-th is the
            # same point in every run (several in flight at once: tests/integration/test_sendgrid.py).
            "O2C_MAIL_CONCURRENCY": "1",
            "O2C_REPORT_RECIPIENTS": "cfo@example.com",
            "O2C_LOCK_TIMEOUT": "900",
            "O2C_CRASH_AT": None,
            "O2C_CRASH_TRACE": None,
            **extra,
        }

    def o2c(self, home: Path, *args: str, **extra: str | None) -> tuple[int | None, str]:
        """Run one `o2c` command in a fork; its exit code and what it wrote to stderr."""
        pid = self.start(home, *args, **extra)
        return self.finish(home, pid)

    def start(self, home: Path, *args: str, **extra: str | None) -> int:
        self.serial += 1
        out, err = home / f"crash-{self.serial}.out", home / f"crash-{self.serial}.err"
        pid = self.zygote.start(list(args), self.env(home, **extra), out, err)
        self._logs = getattr(self, "_logs", {})
        self._logs[pid] = err
        return pid

    def finish(self, home: Path, pid: int) -> tuple[int | None, str]:
        code = self.zygote.wait(pid)
        return code, self._logs.pop(pid).read_text(encoding="utf-8", errors="replace")

    def run_all(self, home: Path, **extra: str | None) -> tuple[int | None, str]:
        return self.o2c(home, "run", "all", "--as-of", AS_OF.isoformat(), **extra)

    def run_all_again(self, home: Path, refused: list[int]) -> tuple[int | None, str]:
        """A re-run, run once more (at most twice) where the Prefect API refused it part-way: the
        SQLite-backed test server answers 503 when its database is locked under load, and o2c's
        one line says to run it again, as a person would. Each such refusal is counted."""
        code, err = self.run_all(home)
        for _ in range(2):
            if code != 1 or API_REFUSED not in err:
                break
            refused.append(1)
            code, err = self.run_all(home)
        return code, err

    # -- the reference -----------------------------------------------------------------------
    def reference(self, book: str) -> tuple[list[str], State]:
        """The points an uninterrupted run meets, in order, and the state it leaves."""
        home = self.workspace(book, f"{book}-reference")
        trace = home / "crash-trace.tsv"
        start = self.provider.mark()
        code, err = self.run_all(home, O2C_CRASH_TRACE=str(trace))
        assert code == 0, f"the uninterrupted run failed ({code}):\n{err[-3000:]}"
        names = [line.split("\t", 1)[1] for line in trace.read_text(encoding="utf-8").splitlines()]
        received = self.provider.received_since(start)
        assert len(received) == len(set(received)), "the uninterrupted run sent a message twice"
        assert set(outbox_statuses(home).values()) <= {"sent"}, outbox_statuses(home)
        return names, read_state(home)

    # -- one point ---------------------------------------------------------------------------
    def crash_at(self, book: str, point: int, name: str, expected: State) -> Outcome:
        began = time.monotonic()
        home = self.workspace(book, f"{book}-point-{point}")
        trace = home / "crash-trace.tsv"
        start = self.provider.mark()
        problems: list[str] = []
        code, err = self.run_all(home, O2C_CRASH_AT=str(point), O2C_CRASH_TRACE=str(trace))
        reached = trace.read_text(encoding="utf-8").splitlines() if trace.exists() else []
        if code != CRASH_EXIT_CODE:
            problems.append(f"the process did not die at point {point} (exit {code}): {err[-500:]}")
        elif not reached or reached[-1].split("\t", 1)[1] != name:
            problems.append(f"it died at {reached[-1] if reached else 'no point'}, not at {name!r}")
        in_doubt = (
            {m for m, s in outbox_statuses(home).items() if s == "sending"}
            if code == CRASH_EXIT_CODE
            else set()
        )
        refused: list[int] = []
        code, err = self.run_all_again(home, refused)
        if code != 0:
            problems.append(f"the re-run failed (exit {code}): {err[-1500:]}")
        if "Traceback" in err:
            problems.append(f"the re-run printed a traceback: {err[-1500:]}")
        statuses = outbox_statuses(home)
        for message in sorted(in_doubt):
            if statuses.get(message) != "unknown":
                problems.append(f"{message} was in doubt and is now {statuses.get(message)!r}, not 'unknown'")
        received = self.provider.received_since(start)
        if in_doubt:
            self._resolve(home, in_doubt, received)
            code, err = self.run_all_again(home, refused)
            if code != 0:
                problems.append(
                    f"the run after resolving the messages in doubt failed (exit {code}): {err[-1500:]}"
                )
            received = self.provider.received_since(start)
        self._settle(home, received, expected, problems)
        seconds = round(time.monotonic() - began, 1)
        return Outcome(point, name, not problems, problems, len(in_doubt), seconds, len(refused))

    def _settle(self, home: Path, received: list[str], expected: State, problems: list[str]) -> None:
        """The last checks of a workspace: no message received twice, the state as `expected`;
        a workspace that passed is removed."""
        twice = [m for m, n in Counter(received).items() if n > 1]
        if twice:
            problems.append(f"sent twice: {twice[:5]}")
        problems += read_state(home).differences(expected)
        if not problems:
            shutil.rmtree(home, ignore_errors=True)

    def _resolve(self, home: Path, in_doubt: set[str], received: list[str]) -> None:
        """What a person does with a message in doubt: asks the provider (here: its record), by the
        reference each message carries there (an invoice e-mail its invoice's number)."""
        got = {m.split("=", 1)[1] for m in received}
        references = provider_references(home)
        for message in sorted(in_doubt):
            message_id = message.split("/", 1)[1]
            verb = "mark-sent" if references[message] in got else "retry"
            code, err = self.o2c(home, "outbox", verb, message_id, "--by", "crash harness")
            assert code == 0, f"o2c outbox {verb} {message_id}: exit {code}: {err[-500:]}"

    # -- double starts -----------------------------------------------------------------------
    def double_start(self, book: str, pair: int, expected: State) -> Outcome:
        began = time.monotonic()
        home = self.workspace(book, f"{book}-pair-{pair}")
        start = self.provider.mark()
        first = self.start(home, "run", "all", "--as-of", AS_OF.isoformat())
        second = self.start(home, "run", "all", "--as-of", AS_OF.isoformat())
        problems = []
        refused: list[int] = []
        for pid in (first, second):
            code, err = self.finish(home, pid)
            if code == 1 and API_REFUSED in err:
                refused.append(1)  # the test server refused it part-way: run again, below
            elif code != 0:
                problems.append(f"a run of the pair failed (exit {code}): {err[-1500:]}")
            if "Traceback" in err:
                problems.append(f"a run of the pair printed a traceback: {err[-1500:]}")
        if refused:
            code, err = self.run_all_again(home, refused)
            if code != 0:
                problems.append(f"the run after a refused one failed (exit {code}): {err[-1500:]}")
        self._settle(home, self.provider.received_since(start), expected, problems)
        seconds = round(time.monotonic() - began, 1)
        return Outcome(pair, "double start", not problems, problems, 0, seconds, len(refused))


def quick_points(names: list[str]) -> list[int]:
    """A point of each kind, for the quick pass: the first of each distinct name among the commits of
    reconcile and remind, the delivery steps and the provider call, the checkpoint publish and the
    report files."""
    wanted = (
        "commit reconcile: publish: before",
        "commit reconcile: publish: after",
        "reminders: ",
        "sendgrid: ",
        "remind: checkpoints validated",
        "report: the JSON written",
    )
    chosen, seen = [], set()
    for number, name in enumerate(names, start=1):
        for prefix in wanted:
            if name.startswith(prefix) and name not in seen:
                chosen.append(number)
                seen.add(name)
    return chosen


@contextmanager
def prefect_server() -> Iterator[dict[str, str]]:
    """Prefect's test server, started once, for the forks to talk to."""
    for name, value in (("DO_NOT_TRACK", "1"), ("PREFECT_SERVER_ANALYTICS_ENABLED", "false")):
        os.environ.setdefault(name, value)
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield {"PREFECT_API_URL": str(PREFECT_API_URL.value())}


def _report(outcome: Outcome, label: str, failures: list[Outcome]) -> None:
    again = (
        f", {outcome.api_refusals} run(s) refused by the Prefect API run again"
        if outcome.api_refusals
        else ""
    )
    print(f"  {'ok  ' if outcome.ok else 'FAIL'} {label} ({outcome.seconds} s{again})", flush=True)
    if not outcome.ok:
        failures.append(outcome)
        for problem in outcome.problems:
            print(f"       {problem}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--books", type=int, default=len(BOOKS), help="how many of the books (1-3)")
    parser.add_argument(
        "--only", action="append", choices=list(BOOKS), help="these books (repeat), instead of --books"
    )
    parser.add_argument("--pairs", type=int, default=50, help="double starts, on the first book")
    parser.add_argument("--points", choices=("all", "quick"), default="all")
    parser.add_argument(
        "--jobs", type=int, default=2, help="workspaces tried at once, each with its own provider"
    )
    parser.add_argument("--keep", type=Path, help="keep workspaces here (default: a temporary folder)")
    options = parser.parse_args(argv)
    root = options.keep or Path(tempfile.mkdtemp(prefix="o2c-crash-"))
    root.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    failures: list[Outcome] = []
    tried = pairs_done = 0
    refusals: list[int] = []
    with prefect_server() as prefect_env:
        harnesses = [
            Harness(root / f"worker-{n}", {**prefect_env, "PREFECT_HOME": str(root / "prefect-home")})
            for n in range(max(1, options.jobs))
        ]
        try:
            free: Queue[Harness] = Queue()
            for harness in harnesses:
                free.put(harness)

            def attempt(job: tuple[str, Any, str | None, State]) -> Outcome:
                harness = free.get()
                try:
                    book, number, name, state = job
                    if name is None:
                        return harness.double_start(book, number, state)
                    return harness.crash_at(book, number, name, state)
                finally:
                    free.put(harness)

            with ThreadPoolExecutor(max_workers=len(harnesses)) as pool:
                books = options.only or list(BOOKS)[: options.books]
                for number, book in enumerate(books):
                    names, expected = harnesses[0].reference(book)
                    points = range(1, len(names) + 1) if options.points == "all" else quick_points(names)
                    print(f"{book}: {len(names)} crash points ({len(set(names))} distinct names)", flush=True)
                    jobs: list[tuple[str, Any]] = [
                        (f"{point:4d} {names[point - 1]}", (book, point, names[point - 1], expected))
                        for point in points
                    ]
                    if number == 0:
                        jobs += [
                            (f"pair {pair}", (book, pair, None, expected))
                            for pair in range(1, options.pairs + 1)
                        ]
                    for (label, job), outcome in zip(
                        jobs, pool.map(attempt, [j for _, j in jobs]), strict=True
                    ):
                        _report(outcome, label, failures)
                        refusals.append(outcome.api_refusals)
                        if job[2] is None:
                            pairs_done += 1
                        else:
                            tried += 1
        finally:
            for harness in harnesses:
                harness.close()
    minutes = (time.monotonic() - began) / 60
    print(
        f"crash points tried: {tried}, double starts: {pairs_done}, failed: {len(failures)},"
        f" in {minutes:.1f} min; runs the Prefect API refused part-way and were run again: {sum(refusals)}"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

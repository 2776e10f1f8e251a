"""The ledger's DuckDB is locked down: on a ledger opened the normal way (`open_ledger`), SQL run
through its connection, a cursor of it, or a ledger opened again inside it cannot read or write a
file, attach another database, install or load an extension, or switch any of that back on; the
only paths DuckDB may touch are the ledger's own files. What needs files still works, because the
code reads and writes them and hands DuckDB frames and Arrow tables: ingest of CSV and Parquet
files, an export (CSV and XLSX), the report stage and the report page, through the `o2c` command.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from cli import app
from tasks.platform.config import PROJECT_ROOT, load_settings
from tasks.platform.ledger import Ledger, open_ledger
from tools.generate import generate_book, write_book

AS_OF = date(2026, 11, 20)
runner = CliRunner()


@pytest.fixture(scope="module")
def ledger_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated ledger with one row in it, shared by the fast tests (each opens it anew)."""
    path = tmp_path_factory.mktemp("lockdown") / "ledger.duckdb"
    with open_ledger(path) as ledger:
        ledger.con.execute(
            "insert into schema_migrations values (9999, 'a row the attacks must not change', now())"
        )
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real files of every kind an attack would read, so a refusal is the lockdown's, not a missing
    file's: a CSV, a Parquet file, a JSON file, another DuckDB database, a folder to export into."""
    folder = tmp_path_factory.mktemp("outside")
    (folder / "secret.csv").write_text("user,password\nroot,hunter2\n", encoding="utf-8")
    pd.DataFrame({"user": ["root"], "password": ["hunter2"]}).to_parquet(folder / "secret.parquet")
    (folder / "secret.json").write_text('[{"user": "root"}]', encoding="utf-8")
    other = duckdb.connect(str(folder / "other.duckdb"))
    other.execute("create table loot as select 'hunter2' as password")
    other.close()
    return {
        "csv": folder / "secret.csv",
        "parquet": folder / "secret.parquet",
        "json": folder / "secret.json",
        "duckdb": folder / "other.duckdb",
        "folder": folder,
    }


@contextmanager
def routes(path: Path) -> Iterator[dict[str, Any]]:
    """Every way SQL reaches the open ledger: its connection, a cursor of it, and the connection of
    a ledger opened again inside it (the writer lock is re-entrant within a thread)."""
    with open_ledger(path) as ledger, ExitStack() as stack:
        cursor = ledger.con.cursor()
        stack.callback(cursor.close)
        nested = stack.enter_context(open_ledger(path))
        yield {"connection": ledger.con, "cursor": cursor, "nested ledger": nested.con}


def settings(con: Any) -> dict[str, Any]:
    return dict(
        con.execute(
            "select name, value from duckdb_settings() where name in ('enable_external_access',"
            " 'lock_configuration', 'autoload_known_extensions', 'autoinstall_known_extensions',"
            " 'allow_unsigned_extensions')"
        ).fetchall()
    )


LOCKED_DOWN = {
    "enable_external_access": "false",
    "lock_configuration": "true",
    "autoload_known_extensions": "false",
    "autoinstall_known_extensions": "false",
    "allow_unsigned_extensions": "false",
}

# (statement with {csv} {parquet} {json} {duckdb} {folder} {out} filled in, file it must not create)
FILE_ACCESS = {
    "read_csv /etc/passwd": "select * from read_csv('/etc/passwd')",
    "read_csv": "select * from read_csv('{csv}')",
    "read_csv_auto": "select * from read_csv_auto('{csv}')",
    "a file named in FROM": "select * from '{csv}'",
    "a file URL": "select * from read_csv('file://{csv}')",
    "read_parquet": "select * from read_parquet('{parquet}')",
    "parquet_metadata": "select * from parquet_metadata('{parquet}')",
    "read_json": "select * from read_json('{json}')",
    "read_text": "select * from read_text('/etc/passwd')",
    "read_blob": "select * from read_blob('{csv}')",
    "sniff_csv": "select * from sniff_csv('{csv}')",
    "glob": "select * from glob('{folder}/*')",
    "http": "select * from read_csv('http://127.0.0.1:9/x.csv')",
    "COPY TO": "copy (select 1 as x) to '{out}.csv'",
    "COPY TO parquet": "copy (select 1 as x) to '{out}.parquet' (format parquet)",
    "COPY a ledger table TO": "copy schema_migrations to '{out}.csv'",
    "COPY FROM": "copy schema_migrations from '{csv}'",
    "EXPORT DATABASE": "export database '{out}'",
    "IMPORT DATABASE": "import database '{folder}'",
    "ATTACH another database": "attach '{duckdb}' as other",
    "ATTACH a new database": "attach '{out}.duckdb' as fresh",
    "ATTACH sqlite": "attach '{out}.sqlite' (type sqlite)",
    "INSTALL httpfs": "install httpfs",
    "FORCE INSTALL httpfs": "force install httpfs",
    "LOAD httpfs": "load httpfs",
    "LOAD a file": "load '{folder}/evil.duckdb_extension'",
    # refused for its folder once; after that DuckDB refuses it for a storage it half-registered
    "a persistent secret": "create persistent secret leak (type s3, key_id 'k', secret 's')",
}
REFUSED = "disabled (by|through) configuration|Secret Storage with name 'memory' already registered"


@pytest.mark.parametrize("statement", list(FILE_ACCESS.values()), ids=list(FILE_ACCESS))
def test_sql_through_the_ledger_cannot_read_or_write_files(
    ledger_path: Path, files: dict[str, Path], statement: str
) -> None:
    out = files["folder"] / "written"
    sql = statement.format(**{k: str(v) for k, v in files.items()}, out=out)
    with routes(ledger_path) as ways:
        for way, con in ways.items():
            with pytest.raises(duckdb.Error, match=REFUSED):
                con.execute(sql).fetchall()
            assert settings(con) == LOCKED_DOWN, way
    written = sorted(p.name for p in files["folder"].iterdir() if p.name.startswith("written"))
    assert written == []
    assert not list(Path.home().glob(".duckdb/stored_secrets/leak*"))


PYTHON_API: dict[str, Callable[[Any, dict[str, Path]], Any]] = {
    "read_csv": lambda con, f: con.read_csv(str(f["csv"])).fetchall(),
    "from_parquet": lambda con, f: con.from_parquet(str(f["parquet"])).fetchall(),
    "read_json": lambda con, f: con.read_json(str(f["json"])).fetchall(),
    "to_csv": lambda con, f: con.sql("select 1 as x").to_csv(str(f["folder"] / "written.csv")),
    "to_parquet": lambda con, f: con.sql("select 1 as x").to_parquet(str(f["folder"] / "written.parquet")),
    "install_extension": lambda con, f: con.install_extension("httpfs"),
    "load_extension": lambda con, f: con.load_extension("httpfs"),
}


@pytest.mark.parametrize("call", list(PYTHON_API.values()), ids=list(PYTHON_API))
def test_the_python_api_of_the_ledger_connection_cannot_reach_files_either(
    ledger_path: Path, files: dict[str, Path], call: Callable[[Any, dict[str, Path]], Any]
) -> None:
    with routes(ledger_path) as ways:
        for con in ways.values():
            with pytest.raises(duckdb.PermissionException, match="disabled"):
                call(con, files)
    assert not [p for p in files["folder"].iterdir() if p.name.startswith("written")]


CONFIGURATION = {
    "SET enable_external_access": "set enable_external_access = true",
    "SET GLOBAL": "set global enable_external_access = true",
    "SET SESSION": "set session enable_external_access = true",
    "RESET enable_external_access": "reset enable_external_access",
    "PRAGMA enable_external_access": "pragma enable_external_access = true",
    "SET lock_configuration": "set lock_configuration = false",
    "RESET lock_configuration": "reset lock_configuration",
    "SET allowed_directories": "set allowed_directories = ['/']",
    "SET allowed_paths": "set allowed_paths = ['/etc/passwd']",
    "SET disabled_filesystems": "set disabled_filesystems = ''",
    "SET autoload_known_extensions": "set autoload_known_extensions = true",
    "SET autoinstall_known_extensions": "set autoinstall_known_extensions = true",
    "SET allow_unsigned_extensions": "set allow_unsigned_extensions = true",
    "SET allow_community_extensions": "set allow_community_extensions = true",
    "SET extension_directory": "set extension_directory = '{folder}'",
    "SET temp_directory": "set temp_directory = '{folder}'",
    "SET profiling_output": "set profiling_output = '{folder}/written.json'",
    "SET enable_profiling": "set enable_profiling = 'json'",
    "PRAGMA enable_profiling": "pragma enable_profiling",
    "enable_logging": "call enable_logging()",
    "SET threads": "set threads = 1",
}


@pytest.mark.parametrize("statement", list(CONFIGURATION.values()), ids=list(CONFIGURATION))
def test_sql_through_the_ledger_cannot_change_its_configuration(
    ledger_path: Path, files: dict[str, Path], statement: str
) -> None:
    sql = statement.format(folder=files["folder"])
    with routes(ledger_path) as ways:
        for way, con in ways.items():
            with pytest.raises(duckdb.InvalidInputException, match="the configuration has been locked"):
                con.execute(sql)
            assert settings(con) == LOCKED_DOWN, way
            with pytest.raises(duckdb.PermissionException):
                con.execute(f"select * from read_csv('{files['csv']}')").fetchall()
    assert not (files["folder"] / "written.json").exists()


def test_the_only_files_duckdb_may_touch_are_the_ledger_s_own(ledger_path: Path) -> None:
    """With external access off DuckDB allows itself the database file, its write-ahead log files
    and its spill folder; nothing else, and nothing outside the ledger's own name."""
    with open_ledger(ledger_path) as ledger:
        rows = dict(
            ledger.con.execute(
                "select name, value from duckdb_settings() where name in ('allowed_paths', 'allowed_directories')"
            ).fetchall()
        )
    allowed = [p.strip() for text in rows.values() for p in str(text).strip("[]").split(",") if p.strip()]
    assert allowed, rows
    assert all(p == str(ledger_path) or p.startswith(f"{ledger_path}.") for p in allowed), allowed


def test_a_ledger_opened_inside_an_open_one_shares_its_lock_and_the_outer_one_goes_on(
    ledger_path: Path,
) -> None:
    with open_ledger(ledger_path) as outer:
        with open_ledger(ledger_path) as inner:
            assert settings(inner.con) == LOCKED_DOWN
            inner.con.register("inner_frame", pd.DataFrame({"x": [1]}))  # the connection is usable
            assert inner.con.execute("select x from inner_frame").fetchall() == [(1,)]
            inner.con.unregister("inner_frame")
        assert settings(outer.con) == LOCKED_DOWN
        rows = outer.con.execute("select count(*) from schema_migrations where version = 9999").fetchall()
        assert rows == [(1,)]


def test_duckdb_cannot_be_opened_beside_the_ledger_with_another_configuration(ledger_path: Path) -> None:
    """While the ledger is open, a plain connection to its file (external access on) is refused
    rather than handed the same database unlocked."""
    with open_ledger(ledger_path):
        configs: list[dict[str, str | bool | int | float | list[str]]] = [
            {},
            {"enable_external_access": True},
            {"lock_configuration": False},
        ]
        for config in configs:
            with pytest.raises(duckdb.ConnectionException, match="different configuration"):
                duckdb.connect(str(ledger_path), config=config)


def test_only_the_ledger_module_opens_duckdb() -> None:
    """Every DuckDB connection of the code is the ledger's, opened by `open_ledger`: no module
    outside the ledger package (tasks/platform/ledger/) imports DuckDB."""
    opened = re.compile(r"\bduckdb\s*\.\s*connect\b|\bfrom\s+duckdb\s+import\b|\bimport\s+duckdb\b")
    elsewhere = [
        str(path.relative_to(PROJECT_ROOT))
        for folder in ("tasks", "flows", "rules", "tools")
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py"))
        if not path.is_relative_to(PROJECT_ROOT / "tasks" / "platform" / "ledger")
        and opened.search(path.read_text(encoding="utf-8"))
    ]
    assert elsewhere == []


def test_frames_and_arrow_tables_still_reach_the_locked_ledger(ledger_path: Path) -> None:
    """How the code hands DuckDB what it read: a registered pandas frame and an Arrow table."""
    with open_ledger(ledger_path) as ledger:
        assert isinstance(ledger, Ledger)
        ledger.con.register("frame_in", pd.DataFrame({"x": [1, 2]}))
        ledger.con.register("arrow_in", pa.table({"y": ["a", "b"]}))
        assert ledger.con.execute("select sum(x) from frame_in").fetchall() == [(3,)]
        assert ledger.con.execute("select string_agg(y, '') from arrow_in").fetchall() == [("ab",)]
        ledger.con.unregister("frame_in")
        ledger.con.unregister("arrow_in")


# --------------------------------------------------------------------------------------------
# what needs files still works, through the `o2c` command


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, f"o2c {' '.join(args)} exited {result.exit_code}:\n{result.output}"
    return result.stdout  # without what was logged


def test_ingest_of_csv_and_parquet_an_export_and_the_report_work_under_the_lockdown(
    home: Path, tmp_path: Path
) -> None:
    book = tmp_path / "book"
    write_book(generate_book(customers=8, invoices=40, seed=5, as_of=AS_OF), book)
    inputs = [book / f"{name}.csv" for name in ("customers", "orders", "order_lines")]
    for name in ("invoices", "payments"):  # Parquet, as a warehouse hands them over
        frame = pd.read_csv(book / f"{name}.csv", dtype=str, keep_default_na=False)
        frame.to_parquet(book / f"{name}.parquet", index=False)
        inputs.append(book / f"{name}.parquet")
    day = AS_OF.isoformat()

    loaded = json.loads(invoke("ingest", *map(str, inputs), "--as-of", day, "--home", str(home), "--json"))
    assert {r["outcome"] for r in loaded} == {"completed"}, loaded
    assert {Path(r["source"]).suffix for r in loaded} == {".csv", ".parquet"}
    invoke("run", "report", "--as-of", day, "--home", str(home))
    report = json.loads(
        invoke(
            "report", "--as-of", day, "--json", "--html", str(tmp_path / "report.html"), "--home", str(home)
        )
    )
    invoke("export", "invoices", "--out", str(tmp_path / "invoices.csv"), "--home", str(home))
    invoke("export", "invoices", "--out", str(tmp_path / "invoices.xlsx"), "--home", str(home))

    invoices = pd.read_parquet(book / "invoices.parquet")
    exported = pd.read_csv(tmp_path / "invoices.csv", dtype=str)
    assert sorted(exported["invoice_id"]) == sorted(invoices["invoice_id"])
    assert pd.read_excel(tmp_path / "invoices.xlsx").shape[0] == len(invoices)
    assert report["currencies"] and "<svg" in (tmp_path / "report.html").read_text(encoding="utf-8")
    assert list((home / "reports").rglob("*")), "the report stage wrote no report files"
    with open_ledger(load_settings(home).ledger_path) as ledger:  # a file, or the working copy
        counts = ledger.counts()
        assert settings(ledger.con) == LOCKED_DOWN
    assert counts["invoices"] == len(invoices) and counts["payments"] == len(
        pd.read_parquet(book / "payments.parquet")
    )

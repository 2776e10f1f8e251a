"""Large evidence files are kept beside a DuckDB ledger file, not in it: the row holds their size and
an empty content, the file is named by its SHA-256 and checked when read; small ones stay in the
table. A copy of the ledger (a shadow run's, a PostgreSQL one) carries them along; a file gone or
changed is one line naming it."""

from __future__ import annotations

import hashlib
import os
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from cli import app
from tasks.platform.ledger import Publication, copy_ledger, open_ledger
from tasks.platform.ledger import postgres as pg_ledger
from tasks.platform.ledger.evidence_files import BESIDE_FROM, EvidenceMissing, folder_of
from tasks.platform.ledger.publish import Publishing
from tests.integration.conftest import new_database

AS_OF = date(2026, 11, 20)
LARGE = b"invoice_id,amount\n" + b"".join(b"INV-%07d,%d.00\n" % (n, n % 997) for n in range(70_000))
SMALL = b"auto_apply_score: 0.9\n"
runner = CliRunner()


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def publish(path: Path, run_id: str, *blobs: bytes) -> None:
    pub = Publication(run_id, "ingest", AS_OF, blobs={digest(b): b for b in blobs})
    pub.evidence = {"files": {f"inputs/{n}": digest(b) for n, b in enumerate(blobs)}, "inputs": []}
    with open_ledger(path) as ledger:
        ledger.publish(pub)


def stored(path: Path) -> dict[str, tuple[int, int]]:
    with open_ledger(path) as ledger:
        rows = ledger.con.execute("select sha256, size, octet_length(content) from evidence_files").fetchall()
    return {sha: (size, held) for sha, size, held in rows}


def test_a_large_file_is_kept_beside_the_ledger_and_read_back_exactly(tmp_path: Path) -> None:
    assert len(LARGE) >= BESIDE_FROM > len(SMALL)
    ledger = tmp_path / "ledger.duckdb"
    publish(ledger, "run-1", LARGE, SMALL)
    rows = stored(ledger)
    assert rows[digest(LARGE)] == (len(LARGE), 0)  # the row holds the size, not the bytes
    assert rows[digest(SMALL)] == (len(SMALL), len(SMALL))  # a small file stays in the table
    beside = folder_of(ledger) / digest(LARGE)[:2] / digest(LARGE)
    assert beside.read_bytes() == LARGE
    assert not (folder_of(ledger) / digest(SMALL)[:2]).exists()
    with open_ledger(ledger) as opened:
        assert opened.evidence_blobs([digest(LARGE), digest(SMALL)]) == {
            digest(LARGE): LARGE,
            digest(SMALL): SMALL,
        }
    written = beside.stat().st_mtime_ns
    publish(ledger, "run-2", LARGE)  # the same content again: stored once, the file left alone
    assert stored(ledger) == rows
    assert beside.stat().st_mtime_ns == written


def test_a_failed_publication_leaves_no_row_and_its_file_is_used_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = tmp_path / "ledger.duckdb"

    def fails(*_: object) -> None:  # the step after the evidence: the whole publication rolled back
        raise RuntimeError("the run's row could not be written")

    with monkeypatch.context() as patched:
        patched.setattr(Publishing, "_write_stage_run", fails)
        with pytest.raises(RuntimeError, match="could not be written"):
            publish(ledger, "run-1", LARGE)
    assert stored(ledger) == {}
    assert (folder_of(ledger) / digest(LARGE)[:2] / digest(LARGE)).exists()  # named by no row: harmless
    publish(ledger, "run-2", LARGE)
    with open_ledger(ledger) as opened:
        assert opened.evidence_blobs([digest(LARGE)]) == {digest(LARGE): LARGE}
        assert opened.con.execute("select first_run_id from evidence_files").fetchall() == [("run-2",)]


def test_a_file_gone_or_changed_is_named(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.duckdb"
    publish(ledger, "run-1", LARGE)
    beside = folder_of(ledger) / digest(LARGE)[:2] / digest(LARGE)
    beside.write_bytes(LARGE.replace(b"INV-0000001,1.00", b"INV-0000001,9.00"))
    with open_ledger(ledger) as opened, pytest.raises(EvidenceMissing, match="its content changed"):
        opened.evidence_blobs([digest(LARGE)])
    beside.unlink()
    with open_ledger(ledger) as opened, pytest.raises(EvidenceMissing, match=f"{beside} is missing"):
        opened.evidence_blobs([digest(LARGE)])


def test_the_audit_pack_of_a_run_whose_file_is_gone_says_which(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings_ledger = home / "ledger.duckdb"
    publish(settings_ledger, "run-1", LARGE)
    with open_ledger(settings_ledger) as opened:  # the run's stage_runs row names the file
        assert opened.con.execute("select count(*) from stage_runs").fetchone() == (1,)
    beside = folder_of(settings_ledger) / digest(LARGE)[:2] / digest(LARGE)
    beside.unlink()
    done = runner.invoke(
        app, ["audit", "pack", "run-1", "--out", str(tmp_path / "pack.zip"), "--home", str(home)]
    )
    assert done.exit_code != 0
    assert f"evidence file {beside} is missing" in done.output
    assert "Traceback" not in done.output


def test_a_copy_of_the_ledger_carries_the_files_beside_it(tmp_path: Path) -> None:
    ledger = tmp_path / "a" / "ledger.duckdb"
    publish(ledger, "run-1", LARGE, SMALL)
    copy = tmp_path / "b" / "shadow.duckdb"
    copy_ledger(ledger, copy)
    with open_ledger(copy) as opened:
        assert opened.evidence_blobs([digest(LARGE)]) == {digest(LARGE): LARGE}
    original = folder_of(ledger) / digest(LARGE)[:2] / digest(LARGE)
    copied = folder_of(copy) / digest(LARGE)[:2] / digest(LARGE)
    assert os.path.samefile(original, copied) or copied.read_bytes() == LARGE


def test_a_copy_to_postgresql_holds_the_content_in_its_table(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.duckdb"
    publish(ledger, "run-1", LARGE, SMALL)
    with new_database() as url:
        pg_ledger.copy_workspace(ledger, url)
        with psycopg.connect(pg_ledger.plain_url(url)) as pg:
            held: dict[str, Any] = dict(pg.execute("select sha256, content from evidence_files").fetchall())
        assert bytes(held[digest(LARGE)]) == LARGE
        assert bytes(held[digest(SMALL)]) == SMALL
    assert stored(ledger)[digest(LARGE)] == (len(LARGE), 0)  # the file's own rows as they were


def test_a_copy_to_postgresql_missing_a_file_keeps_nothing(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.duckdb"
    publish(ledger, "run-1", LARGE)
    (folder_of(ledger) / digest(LARGE)[:2] / digest(LARGE)).unlink()
    with new_database() as url:
        with pytest.raises(pg_ledger.CopyProblem, match="is missing: .*nothing copied"):
            pg_ledger.copy_workspace(ledger, url)
        with psycopg.connect(pg_ledger.plain_url(url)) as pg:
            assert pg.execute(
                "select count(*) from information_schema.tables where table_schema = 'public'"
            ).fetchone() == (0,)

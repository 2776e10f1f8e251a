"""The content of large evidence files, kept beside a DuckDB ledger file instead of inside it.

A run's evidence (tasks/platform/evidence.py) is stored once by content in `evidence_files`. Kept
in a DuckDB file, the input files made each later commit longer by all those kept before it (the
checkpoint at the commit wrote their table again): at 1M invoices ingest's five commits took 0.56
to 2.53 s, and 0.31 to 0.81 s without them; over a year of daily files that grows with everything
ever ingested. So a file of `BESIDE_FROM` bytes or more is written to the folder beside the
ledger (`ledger.evidence/<first two hex digits>/<sha256>`, written whole and moved into place
before the transaction that records it commits) and its row holds an empty content with the
file's real size. Small files (the rules, templates, contracts and mappings) stay in the table.

A file is never changed once written: its name is its SHA-256, and it is checked against it when
read. A crash before the commit leaves a file no row names; the next run that keeps the same
content finds it in place. A PostgreSQL ledger keeps every content in its table (its working copy
has no folder beside it); `o2c ledger copy` fills the content in from the folder as it copies.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

BESIDE_FROM = 1 << 20  # bytes: a file this large or larger is kept beside the ledger


class EvidenceMissing(RuntimeError):
    """An evidence file the ledger names is not beside it, or not as it was kept."""


def folder_of(ledger_path: Path) -> Path:
    """The folder beside the DuckDB ledger file `ledger_path` holding its large evidence files."""
    return ledger_path.with_suffix(".evidence")


def kept_beside(folder: Path | None, content: bytes) -> Path | None:
    """The folder a file of this content is kept in beside the ledger (`folder`, the ledger's), or
    None when it goes into the ledger."""
    return folder if folder is not None and len(content) >= BESIDE_FROM else None


def keep(folder: Path, digest: str, content: bytes) -> None:
    """Write `content` under its `digest` in `folder`, whole or not at all; a file already there
    with the same size is the same content (its name is its hash) and is left as it is."""
    target = _path(folder, digest)
    if target.exists() and target.stat().st_size == len(content):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.writing")
    with partial.open("wb") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, target)


def read(folder: Path | None, digest: str, size: int) -> bytes:
    """The content kept beside the ledger under `digest`, checked against it."""
    if folder is None:
        raise EvidenceMissing(
            f"evidence file {digest} is kept beside a ledger file, and this ledger has none"
        )
    path = _path(folder, digest)
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise EvidenceMissing(
            f"evidence file {path} is missing: the ledger names it ({size:,} bytes); restore the"
            f" folder {folder} from the backup of the ledger"
        ) from None
    if len(content) != size or hashlib.sha256(content).hexdigest() != digest:
        raise EvidenceMissing(f"evidence file {path} is not the file the ledger kept: its content changed")
    return content


def copy_folder(folder: Path, target: Path) -> None:
    """Every file of `folder` in `target` too: linked where the file system allows (the files never
    change), else copied."""
    if not folder.is_dir():
        return
    for source in folder.glob("*/*"):
        if source.name.endswith(".writing"):
            continue
        placed = target / source.parent.name / source.name
        if placed.exists():
            continue
        placed.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, placed)
        except OSError:
            partial = placed.with_name(f"{placed.name}.{os.getpid()}.writing")
            shutil.copyfile(source, partial)
            os.replace(partial, placed)


def _path(folder: Path, digest: str) -> Path:
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"not a SHA-256 in hex: {digest!r}")
    return folder / digest[:2] / digest

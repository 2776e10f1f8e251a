"""Files the product writes beside the ledger (reports, documents, hand-overs): whole or not at all."""

from __future__ import annotations

from pathlib import Path


def write_whole(path: Path, data: bytes | str) -> Path:
    """Write `data` to `path` through `<name>.part` and a rename, so that a crash never leaves half
    a file under the real name (a stale `.part` is overwritten by the next write)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    if isinstance(data, str):
        partial.write_text(data, encoding="utf-8")
    else:
        partial.write_bytes(data)
    partial.replace(path)
    return path

"""The guards against compressed files that would inflate beyond reason (zip bombs).

A compressed file is refused when it would inflate beyond `MAX_INFLATED_BYTES` or beyond
`MAX_INFLATION_RATIO` times its size (below `RATIO_FLOOR_BYTES` inflated any ratio is harmless):
an XLSX workbook or a Parquet file from the sizes it declares, before anything is inflated; a
.csv.gz, whose sizes are not declared, as soon as its inflated bytes pass the limit.
"""

from __future__ import annotations

import gzip
import io
import zipfile

from tasks.ingest.model import SourceRejected

# What a compressed file may inflate to: far beyond any business file (the UCI Online Retail book is
# 48 MB as CSV), far below what would take the machine down. Real tables deflate 5 to 20 times; a
# zip bomb about 1,000 times: above the ratio (and the floor) a file is refused as a bomb.
MAX_INFLATED_BYTES = 512 * 1024 * 1024
MAX_INFLATION_RATIO = 100
RATIO_FLOOR_BYTES = 16 * 1024 * 1024  # smaller than this inflated, any ratio is harmless
MAX_ARCHIVE_MEMBERS = 10_000  # an XLSX workbook holds a few dozen parts


def inflation_limit(compressed: int) -> int:
    """The most bytes a file of `compressed` bytes may inflate to."""
    return min(MAX_INFLATED_BYTES, max(RATIO_FLOOR_BYTES, MAX_INFLATION_RATIO * compressed))


def bomb(compressed: int, inflated: int, exact: bool = False) -> str:
    """The refusal's words for a file that inflates beyond the limits."""
    size = f"{inflated:,} bytes" if exact else f"more than {inflated:,} bytes"
    return (
        f"inflates from {compressed:,} to {size}, beyond the limits"
        f" ({MAX_INFLATED_BYTES:,} bytes, {MAX_INFLATION_RATIO} times its size): a zip bomb or not a business file"
    )


def refuse_declared(name: str, compressed: int, inflated: int) -> None:
    """Refuse a file whose declared inflated size passes the limits."""
    if inflated > inflation_limit(compressed):
        raise SourceRejected(f"{name}: {bomb(compressed, inflated, exact=True)}")


def gunzip(content: bytes, name: str) -> bytes:
    """A .csv.gz inflated, refused once it passes the bomb limits (it is never inflated further)."""
    limit = inflation_limit(len(content))
    chunks, size = [], 0
    with gzip.GzipFile(fileobj=io.BytesIO(content)) as stream:
        while chunk := stream.read(1024 * 1024):
            size += len(chunk)
            if size > limit:
                raise SourceRejected(f"{name}: {bomb(len(content), limit)}")
            chunks.append(chunk)
    return b"".join(chunks)


def check_archive(archive: zipfile.ZipFile, name: str, compressed: int) -> None:
    """Refuse a zip archive (an XLSX workbook) from its declared sizes, before anything is
    inflated: too many parts, too many bytes in all, or one part that inflates like a bomb.
    Python's zipfile never inflates a member beyond its declared size (a member that lies about it
    fails its CRC instead)."""
    members = archive.infolist()
    if len(members) > MAX_ARCHIVE_MEMBERS:
        raise SourceRejected(f"{name}: {len(members):,} parts in the archive; a workbook has a few dozen")
    refuse_declared(name, compressed, sum(m.file_size for m in members))
    for member in members:
        if member.file_size > RATIO_FLOOR_BYTES and member.file_size > MAX_INFLATION_RATIO * max(
            member.compress_size, 1
        ):
            raise SourceRejected(
                f"{name}: part {member.filename} {bomb(member.compress_size, member.file_size, exact=True)}"
            )

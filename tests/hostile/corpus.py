"""The hostile-input corpus: files ingest must refuse (or halt on) with one clear reason.

`manifest.yaml` names every case: its family, the file (committed beside this module, or built by
one of the `BUILDERS` below when it is large, binary by construction or a link), the dataset it
claims to be, the outcome (`refused`: the file is refused whole; `halted`: every row is quarantined,
so the share exceeds the contract's ceiling and nothing is published) and the reason fragment the
message must carry, with the row and column where there is one.

`stage(case, folder, home)` lays a case out in a fresh folder (and workspace) and returns the
arguments of `o2c ingest` for it, so that the CLI test and the in-process test run the same thing.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

CORPUS = Path(__file__).resolve().parent
MANIFEST = CORPUS / "manifest.yaml"
FAMILIES = ("csv", "values", "text", "xlsx", "parquet", "mappings")
OUTCOMES = ("refused", "halted")
BUSINESS_TABLES = ("customers", "invoices", "orders", "order_lines", "payments")


@dataclass(frozen=True)
class Case:
    id: str
    family: str
    dataset: str
    outcome: str
    reason: str
    file: str | None = None  # under tests/hostile/ (committed), or the name a builder writes
    build: str | None = None  # a BUILDERS entry
    mapping: str | None = None  # under tests/hostile/
    mapping_place: str = "workspace"  # workspace, sidecar, outside or argument
    mapping_arg: str | None = None  # for `argument`: the --mapping text as given
    row: int | None = None
    column: str | None = None
    names: str | None = None  # the file the message names (default: the data file)
    representative: bool = False  # also run through the real `o2c` process

    @property
    def named_file(self) -> str:
        return self.names or Path(self.file or "").name


def load_cases() -> list[Case]:
    entries = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return [Case(**entry) for entry in entries]


def stage(case: Case, folder: Path, home: Path) -> list[str]:
    """Lay `case` out under `folder` (its files) and `home` (the workspace); the `o2c ingest`
    arguments that load it, without `--home`."""
    folder.mkdir(parents=True, exist_ok=True)
    (home / "mappings").mkdir(parents=True, exist_ok=True)
    if case.build:
        return BUILDERS[case.build](case, folder, home)
    assert case.file is not None, case.id
    data = folder / Path(case.file).name
    shutil.copyfile(CORPUS / case.file, data)
    return [str(data), *_mapping_args(case, data, folder, home)]


def _mapping_args(case: Case, data: Path, folder: Path, home: Path) -> list[str]:
    if case.mapping_place == "argument":
        return ["--mapping", str(case.mapping_arg)]
    if case.mapping is None:
        return []
    source = CORPUS / case.mapping
    if case.mapping_place == "sidecar":
        shutil.copyfile(source, data.with_name(data.name + ".mapping.yaml"))
        return []
    target = {"workspace": home / "mappings", "outside": folder / "elsewhere"}[case.mapping_place]
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target / source.name)
    return ["--mapping", str(target / source.name)]


# ---------------------------------------------------------------------------------------------------
# Builders: what is too large, binary by construction, or a link, to commit as a file.

CUSTOMERS = "customer_id,name,email,currency\n"
PAYMENTS = "payment_id,value_date,amount,currency\n"


def _name_10mb(case: Case, folder: Path, home: Path) -> list[str]:
    path = folder / "customers_name_10mb.csv"
    path.write_text(CUSTOMERS + "C1," + "A" * (10 * 1024 * 1024) + ",ap@acme.example,EUR\n")
    return [str(path)]


def _gzip_bomb(case: Case, folder: Path, home: Path) -> list[str]:
    """A .csv.gz of about 1 MB that inflates to 1 GiB: one deflated member of 64 MiB of a repeated
    line, written 16 times (gzip members may follow one another)."""
    path = folder / "customers_bomb.csv.gz"
    line = b"C1,Acme,ap@acme.example,EUR\n"
    member = gzip.compress(line * (64 * 1024 * 1024 // len(line)), compresslevel=9)
    path.write_bytes(gzip.compress(CUSTOMERS.encode()) + member * 16)
    return [str(path)]


def _directory(case: Case, folder: Path, home: Path) -> list[str]:
    path = folder / "customers_folder.csv"
    path.mkdir()
    return [str(path)]


def _workbook(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    return buffer.getvalue()


def _payments_workbook() -> bytes:
    return _workbook(
        pd.DataFrame(
            {
                "payment_id": ["P1", "P2"],
                "value_date": ["2026-02-01"] * 2,
                "amount": ["12.50"] * 2,
                "currency": ["EUR"] * 2,
            }
        )
    )


def _xlsx_zip_bomb(case: Case, folder: Path, home: Path) -> list[str]:
    """A real bomb: a workbook whose sheet inflates from about 64 KiB to 64 MiB (ratio ~1000)."""
    path = folder / "payments_zip_bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (64 * 1024 * 1024))
    return [str(path)]


def _xlsx_declared_4gb(case: Case, folder: Path, home: Path) -> list[str]:
    """A tiny workbook whose central directory declares a 4 GiB sheet (a forged size: the reader
    must go by what the archive declares, and refuse before inflating)."""
    path = folder / "payments_declared_4gb.xlsx"
    content = bytearray(_payments_workbook())
    start = content.index(b"PK\x01\x02")
    while start != -1:
        struct.pack_into("<I", content, start + 24, 0xFFFFFFF0)  # uncompressed size
        start = content.find(b"PK\x01\x02", start + 4)
    path.write_bytes(bytes(content))
    return [str(path)]


def _xlsx_overlapping_bomb(case: Case, folder: Path, home: Path) -> list[str]:
    """A bomb of overlapping members (after D. Fifield): 256 central-directory entries all pointing
    at one deflated kernel of 16 MiB, about 16 KiB compressed; 4 GiB once every member is inflated."""
    path = folder / "payments_overlapping.xlsx"
    kernel = b"\0" * (16 * 1024 * 1024)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = compressor.compress(kernel) + compressor.flush()
    crc = zlib.crc32(kernel)
    name = b"xl/worksheets/sheet1.xml"
    local = struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(deflated), len(kernel), len(name), 0
    )
    body = local + name + deflated
    entries = [b"[Content_Types].xml", b"xl/workbook.xml"] + [
        f"xl/worksheets/sheet{n}.xml".encode() for n in range(1, 255)
    ]
    central = b"".join(
        struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            20,
            20,
            0,
            8,
            0,
            0,
            crc,
            len(deflated),
            len(kernel),
            len(entry),
            0,
            0,
            0,
            0,
            0,
            0,
        )
        + entry
        for entry in entries
    )
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), len(body), 0)
    path.write_bytes(body + central + end)
    return [str(path)]


def _xlsx_many_parts(case: Case, folder: Path, home: Path) -> list[str]:
    path = folder / "payments_many_parts.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        for n in range(10_001):
            archive.writestr(f"xl/media/p{n}", b"")
    return [str(path)]


def _xlsx_truncated(case: Case, folder: Path, home: Path) -> list[str]:
    path = folder / "payments_truncated.xlsx"
    content = _payments_workbook()
    path.write_bytes(content[: len(content) // 2])
    return [str(path)]


def _xlsx_zip_not_workbook(case: Case, folder: Path, home: Path) -> list[str]:
    path = folder / "payments_archive.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("readme.txt", "the payments are in the other file")
    return [str(path)]


def _xlsx_duplicate_header(case: Case, folder: Path, home: Path) -> list[str]:
    path = folder / "payments_duplicate_header.xlsx"
    frame = pd.DataFrame([["P1", "2026-02-01", "12.50", "99999.00", "EUR"]])
    frame.columns = ["payment_id", "value_date", "amount", "amount", "currency"]
    path.write_bytes(_workbook(frame))
    return [str(path)]


def _xlsx_header_only(case: Case, folder: Path, home: Path) -> list[str]:
    path = folder / "payments_header_only.xlsx"
    path.write_bytes(_workbook(pd.DataFrame(columns=["payment_id", "value_date", "amount", "currency"])))
    return [str(path)]


def _xlsx_mis_cased_currency(case: Case, folder: Path, home: Path) -> list[str]:
    path = folder / "payments_currency_case.xlsx"
    frame = pd.DataFrame(
        {
            "payment_id": ["P1", "P2", "P3"],
            "value_date": ["2026-02-01"] * 3,
            "amount": ["12.50"] * 3,
            "currency": ["EUr", "eur", "Eur"],
        }
    )
    path.write_bytes(_workbook(frame))
    return [str(path)]


def _xlsx_amount_as_float(case: Case, folder: Path, home: Path) -> list[str]:
    """Amounts typed as numbers in the sheet with more decimals than the currency has."""
    path = folder / "payments_float_amounts.xlsx"
    frame = pd.DataFrame(
        {
            "payment_id": ["P1", "P2", "P3"],
            "value_date": ["2026-02-01"] * 3,
            "amount": [12.345, 0.001, 1.999],
            "currency": ["EUR"] * 3,
        }
    )
    path.write_bytes(_workbook(frame))
    return [str(path)]


def _parquet_name_nul(case: Case, folder: Path, home: Path) -> list[str]:
    path = folder / "customers_name_nul.parquet"
    frame = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3"],
            "name": ["Acme\x00", "Glo\x00bex", "\x00Initech"],
            "currency": ["EUR"] * 3,
        }
    )
    frame.to_parquet(path, index=False)
    return [str(path)]


def _parquet_duplicate_names(case: Case, folder: Path, home: Path) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = folder / "payments_duplicate_columns.parquet"
    table = pa.table(
        [["P1"], ["2026-02-01"], ["12.50"], ["99999.00"], ["EUR"]],
        names=["payment_id", "value_date", "amount", "amount", "currency"],
    )
    pq.write_table(table, path)
    return [str(path)]


def _parquet_renamed_text(case: Case, folder: Path, home: Path) -> list[str]:
    path = folder / "payments_renamed.parquet"
    path.write_text(PAYMENTS + "P1,2026-02-01,12.50,EUR\n")
    return [str(path)]


def _bank(folder: Path) -> Path:
    data = folder / "bank.csv"
    shutil.copyfile(CORPUS / "mappings" / "bank.csv", data)
    return data


def _mapping_link_out(case: Case, folder: Path, home: Path) -> list[str]:
    """A mapping in the workspace that is a link to a valid mapping outside it."""
    outside = folder / "elsewhere" / "bank_good.mapping.yaml"
    outside.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CORPUS / "mappings" / "bank_good.mapping.yaml", outside)
    link = home / "mappings" / "bank.mapping.yaml"
    link.symlink_to(outside)
    return [str(_bank(folder)), "--mapping", str(link)]


def _sidecar_link_to_passwd(case: Case, folder: Path, home: Path) -> list[str]:
    data = _bank(folder)
    data.with_name(data.name + ".mapping.yaml").symlink_to("/etc/passwd")
    return [str(data)]


def _sidecar_link_to_dev_zero(case: Case, folder: Path, home: Path) -> list[str]:
    data = _bank(folder)
    data.with_name(data.name + ".mapping.yaml").symlink_to("/dev/zero")
    return [str(data)]


def _mapping_fifo(case: Case, folder: Path, home: Path) -> list[str]:
    fifo = home / "mappings" / "bank.mapping.yaml"
    os.mkfifo(fifo)
    return [str(_bank(folder)), "--mapping", str(fifo)]


def _mapping_directory(case: Case, folder: Path, home: Path) -> list[str]:
    directory = home / "mappings" / "bank.mapping.yaml"
    directory.mkdir()
    return [str(_bank(folder)), "--mapping", str(directory)]


def _mapping_missing(case: Case, folder: Path, home: Path) -> list[str]:
    return [str(_bank(folder)), "--mapping", str(home / "mappings" / "nothing.mapping.yaml")]


def _mapping_too_large(case: Case, folder: Path, home: Path) -> list[str]:
    big = home / "mappings" / "bank_large.mapping.yaml"
    good = (CORPUS / "mappings" / "bank_good.mapping.yaml").read_text()
    big.write_text(good + ("# padding\n" * 40_000))
    return [str(_bank(folder)), "--mapping", str(big)]


BUILDERS: dict[str, Callable[[Case, Path, Path], list[str]]] = {
    "name_10mb": _name_10mb,
    "gzip_bomb": _gzip_bomb,
    "directory": _directory,
    "xlsx_zip_bomb": _xlsx_zip_bomb,
    "xlsx_declared_4gb": _xlsx_declared_4gb,
    "xlsx_overlapping_bomb": _xlsx_overlapping_bomb,
    "xlsx_many_parts": _xlsx_many_parts,
    "xlsx_truncated": _xlsx_truncated,
    "xlsx_zip_not_workbook": _xlsx_zip_not_workbook,
    "xlsx_duplicate_header": _xlsx_duplicate_header,
    "xlsx_header_only": _xlsx_header_only,
    "xlsx_mis_cased_currency": _xlsx_mis_cased_currency,
    "xlsx_amount_as_float": _xlsx_amount_as_float,
    "parquet_name_nul": _parquet_name_nul,
    "parquet_duplicate_names": _parquet_duplicate_names,
    "parquet_renamed_text": _parquet_renamed_text,
    "mapping_link_out": _mapping_link_out,
    "sidecar_link_to_passwd": _sidecar_link_to_passwd,
    "sidecar_link_to_dev_zero": _sidecar_link_to_dev_zero,
    "mapping_fifo": _mapping_fifo,
    "mapping_directory": _mapping_directory,
    "mapping_missing": _mapping_missing,
    "mapping_too_large": _mapping_too_large,
}


# ---------------------------------------------------------------------------------------------------
# Running a case in-process, and what its message must look like (in-process and from `o2c`).


@dataclass
class Outcome:
    outcome: str  # refused, halted or loaded
    message: str
    batches: list  # the prepared batches (PreparedBatch), up to the one that halted


def ingest_in_process(args: list[str], home: Path) -> Outcome:
    """What `o2c ingest ARGS --home HOME` does before it touches the ledger, without Prefect: the
    flow's `read_sources`, then per source `prepare_batch` against an empty ledger (a fresh
    workspace) and, for a halt, the stage's `halt_message` (the text the CLI prints after `error: `)."""
    from tasks.ingest.canonical import prepare_batch
    from tasks.ingest.model import IngestContext, SourceRejected
    from tasks.ingest.sources import read_sources
    from tasks.platform.stage import halt_message

    paths, mapping = [], None
    given = iter(args)
    for arg in given:
        if arg == "--mapping":
            mapping = next(given)
        else:
            paths.append(arg)
    batches = []
    try:
        sources = read_sources(paths, mapping, None, workspace=home)
    except SourceRejected as exc:
        return Outcome("refused", str(exc), batches)
    for raw in sources:
        batch = prepare_batch(raw, IngestContext())
        batches.append(batch)
        if batch.halted:
            kept = not batch.quarantine.empty
            return Outcome(
                "halted", halt_message("ingest", [batch.checkpoint], quarantine_kept=kept), batches
            )
    return Outcome("loaded", "", batches)


def assert_message(case: Case, message: str) -> None:
    """One clear message: a refusal is one line naming the file (and the row and column where there
    is one); a halt is a line naming the dataset and the file, then at most ten lines of reasons
    (file, row, column, value, rule), one of them pointing at the case's row and column."""
    assert "Traceback" not in message, message
    lines = message.splitlines()
    assert lines, f"{case.id}: no message"
    first = lines[0]
    assert case.named_file in first, f"{case.id}: {case.named_file!r} not named in {first!r}"
    if case.outcome == "refused":
        assert len(lines) == 1, f"{case.id}: a refusal is one line: {message!r}"
        assert case.reason in first, f"{case.id}: {case.reason!r} not in {first!r}"
        if case.row is not None:
            assert f"row {case.row}" in first, f"{case.id}: row {case.row} not in {first!r}"
        if case.column is not None:
            assert case.column in first, f"{case.id}: column {case.column} not in {first!r}"
        return
    assert first.startswith(f"ingest halted, nothing published: {case.dataset} ("), first
    assert "break the contract" in first, first
    listing = lines[1:]
    assert 1 <= len(listing) <= 10, f"{case.id}: {len(listing)} reason lines"
    assert all(line.startswith("  ") for line in listing), listing
    assert any(case.reason in line for line in listing), f"{case.id}: {case.reason!r} not in {listing}"
    if len(listing) == 10:
        assert listing[-1].startswith("  ... and "), listing[-1]
    if case.row is not None and case.column is not None:
        where = f"  {Path(case.file or '').name} row {case.row}: {case.column}: "
        assert any(line.startswith(where) for line in listing), f"{case.id}: no line starts {where!r}"

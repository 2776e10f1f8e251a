"""BAI2 balance reports: every file of the public test corpora is read or refused for a stated reason,
and a hand-written report gives exactly the expected entries and balances."""

from __future__ import annotations

import datetime as dt
import re
import threading
from pathlib import Path

import pytest

from tasks.ingest.bank.bai2 import _minor, read_bai2
from tasks.ingest.bank.model import ENTRY_COLUMNS, Statement, StatementRejected
from tests.unit.statement_checks import assert_refused_for

BANK_STATEMENTS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "bank_statements"
FOLDERS = {
    "ministryofjustice": BANK_STATEMENTS / "bai2_ministryofjustice" / "tests" / "data",
    "moov": BANK_STATEMENTS / "bai2_moov" / "test" / "testdata",
}


def _dataset_files() -> list[str]:
    """Every file of both corpora as "<corpus>/<path inside it>"."""
    found = []
    for corpus, folder in FOLDERS.items():
        if folder.is_dir():
            found += [f"{corpus}/{p.relative_to(folder)}" for p in sorted(folder.rglob("*")) if p.is_file()]
    return found


FILES = _dataset_files()

# Every file we refuse, with the reason the refusal must give. Anything not listed must be read.
REJECTED = {
    # two accounts with neither a balance nor a detail (and no currency anywhere)
    "ministryofjustice/account_trailer_amount_blank_example.bai2": "account 12345 (group/account 1/1) has no "
    "transactions and no balances",
    # meant to fail: record code 00 and dates with slashes
    "moov/errors/sample-parseError.txt": "line 1: '00' is not a BAI2 record code",
    # an 03 record whose summary is split mid-field across 88 continuations
    "moov/sample2.txt": "cannot read line 7 (account identifier, 03): NotSupportedYetException: Type code"
    " '190500000' is not supported yet",
    # several records on one physical line: the 02 hides on line 1, behind the 01
    "moov/sample3.txt": "line 2: account identifier (03) outside a group (no group header, 02, before it)",
    # the account trailer claims 26 records where there are 18 (and a nonsense control total)
    "moov/sample4-continuations-newline-delimited.txt": "cannot read it: IntegrityException: Invalid number "
    "of records for Account. expected 26, found 18",
    "moov/sample5-issue113.txt": "IntegrityException: Invalid number of records for Account. expected 26",
}

# What each readable file holds: per statement (account, currency, opening, closing, entries).
EXPECTED = {
    "ministryofjustice/citi_example.bai2": [("77777777", "GBP", 10000, 10000, 1)],
    "ministryofjustice/nwb_example.bai2": [("88888888 600004", "GBP", 36521, 33845, 5)],
    "ministryofjustice/svb_us_example.bai2": [
        ("1234567890", "USD", 34726979, 35217175, 1),
        ("1234567890", "USD", 35217175, 36122975, 1),
    ],
    "moov/sample1.txt": [("10200123456", "CAD", None, None, 11), ("10200123456", "CAD", None, None, 6)],
}


def _dataset_file(relative: str) -> Path:
    if not FILES:
        pytest.skip(f"BAI2 datasets not found under {BANK_STATEMENTS} (expected ../shared/datasets)")
    corpus, _, inside = relative.partition("/")
    return FOLDERS[corpus] / inside


def test_every_dataset_file_is_listed_as_read_or_rejected() -> None:
    if not FILES:
        pytest.skip(f"BAI2 datasets not found under {BANK_STATEMENTS}")
    assert sorted(set(REJECTED) | set(EXPECTED)) == sorted(FILES)


@pytest.mark.dataset
@pytest.mark.parametrize("relative", FILES or ["<no dataset>"])
def test_every_dataset_file_is_read_or_rejected_for_its_reason(relative: str) -> None:
    path = _dataset_file(relative)
    if relative in REJECTED:
        assert_refused_for(read_bai2, path, REJECTED[relative])
        return
    statements = read_bai2(path)
    for statement in statements:
        _assert_sensible(statement)
    summary = [
        (s.account, s.currency, s.opening_balance_minor, s.closing_balance_minor, len(s.entries))
        for s in statements
    ]
    assert summary == EXPECTED[relative]
    _assert_details_match_the_raw_records(path, statements)


def _assert_sensible(statement: Statement) -> None:
    assert (statement.message_type, statement.version) == ("BAI2", "BAI2")
    assert re.fullmatch(r"[A-Z]{3}", statement.currency or "")
    entries = statement.entries
    assert list(entries.columns) == list(ENTRY_COLUMNS)
    assert str(entries["amount_minor"].dtype) == "int64"
    assert (entries["amount_minor"] > 0).all()
    assert entries["credit_debit"].isin(["CRDT", "DBIT"]).all()
    assert (entries["currency"] == statement.currency).all()
    assert (entries["status"] == "BOOK").all()
    for column in ("booking_date", "value_date"):
        for value in entries[column]:
            assert value is None or dt.date.fromisoformat(value)


def _assert_details_match_the_raw_records(path: Path, statements: list[Statement]) -> None:
    """Type codes and amounts, in order, as the 16 records of the file write them."""
    records = [line.split(",") for line in path.read_text().splitlines() if line.startswith("16,")]
    rows = [row for s in statements for row in s.entries.itertuples()]
    assert [(r.bank_transaction_code, r.amount_minor) for r in rows] == [(f[1], int(f[2])) for f in records]
    for row in rows:
        assert row.credit_debit == ("CRDT" if int(row.bank_transaction_code) < 400 else "DBIT")


# --- hand-written reports ---

REPORT = """\
01,SENDER,RECEIVER,240301,0800,FILE42,,,2/
02,RECEIVER,BANKUS33,1,240229,2400,USD,2/
03,123456789,USD,010,100000,,,015,-112550,,/
16,195,25075,V,240229,,BANKREF1,CUSTREF1,INCOMING WIRE FROM ACME
88,INVOICE INV-2024-001
16,475,237625,0,BANKREF2,CUSTREF2,CHECK PAID 1001/
49,250150,5/
98,250150,1,7/
99,250150,1,9/
"""


def _write(tmp_path: Path, text: str, name: str = "report.bai2") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_report_gives_exactly_the_expected_entries(tmp_path: Path) -> None:
    [statement] = read_bai2(_write(tmp_path, REPORT))
    assert (statement.message_type, statement.version) == ("BAI2", "BAI2")
    assert (statement.statement_id, statement.sequence_number) == ("FILE42", "1/1")
    assert (statement.account, statement.currency) == ("123456789", "USD")
    assert (statement.opening_balance_minor, statement.closing_balance_minor) == (100000, -112550)
    assert statement.created_at == "2024-03-01T08:00:00"
    common = {
        "booking_date": "2024-02-29",
        "currency": "USD",
        "counterparty_name": None,
        "counterparty_account": None,
        "counterparty_bic": None,
        "creditor_reference": None,
        "end_to_end_id": None,
        "status": "BOOK",
    }
    assert statement.entries.to_dict("records") == [
        {
            **common,
            "bank_reference": "BANKREF1",
            "entry_reference": "CUSTREF1",
            "transaction_key": None,
            "value_date": "2024-02-29",
            "amount_minor": 25075,
            "credit_debit": "CRDT",
            "remittance_text": "INCOMING WIRE FROM ACME INVOICE INV-2024-001",
            "bank_transaction_code": "195",
        },
        {
            **common,
            "bank_reference": "BANKREF2",
            "entry_reference": "CUSTREF2",
            "transaction_key": None,
            "value_date": None,
            "amount_minor": 237625,
            "credit_debit": "DBIT",
            "remittance_text": "CHECK PAID 1001",
            "bank_transaction_code": "475",
        },
    ]
    assert [list(statement.entries.columns)] == [list(ENTRY_COLUMNS)]


def test_amounts_count_the_minor_unit_of_the_currency(tmp_path: Path) -> None:
    text = REPORT.replace(",USD,", ",JPY,")
    [statement] = read_bai2(_write(tmp_path, text))
    assert statement.currency == "JPY"
    assert statement.entries["amount_minor"].tolist() == [25075, 237625]  # yen have no minor unit


def test_the_group_currency_is_used_when_the_account_states_none(tmp_path: Path) -> None:
    text = REPORT.replace("03,123456789,USD,", "03,123456789,,").replace(",USD,2/", ",GBP,2/")
    [statement] = read_bai2(_write(tmp_path, text))
    assert statement.currency == "GBP"


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("49,250150,5/", "49,250151,5/", "IntegrityException: Invalid account control total"),
        ("03,123456789,USD,", "03,123456789,,", "states no currency, nor does its group"),
        (",USD,", ",XXX,", "is in unknown currency 'XXX'"),
        (
            "16,475,",
            "16,890,",
            "type code 890 (Contains Non-monetary Information) is not a credit or a debit",
        ),
        ("01,SENDER", "00,SENDER", "line 1: '00' is not a BAI2 record code"),
    ],
)
def test_unreadable_or_incomplete_reports_are_refused(
    tmp_path: Path, old: str, new: str, problem: str
) -> None:
    text = REPORT.replace(old, new)
    if "no currency" in problem:
        text = text.replace(",2400,USD,2/", ",2400,,2/")
    with pytest.raises(StatementRejected, match=re.escape(problem)) as refused:
        read_bai2(_write(tmp_path, text, "bad.bai2"))
    assert str(refused.value).startswith("bad.bai2: ")


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StatementRejected, match=r"^gone\.bai2: file not found$"):
        read_bai2(tmp_path / "gone.bai2")


def test_a_float_amount_is_refused() -> None:
    with pytest.raises(StatementRejected, match="not a whole number"):
        _minor(Path("f.bai2"), 12.5, "USD", "detail 1")


# --- shapes of real files: an empty summary type code, and files cut short (tests/fixtures/bank) ---

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bank"


def _read_within(path: Path, seconds: float = 20) -> list[Statement] | StatementRejected:
    """`read_bai2(path)`, failing the test instead of hanging when the reader does not return."""
    outcome: list[list[Statement] | StatementRejected] = []

    def read() -> None:
        try:
            outcome.append(read_bai2(path))
        except StatementRejected as refused:
            outcome.append(refused)

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"reading {path.name} did not finish in {seconds} s"
    assert outcome, f"reading {path.name} raised something other than StatementRejected"
    return outcome[0]


def test_empty_summary_type_codes_and_amounts_are_read() -> None:
    """`03,987654321,USD,,,,/` (no summary) and `010,,,` (a balance type without its amount) are
    legal BAI2: the first account keeps its balances, the others have none stated."""
    statements = read_bai2(FIXTURES / "bai2_empty_summary_type_code.bai2")
    summary = [
        (s.account, s.opening_balance_minor, s.closing_balance_minor, len(s.entries)) for s in statements
    ]
    assert summary == [
        ("123456789", 100000, 125075, 1),
        ("987654321", None, None, 1),
        ("555555555", None, None, 1),
    ]
    assert [s.entries["amount_minor"].tolist() for s in statements] == [[25075], [5000], [1200]]


def test_a_file_cut_after_a_transaction_detail_is_refused_not_read_for_ever() -> None:
    refused = _read_within(FIXTURES / "bai2_cut_after_detail.bai2")
    assert isinstance(refused, StatementRejected)
    assert str(refused) == (
        "bai2_cut_after_detail.bai2: cut short: the account of line 3 has no account trailer (49);"
        " the file ends at line 4"
    )


def test_a_record_cut_mid_way_is_refused_naming_its_line() -> None:
    assert_refused_for(
        read_bai2,
        FIXTURES / "bai2_cut_in_file_trailer.bai2",
        "line 7 (file trailer, 99) is cut short: it lacks fields its record type must have",
    )


@pytest.mark.parametrize(
    ("keep", "reason"),
    [
        (1, "cut short: there is no file trailer (99); the file ends at line 1"),
        (2, "cut short: the group of line 2 has no group trailer (98); the file ends at line 2"),
        (3, "cut short: the account of line 3 has no account trailer (49); the file ends at line 3"),
        (4, "cut short: the account of line 3 has no account trailer (49); the file ends at line 4"),
        (5, "cut short: the account of line 3 has no account trailer (49); the file ends at line 5"),
        (6, "cut short: the account of line 3 has no account trailer (49); the file ends at line 6"),
        (7, "cut short: the group of line 2 has no group trailer (98); the file ends at line 7"),
        (8, "cut short: there is no file trailer (99); the file ends at line 8"),
    ],
)
def test_a_report_cut_after_any_line_is_refused_naming_what_is_missing(
    tmp_path: Path, keep: int, reason: str
) -> None:
    text = "".join(REPORT.splitlines(keepends=True)[:keep])
    refused = _read_within(_write(tmp_path, text, "cut.bai2"))
    assert isinstance(refused, StatementRejected)
    assert str(refused) == f"cut.bai2: {reason}"


@pytest.mark.parametrize(
    ("cut", "reason"),
    [
        ("16,475,237625,0,BANKREF2,CUSTREF2,CHECK PAID 1001/", "16,475"),  # a detail without its amount
        ("49,250150,5/", "49,"),
        ("98,250150,1,7/", "98,250150"),
    ],
)
def test_a_record_cut_inside_is_refused_naming_its_line(tmp_path: Path, cut: str, reason: str) -> None:
    line = REPORT.splitlines().index(cut) + 1
    refused = _read_within(_write(tmp_path, REPORT.replace(cut, reason), "cut.bai2"))
    assert isinstance(refused, StatementRejected)
    message = str(refused)
    assert message.startswith(f"cut.bai2: line {line} (") and "is cut short" in message, message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (
            "02,RECEIVER",
            "88,RECEIVER",
            "line 3: account identifier (03) outside a group",
        ),  # 88 continues the 01
        ("03,123456789", "16,123456789", "line 3: transaction detail (16) outside an account"),
        ("98,250150,1,7/", "49,250150,5/\n98,250150,1,7/", "line 8: account trailer (49) outside an account"),
        (
            "99,250150,1,9/",
            "99,250150,1,9/\n02,X,Y,1,240229,2400,USD,2/",
            "line 10: group header (02) after the file trailer",
        ),
        ("01,SENDER", "88,SENDER", "line 1: continuation (88) continues no record"),
    ],
)
def test_records_out_of_place_are_refused_naming_the_line(
    tmp_path: Path, old: str, new: str, reason: str
) -> None:
    assert_refused_for(read_bai2, _write(tmp_path, REPORT.replace(old, new), "bad.bai2"), reason)

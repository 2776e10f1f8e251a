"""BAI2 balance reports: every file of the public test corpora is read or refused for a stated reason,
and a hand-written report gives exactly the expected entries and balances."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from tasks.bank.bai2 import _minor, read_bai2
from tasks.bank.model import ENTRY_COLUMNS, Statement, StatementRejected
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
    "moov/errors/sample-parseError.txt": "cannot read it: ValueError: '00' is not a valid RecordCode",
    # an 03 record whose summary is split mid-field across 88 continuations
    "moov/sample2.txt": "cannot read it: NotSupportedYetException: Type code '190500000' is not supported yet",
    # several records on one physical line
    "moov/sample3.txt": "cannot read it: ValueError: invalid literal for int() with base 10",
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
        ("01,SENDER", "00,SENDER", "the bai2 library cannot read it"),
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

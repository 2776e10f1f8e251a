"""MT940/MT942 statements: every file of the public test corpus is read or refused for a stated reason,
and hand-written statements give exactly the expected entries and balances."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from tasks.ingest.bank.model import ENTRY_COLUMNS, Statement, StatementRejected
from tasks.ingest.bank.mt940 import _minor, read_mt940
from tasks.platform.money import to_minor
from tests.unit.statement_checks import assert_refused_for

BANK_STATEMENTS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "bank_statements"
MT940_ROOT = BANK_STATEMENTS / "mt940_wolph" / "mt940_tests"
NOT_STATEMENTS = {".yml", ".yaml", ".json"}
FILES = (
    sorted(
        str(path.relative_to(MT940_ROOT))
        for path in MT940_ROOT.rglob("*")
        if path.is_file() and path.suffix not in NOT_STATEMENTS and path.name != "LICENSE"
    )
    if MT940_ROOT.is_dir()
    else []
)

_NO_STATEMENT = "no statement in it (no :20: transaction reference)"
_EMPTY = "has no transactions and no balances"
# Every file we refuse, with the reason the refusal must give. Anything not listed must be read.
REJECTED = {
    "betterplace/amount_formats.sta": _NO_STATEMENT,  # six bare :60F: lines
    "betterplace/currency_in_25.sta": _NO_STATEMENT,  # a lone :25:
    "betterplace/empty_86.sta": _NO_STATEMENT,
    "betterplace/empty_entry_date.sta": _NO_STATEMENT,  # a lone :61:
    "betterplace/empty_line.sta": _EMPTY,  # only :20:
    "betterplace/missing_crlf_at_end.sta": _NO_STATEMENT,  # a lone :62F:
    "citi/mt940.txt": "entry 3 has a zero amount",  # Citi reports BAI balance codes as 0,00 :61: lines
    "cmxl/account_balance_credit.sta": _NO_STATEMENT,
    "cmxl/account_balance_debit.sta": _NO_STATEMENT,
    "cmxl/account_identification_iban.sta": _NO_STATEMENT,
    "cmxl/account_identification_legacy.sta": _NO_STATEMENT,
    "cmxl/available_balance.sta": _NO_STATEMENT,
    "cmxl/closing_balance.sta": _NO_STATEMENT,
    "cmxl/mt940.sta": "statement 131110 27/01 is in unknown currency 'DEM'",  # Deutsche Mark, retired
    "cmxl/reference.sta": _EMPTY,
    "cmxl/statement_details.sta": _NO_STATEMENT,
    "cmxl/statement_line.sta": _NO_STATEMENT,
    "cmxl/statement_number.sta": _NO_STATEMENT,
    "self-provided/account_identification.sta": _EMPTY,
    "self-provided/empty_non_swift.sta": _NO_STATEMENT,
    # a statement cut after its second :61: (no :62F:): its payments cannot be checked
    "self-provided/gv_codes.sta": "statement STARTUMS 0 has no closing balance (:62F: or :62M:)",
    "self-provided/invalid_statement.sta": _NO_STATEMENT,  # numbers 1..n, not MT940
    # a :62M: without its currency ("C020315105000,00"), which the library read as currency "105"
    "self-provided/raphaelm.sta": "statement 1 (:20:STARTUMS): :62M: balance 'C020315105000,00' is not a D/C mark",
    "self-provided/sparkassen.sta": _NO_STATEMENT,  # :61:/:86: only
}


def _dataset_file(relative: str) -> Path:
    if not FILES:
        pytest.skip(
            f"MT940 dataset not found at {MT940_ROOT} (expected ../shared/datasets beside the project)"
        )
    return MT940_ROOT / relative


def test_the_rejection_list_names_only_files_that_exist() -> None:
    if not FILES:
        pytest.skip(f"MT940 dataset not found at {MT940_ROOT}")
    assert sorted(set(REJECTED) - set(FILES)) == []


@pytest.mark.dataset
@pytest.mark.parametrize("relative", FILES or ["<no dataset>"])
def test_every_dataset_file_is_read_or_rejected_for_its_reason(relative: str) -> None:
    path = _dataset_file(relative)
    if relative in REJECTED:
        assert_refused_for(read_mt940, path, REJECTED[relative])
        return
    statements = read_mt940(path)
    assert statements
    for statement in statements:
        _assert_sensible(statement)
    expected = path.with_suffix(".yml")
    if expected.is_file():
        _assert_matches_library_expectation(statements, _load_expectation(expected))


@pytest.mark.dataset
@pytest.mark.parametrize("name", ["mt940.txt", "mt940_with_spaces_for_entry_date.txt"])
def test_asn_bank_files_are_read_in_their_dialect(name: str) -> None:
    path = _dataset_file(f"ASNB/{name}")
    statements = read_mt940(path, dialect="asnb")
    assert len(statements) == 31
    for statement in statements:
        _assert_sensible(statement)
    first = statements[0]
    assert (first.opening_balance_minor, first.closing_balance_minor) == (44429, 37929)
    entry = first.entries.iloc[0]
    assert (entry.amount_minor, entry.credit_debit) == (6500, "DBIT")
    assert (entry.counterparty_account, entry.counterparty_name) == (
        "NL47INGB9999999999",
        "hr gjlm paulissen",
    )
    assert entry.entry_reference is None
    assert sum(len(s.entries) for s in statements) == 8


@pytest.mark.dataset
@pytest.mark.parametrize("name", ["mt940.txt", "mt940_with_spaces_for_entry_date.txt"])
def test_asn_bank_files_read_the_same_without_naming_the_dialect(name: str) -> None:
    """ASN is one of the Volksbank banks (ASN, SNS, RegioBank): known by the account, their layout
    (IBAN as customer reference, name on the second line) needs no dialect (ingest names none)."""
    path = _dataset_file(f"ASNB/{name}")
    plain, dialect = read_mt940(path), read_mt940(path, dialect="asnb")
    assert len(plain) == len(dialect) == 31
    for one, other in zip(plain, dialect, strict=True):
        assert one.entries.to_dict("records") == other.entries.to_dict("records")
        assert (one.opening_balance_minor, one.closing_balance_minor) == (
            other.opening_balance_minor,
            other.closing_balance_minor,
        )


@pytest.mark.dataset
def test_rabobank_second_line_accounts_in_the_dataset_are_kept() -> None:
    statements = read_mt940(_dataset_file("jejik/rabobank-iban.sta"))
    accounts = [s.entries["counterparty_account"].tolist() for s in statements]
    assert accounts == [["NL70ABNA0987654321", "P001234567"]] * 2


@pytest.mark.dataset
def test_rabobank_old_dotted_accounts_lose_their_currency() -> None:
    statements = read_mt940(_dataset_file("jejik/rabobank.sta"))
    assert [s.account for s in statements] == ["1291.99.348"] * 3 + ["1526.89.184"]
    assert {s.currency for s in statements} == {"EUR"}


def _assert_sensible(statement: Statement) -> None:
    assert statement.message_type in ("MT940", "MT942")
    assert statement.version == statement.message_type
    assert re.fullmatch(r"[A-Z]{3}", statement.currency or "")
    entries = statement.entries
    assert list(entries.columns) == list(ENTRY_COLUMNS)
    assert str(entries["amount_minor"].dtype) == "int64"
    assert (entries["amount_minor"] > 0).all()
    assert entries["credit_debit"].isin(["CRDT", "DBIT"]).all()
    assert entries["currency"].str.fullmatch(r"[A-Z]{3}").all()
    assert (entries["status"] == "BOOK").all()
    for column in ("booking_date", "value_date"):
        for value in entries[column]:
            assert value is None or dt.date.fromisoformat(value)
    assert entries["value_date"].notna().all()


# --- the library's own expected output (YAML of pickled objects) read without running any code ---


class _PlainLoader(yaml.SafeLoader):
    """Reads `!!python/...` tags as plain mappings and lists instead of building the objects."""


def _plain(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Iterator[Any]:
    if isinstance(node, yaml.MappingNode):
        mapping: dict[Any, Any] = {}
        yield mapping
        mapping.update(loader.construct_mapping(node))
    elif isinstance(node, yaml.SequenceNode):
        items: list[Any] = []
        yield items
        items.extend(loader.construct_sequence(node))
    else:
        yield loader.construct_scalar(node)  # type: ignore[arg-type]


_PlainLoader.add_multi_constructor("tag:yaml.org,2002:python/", _plain)


def _load_expectation(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_PlainLoader)  # noqa: S506 - safe loader subclass


def _minor_of(amount: dict[str, Any], *, signed: bool) -> int:
    value = Decimal(amount["amount"][0])
    return to_minor(value if signed else abs(value), amount["currency"])


def _assert_matches_library_expectation(statements: list[Statement], expected: dict[str, Any]) -> None:
    """Same entries (count, amount, value date) and the balances the library's test output states."""
    entries = pd.concat([s.entries for s in statements], ignore_index=True)
    transactions = [t["data"] for t in expected.get("transactions", [])]
    assert len(entries) == len(transactions)
    for (_, entry), data in zip(entries.iterrows(), transactions, strict=True):
        assert entry.amount_minor == _minor_of(data["amount"], signed=False)
        packed = data["date"][0]  # pickled date: year (2 bytes), month, day
        assert entry.value_date == dt.date(packed[0] * 256 + packed[1], packed[2], packed[3]).isoformat()
    opening = {s.opening_balance_minor for s in statements}
    closing = {s.closing_balance_minor for s in statements}
    for key, balance in expected.get("data", {}).items():
        if key.endswith("_balance") and isinstance(balance, dict) and "opening" in key:
            assert _minor_of(balance["amount"], signed=True) in opening, key
        elif key.endswith("closing_balance") and isinstance(balance, dict):
            assert _minor_of(balance["amount"], signed=True) in closing, key


# --- hand-written statements ---

SEPA_STATEMENT = """\
:20:STMT-0001
:25:DE89370400440532013000
:28C:00042/001
:60F:C240301EUR1000,00
:61:2403010301CR250,75NTRFNONREF//BANKREF-1
:86:166?00SEPA-GUTSCHRIFT?109310?20EREF+E2E-42?21SVWZ+Invoice INV-2024-0
?2201?23KREF+CUST-REF-9?30COBADEFFXXX?31DE02120300000000202051?32ACME
?33 GMBH
:61:2403020302DD100,25NMSCCARD-77//BANKREF-2
:86:Card payment coffee
shop Berlin
:62F:C240302EUR1150,50
-
"""


def _write(tmp_path: Path, text: str, name: str = "statement.sta") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_sepa_statement_gives_exactly_the_expected_entries(tmp_path: Path) -> None:
    [statement] = read_mt940(_write(tmp_path, SEPA_STATEMENT))
    assert (statement.message_type, statement.version) == ("MT940", "MT940")
    assert (statement.statement_id, statement.sequence_number) == ("STMT-0001", "00042/001")
    assert (statement.account, statement.currency) == ("DE89370400440532013000", "EUR")
    assert (statement.opening_balance_minor, statement.closing_balance_minor) == (100000, 115050)
    assert statement.created_at is None
    assert statement.entries.to_dict("records") == [
        {
            "bank_reference": "BANKREF-1",
            "entry_reference": "CUST-REF-9",
            "transaction_key": None,
            "booking_date": "2024-03-01",
            "value_date": "2024-03-01",
            "amount_minor": 25075,
            "currency": "EUR",
            "credit_debit": "CRDT",
            "counterparty_name": "ACME GMBH",
            "counterparty_account": "DE02120300000000202051",
            "counterparty_bic": "COBADEFFXXX",
            "creditor_reference": None,
            "end_to_end_id": "E2E-42",
            "remittance_text": "Invoice INV-2024-001",
            "bank_transaction_code": "NTRF",
            "status": "BOOK",
        },
        {
            "bank_reference": "BANKREF-2",
            "entry_reference": "CARD-77",
            "transaction_key": None,
            "booking_date": "2024-03-02",
            "value_date": "2024-03-02",
            "amount_minor": 10025,
            "currency": "EUR",
            "credit_debit": "DBIT",
            "counterparty_name": None,
            "counterparty_account": None,
            "counterparty_bic": None,
            "creditor_reference": None,
            "end_to_end_id": None,
            "remittance_text": "Card payment coffee shop Berlin",
            "bank_transaction_code": "NMSC",
            "status": "BOOK",
        },
    ]


def test_balances_are_signed_credit_positive_debit_negative(tmp_path: Path) -> None:
    text = (
        ":20:NEG\n:25:NL91ABNA0417164300\n:28C:7\n:60F:D240301EUR500,00\n"
        ":61:240301C600,00NTRFNONREF\n:62F:C240301EUR100,00\n"
        ":20:NEG2\n:25:NL91ABNA0417164300\n:28C:8\n:60F:C240302EUR100,00\n"
        ":61:240302RC150,00NTRFNONREF\n:62F:D240302EUR50,00\n"
    )
    first, second = read_mt940(_write(tmp_path, text))
    assert (first.opening_balance_minor, first.closing_balance_minor) == (-50000, 10000)
    assert (second.opening_balance_minor, second.closing_balance_minor) == (10000, -5000)
    assert second.entries["credit_debit"].tolist() == ["DBIT"]  # RC: a credit reversed, money out
    assert first.entries["entry_reference"].tolist() == [None]  # NONREF means there is none


def test_the_statement_line_reference_wins_over_kref(tmp_path: Path) -> None:
    text = SEPA_STATEMENT.replace("NTRFNONREF//BANKREF-1", "NTRFINV-2024-001//BANKREF-1")
    [statement] = read_mt940(_write(tmp_path, text))
    assert statement.entries["entry_reference"].tolist() == ["INV-2024-001", "CARD-77"]


def test_swift_structured_details_are_read(tmp_path: Path) -> None:
    text = (
        ":20:940S130101\n:25:NL71RABO0123456789 EUR\n:28C:0\n:60F:C130101EUR1000,00\n"
        ":61:130101D25,00N102EREF\n"
        ":86:/EREF/E2E-7/BENM//NAME/CONTRA ACCOUN\nT HOLDER/IBAN/NL02ABNA0123456789/BIC/ABNANL2A"
        "/REMI/STRD/CUR/1234567890123456/\n:62F:C130101EUR975,00\n"
    )
    [statement] = read_mt940(_write(tmp_path, text))
    entry = statement.entries.iloc[0]
    assert entry.counterparty_name == "CONTRA ACCOUNT HOLDER"
    assert (entry.counterparty_account, entry.counterparty_bic) == ("NL02ABNA0123456789", "ABNANL2A")
    assert (entry.end_to_end_id, entry.creditor_reference) == ("E2E-7", "1234567890123456")
    assert entry.remittance_text is None


def test_an_interim_report_is_mt942_with_its_creation_time(tmp_path: Path) -> None:
    text = (
        ":20:INTRADAY-1\n:25:PL29114010810000267002001002\n:28C:1/1\n:34F:PLN0,\n:13D:1701191815+0100\n"
        ":61:1701190119CN0,01NTRFNONREF//MB1\n:86:SPLIT PAYMENT\n:90C:1PLN0,01\n"
    )
    [statement] = read_mt940(_write(tmp_path, text))
    assert (statement.message_type, statement.currency) == ("MT942", "PLN")
    assert statement.created_at == "2017-01-19T18:15:00+01:00"
    assert (statement.opening_balance_minor, statement.closing_balance_minor) == (None, None)
    assert statement.entries["amount_minor"].tolist() == [1]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("hello\n", "no statement in it"),
        (":20:X\n:25:1\n:28C:1\n", "statement X 1 has no transactions and no balances"),
        (":20:X\n:25:1\n:28C:1\n:61:240301C1,00NTRFNONREF\n", "states no currency"),
        (":20:X\n:25:1\n:28C:1\n:60F:C240301XXX1,00\n:62F:C240301XXX1,00\n", "unknown currency 'XXX'"),
        (":20:X\n:25:1\n:28C:1\n:60F:C240301JPY1,50\n", "more than 0 decimals for JPY"),
        (":20:X\n:25:1\n:28C:1\n:60F:C240301EUR1,00\n:62F:C240301USD1,00\n", "is in 'USD', the statement"),
        (
            ":20:X\n:25:1\n:61:24030\n",
            "statement 1 (:20:X): the mt940 library cannot read it: its :61: field '24030'",
        ),
        (
            ":20:X\n:25:1\n:28C:1\n:60F:C240301EUR1.000,00\n",
            ":60F: balance 'C240301EUR1.000,00' is not a D/C mark",
        ),
        (":20:X\n:25:1\n:28C:1\n:60F:C240301EUR10,00\n:61:240301C1.5,00NTRFNONREF\n", "its :61: field"),
        (":20:X\n:25:1\n:28C:1\n:60F:C240301EUR10,00\n:61:240301C1e3NTRFNONREF\n", "its :61: field"),
    ],
)
def test_incomplete_or_unreadable_statements_are_refused(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(StatementRejected, match=re.escape(problem)) as refused:
        read_mt940(_write(tmp_path, text, "bad.sta"))
    assert str(refused.value).startswith("bad.sta: ")


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StatementRejected, match=r"^gone\.sta: file not found$"):
        read_mt940(tmp_path / "gone.sta")


def test_a_float_amount_is_refused() -> None:
    with pytest.raises(StatementRejected, match="not an exact decimal"):
        _minor(Path("f.sta"), 1.5, "EUR", "entry 1")


def test_an_unknown_dialect_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown MT940 dialect"):
        read_mt940(_write(tmp_path, SEPA_STATEMENT), dialect="nope")


# --- bank shapes the readers must take as the banks send them (fixtures in tests/fixtures/bank) ---

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bank"


def test_ing_wrapped_statement_number_long_reference_and_glued_currency() -> None:
    [statement] = read_mt940(FIXTURES / "mt940_ing.sta")
    assert (statement.account, statement.currency) == ("NL69INGB0123456789", "EUR")
    assert statement.sequence_number == "00306/001"  # `:28C:00306/` + `001` on the next line
    assert (statement.opening_balance_minor, statement.closing_balance_minor) == (100000, 113000)
    first, second = statement.entries.to_dict("records")
    assert first["entry_reference"] == "EV12341REP1231456T1234"  # 22 characters, SWIFT allows 16
    assert (first["bank_reference"], first["amount_minor"], first["credit_debit"]) == (
        "00000000001005",
        15000,
        "CRDT",
    )
    assert (first["counterparty_account"], first["counterparty_name"]) == ("NL91ABNA0417164300", "ACME BV")
    assert first["remittance_text"] == "INV-2026-000001"
    assert (second["entry_reference"], second["counterparty_account"]) == (
        "PREF",
        None,
    )  # /TRCD/ is no account


def test_sns_iban_as_customer_reference_is_the_payer() -> None:
    [statement] = read_mt940(FIXTURES / "mt940_sns.sta")
    assert (statement.account, statement.sequence_number) == ("NL12SNSB0123456789", "42/1")
    [entry] = statement.entries.to_dict("records")
    assert (entry["counterparty_account"], entry["counterparty_name"]) == ("NL91ABNA0417164300", "acme bv")
    assert (entry["amount_minor"], entry["credit_debit"], entry["entry_reference"]) == (25000, "CRDT", None)


def test_rabobank_old_layout_keeps_the_second_line_account_as_the_payer() -> None:
    [statement] = read_mt940(FIXTURES / "mt940_rabobank_old.sta")
    assert (statement.account, statement.currency) == ("NL44RABO0123456789", "EUR")
    entries = statement.entries
    assert entries["counterparty_account"].tolist() == ["NL91ABNA0417164300", "P001234567"]
    assert entries["counterparty_name"].tolist() == ["ACME BV", "J JANSEN"]
    assert entries["entry_reference"].tolist() == ["EREF", None]


def test_a_statement_cut_before_its_closing_balance_is_refused() -> None:
    assert_refused_for(
        read_mt940,
        FIXTURES / "mt940_cut_before_closing_balance.sta",
        "statement STMT-2026-11-02 00306/001 has no closing balance (:62F: or :62M:)",
    )


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("00306/001", "00306/001"),
        ("00306/\n001", "00306/001"),
        ("00306\n/001", "00306/001"),
        ("003\n06/001", "00306/001"),
        ("42", "42"),
    ],
)
def test_a_statement_number_wrapped_over_lines_is_read(tmp_path: Path, written: str, expected: str) -> None:
    text = SEPA_STATEMENT.replace(":28C:00042/001", f":28C:{written}")
    [statement] = read_mt940(_write(tmp_path, text))
    assert statement.sequence_number == expected


@pytest.mark.parametrize(
    ("line", "reference", "bank_reference", "extra"),
    [
        # ING: an end-to-end id of 22 characters, the bank reference, /TRCD/ on the second line
        (
            "C1,56NTRFEV12341REP1231456T1234//00000000001005\n/TRCD/00100/",
            "EV12341REP1231456T1234",
            "00000000001005",
            "/TRCD/00100/",
        ),
        # 34 characters, no bank reference, a second line
        (
            "C1,56NTRF1234567890123456789012345678901234\nsecond line",
            "1234567890123456789012345678901234",
            None,
            "second line",
        ),
        # Rabobank's old layout: a reference padded to 16, the name on the same line (unchanged)
        ("C1,56N0440121470966      W.P. Jansen", "0121470966", None, "W.P. Jansen"),
        ("C1,56NTRFNONREF//B1", None, "B1", None),
    ],
)
def test_a_long_customer_reference_is_read_whole(
    tmp_path: Path, line: str, reference: str | None, bank_reference: str | None, extra: str | None
) -> None:
    text = (
        ":20:REF\n:25:NL69INGB0123456789\n:28C:1\n:60F:C261101EUR0,00\n"
        f":61:2611021102{line}\n:86:details\n:62F:C261102EUR1,56\n"
    )
    [statement] = read_mt940(_write(tmp_path, text))
    [entry] = statement.entries.to_dict("records")
    assert (entry["entry_reference"], entry["bank_reference"], entry["amount_minor"]) == (
        reference,
        bank_reference,
        156,
    )
    assert entry["counterparty_account"] is None  # none of these second lines is an account
    assert extra is None or extra not in (entry["entry_reference"] or "")


@pytest.mark.parametrize(
    ("written", "account"),
    [
        ("NL44RABO0123456789EUR", "NL44RABO0123456789"),
        ("NL44RABO0123456789 EUR", "NL44RABO0123456789"),
        ("1291.99.348EUR", "1291.99.348"),
        ("NL44RABO0123456789", "NL44RABO0123456789"),
        ("44550045/0000177352", "44550045/0000177352"),
        ("SC18SSCB11010000000000001497USD", "SC18SSCB11010000000000001497USD"),  # a valid IBAN as written
    ],
)
def test_the_currency_glued_to_the_account_is_split_off(tmp_path: Path, written: str, account: str) -> None:
    currency = "USD" if written.startswith("SC") else "EUR"
    text = SEPA_STATEMENT.replace(":25:DE89370400440532013000", f":25:{written}").replace("EUR", currency)
    [statement] = read_mt940(_write(tmp_path, text))
    assert (statement.account, statement.currency) == (account, currency)


def test_an_account_currency_other_than_the_balances_is_refused(tmp_path: Path) -> None:
    text = SEPA_STATEMENT.replace(":25:DE89370400440532013000", ":25:NL44RABO0123456789USD")
    assert_refused_for(
        read_mt940,
        _write(tmp_path, text, "bad.sta"),
        "statement STMT-0001 00042/001: account NL44RABO0123456789 is in USD (:25:), its balances in EUR",
    )


@pytest.mark.parametrize(
    ("second_line", "account"),
    [
        ("NL91ABNA0417164300", "NL91ABNA0417164300"),  # a valid IBAN: the account, whatever the bank
        ("NL00ABNA0417164300", None),  # wrong check digits, and not Rabobank: not taken
        ("P001234567", None),  # a giro number outside a Rabobank statement: not taken
        ("ACME BV", None),
    ],
)
def test_a_second_line_is_an_account_only_when_it_is_one(
    tmp_path: Path, second_line: str, account: str | None
) -> None:
    text = SEPA_STATEMENT.replace("NTRFNONREF//BANKREF-1", f"NTRFNONREF//BANKREF-1\n{second_line}").replace(
        "?31DE02120300000000202051", ""
    )
    [statement] = read_mt940(_write(tmp_path, text))
    assert statement.entries["counterparty_account"].tolist()[0] == account


def test_a_refusal_leaves_the_library_silent(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The library logs its regular expressions at ERROR level for every tag it cannot match; none
    of that may reach a handler (the terminal, Prefect's log) beside the one-line refusal."""
    caplog.set_level(logging.DEBUG)
    with pytest.raises(
        StatementRejected,
        match=r"^bad\.sta: statement 1 \(:20:X\): the mt940 library cannot read it: its :61:",
    ):
        read_mt940(_write(tmp_path, ":20:X\n:25:1\n:28C:1\n:60F:C240301EUR1,00\n:61:24030\n", "bad.sta"))
    assert [r for r in caplog.records if r.name.startswith("mt940")] == []


def test_a_refusal_prints_nothing_in_a_fresh_interpreter(tmp_path: Path) -> None:
    """Where no logging is configured, Python's last-resort handler would print the library's
    ERROR records to stderr: a fresh interpreter shows what a terminal would."""
    import subprocess
    import sys

    bad = _write(tmp_path, ":20:X\n:25:1\n:28C:1\n:60F:C240301EUR1,00\n:61:24030\n", "bad.sta")
    code = (
        "import sys; from pathlib import Path; from tasks.ingest.bank.mt940 import read_mt940\n"
        "try:\n    read_mt940(Path(sys.argv[1]))\nexcept Exception as exc:\n    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(bad)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=120,
    )
    assert done.stderr == ""
    assert done.stdout == (
        "bad.sta: statement 1 (:20:X): the mt940 library cannot read it: its :61: field '24030' does not have"
        " that field's layout\n"
    )

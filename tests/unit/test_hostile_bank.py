"""Hostile and broken bank files: every file of tests/hostile/bank is refused through the reader that
`o2c ingest` uses for a bank file (`tasks.ingest.bank.source.read_statement_source`), with one line that
names the file and says why, no other exception, nothing printed, and no payment rows.

Each file is one case: XML attacks on camt (entity expansion, external entities, a network DTD,
parameter entities, any DOCTYPE at all), files cut short (camt mid-element, MT940 without its
closing balance or mid-`:61:`, BAI2 without its trailers or mid-record), garbled amounts, unknown
currencies, impossible dates, empty files and binary junk under each suffix. `REASONS` gives the
part of the refusal each case must show; a file added to the folder must be added there too.

Three of the cases also go through the real command line, as integration tests
(`tests/integration/test_hostile_bank_cli.py`): a unit test starts no Prefect server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.ingest.bank.source import read_statement_source
from tasks.ingest.model import SourceRejected

PROJECT = Path(__file__).resolve().parents[2]
CORPUS = PROJECT / "tests" / "hostile" / "bank"
CASES = sorted(path.name for path in CORPUS.iterdir() if path.is_file())

_DTD = "forbidden XML construct: DTDForbidden"
_UNKNOWN = "not a bank statement this reader knows (camt.052/053/054, MT940/MT942, BAI2)"
_EMPTY = "empty: no bank statement in it"

REASONS = {
    # camt: XML attacks, every one stopped at the DOCTYPE before anything is expanded or fetched
    "camt_billion_laughs.xml": f"{_DTD}(name='lolz'",
    "camt_xxe_file_passwd.xml": _DTD,
    "camt_xxe_network_entity.xml": _DTD,
    "camt_network_dtd.xml": f"{_DTD}(name='Document', system_id='http://127.0.0.1:9/x.dtd'",
    "camt_parameter_entity.xml": _DTD,
    "camt_doctype_plain.xml": _DTD,
    # camt: broken content
    "camt_cut_mid_element.xml": "malformed XML: unclosed token: line 10",
    "camt_header_then_binary.xml": "malformed XML: not well-formed (invalid token)",
    "camt_garbled_amount.xml": "Stmt 1 entry 1: amount '12,50' is not a plain decimal number",
    "camt_amount_with_exponent.xml": "Stmt 1 entry 1: amount '1.25E1' is not a plain decimal number",
    "camt_negative_amount.xml": "Stmt 1 entry 1: amount '-12.50' is not a plain decimal number",
    "camt_three_decimals_eur.xml": "Stmt 1 entry 1: amount '12.505' has more than 2 decimals for EUR",
    "camt_unknown_currency.xml": "Stmt 1 entry 1: unknown currency 'XXQ'",
    "camt_impossible_date.xml": "Stmt 1 entry 1 booking date: '2026-02-30' is not a calendar date",
    "camt_currencies_disagree.xml": "Stmt 1: the account states no currency (Acct/Ccy) and its balances and"
    " entries disagree (EUR, USD)",
    "camt_batch_not_adding_up.xml": "Stmt 1 entry 1: its 2 transaction details add up to 11.00 EUR, the entry"
    " books 12.50 EUR",
    "camt_wrong_root.xml": _UNKNOWN,
    "camt_empty.xml": _EMPTY,
    "binary_junk.xml": _UNKNOWN,
    # MT940
    "mt940_no_closing_balance.sta": "statement STMT-1 00306/001 has no closing balance (:62F: or :62M:)",
    "mt940_cut_mid_61.sta": "statement 1 (:20:STMT-1): the mt940 library cannot read it: its :61: field"
    " '26110211' does not have that field's layout",
    "mt940_garbled_amount.sta": "statement 1 (:20:STMT-1): the mt940 library cannot read it: its :61: field"
    " '2611021102C1.5,00NTRFNONREF//BANKREF-1'",
    "mt940_thousands_separator.sta": "statement 1 (:20:STMT-1): :60F: balance 'C261101EUR1.000,00' is not a"
    " D/C mark, a YYMMDD date, a currency and an amount",
    "mt940_unknown_currency.sta": "statement STMT-1 1 is in unknown currency 'XXQ'",
    "mt940_impossible_date.sta": "statement 1 (:20:STMT-1): the mt940 library cannot read it: ValueError: day"
    " is out of range for month",
    "mt940_impossible_entry_date.sta": "statement 1 (:20:STMT-1): the mt940 library cannot read it:"
    " ValueError: day is out of range for month",
    "mt940_header_then_binary.sta": "statement STMT-1 has no transactions and no balances",
    "mt940_empty.sta": _EMPTY,
    "mt940_whitespace_only.sta": _EMPTY,
    "binary_junk.sta": _UNKNOWN,
    # BAI2
    "bai2_no_trailers.bai": "cut short: the account of line 3 has no account trailer (49); the file ends at"
    " line 4",
    "bai2_cut_record.bai": "line 4 (transaction detail, 16) is cut short",
    "bai2_garbled_amount.bai": "the bai2 library cannot read line 4 (transaction detail, 16): ValueError:"
    " invalid literal for int() with base 10: '250.75'",
    "bai2_unknown_currency.bai": "account 123456789 (group/account 1/1) is in unknown currency 'XXQ'",
    "bai2_impossible_date.bai": "the bai2 library cannot read line 1 (file header, 01): ValueError: day is out"
    " of range for month",
    "bai2_control_total_wrong.bai": "IntegrityException: Invalid account control total for Account. expected"
    " 999999, found 250150",
    "bai2_header_then_binary.bai": "not UTF-8/ASCII text",
    "bai2_empty.bai": _EMPTY,
    "binary_junk.bai": _UNKNOWN,
}


def test_every_case_in_the_corpus_states_its_reason() -> None:
    assert len(CASES) >= 25
    assert sorted(REASONS) == CASES


@pytest.mark.parametrize("name", CASES)
def test_a_hostile_file_is_refused_in_one_line_naming_it(
    name: str, capfd: pytest.CaptureFixture[str]
) -> None:
    path = CORPUS / name
    rows = None
    with pytest.raises(SourceRejected) as refused:  # any other exception fails the test
        rows = read_statement_source(path).rows
    assert rows is None  # no payment rows came out
    message = str(refused.value)
    assert message.startswith(f"{name}: ")
    assert "\n" not in message and "\r" not in message
    assert "Traceback" not in message and " object at 0x" not in message
    assert REASONS[name] in message, message
    assert len(message) < 400
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")  # nothing printed: the refusal is all the user sees


# --- the same through the command line -------------------------------------------------------------

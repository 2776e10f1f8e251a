"""Hostile and broken bank files: every file of tests/hostile/bank is refused through the reader that
`o2c ingest` uses for a bank file (`tasks.ingest.bank.source.read_statement_source`), with one line that
names the file and says why, no other exception, nothing printed, and no payment rows.

Each file is one case: XML attacks on camt (entity expansion, external entities, a network DTD,
parameter entities, any DOCTYPE at all), files cut short (camt mid-element, MT940 without its
closing balance or mid-`:61:`, BAI2 without its trailers or mid-record), garbled amounts, unknown
currencies, impossible dates, empty files and binary junk under each suffix. `REASONS` gives the
part of the refusal each case must show; a file added to the folder must be added there too.

Three of the cases also go through the real command line (`o2c ingest`, then `o2c status --json`),
which is slow (a Prefect flow run per file), so they are marked `integration`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
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

CLI_CASES = ["camt_xxe_file_passwd.xml", "mt940_cut_mid_61.sta", "bai2_no_trailers.bai"]


@pytest.fixture(scope="module")
def prefect_api_url() -> Iterator[str]:
    """The Prefect API the command's flow run reports to: the one already running, else a test server."""
    from prefect.settings import PREFECT_API_URL

    running = os.environ.get("PREFECT_API_URL") or PREFECT_API_URL.value()
    if running:
        yield str(running)
        return
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield str(PREFECT_API_URL.value())


def _o2c(*args: str, api_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREFECT_API_URL": api_url, "DO_NOT_TRACK": "1"}
    command = Path(sys.executable).with_name("o2c")
    return subprocess.run(
        [str(command), *args], env=env, capture_output=True, text=True, cwd=PROJECT, timeout=300
    )


@pytest.mark.integration
@pytest.mark.parametrize("name", CLI_CASES)
def test_o2c_ingest_refuses_a_hostile_file_in_one_line(
    name: str, tmp_path: Path, prefect_api_url: str
) -> None:
    home = tmp_path / "home"
    done = _o2c("ingest", str(CORPUS / name), "--home", str(home), api_url=prefect_api_url)
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr  # no log lines of the library or of Prefect beside it
    assert lines[0].startswith(f"error: {name}: ") and REASONS[name] in lines[0], lines[0]
    assert "Traceback" not in done.stderr + done.stdout
    status = _o2c("status", "--json", "--home", str(home), api_url=prefect_api_url)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["tables"]["payments"] == 0

"""Data contracts: loading and validating the YAML, and what a checkpoint decides (pass, quarantine, halt)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from tasks.platform.checkpoint import HALT_LINES, CheckpointResult, run_checkpoint
from tasks.platform.config import SHIPPED_CONTRACTS
from tasks.platform.contracts import DEFAULT_MAX_LENGTH, Contract, ContractError, load_contract

from .tables import table

INPUTS = ["customers", "subscriptions", "orders", "order_lines", "invoices", "payments", "cases"]
OUTPUTS = [
    "billed_invoices",
    "invoice_lines",
    "invoice_control",
    "allocations",
    "invoice_adjustments",
    "deduction_cases",
    "reminders",
    "worklist",
    "ageing",
]


@pytest.mark.parametrize("dataset", INPUTS + OUTPUTS)
def test_every_contract_loads(dataset: str) -> None:
    contract = load_contract(dataset)
    assert contract.dataset == dataset
    assert contract.key and all(column in contract.columns for column in contract.key)
    assert contract.grain.startswith("one row per")
    assert len(contract.version) == 12


def test_every_contract_file_is_covered() -> None:
    assert sorted(p.stem for p in SHIPPED_CONTRACTS.glob("*.yaml")) == sorted(INPUTS + OUTPUTS)


@pytest.mark.parametrize("dataset", INPUTS)
def test_input_contracts_quarantine_under_a_ceiling_of_half(dataset: str) -> None:
    contract = load_contract(dataset)
    assert (contract.on_failure, contract.max_quarantine_share) == ("quarantine", 0.5)


@pytest.mark.parametrize("dataset", OUTPUTS)
def test_output_contracts_halt(dataset: str) -> None:
    assert load_contract(dataset).on_failure == "halt"


def test_typed_columns_and_required() -> None:
    contract = load_contract("order_lines")
    assert contract.typed_column("unit_price") == "unit_price_minor"
    assert contract.typed_column("tax_rate") == "tax_rate_ppm"
    assert contract.typed_column("quantity") == "quantity"
    assert contract.required == ["order_id", "line_no", "quantity", "unit_price", "tax_rate"]
    assert contract.references == {"order_id": "orders"}


def test_the_version_is_the_hash_of_the_file(tmp_path: Path) -> None:
    text = "dataset: x\ngrain: one row per x\nkey: [a]\ncolumns: {a: {type: string}}\non_failure: halt\n"
    (tmp_path / "x.yaml").write_text(text)
    (tmp_path / "y.yaml").write_text(text + "# a comment changes the version\n")
    assert load_contract("x", tmp_path).version != load_contract("y", tmp_path).version


# ---------------------------------------------------------------------------------------------------
# Broken contracts

VALID = {
    "dataset": "x",
    "grain": "g",
    "key": "[a]",
    "columns": "{a: {type: string}}",
    "on_failure": "halt",
}


def contract_text(**changes: str | None) -> str:
    fields = {**VALID, **changes}
    return "".join(f"{name}: {value}\n" for name, value in fields.items() if value is not None)


# what is wrong                               the message says
BROKEN = [
    (dict(key=None), "missing 'key'"),
    (dict(grain=None), "missing 'grain'"),
    (dict(columns=None), "missing 'columns'"),
    (dict(on_failure=None), "missing 'on_failure'"),
    (dict(on_failure="ignore"), "on_failure must be 'quarantine' or 'halt'"),
    (dict(columns="{a: {type: text}}"), "column a: type must be one of"),
    (dict(columns="{a: {required: true}}"), "column a: type must be one of"),
    (dict(key="[b]"), "key column b is not a declared column"),
    (dict(columns="{a: {type: money, max_length: 10}}"), "column a: max_length is for text columns"),
    (dict(columns="{a: {type: string, max_length: 0}}"), "column a: max_length must be a whole number"),
    (dict(columns="{a: {type: string, max_length: '20'}}"), "column a: max_length must be a whole number"),
    (dict(columns="{a: {type: email, multiline: true}}"), "column a: multiline is for string columns"),
    (dict(columns="{a: {type: string, multiline: 'yes'}}"), "column a: multiline must be true or false"),
]


@pytest.mark.parametrize(("changes", "message"), BROKEN, ids=[m for _c, m in BROKEN])
def test_a_broken_contract_raises_contract_error_naming_the_file(
    tmp_path: Path, changes: dict[str, str | None], message: str
) -> None:
    (tmp_path / "broken.yaml").write_text(contract_text(**changes))
    with pytest.raises(ContractError) as caught:
        load_contract("broken", tmp_path)
    assert str(caught.value).startswith("broken.yaml: ")
    assert message in str(caught.value)


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(contract_text(key="[b]", on_failure="maybe"))
    with pytest.raises(ContractError, match="on_failure must be .*; key column b is not a declared column"):
        load_contract("broken", tmp_path)


def test_a_missing_contract_raises_contract_error(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="no contract for dataset 'nothing'"):
        load_contract("nothing", tmp_path)


def test_a_contract_that_is_not_yaml_raises_contract_error(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("dataset: x\ngrain: [one row per x\n")
    with pytest.raises(ContractError, match="broken.yaml"):
        load_contract("broken", tmp_path)


@pytest.mark.parametrize(
    "extra",
    ["row_rules: [{name: r, a: a, b: settled}]\n", "references: {customer: customers}\n"],
    ids=["row_rule", "reference"],
)
def test_a_rule_on_an_undeclared_column_raises_contract_error(tmp_path: Path, extra: str) -> None:
    (tmp_path / "broken.yaml").write_text(contract_text() + extra)
    with pytest.raises(ContractError, match="broken.yaml"):
        load_contract("broken", tmp_path)


# ---------------------------------------------------------------------------------------------------
# Checkpoints: a small contract of our own, so that each rule type is seen on its own row.

ENTRIES = """
dataset: entries
grain: one row per journal entry
key: [entry_id]
on_failure: quarantine
max_quarantine_share: 0.5
columns:
  entry_id: {type: string, required: true}
  account: {type: string, required: true, allowed: [cash, receivables, revenue]}
  customer_id: {type: string}
  amount: {type: money, min: 0}
  currency: {type: currency, required: true}
  booked_date: {type: date, required: true}
  settled_date: {type: date}
row_rules:
  - {name: settled_on_or_after_booked, a: settled_date, op: ">=", b: booked_date}
references:
  customer_id: customers
"""


@pytest.fixture(scope="module")
def entries(tmp_path_factory: pytest.TempPathFactory) -> Contract:
    folder = tmp_path_factory.mktemp("contracts")
    (folder / "entries.yaml").write_text(ENTRIES)
    return load_contract("entries", folder)


@pytest.fixture(scope="module")
def strict_entries(tmp_path_factory: pytest.TempPathFactory) -> Contract:
    folder = tmp_path_factory.mktemp("strict")
    (folder / "entries.yaml").write_text(ENTRIES.replace("on_failure: quarantine", "on_failure: halt"))
    return load_contract("entries", folder)


def frame_of(text: str) -> pd.DataFrame:
    frame = table(text)
    for column in ("booked_date", "settled_date"):
        frame[column] = pd.to_datetime(frame[column])
    frame["amount_minor"] = frame["amount_minor"].astype("Int64")
    return frame


GOOD = """
| entry_id | account     | customer_id | amount_minor | currency | booked_date | settled_date |
| E1       | cash        | C1          | 100_00       | EUR      | 2026-01-01  | 2026-01-02   |
| E2       | receivables | C1          | 0            | EUR      | 2026-01-01  | 2026-01-01   |
| E3       | revenue     |             | 5_00         | USD      | 2026-01-01  |              |
| E4       | cash        | C2          | 1            | JPY      | 2026-01-01  | 2026-03-01   |
"""
KNOWN = {"customers": {"C1", "C2"}}


def test_a_clean_frame_passes(entries: Contract) -> None:
    result = run_checkpoint(frame_of(GOOD), entries, source="test", known_keys=KNOWN)
    assert (result.outcome, result.failed_rows, result.halt_reason) == ("passed", {}, None)
    assert result.rows_checked == 4
    assert all(detail["success"] and not detail["raised"] for detail in result.details)
    assert {d["expectation"] for d in result.details} >= {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_unique",
        "expect_column_pair_values_a_to_be_greater_than_b",
    }


# Each row breaks one rule; the reason names the column (in the contract's name, not amount_minor).
BAD = """
| entry_id | account     | customer_id | amount_minor | currency | booked_date | settled_date |
| E1       | cash        | C1          | 100_00       | EUR      | 2026-01-01  | 2026-01-02   |
| E2       | bank        | C1          | 1_00         | EUR      | 2026-01-01  |              |
| E3       | cash        | C9          | 1_00         | EUR      | 2026-01-01  |              |
| E4       | cash        | C1          | -1           | EUR      | 2026-01-01  |              |
| E5       | cash        | C1          | 1_00         | EUR      | 2026-01-10  | 2026-01-09   |
| E6       | cash        | C1          | 1_00         |          | 2026-01-01  |              |
| E6       | cash        | C1          | 1_00         | EUR      | 2026-01-01  |              |
| E8       | cash        | C1          | 1_00         | EUR      | 2026-01-01  |              |
| E9       | cash        | C1          | 1_00         | EUR      | 2026-01-01  |              |
| E10      | cash        | C1          | 1_00         | EUR      | 2026-01-01  |              |
| E11      | cash        | C1          | 1_00         | EUR      | 2026-01-01  |              |
| E12      | cash        | C1          | 1_00         | EUR      | 2026-01-01  |              |
"""
# row  reasons
BAD_ROWS = {
    1: ["account: not one of cash, receivables, revenue"],
    2: ["customer_id: unknown customer"],
    3: ["amount: must be >= 0"],
    4: ["settled_date: must be >= booked_date (settled_on_or_after_booked)"],
    5: ["currency: required value is missing", "entry_id: duplicate key in this batch"],
    6: ["entry_id: duplicate key in this batch"],
}


def normalised(failed: dict[int, list[str]]) -> dict[int, list[str]]:
    """Reasons sorted, with bounds written as integers (GX may report `>= 0.0`)."""
    return {
        row: sorted(re.sub(r"(?<=\d)\.0(?!\d)", "", r) for r in reasons) for row, reasons in failed.items()
    }


@pytest.fixture(scope="module")
def bad_result(entries: Contract) -> CheckpointResult:
    return run_checkpoint(frame_of(BAD), entries, source="test", known_keys=KNOWN)


def test_each_rule_finds_its_row(bad_result: CheckpointResult) -> None:
    assert normalised(bad_result.failed_rows) == BAD_ROWS


def test_half_the_rows_failing_is_still_a_quarantine(bad_result: CheckpointResult) -> None:
    assert bad_result.rows_checked == 12
    assert len(bad_result.failed_rows) == 6  # exactly the 50 % ceiling
    assert bad_result.outcome == "quarantined"
    assert bad_result.halt_reason is None


def test_more_than_the_ceiling_halts(entries: Contract) -> None:
    frame = frame_of(BAD).iloc[:11]  # 6 of 11 rows fail
    result = run_checkpoint(frame, entries, source="test", known_keys=KNOWN)
    assert result.outcome == "halted"
    assert result.halt_reason == "55% of rows break the contract, above the ceiling of 50%"
    assert len(result.failed_rows) == 6


def test_a_halt_contract_halts_on_one_bad_row(strict_entries: Contract) -> None:
    frame = frame_of(BAD).iloc[[0, 1, 7, 8, 9, 10, 11]]
    result = run_checkpoint(frame, strict_entries, source="test", known_keys=KNOWN)
    assert result.outcome == "halted"
    assert result.halt_reason == "1 row(s) break the contract"
    assert normalised(result.failed_rows) == {1: ["account: not one of cash, receivables, revenue"]}


def test_parse_failures_are_merged_and_not_repeated(entries: Contract) -> None:
    # the parser already said what is wrong with the amount of row 2 (and of the clean row 0)
    prior = {3: ["amount: '-0.01' is negative, says the parser"], 0: ["amount: 'x' is not a decimal number"]}
    result = run_checkpoint(frame_of(BAD), entries, source="test", known_keys=KNOWN, prior_failures=prior)
    assert result.failed_rows[3] == ["amount: '-0.01' is negative, says the parser"]
    assert result.failed_rows[0] == ["amount: 'x' is not a decimal number"]
    assert result.outcome == "halted"  # now 7 of 12 rows


def test_an_unknown_reference_needs_the_known_keys(entries: Contract) -> None:
    result = run_checkpoint(frame_of(GOOD), entries, source="test", known_keys={"customers": {"C1"}})
    assert normalised(result.failed_rows) == {3: ["customer_id: unknown customer"]}


def test_a_check_that_cannot_run_halts(entries: Contract) -> None:
    frame = frame_of(GOOD).drop(columns=["currency"])
    result = run_checkpoint(frame, entries, source="test", known_keys=KNOWN)
    assert result.outcome == "halted"
    assert result.halt_reason == "expectation expect_column_values_to_not_be_null on currency could not run"
    assert any(detail["raised"] for detail in result.details)


def test_an_empty_frame_passes_without_running_anything(entries: Contract) -> None:
    result = run_checkpoint(frame_of(GOOD).iloc[0:0], entries, source="test")
    assert (result.outcome, result.rows_checked, result.details) == ("passed", 0, [])


def test_as_record(bad_result: CheckpointResult) -> None:
    record = bad_result.as_record()
    assert {k: record[k] for k in ("dataset", "source", "outcome", "rows_checked", "rows_failed")} == {
        "dataset": "entries",
        "source": "test",
        "outcome": "quarantined",
        "rows_checked": 12,
        "rows_failed": 6,
    }
    assert record["contract_hash"] == bad_result.contract_version


# ---------------------------------------------------------------------------------------------------
# The real output contracts on literal stage output


def test_allocations_of_nothing_halt_the_reconcile_stage() -> None:
    allocations = table("""
        | payment_id | invoice_id | amount_minor | payment_unapplied_after_minor | invoice_open_after_minor |
        | P1         | I1         | 100_00       | 0                             | 0                        |
        | P2         | I2         | 0            | 5_00                          | 10_00                    |
    """)
    allocations = allocations.assign(
        allocation_id=allocations["payment_id"] + "/" + allocations["invoice_id"],
        currency="EUR",
        rule="reference",
    )
    result = run_checkpoint(allocations, load_contract("allocations"), source="reconcile stage")
    assert result.outcome == "halted"
    assert normalised(result.failed_rows) == {1: ["amount_minor: must be >= 1"]}


def test_ageing_whose_buckets_do_not_add_up_halts() -> None:
    ageing = table("""
        | currency | open_amount_minor | buckets_total_minor |
        | EUR      | 1000_00           | 1000_00             |
        | USD      | 500_00            | 499_99              |
    """)
    result = run_checkpoint(ageing, load_contract("ageing"), source="report stage")
    assert result.outcome == "halted"
    assert normalised(result.failed_rows) == {
        1: ["buckets_total_minor: must be >= open_amount_minor (buckets_cover_open_amount)"]
    }


def test_billed_invoices_due_before_issue_halt() -> None:
    invoices = table("""
        | invoice_id      | order_id | issue_date | due_date   | net_minor | tax_minor | amount_minor |
        | O2C-2026-000001 | SO-1     | 2026-03-31 | 2026-04-30 | 100_00    | 19_00     | 119_00       |
        | O2C-2026-000002 | SO-2     | 2026-03-31 | 2026-03-30 | 100_00    | 19_00     | 119_00       |
    """).assign(customer_id="C1", currency="EUR")
    for column in ("issue_date", "due_date"):
        invoices[column] = pd.to_datetime(invoices[column])
    result = run_checkpoint(invoices, load_contract("billed_invoices"), source="invoice stage")
    assert result.outcome == "halted"
    assert normalised(result.failed_rows) == {1: ["due_date: must be >= issue_date (due_on_or_after_issue)"]}


# ---------------------------------------------------------------------------------------------------
# Text columns: their longest value, and whether they are free text


def test_text_columns_are_bounded_by_their_max_length_or_the_default() -> None:
    customers = load_contract("customers")
    assert customers.max_length("name") == 256
    assert customers.max_length("segment") == DEFAULT_MAX_LENGTH
    assert customers.max_length("email") == DEFAULT_MAX_LENGTH  # an address is bounded by its own rule too
    assert customers.max_length("credit_limit") is None  # not text
    assert customers.columns["email"]["type"] == "email"
    assert customers.columns["account_owner"]["type"] == "email"


def test_only_declared_free_text_may_hold_line_breaks() -> None:
    assert load_contract("order_lines").multiline("description")
    assert load_contract("cases").multiline("reason_text")
    assert not load_contract("customers").multiline("name")


# ---------------------------------------------------------------------------------------------------
# A halt's first reasons


def halted_result(rows: int, **fields: object) -> CheckpointResult:
    result = CheckpointResult("payments", "/in/bank.csv", "v", rows_checked=rows, outcome="halted", **fields)
    result.failed_rows = {i: [f"amount: '{i}x' is not a decimal number"] for i in range(rows)}
    return result


def test_failure_lines_name_the_file_row_column_value_and_rule() -> None:
    result = halted_result(2, first_row_number=2)
    assert result.failure_lines() == [
        "bank.csv row 2: amount: '0x' is not a decimal number",
        "bank.csv row 3: amount: '1x' is not a decimal number",
    ]


def test_failure_lines_are_at_most_ten_the_last_counting_the_rest() -> None:
    lines = halted_result(25, first_row_number=2).failure_lines()
    assert len(lines) == HALT_LINES == 10
    assert lines[8] == "bank.csv row 10: amount: '8x' is not a decimal number"
    assert lines[-1] == "... and 16 more reason(s) in 16 row(s)"
    assert halted_result(3, first_row_number=2).failure_lines(limit=0) == []


def test_failure_lines_add_the_value_a_rule_does_not_quote_and_the_files_own_column_name() -> None:
    result = halted_result(
        1, first_row_number=2, column_labels={"amount": "Betrag"}, row_values={0: {"amount": "-5.00"}}
    )
    result.failed_rows = {0: ["amount: must be >= 1", "amount: '-5.00x' is not a decimal number"]}
    assert result.failure_lines() == [
        "bank.csv row 2: amount (Betrag in the file): '-5.00': must be >= 1",
        "bank.csv row 2: amount (Betrag in the file): '-5.00x' is not a decimal number",
    ]


def test_failure_lines_of_a_stage_output_name_rows_by_their_key(strict_entries: Contract) -> None:
    frame = frame_of(BAD).iloc[[0, 1, 7]]
    result = run_checkpoint(frame, strict_entries, source="reconcile stage", known_keys=KNOWN)
    assert result.failure_lines() == ["entries E2: account: not one of cash, receivables, revenue"]


def test_a_halt_lists_the_values_as_read(entries: Contract) -> None:
    frame = frame_of(BAD).iloc[:11]
    raw = frame.astype(str)
    result = run_checkpoint(
        frame, entries, source="/in/entries.csv", known_keys=KNOWN, first_row_number=2, raw_rows=raw
    )
    lines = result.failure_lines()
    assert lines[0] == "entries.csv row 3: account: 'bank': not one of cash, receivables, revenue"
    assert "entries.csv row 4: customer_id: 'C9': unknown customer" in lines

"""Checkpoints as SQL: each kind of contract rule over every row, merged with a parser's reasons, on a
pandas frame or an Arrow table; Great Expectations on a sample that agrees with the SQL on the rows
it sees, for every rule of every shipped contract; a disagreement that cannot be missed."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from tasks.platform import checkpoint_gx
from tasks.platform.checkpoint import CheckpointResult, run_checkpoint
from tasks.platform.config import SHIPPED_CONTRACTS
from tasks.platform.contract_checks import contract_checks
from tasks.platform.contracts import TYPED_SUFFIX, Contract, load_contract
from tasks.platform.data_docs import validation_page

from .tables import table

RULES = """
dataset: lines
grain: one row per line
key: [doc, line_no]
on_failure: quarantine
max_quarantine_share: 1.0
columns:
  doc: {type: string, required: true}
  line_no: {type: integer, min: 1}
  kind: {type: string, allowed: [goods, service]}
  quantity: {type: integer, not: [0]}
  price: {type: money, min: 0, max: 100000}
  customer_id: {type: string}
  opened: {type: date}
  closed: {type: date}
  gross_minor: {type: minor}
  net_minor: {type: minor}
row_rules:
  - {name: closed_on_or_after_opened, a: closed, op: ">=", b: opened}
  - {name: gross_above_net, a: gross_minor, op: ">", b: net_minor}
references:
  customer_id: customers
"""

# row  what is wrong                                   (empty: nothing)
LINES = """
| doc | line_no | kind    | quantity | price_minor | customer_id | opened     | closed     | gross_minor | net_minor |
| D1  | 1       | goods   | 1        | 10_00       | C1          | 2026-01-01 | 2026-01-02 | 2           | 1         |
| D1  | 2       | toys    | 1        | 10_00       | C1          |            |            |             |           |
| D1  | 3       | goods   | 0        | 10_00       |             | 2026-01-05 | 2026-01-04 | 1           | 1         |
| D1  | 4       | goods   | 2        | -1          | C9          | 2026-01-05 |            | 1           | 2         |
| D1  | 5       | service | 2        | 1000_01     | C2          |            | 2026-01-01 |             | 5         |
|     | 6       | service | 2        | 1000_00     | C2          |            |            |             |           |
| D2  | 0       | service |          |             |             |            |            |             |           |
| D2  | 1       |         |          | 0           |             |            |            |             |           |
| D2  | 1       |         |          |             |             |            |            |             |           |
| D3  |         |         |          |             |             |            |            |             |           |
| D3  |         |         |          |             |             |            |            |             |           |
"""
FOUND = {
    1: ["kind: not one of goods, service"],
    2: [
        "quantity: must not be 0",
        "closed: must be >= opened (closed_on_or_after_opened)",
        "gross_minor: must be > net_minor (gross_above_net)",
    ],
    3: [
        "price: must be >= 0 and <= 100000",
        "gross_minor: must be > net_minor (gross_above_net)",
        "customer_id: unknown customer",
    ],
    4: ["price: must be >= 0 and <= 100000"],
    5: ["doc: required value is missing"],
    6: ["line_no: must be >= 1"],
    7: ["doc,line_no: duplicate key in this batch"],
    8: ["doc,line_no: duplicate key in this batch"],
    9: ["doc,line_no: duplicate key in this batch"],
    10: ["doc,line_no: duplicate key in this batch"],
}
KNOWN = {"customers": {"C1", "C2"}}


@pytest.fixture(scope="module")
def lines_contract(tmp_path_factory: pytest.TempPathFactory) -> Contract:
    folder = tmp_path_factory.mktemp("contracts")
    (folder / "lines.yaml").write_text(RULES)
    return load_contract("lines", folder)


def lines_frame() -> pd.DataFrame:
    frame = table(LINES)
    for column in ("opened", "closed"):
        frame[column] = pd.to_datetime(frame[column])
    for column in ("line_no", "quantity", "price_minor", "gross_minor", "net_minor"):
        frame[column] = frame[column].astype("Int64")
    return frame


def check(frame: pd.DataFrame | pa.Table, contract: Contract, **options: Any) -> CheckpointResult:
    return run_checkpoint(frame, contract, source="test", known_keys=KNOWN, **options)


def test_each_kind_of_rule_finds_its_rows_with_its_reason(lines_contract: Contract) -> None:
    result = check(lines_frame(), lines_contract)
    assert result.failed_rows == FOUND  # each row's reasons in GX's order of the rules
    assert result.outcome == "quarantined" and result.validation is not None


def test_the_details_count_every_rule_in_gx_order(lines_contract: Contract) -> None:
    result = check(lines_frame(), lines_contract)
    assert [(d["expectation"], d["column"], d["unexpected_count"]) for d in result.details] == [
        ("expect_column_values_to_not_be_null", "doc", 1),
        ("expect_column_values_to_be_between", "line_no", 1),
        ("expect_column_values_to_be_in_set", "kind", 1),
        ("expect_column_values_to_not_be_in_set", "quantity", 1),
        ("expect_column_values_to_be_between", "price_minor", 2),
        ("expect_compound_columns_to_be_unique", "doc,line_no", 4),
        ("expect_column_pair_values_a_to_be_greater_than_b", "closed", 1),
        ("expect_column_pair_values_a_to_be_greater_than_b", "gross_minor", 2),
        ("expect_column_values_to_be_in_set", "customer_id__exists_in_customers", 1),
    ]
    assert [d["success"] for d in result.details] == [False] * 9
    assert not any(d["raised"] for d in result.details)


def test_an_arrow_table_gives_what_the_frame_gives(lines_contract: Contract) -> None:
    frame = lines_frame()
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    from_frame, from_arrow = check(frame, lines_contract), check(arrow, lines_contract)
    assert from_arrow.failed_rows == from_frame.failed_rows
    assert from_arrow.details == from_frame.details
    assert (from_arrow.outcome, from_arrow.rows_checked) == (from_frame.outcome, from_frame.rows_checked)
    assert from_arrow.validation.meta["o2c_sample"]["agrees"]


def test_a_frames_index_labels_name_its_rows(lines_contract: Contract) -> None:
    frame = lines_frame().iloc[[0, 2, 4]]  # rows keep their labels 0, 2 and 4
    assert sorted(check(frame, lines_contract).failed_rows) == [2, 4]
    arrow = pa.Table.from_pandas(frame, preserve_index=False)  # an Arrow table: by place
    assert sorted(check(arrow, lines_contract).failed_rows) == [1, 2]


def test_a_parsers_reason_stands_in_for_the_rules_on_that_column(lines_contract: Contract) -> None:
    prior = {3: ["price: '-0.01' is negative, says the parser"], 0: ["doc: 'x' is too long"]}
    for batch in (lines_frame(), pa.Table.from_pandas(lines_frame(), preserve_index=False)):
        result = check(batch, lines_contract, prior_failures=prior)
        assert result.failed_rows[3] == [  # the parser's first, then the other columns' rules
            "price: '-0.01' is negative, says the parser",
            "gross_minor: must be > net_minor (gross_above_net)",
            "customer_id: unknown customer",
        ]
        assert result.failed_rows[0] == ["doc: 'x' is too long"]
        assert result.details[4]["unexpected_count"] == 2  # the details count what the rule found


def test_a_missing_column_is_a_check_that_could_not_run(lines_contract: Contract) -> None:
    for batch in (lines_frame().drop(columns=["quantity"]), pa.table({"doc": ["D1"]})):
        result = check(batch, lines_contract)
        assert result.outcome == "halted"
        assert result.halt_reason and "could not run" in result.halt_reason
        raised = [d for d in result.details if d["raised"]]
        assert raised and all(not d["success"] and d["unexpected_count"] == 0 for d in raised)
        assert result.details[: len(raised)] == raised  # as GX lists them: first


def test_a_halt_names_an_arrow_tables_rows_by_key_and_value(lines_contract: Contract) -> None:
    strict = Contract(**{**lines_contract.__dict__, "on_failure": "halt"})
    arrow = pa.Table.from_pandas(lines_frame().iloc[[0, 1]], preserve_index=False)
    raw = pa.table({"kind": ["goods", "toys"]})
    result = check(arrow, strict, raw_rows=raw)
    assert result.failure_lines() == ["lines D1/2: kind: 'toys': not one of goods, service"]
    assert result.row_values == {1: {"kind": "toys"}}


def test_nan_counts_as_missing_as_pandas_counts_it(lines_contract: Contract) -> None:
    frame = lines_frame().iloc[[0]].astype({"gross_minor": "float64", "net_minor": "float64"})
    frame.loc[0, "gross_minor"] = float("nan")  # the row rule leaves a missing value alone
    assert check(frame, lines_contract).failed_rows == {}


# ---------------------------------------------------------------------------------------------------
# Great Expectations on a sample: bounded, and agreeing with the SQL on the rows it sees


def test_gx_sees_a_bounded_sample_and_the_details_stay_exact(lines_contract: Contract) -> None:
    frame = lines_frame()
    big = frame.iloc[[0, 1, 2] * 2_000].reset_index(drop=True)
    big["doc"] = [f"B{i}" for i in range(len(big))]
    result = check(big, lines_contract)
    sample = result.validation.meta["o2c_sample"]
    assert result.rows_checked == 6_000 and len(result.failed_rows) == 4_000
    assert sample["rows_checked"] == 6_000
    assert sample["rows_sampled"] <= checkpoint_gx.PASSING_ROWS + 5 * checkpoint_gx.FAILING_PER_CHECK
    assert sample["passing_rows_sampled"] == checkpoint_gx.PASSING_ROWS
    assert sample["agrees"]
    kind = next(d for d in result.details if d["column"] == "kind")
    assert kind["unexpected_count"] == 2_000  # the whole batch, from SQL
    gx_kind = next(
        r for r in result.validation.results if r.expectation_config.kwargs.get("column") == "kind"
    )
    assert gx_kind.result["unexpected_count"] == checkpoint_gx.FAILING_PER_CHECK  # GX: the sample


def test_a_disagreement_between_gx_and_sql_halts_and_shows(
    lines_contract: Contract, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = checkpoint_gx.run_checks

    def sql_that_misses_a_row(table: pa.Table, checks: Any, keys: Any) -> Any:
        found = real(table, checks, keys)
        return [type(f)(f.check, f.rows[1:]) if f.check.kind == "allowed" else f for f in found]

    monkeypatch.setattr(checkpoint_gx, "run_checks", sql_that_misses_a_row)
    result = check(lines_frame(), lines_contract)
    assert result.outcome == "halted"
    assert result.halt_reason == (
        "Great Expectations and the SQL checks disagree on expect_column_values_to_be_in_set on kind"
        " in the sample (GX: 1, SQL: 0 unexpected row(s))"
    )
    page = validation_page(result.validation, title="lines")
    assert "Great Expectations and the SQL checks disagree" in page and "NO</strong>" in page


def test_the_data_docs_page_says_what_gx_was_run_on(lines_contract: Contract) -> None:
    result = check(lines_frame(), lines_contract)
    page = " ".join(validation_page(result.validation, title="lines").split())
    assert "What Great Expectations validated" in page
    assert "Great Expectations validated 11 of the batch's 11 rows" in page
    assert "found the same unexpected rows for every expectation" in page
    assert "Expectation Validation Result" in page  # and GX's own page below
    from_json = " ".join(validation_page(result.validation.to_json_dict(), title="lines").split())
    assert "Great Expectations validated 11 of the batch's 11 rows" in from_json


# Every rule of every shipped contract, broken once each, on the frames the stages hand over.


def typical_value(contract: Contract, name: str, row: int) -> Any:
    """A value of column `name` that breaks none of its own rules (unique per row for a key)."""
    spec = contract.columns[name]
    kind = spec["type"]
    if spec.get("allowed"):
        return spec["allowed"][0]
    if kind == "currency":
        return "EUR"
    if kind == "date":
        return pd.Timestamp(date(2026, 3, 1))
    if kind in ("integer", "money", "minor", "rate"):
        low = spec.get("min", 5)
        return low + row + 5 if name in contract.key else max(low, 5)
    if kind == "email":
        return "ap@example.com"
    return f"{name}-{row}" if name in contract.key else "text"


def broken(
    contract: Contract,
    good: dict[str, Any],
    check_kind: str,
    columns: tuple[str, ...],
    kwargs: dict[str, Any],
    n: int,
) -> list[dict[str, Any]]:
    """Rows that break one check (the `n`-th row on): a good row with one value changed and a key of
    its own; a key's duplicate; for a row rule also a row missing a value, which it leaves alone."""
    if check_kind == "unique":
        return [dict(good)]  # the key of the first good row again
    row = dict(good)
    for key in contract.key:
        row[contract.typed_column(key)] = typical_value(contract, key, n)
    column = columns[0]
    if check_kind == "required":
        row[column] = None
    elif check_kind == "allowed":
        row[column] = "not-an-allowed-value"
    elif check_kind == "refused":
        row[column] = kwargs["value_set"][0]
    elif check_kind == "between":
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        row[column] = low - 1 if low is not None else high + 1
    elif check_kind == "reference":
        row[column] = "UNKNOWN-KEY"
    elif check_kind == "row_rule":
        a, b = columns
        row[a] = row[b] - (timedelta(days=1) if isinstance(row[b], pd.Timestamp) else 1)
        missing = {**good, a: None}
        for key in contract.key:
            missing[contract.typed_column(key)] = typical_value(contract, key, n + 1)
        return [row, missing]
    return [row]


def stage_frame(contract: Contract) -> pd.DataFrame:
    """Rows that keep every rule, then one row breaking each check of `contract`."""
    rows = []
    for n in range(3):
        rows.append(
            {contract.typed_column(name): typical_value(contract, name, n) for name in contract.columns}
        )
    for rule in contract.row_rules:  # a > b: make the good rows keep it
        if rule.get("op") == ">":
            for row in rows:
                row[contract.typed_column(rule["a"])] = row[contract.typed_column(rule["b"])] + 1
    for one in contract_checks(contract):
        rows.extend(broken(contract, rows[0], one.kind, one.columns, one.kwargs, len(rows)))
    frame = pd.DataFrame(rows)
    for name, spec in contract.columns.items():
        column = contract.typed_column(name)
        if spec["type"] in ("integer", "money", "minor", "rate"):
            frame[column] = frame[column].astype("Int64")
        elif spec["type"] == "date":
            frame[column] = pd.to_datetime(frame[column])
    return frame


CONTRACTS = sorted(p.stem for p in SHIPPED_CONTRACTS.glob("*.yaml"))


@pytest.mark.parametrize("dataset", CONTRACTS)
@pytest.mark.parametrize("shape", ["pandas", "arrow"])
def test_gx_and_sql_agree_on_every_rule_of_every_contract(dataset: str, shape: str) -> None:
    contract = load_contract(dataset)
    frame = stage_frame(contract)
    batch = frame if shape == "pandas" else pa.Table.from_pandas(frame, preserve_index=False)
    known = {"customers": {"customer_id-0", "customer_id-1", "customer_id-2", "text"}, "orders": {"text"}}
    result = run_checkpoint(batch, contract, source="test", known_keys=known)
    sample = result.validation.meta["o2c_sample"]
    assert sample["agrees"], [c for c in sample["checks"] if not c["agrees"]]
    assert sample["rows_sampled"] == sample["rows_checked"] == len(frame)  # a small batch: all of it
    assert len(sample["checks"]) == len(result.details) == len(contract_checks(contract))
    in_gx_order = [(c["expectation"], c["column"]) for c in sample["checks"]]  # as GX listed its results
    assert [(d["expectation"], d["column"]) for d in result.details] == in_gx_order
    for detail, compared in zip(result.details, sample["checks"], strict=True):
        assert detail["unexpected_count"] >= 1, detail  # every rule was broken, and found
        assert compared["sample_unexpected"] == compared["batch_unexpected"] == detail["unexpected_count"]
    assert not any(d["raised"] for d in result.details)


def test_every_rule_type_of_the_shipped_contracts_is_covered_above() -> None:
    kinds = {one.kind for dataset in CONTRACTS for one in contract_checks(load_contract(dataset))}
    assert kinds == {"required", "allowed", "refused", "between", "unique", "row_rule", "reference"}
    assert set(TYPED_SUFFIX) <= {
        spec["type"] for d in CONTRACTS for spec in load_contract(d).columns.values()
    }
    assert Path(SHIPPED_CONTRACTS).is_dir()

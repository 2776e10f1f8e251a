"""The checks a data contract asks for, one per Great Expectations expectation, in one list that both
the SQL checks (tasks/platform/checkpoint_sql.py) and the GX suite (tasks/platform/expectations.py)
are built from, so the two can never check different things.

`contract_checks(contract)` returns them in the order GX evaluates a suite (grouped by column, in
order of first appearance, the checks without a column together where the first of them stands),
which is the order of a checkpoint's `details` and of a row's reasons. Each `Check` names its
expectation, the column a checkpoint's details name it by, the frame columns it reads, GX's keyword
arguments and meta, and the reason a failing row gets, word for word. Pure: no GX, no DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tasks.platform.contracts import Contract

NOT_NULL = "expect_column_values_to_not_be_null"
IN_SET = "expect_column_values_to_be_in_set"
NOT_IN_SET = "expect_column_values_to_not_be_in_set"
BETWEEN = "expect_column_values_to_be_between"
UNIQUE = "expect_column_values_to_be_unique"
COMPOUND_UNIQUE = "expect_compound_columns_to_be_unique"
A_GREATER_THAN_B = "expect_column_pair_values_a_to_be_greater_than_b"


@dataclass(frozen=True)
class Check:
    """One rule of a contract, as the SQL checks run it and as GX's expectation states it.

    `kind` is the SQL that checks it (`sql/platform/checkpoint/<kind>.sql`): required, allowed,
    refused, between, unique, row_rule or reference. `columns` are the frame's columns it reads
    (for a reference: the column whose values must be known keys, not GX's flag column).
    """

    kind: str
    expectation: str
    column: str  # as a checkpoint's details name it: GX's column, column_A, or the key's columns
    columns: tuple[str, ...]
    kwargs: dict[str, Any] = field(hash=False)
    meta: dict[str, Any] = field(hash=False)
    reason: str
    base_column: str  # the contract's column the reason names: a parser's reason for it wins
    references: str | None = None  # the dataset whose keys a reference's values must be


def reference_flag(column: str, dataset: str) -> str:
    """GX's column for a reference: is the value a key of `dataset` (ledger plus this batch)?"""
    return f"{column}__exists_in_{dataset}"


def contract_checks(contract: Contract) -> list[Check]:
    """Every check of `contract`, in the order GX evaluates the suite it compiles to."""
    checks = []
    for name, spec in contract.columns.items():
        column = contract.typed_column(name)
        if spec.get("required"):
            checks.append(_check(contract, "required", NOT_NULL, (column,), {"column": column}))
        kwargs: dict[str, Any]
        if spec.get("allowed"):
            kwargs = {"column": column, "value_set": list(spec["allowed"])}
            checks.append(_check(contract, "allowed", IN_SET, (column,), kwargs))
        if spec.get("not"):
            kwargs = {"column": column, "value_set": list(spec["not"])}
            checks.append(_check(contract, "refused", NOT_IN_SET, (column,), kwargs))
        if "min" in spec or "max" in spec:
            kwargs = {"column": column, "min_value": spec.get("min"), "max_value": spec.get("max")}
            checks.append(_check(contract, "between", BETWEEN, (column,), kwargs))
    key = tuple(contract.typed_column(k) for k in contract.key)
    if len(key) == 1:
        checks.append(_check(contract, "unique", UNIQUE, key, {"column": key[0]}))
    elif key:
        checks.append(_check(contract, "unique", COMPOUND_UNIQUE, key, {"column_list": list(key)}))
    for rule in contract.row_rules:
        a, b = contract.typed_column(rule["a"]), contract.typed_column(rule["b"])
        kwargs = {
            "column_A": a,
            "column_B": b,
            "or_equal": rule.get("op", ">=") == ">=",
            "ignore_row_if": "either_value_is_missing",
        }
        checks.append(_check(contract, "row_rule", A_GREATER_THAN_B, (a, b), kwargs, {"rule": rule["name"]}))
    for name, dataset in contract.references.items():
        # GX checks a flag column (is the value known?), as its in-set check is slow on large key sets.
        kwargs = {"column": reference_flag(name, dataset), "value_set": [True]}
        meta = {"references": dataset, "column": name}
        read = (contract.typed_column(name),)
        checks.append(_check(contract, "reference", IN_SET, read, kwargs, meta, references=dataset))
    return _in_evaluation_order(checks)


def _check(
    contract: Contract,
    kind: str,
    expectation: str,
    columns: tuple[str, ...],
    kwargs: dict[str, Any],
    meta: dict[str, Any] | None = None,
    references: str | None = None,
) -> Check:
    meta = meta or {}
    column = kwargs.get("column") or kwargs.get("column_A") or ",".join(kwargs.get("column_list") or [])
    return Check(
        kind=kind,
        expectation=expectation,
        column=column,
        columns=columns,
        kwargs=kwargs,
        meta=meta,
        reason=reason(contract, expectation, column, kwargs, meta),
        base_column=meta.get("column") or base_column(contract, column),
        references=references,
    )


def _in_evaluation_order(checks: list[Check]) -> list[Check]:
    """The checks as GX's validator orders a suite before it evaluates it: grouped by their
    `column` keyword in order of first appearance, those without one (key, row rules) together."""
    groups: dict[str, list[Check]] = {}
    for check in checks:
        column = check.kwargs.get("column")
        groups.setdefault(column if isinstance(column, str) else "\0no column", []).append(check)
    return [check for group in groups.values() for check in group]


def base_column(contract: Contract, column: str) -> str:
    """The contract's name of a frame column (`amount` for `amount_minor`)."""
    for name in contract.columns:
        if contract.typed_column(name) == column:
            return name
    return column


def reason(
    contract: Contract, expectation: str, column: str, kwargs: dict[str, Any], meta: dict[str, Any]
) -> str:
    """What a row failing `expectation` on `column` is told, naming the contract's column."""
    name = meta.get("column") or base_column(contract, column)
    if expectation == NOT_NULL:
        return f"{name}: required value is missing"
    if expectation in (UNIQUE, COMPOUND_UNIQUE):
        return f"{name}: duplicate key in this batch"
    if expectation == BETWEEN:
        bounds = []
        if kwargs.get("min_value") is not None:
            bounds.append(f">= {kwargs['min_value']:g}")
        if kwargs.get("max_value") is not None:
            bounds.append(f"<= {kwargs['max_value']:g}")
        return f"{name}: must be {' and '.join(bounds)}"
    if expectation == IN_SET:
        if meta.get("references"):
            dataset = meta["references"]
            return f"{name}: unknown {dataset[:-1] if dataset.endswith('s') else dataset}"
        allowed = ", ".join(map(str, kwargs.get("value_set", [])))
        return f"{name}: not one of {allowed}"
    if expectation == NOT_IN_SET:
        return f"{name}: must not be {', '.join(map(str, kwargs.get('value_set', [])))}"
    if expectation == A_GREATER_THAN_B:
        other = base_column(contract, kwargs["column_B"])
        op = ">=" if kwargs.get("or_equal") else ">"
        return f"{name}: must be {op} {other} ({meta.get('rule', 'row rule')})"
    return f"{name}: fails {expectation}"

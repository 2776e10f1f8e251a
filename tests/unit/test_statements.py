"""Bank statements to payments: integrity checks, credits only, stable payment ids."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tasks.ingest.bank.model import Statement, entries_frame
from tasks.ingest.bank.statements import integrity_problems, payments_rows, statement_format


def entry(amount_minor: int, credit_debit: str = "CRDT", **fields: object) -> dict[str, object]:
    row: dict[str, object] = {
        "amount_minor": amount_minor,
        "currency": "EUR",
        "credit_debit": credit_debit,
        "value_date": "2026-11-02",
        "booking_date": "2026-11-02",
        "status": "BOOK",
    }
    row.update(fields)
    return row


def statement(
    entries: list[dict[str, object]],
    opening: int | None = 10_000,
    closing: int | None = None,
    sequence: str | None = "5/1",
    account: str = "DE89370400440532013000",
    statement_id: str = "S1",
) -> Statement:
    return Statement(
        source="bank.sta",
        message_type="MT940",
        version="MT940",
        statement_id=statement_id,
        sequence_number=sequence,
        account=account,
        currency="EUR",
        opening_balance_minor=opening,
        closing_balance_minor=closing,
        created_at=None,
        entries=entries_frame(entries),
    )


BALANCED = [entry(5_000, bank_reference="B1", remittance_text="INV-2026-000001"), entry(2_000, "DBIT")]


def test_a_statement_that_adds_up_has_no_problems() -> None:
    assert integrity_problems([statement(BALANCED, 10_000, 13_000)]) == {}


def test_balances_that_do_not_add_up_are_named_with_the_figures() -> None:
    problems = integrity_problems([statement(BALANCED, 10_000, 13_001)])
    assert problems[0] == [
        "balances do not add up: opening 10000 + credits 5000 - debits 2000 = 13000,"
        " closing says 13001 (minor units)"
    ]


@pytest.mark.parametrize(
    ("sequences", "gap_at"),
    [
        (["5/1", "5/2", "6/1"], None),
        (["5", "6", "7"], None),
        (["0", "0", "0"], None),
        (["5", "7"], 1),
        (["5/1", "5/3"], 1),
        (["6", "5"], 1),
    ],
)
def test_sequence_numbers_must_continue(sequences: list[str], gap_at: int | None) -> None:
    statements = [
        statement(BALANCED, 10_000, 13_000, sequence=s, statement_id=f"S{i}") for i, s in enumerate(sequences)
    ]
    problems = integrity_problems(statements)
    assert list(problems) == ([] if gap_at is None else [gap_at])
    if gap_at is not None:
        assert "does not follow" in problems[gap_at][0]


def test_one_currency_per_account() -> None:
    usd = statement([entry(100, currency="USD")], None, None, sequence=None)
    problems = integrity_problems([statement(BALANCED, 10_000, 13_000), usd])
    assert problems == {1: ["account DE89370400440532013000 has more than one currency: EUR, USD"]}


def test_only_credits_become_payments_with_stable_ids() -> None:
    rows, owners = payments_rows(
        [statement(BALANCED + [entry(700, remittance_text="no bank ref")])], "bank.sta"
    )
    assert owners == [0, 0]
    assert rows["amount"].tolist() == ["50.00", "7.00"]
    assert rows.loc[0, "payment_id"] == "DE89370400440532013000:B1"
    assert rows.loc[0, "reference"] == "INV-2026-000001"
    assert rows.loc[1, "payment_id"].startswith("DE89370400440532013000:h")
    again, _ = payments_rows([statement(BALANCED + [entry(700, remittance_text="no bank ref")])], "other.sta")
    assert again["payment_id"].tolist() == rows["payment_id"].tolist()  # same statement, same ids


def test_two_identical_entries_without_bank_reference_stay_two_payments() -> None:
    rows, _ = payments_rows([statement([entry(700), entry(700)])], "bank.sta")
    assert rows["payment_id"].nunique() == 2


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">', "camt"),
        (b"01,BANK,CUST,261120,0800,1,,,2/", "bai2"),
        (b":20:STMT\r\n:25:123\r\n:28C:5/1\r\n", "mt940"),
        (b"customer_id,name\n", None),
    ],
)
def test_the_format_is_known_from_the_content(head: bytes, kind: str | None) -> None:
    assert statement_format(Path("file.txt"), head) == kind


def test_entries_frame_refuses_floats() -> None:
    with pytest.raises(TypeError):
        entries_frame([entry(10.5)])  # type: ignore[arg-type]
    assert isinstance(entries_frame([entry(10)]), pd.DataFrame)

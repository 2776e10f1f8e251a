"""Bank statements in: any supported format to canonical payments, with integrity checks.

Pure. `read_statements` picks the reader by the file's content (camt XML, BAI2, MT940/MT942);
`integrity_problems` checks each statement (opening + credits - debits = closing, continuous
sequence numbers, one currency per account); `payments_rows` turns the credits (incoming money)
into canonical payment rows, each identified by its transaction key (a transaction of a batched
entry) or its bank reference or, where the bank gives neither, by a hash of the statement, the
entry's position and its content, so the same statement read twice adds nothing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from tasks.ingest.bank.bai2 import read_bai2
from tasks.ingest.bank.camt import read_camt
from tasks.ingest.bank.model import CREDIT, DEBIT, Statement, StatementRejected, rejection
from tasks.ingest.bank.mt940 import read_mt940
from tasks.platform.money import to_major_str

STATEMENT_SUFFIXES = (".xml", ".sta", ".mt940", ".940", ".942", ".bai", ".bai2")
PAYMENT_COLUMNS = [
    "payment_id", "value_date", "amount", "currency", "payer_name", "payer_account", "reference",
    "booking_date", "bank_reference", "end_to_end_id", "creditor_reference", "payer_bic",
    "bank_transaction_code", "statement_id", "account",
]  # fmt: skip


def statement_format(path: Path, head: bytes) -> str | None:
    """Which reader a file needs, from its first bytes: 'camt', 'bai2', 'mt940', or None."""
    text = head.lstrip(b"\xef\xbb\xbf \r\n\t")
    if text.startswith(b"<") and b"camt.05" in head:
        return "camt"
    if text.startswith(b"01,"):
        return "bai2"
    if b":20:" in head and (b":61:" in head or b":25:" in head or path.suffix.lower() in STATEMENT_SUFFIXES):
        return "mt940"
    return None


def read_statements(path: Path) -> list[Statement]:
    """Every statement in a bank file; StatementRejected with one line when it cannot be read."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise rejection(path, f"cannot be read ({exc.strerror})") from None
    if not content.removeprefix(b"\xef\xbb\xbf").strip():
        raise rejection(path, "empty: no bank statement in it")
    kind = statement_format(path, content[:4096])
    if kind == "camt":
        return read_camt(path)
    if kind == "bai2":
        return read_bai2(path)
    if kind == "mt940":
        return read_mt940(path)
    raise rejection(path, "not a bank statement this reader knows (camt.052/053/054, MT940/MT942, BAI2)")


def integrity_problems(statements: list[Statement]) -> dict[int, list[str]]:
    """Problems per statement (by position in the list); a statement without problems is absent."""
    problems: dict[int, list[str]] = {}
    currency_of: dict[str, str] = {}
    last_sequence: dict[str, tuple[int, int]] = {}
    for position, statement in enumerate(statements):
        found = problems.setdefault(position, [])
        entries = statement.entries
        if statement.opening_balance_minor is not None and statement.closing_balance_minor is not None:
            booked = (
                entries[entries["currency"] == (statement.currency or entries["currency"].iloc[0])]
                if len(entries)
                else entries
            )
            credits = int(booked.loc[booked["credit_debit"] == CREDIT, "amount_minor"].sum())
            debits = int(booked.loc[booked["credit_debit"] == DEBIT, "amount_minor"].sum())
            expected = statement.opening_balance_minor + credits - debits
            if expected != statement.closing_balance_minor:
                found.append(
                    f"balances do not add up: opening {statement.opening_balance_minor} + credits {credits}"
                    f" - debits {debits} = {expected}, closing says {statement.closing_balance_minor} (minor units)"
                )
        account = statement.account or "?"
        currencies = set(entries["currency"].dropna()) | (
            {statement.currency} if statement.currency else set()
        )
        if account in currency_of:
            currencies.add(currency_of[account])
        if len(currencies) > 1:
            found.append(f"account {account} has more than one currency: {', '.join(sorted(currencies))}")
        elif currencies:
            currency_of[account] = next(iter(currencies))
        sequence = _sequence(statement.sequence_number)
        previous = last_sequence.get(account)
        if sequence is not None and previous is not None and not _follows(previous, sequence):
            found.append(
                f"sequence {statement.sequence_number} does not follow {'/'.join(map(str, previous))}"
                f" for account {account}"
            )
        if sequence is not None:
            last_sequence[account] = sequence
        if not found:
            del problems[position]
    return problems


def _sequence(text: str | None) -> tuple[int, int] | None:
    """Statement number and page (`5/2` -> (5, 2); `7` -> (7, 0)); None when not numeric."""
    parts = (text or "").split("/")
    if not parts[0].isdigit():
        return None
    page = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    return int(parts[0]), page


def _follows(previous: tuple[int, int], current: tuple[int, int]) -> bool:
    """The next page of the same statement, or the next statement. A number that never changes
    (banks that always send 0 or 999) carries no sequence, so it is not a gap."""
    if current == previous:
        return True
    same_statement = current[0] == previous[0] and current[1] == previous[1] + 1
    return same_statement or current[0] == previous[0] + 1


def payments_rows(statements: list[Statement], source: str) -> tuple[pd.DataFrame, list[int]]:
    """Canonical payment rows (text, as a payments.csv would carry them) for every credit entry,
    and for each row the position of the statement it came from."""
    rows: list[dict[str, str]] = []
    owners: list[int] = []
    for position, statement in enumerate(statements):
        credits = statement.entries[statement.entries["credit_debit"] == CREDIT]
        for index, entry in enumerate(credits.itertuples(index=False)):
            rows.append(_payment_row(statement, source, index, entry))
            owners.append(position)
    return pd.DataFrame(rows, columns=PAYMENT_COLUMNS), owners


def _payment_row(statement: Statement, source: str, index: int, entry: object) -> dict[str, str]:
    def text(name: str) -> str:
        value = getattr(entry, name)
        return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)

    currency = text("currency")
    amount = to_major_str(int(getattr(entry, "amount_minor")), currency)  # noqa: B009
    reference = text("bank_reference")
    key = text("transaction_key") or reference
    statement_key = statement.statement_id or Path(source).name
    if key:
        payment_id = f"{statement.account or 'account'}:{key}"
    else:
        content = "|".join(
            [
                statement.account or "",
                statement_key,
                str(index),
                text("booking_date"),
                text("value_date"),
                amount,
                currency,
                text("remittance_text"),
                text("entry_reference"),
            ]
        )
        payment_id = f"{statement.account or 'account'}:h{hashlib.sha256(content.encode()).hexdigest()[:20]}"
    return {
        "payment_id": payment_id,
        "value_date": text("value_date") or text("booking_date"),
        "amount": amount,
        "currency": currency,
        "payer_name": text("counterparty_name"),
        "payer_account": text("counterparty_account"),
        "reference": text("remittance_text"),
        "booking_date": text("booking_date"),
        "bank_reference": reference,
        "end_to_end_id": text("end_to_end_id"),
        "creditor_reference": text("creditor_reference"),
        "payer_bic": text("counterparty_bic"),
        "bank_transaction_code": text("bank_transaction_code"),
        "statement_id": statement.statement_id or "",
        "account": statement.account or "",
    }


__all__ = ["StatementRejected", "integrity_problems", "payments_rows", "read_statements", "statement_format"]

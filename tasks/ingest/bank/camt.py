"""Strict reader for ISO 20022 bank statements: camt.052 (account report), camt.053 (statement) and
camt.054 (debit/credit notification), every version of the family (camt.05x.001.NN).

A file gives one `Statement` per report, statement or notification in it, each with its entries as a
table of transactions (one row per transaction detail, each for its own amount; a batch whose details
state no amounts is one row for the entry). The statement's currency is the account's (`Acct/Ccy`),
else the one currency its balances and entries state. The reader trusts nothing: DTDs and entities
are forbidden, the root must be a camt message, and an entry without a readable amount, currency or
credit/debit indicator, a batch whose details do not add up to the entry, or amounts in more than one
currency reject the whole file with `StatementRejected`. Nothing is repaired or guessed.
The reader is pure: no clock, environment, network or orchestration.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from tasks.ingest.bank import camt_fields as fields
from tasks.ingest.bank.camt_fields import Camt, FieldProblem
from tasks.ingest.bank.model import ENTRY_COLUMNS, Statement, StatementRejected, entries_frame, rejection
from tasks.platform.money import to_major_str

__all__ = ["ENTRY_COLUMNS", "MAX_FILE_BYTES", "Statement", "StatementRejected", "read_camt"]

# A bank file larger than this is refused before parsing (a month of a busy account is a few MB).
MAX_FILE_BYTES = 64 * 1024 * 1024

_NAMESPACE = re.compile(r"\{urn:iso:std:iso:20022:tech:xsd:(camt\.05[234])\.001\.(\d{2})\}Document")

# Message type -> (message element, record element). Version 1 suffixes the message element "V01".
_LAYOUT = {
    "camt.052": ("BkToCstmrAcctRpt", "Rpt"),
    "camt.053": ("BkToCstmrStmt", "Stmt"),
    "camt.054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn"),
}

_OPENING_CODES = ("OPBD", "PRCD")  # opening booked, else the previous closing booked
_CLOSING_CODE = "CLBD"


def read_camt(path: Path) -> list[Statement]:
    """Read a camt.052/053/054 file into one `Statement` per report, statement or notification.

    Raises `StatementRejected` ("<file name>: <problem>") for anything unsafe or not per the standard.
    """
    source = Path(path)
    try:
        root = _parse(_read_bytes(source))
        message_type, version, camt = _identify(root)
        records = _records(root, message_type, camt)
        return [
            _statement(str(path), message_type, version, camt, record, index)
            for index, record in enumerate(records, start=1)
        ]
    except FieldProblem as problem:
        raise rejection(source, str(problem)) from problem


def _read_bytes(path: Path) -> bytes:
    """The raw file, refused when unreadable or implausibly large."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise FieldProblem(f"file is {size} bytes, more than the {MAX_FILE_BYTES} a statement may have")
        return path.read_bytes()
    except OSError as error:
        raise FieldProblem(f"cannot read the file ({error.strerror or error})") from None


def _parse(data: bytes) -> Element:
    """The XML tree, with document type declarations, entities and external references forbidden."""
    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as error:
        raise FieldProblem(f"forbidden XML construct: {error}") from None
    except ParseError as error:
        raise FieldProblem(f"malformed XML: {error}") from None


def _identify(root: Element) -> tuple[str, str, Camt]:
    """The message type ("camt.053") and version ("camt.053.001.02") named by the root namespace."""
    match = _NAMESPACE.fullmatch(root.tag)
    if match is None:
        raise FieldProblem(f"root element {root.tag!r} is not a camt.052/053/054 Document")
    message_type, number = match.groups()
    namespace = root.tag[1 : root.tag.index("}")]
    return message_type, f"{message_type}.001.{number}", Camt(namespace)


def _records(root: Element, message_type: str, camt: Camt) -> list[Element]:
    """The reports/statements/notifications of the message; a message without any is refused."""
    message_name, record_name = _LAYOUT[message_type]
    message = camt.find(root, message_name)
    if message is None:
        message = camt.find(root, f"{message_name}V01")
    if message is None:
        raise FieldProblem(f"{message_name} message element is missing")
    if camt.find(message, "GrpHdr") is None:
        raise FieldProblem(f"{message_name} has no group header (GrpHdr)")
    records = camt.find_all(message, record_name)
    if not records:
        raise FieldProblem(f"{message_name} has no {record_name} element")
    return records


def _statement(
    source: str, message_type: str, version: str, camt: Camt, record: Element, index: int
) -> Statement:
    """One report/statement/notification: who, which period's balances, and its transactions."""
    label = f"{record.tag.split('}')[1]} {index}"
    opening, closing = _balances(camt, record, label)
    rows: list[dict[str, Any]] = []
    for number, entry in enumerate(camt.find_all(record, "Ntry"), start=1):
        rows.extend(_entry_rows(camt, entry, f"{label} entry {number}"))
    return Statement(
        source=source,
        message_type=message_type,
        version=version,
        statement_id=camt.text(record, "Id"),
        sequence_number=camt.first_text(record, "ElctrncSeqNb", "LglSeqNb"),
        account=fields.account_id(camt, camt.find(record, "Acct")),
        currency=_currency(camt, record, label),
        opening_balance_minor=opening,
        closing_balance_minor=closing,
        created_at=camt.text(record, "CreDtTm"),
        entries=entries_frame(rows),
    )


def _currency(camt: Camt, record: Element, label: str) -> str | None:
    """The account's currency: `Acct/Ccy`, else the one currency all its balances and entries state.

    `Acct/Ccy` is optional and many banks leave it out while every amount states its currency.
    When the account names none and its balances and entries are not all in one currency, the
    statement has no currency it can be checked in, and the file is refused.
    """
    stated = camt.text(record, "Acct/Ccy")
    if stated is not None:
        return stated
    amounts = [*camt.find_all(record, "Bal/Amt"), *camt.find_all(record, "Ntry/Amt")]
    found = sorted({(node.get("Ccy") or "").strip() for node in amounts} - {""})
    if len(found) > 1:
        raise FieldProblem(
            f"{label}: the account states no currency (Acct/Ccy) and its balances and entries"
            f" disagree ({', '.join(found)})"
        )
    return found[0] if found else None


def _balances(camt: Camt, record: Element, label: str) -> tuple[int | None, int | None]:
    """Opening (OPBD, else PRCD) and closing (CLBD) booked balances, signed: credit +, debit -.

    Every balance must be readable, even one of a type not kept; a type given twice is ambiguous.
    """
    found: dict[str, int] = {}
    for number, balance in enumerate(camt.find_all(record, "Bal"), start=1):
        code = camt.first_text(balance, "Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry", "Tp/Cd", "Tp/Prtry")
        what = f"{label} balance {number} ({code or 'no type'})"
        minor, _currency = fields.amount(camt.find(balance, "Amt"), what)
        signed = minor if fields.direction(camt, balance, what) == fields.CREDIT else -minor
        if code in (*_OPENING_CODES, _CLOSING_CODE):
            if code in found:
                raise FieldProblem(f"{label}: balance {code} is given more than once")
            found[code] = signed
    opening = found.get(_OPENING_CODES[0], found.get(_OPENING_CODES[1]))
    return opening, found.get(_CLOSING_CODE)


def _entry_rows(camt: Camt, entry: Element, what: str) -> list[dict[str, Any]]:
    """The transactions of one entry: one per transaction detail, or the entry itself when it has none.

    A batched entry (several details) books the sum of its details: each detail is one transaction
    for its own amount (`Amt`, else `AmtDtls/TxAmt/Amt`), and the details must add up to the
    entry. When a detail of a batch states no amount of its own, the batch cannot be split and is one
    transaction for the entry's amount. Each transaction of a batch gets its own `transaction_key`.
    """
    minor, currency = fields.amount(camt.find(entry, "Amt"), what)
    entry_direction = fields.direction(camt, entry, what)
    details = camt.find_all(entry, "NtryDtls/TxDtls")
    entry_code = fields.bank_transaction_code(camt, camt.find(entry, "BkTxCd"))
    shared = {
        "entry_reference": camt.text(entry, "NtryRef"),
        "booking_date": fields.calendar_date(camt, camt.find(entry, "BookgDt"), f"{what} booking date"),
        "value_date": fields.calendar_date(camt, camt.find(entry, "ValDt"), f"{what} value date"),
        "status": camt.first_text(entry, "Sts/Cd", "Sts/Prtry", "Sts"),
    }
    entry_reference = camt.text(entry, "AcctSvcrRef")
    entry_row = {
        **shared,
        "bank_reference": entry_reference,
        "amount_minor": minor,
        "currency": currency,
        "credit_debit": entry_direction,
        "bank_transaction_code": entry_code,
    }
    if not details:
        return [entry_row]
    rows = []
    for number, detail in enumerate(details, start=1):
        row = _detail_row(camt, detail, f"{what} detail {number}", (minor, currency, entry_direction))
        detail_reference = camt.text(detail, "Refs/AcctSvcrRef")
        row["bank_reference"] = detail_reference if len(details) > 1 else entry_reference or detail_reference
        row["bank_transaction_code"] = row["bank_transaction_code"] or entry_code
        rows.append({**shared, **row})
    if len(details) == 1:
        return rows
    if not all(_own_amount(camt, detail) is not None for detail in details):
        return [_batch_as_one(entry_row, rows)]
    _check_batch_total(what, rows, minor, currency, entry_direction)
    keys = _detail_keys(camt, details, entry_reference or shared["entry_reference"])
    return [{**row, "transaction_key": key} for row, key in zip(rows, keys, strict=True)]


# References that say there is no reference (SEPA's NOTPROVIDED, SWIFT's NONREF).
_NO_REFERENCE = {"NOTPROVIDED", "NONREF", "NONE"}


def _detail_keys(camt: Camt, details: list[Element], entry_reference: str | None) -> list[str | None]:
    """The identity of each detail of a batched entry: distinct within the entry, the same every read.

    The detail's own account servicer reference when no other detail of the entry has it (it is
    the bank's own reference, as unique as an entry's); else its transaction id, else its end-to-end
    id (chosen by the payer, so qualified by the entry's reference), each only when no other detail of
    the entry shares it; else the entry's reference and the detail's position ("REF/2"). None (a hash
    of the entry's content is used) when neither the detail nor the entry has any reference.
    """
    paths = ("Refs/AcctSvcrRef", "Refs/TxId", "Refs/EndToEndId")
    columns = [[_reference(camt.text(detail, path)) for detail in details] for path in paths]
    keys: list[str | None] = []
    for position, _detail in enumerate(details):
        key = None
        for field, values in enumerate(columns):
            value = values[position]
            if value is None or values.count(value) > 1 or value == entry_reference:
                continue
            key = value if field == 0 or entry_reference is None else f"{entry_reference}/{value}"
            break
        if key is None and entry_reference is not None:
            key = f"{entry_reference}/{position + 1}"
        keys.append(key)
    for position, key in enumerate(keys):  # a reference that happens to equal another's fallback
        if key is not None and keys.count(key) > 1 and entry_reference is not None:
            keys[position] = f"{entry_reference}/{position + 1}"
    return keys


def _reference(value: str | None) -> str | None:
    return None if value is None or value.upper() in _NO_REFERENCE else value


def _own_amount(camt: Camt, detail: Element) -> Element | None:
    """The amount element a transaction detail states for itself, if any."""
    node = camt.find(detail, "Amt")
    return node if node is not None else camt.find(detail, "AmtDtls/TxAmt/Amt")


def _check_batch_total(
    what: str, rows: list[dict[str, Any]], minor: int, currency: str, direction: str
) -> None:
    """The details of a batch in the entry's currency must add up to what the entry books."""
    if any(row["currency"] != currency for row in rows):
        return  # details in another currency (instructed amounts) cannot be summed against the entry
    signed = sum(
        row["amount_minor"] if row["credit_debit"] == fields.CREDIT else -row["amount_minor"] for row in rows
    )
    booked = minor if direction == fields.CREDIT else -minor
    if signed != booked:
        raise FieldProblem(
            f"{what}: its {len(rows)} transaction details add up to {to_major_str(signed, currency)} {currency},"
            f" the entry books {to_major_str(booked, currency)} {currency}"
        )


def _batch_as_one(entry_row: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A batch whose details do not state their amounts: one transaction for the entry's amount,
    with what all its details agree on (counterparty, references) and all their remittance texts."""

    def agreed(column: str) -> Any:
        values = {row[column] for row in rows}
        return values.pop() if len(values) == 1 else None

    texts = list(dict.fromkeys(row["remittance_text"] for row in rows if row["remittance_text"]))
    party = ("counterparty_name", "counterparty_account", "counterparty_bic")
    same_side = agreed("credit_debit") == entry_row["credit_debit"]
    return {
        **entry_row,
        **{column: agreed(column) if same_side else None for column in party},
        "creditor_reference": agreed("creditor_reference"),
        "end_to_end_id": agreed("end_to_end_id"),
        "remittance_text": " ".join(texts) or None,
        "bank_transaction_code": entry_row["bank_transaction_code"] or agreed("bank_transaction_code"),
    }


def _detail_row(camt: Camt, detail: Element, what: str, entry_money: tuple[int, str, str]) -> dict[str, Any]:
    """One transaction detail: its own amount and direction where given, else the entry's."""
    amount_node = _own_amount(camt, detail)
    minor, currency, credit_debit = entry_money
    if amount_node is not None:
        minor, currency = fields.amount(amount_node, what)
    credit_debit = fields.optional_direction(camt, detail, what) or credit_debit
    name, account, bic = fields.counterparty(camt, detail, credit_debit)
    text, creditor_reference = fields.remittance(camt, detail)
    return {
        "amount_minor": minor,
        "currency": currency,
        "credit_debit": credit_debit,
        "counterparty_name": name,
        "counterparty_account": account,
        "counterparty_bic": bic,
        "creditor_reference": creditor_reference,
        "end_to_end_id": camt.text(detail, "Refs/EndToEndId"),
        "remittance_text": text,
        "bank_transaction_code": fields.bank_transaction_code(camt, camt.find(detail, "BkTxCd")),
    }

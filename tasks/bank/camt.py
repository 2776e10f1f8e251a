"""Strict reader for ISO 20022 bank statements: camt.052 (account report), camt.053 (statement) and
camt.054 (debit/credit notification), every version of the family (camt.05x.001.NN).

A file gives one `Statement` per report, statement or notification in it, each with its entries as a
table of transactions (one row per transaction detail). The reader trusts nothing: DTDs and entities
are forbidden, the root must be a camt message, and an entry without a readable amount, currency or
credit/debit indicator rejects the whole file with `StatementRejected`. Nothing is repaired or guessed.
The reader is pure: no clock, environment, network or orchestration.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from tasks.bank import camt_fields as fields
from tasks.bank.camt_fields import Camt, FieldProblem
from tasks.bank.model import ENTRY_COLUMNS, Statement, StatementRejected, entries_frame, rejection

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
        currency=camt.text(record, "Acct/Ccy"),
        opening_balance_minor=opening,
        closing_balance_minor=closing,
        created_at=camt.text(record, "CreDtTm"),
        entries=entries_frame(rows),
    )


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
    """The transactions of one entry: one per transaction detail, or the entry itself when it has none."""
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
    if not details:
        row = {"bank_reference": entry_reference, "amount_minor": minor, "currency": currency}
        return [{**shared, **row, "credit_debit": entry_direction, "bank_transaction_code": entry_code}]
    rows = []
    for number, detail in enumerate(details, start=1):
        detail_what = f"{what} detail {number}"
        row = _detail_row(camt, detail, detail_what, (minor, currency, entry_direction))
        detail_reference = camt.text(detail, "Refs/AcctSvcrRef")
        row["bank_reference"] = detail_reference if len(details) > 1 else entry_reference or detail_reference
        row["bank_transaction_code"] = row["bank_transaction_code"] or entry_code
        rows.append({**shared, **row})
    return rows


def _detail_row(camt: Camt, detail: Element, what: str, entry_money: tuple[int, str, str]) -> dict[str, Any]:
    """One transaction detail: its own amount and direction where given, else the entry's."""
    amount_node = camt.find(detail, "Amt")
    if amount_node is None:
        amount_node = camt.find(detail, "AmtDtls/TxAmt/Amt")
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

"""ISO 20022 camt.052/053/054 reader: every real test file decodes to what the upstream library decoded,
or is refused, and hostile or broken files are refused with a one-line reason naming the file.

The expected values come from the JSON dumps of the Genkgo PHP camt library that sit beside each XML
file (amounts in minor units). The dump writes each PHP object once and "__RECURSIVITY__" every later
time it meets the same object, so the adapter below resolves those markers by position: the singular
getter (`getTransactionDetail`, `getRelatedAgent`, `getStructuredBlock`, `getUnstructuredBlock`) sorts
before its plural and is always the plural's first item.

JSON fields compared: statement id, sequence numbers, account id, opening/closing balances, creation
time, message type; per transaction: amount, currency, credit/debit, booking and value dates, entry
reference, account servicer reference, status, counterparty name/account/BIC, creditor reference,
end-to-end id, unstructured remittance, bank transaction code.
JSON fields not mapped (no column for them in `Statement`): group header (message id, recipient,
pagination), account name/owner, postal addresses, party identifications, ultimate parties, proprietary
and other references (instruction, transaction, mandate, UETR...), charges, additional information,
return information, related dates, balance dates and balance types other than opening/closing,
from/to dates, copy/duplicate indicator, batch payment id, reversal indicator. The account currency
(`Acct/Ccy`) is not in the dump either, so it is checked by hand for one file only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tasks.ingest.bank.camt import ENTRY_COLUMNS, StatementRejected, read_camt
from tasks.ingest.bank.statements import payments_rows

CAMT_DIR = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "datasets"
    / "bank_statements"
    / "camt_genkgo"
    / "test"
    / "data"
)
XML_FILES = sorted(CAMT_DIR.glob("*.xml")) if CAMT_DIR.is_dir() else []
REC = "__RECURSIVITY__"
RECORD_KINDS = {"Statement", "Report", "Notification"}

# Upstream copies the entry's credit/debit indicator onto every transaction detail. These files give
# their details their own `TxDtls/CdtDbtInd` (CRDT, under a DBIT entry); the reader keeps the detail's
# own indicator, so for them the expected direction (and hence the counterparty side) is the detail's.
DETAIL_DIRECTION = {
    "camt052.v4.xml": "CRDT",
    "camt052.v6.xml": "CRDT",
    "camt052.v6.Amt-zero.xml": "CRDT",
    "camt054.v4.xml": "CRDT",
    "camt054.v8.xml": "CRDT",
}
# These files name no account currency (`Acct/Ccy`) and their balances and entries are in several
# currencies (the upstream files are synthetic): the statement has no currency, so they are refused.
# To keep checking the rest of their decoding against upstream, a copy that states the account's
# currency is decoded too (a stated `Acct/Ccy` is the statement's currency, whatever the balances say).
CURRENCY_DISAGREES = {
    "camt052.v4.xml": "Rpt 1: the account states no currency (Acct/Ccy) and its balances and entries disagree (CHF, SEK)",
    "camt052.v6.xml": "Rpt 1: the account states no currency (Acct/Ccy) and its balances and entries disagree (CHF, SEK)",
    "camt052.v6.Amt-zero.xml": "Rpt 1: the account states no currency (Acct/Ccy) and its balances and entries"
    " disagree (CHF, SEK)",
    "camt053.v2.with-account-name.xml": "Stmt 1: the account states no currency (Acct/Ccy) and its balances"
    " and entries disagree (EUR, JPY)",
    "camt053.v4.xml": "Stmt 1: the account states no currency (Acct/Ccy) and its balances and entries"
    " disagree (CHF, EUR, JPY, SEK)",
    "camt053.v8.xml": "Stmt 1: the account states no currency (Acct/Ccy) and its balances and entries"
    " disagree (CHF, EUR, JPY, SEK)",
}
# The upstream dump keys the message's entries by their index within each statement, so a later
# statement overwrites an earlier one: only the last statement of this file survives in its JSON.
# The first statement is checked by hand in `test_multi_statement_first_statement`.
LOST_IN_DUMP = {"camt053.v2.multi.statement.xml": {"253EURNL26VAYB8060476890"}}


def _need_data() -> None:
    if not CAMT_DIR.is_dir():
        pytest.skip(f"camt test data not found at {CAMT_DIR} (needs ../shared/datasets beside the project)")


def _json_for(xml: Path) -> list[Path]:
    """The upstream dumps for one XML file: X.json, plus X.<variant>.json that has no XML of its own."""
    base = xml.name.removesuffix(".xml")
    variants = [p for p in CAMT_DIR.glob(f"{base}.*.json") if not p.with_suffix(".xml").exists()]
    return [p for p in [CAMT_DIR / f"{base}.json", *sorted(variants)] if p.exists()]


# --- adapter: upstream JSON dump -> the fields the reader produces ---------------------------------


def _kind(obj: dict[str, Any]) -> str:
    return str(obj["__CLASS__"]).rsplit("\\", 1)[-1]


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every dumped object in document order (the order the dumper met them)."""
    if isinstance(node, dict):
        if "__CLASS__" in node:
            yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _items(first: Any, items: list[Any]) -> list[dict[str, Any]]:
    """A plural getter's list with its leading back-reference replaced by the singular getter's object."""
    resolved = []
    for index, item in enumerate(items):
        if item == REC:
            assert index == 0 and isinstance(first, dict), "unresolvable back-reference in upstream dump"
            item = first
        resolved.append(item)
    return resolved


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _money(money: dict[str, Any]) -> tuple[int, str]:
    return abs(int(money["getAmount"])), money["getCurrency"]["getCode"]


def _day(value: dict[str, Any] | None) -> str | None:
    return None if value is None else value["0"][:10]


def _code(btc: dict[str, Any] | None) -> str | None:
    if not btc:
        return None
    if btc.get("getDomain"):
        domain = btc["getDomain"]
        family = domain.get("getFamily") or {}
        parts = [domain.get("getCode"), family.get("getCode"), family.get("getSubFamilyCode")]
        return "/".join(part for part in parts if part) or None
    return _text((btc.get("getProprietary") or {}).get("getCode"))


def _counterparty(detail: dict[str, Any], direction: str) -> tuple[str | None, str | None, str | None]:
    side = "Debtor" if direction == "CRDT" else "Creditor"
    name = account = bic = None
    for party in detail["getRelatedParties"]:
        if _kind(party["getRelatedPartyType"]) == side:
            name = _text(party["getRelatedPartyType"]["getName"])
            account = party["getAccount"] and _text(party["getAccount"]["getIdentification"])
    for agent in _items(detail["getRelatedAgent"], detail["getRelatedAgents"]):
        if _kind(agent["getRelatedAgentType"]) == f"{side}Agent":
            bic = _text(agent["getRelatedAgentType"]["getBIC"])
    return name, account, bic


def _remittance(detail: dict[str, Any]) -> tuple[str | None, str | None]:
    info = detail["getRemittanceInformation"]
    if info is None:
        return None, None
    lines = [b["getMessage"] for b in _items(info["getUnstructuredBlock"], info["getUnstructuredBlocks"])]
    reference = None
    for block in _items(info["getStructuredBlock"], info["getStructuredBlocks"]):
        cri = block["getCreditorReferenceInformation"]
        cri = info["getCreditorReferenceInformation"] if cri == REC else cri
        if reference is None and cri:
            reference = _text(cri["getRef"])
    return " ".join(lines) or None, reference


def _row(entry: dict[str, Any], detail: dict[str, Any] | None, several: bool, file: str) -> dict[str, Any]:
    """The transaction row the reader should give for one entry (and one of its details, if any).

    The transaction key is left out: upstream has no such thing (it is checked on its own below)."""
    row: dict[str, Any] = dict.fromkeys(column for column in ENTRY_COLUMNS if column != "transaction_key")
    money = entry["getAmount"]
    direction = entry["getCreditDebitIndicator"]
    bank_reference = _text(entry["getAccountServicerReference"])
    if detail is not None:
        money = detail["getAmount"] or detail["getAmountDetails"] or money
        direction = DETAIL_DIRECTION.get(file, detail["getCreditDebitIndicator"])
        refs = detail["getReference"] or {}
        detail_reference = _text(refs.get("getAccountServicerReference"))
        bank_reference = detail_reference if several else bank_reference or detail_reference
        name, account, bic = _counterparty(detail, direction)
        text, creditor_reference = _remittance(detail)
        row.update(counterparty_name=name, counterparty_account=account, counterparty_bic=bic)
        row.update(creditor_reference=creditor_reference, remittance_text=text)
        row.update(end_to_end_id=_text(refs.get("getEndToEndId")))
    row["amount_minor"], row["currency"] = _money(money)
    row.update(credit_debit=direction, bank_reference=bank_reference, status=entry["getStatus"])
    row.update(entry_reference=_text(entry["getReference"]))
    row.update(booking_date=_day(entry["getBookingDate"]), value_date=_day(entry["getValueDate"]))
    detail_code = _code(detail["getBankTransactionCode"]) if detail else None
    row["bank_transaction_code"] = detail_code or _code(entry["getBankTransactionCode"])
    return row


def _entry_rows(entry: dict[str, Any], file: str) -> list[dict[str, Any]]:
    details = _items(entry["getTransactionDetail"], entry["getTransactionDetails"])
    if not details:
        return [_row(entry, None, False, file)]
    rows = [_row(entry, detail, len(details) > 1, file) for detail in details]
    if len(details) > 1 and any(not (d["getAmount"] or d["getAmountDetails"]) for d in details):
        # Upstream gives every detail of such a batch the entry's whole amount; the reader books the
        # batch once, for the entry's amount, with what its details agree on.
        return [_batch_as_one(_row(entry, None, False, file), rows)]
    return rows


def _batch_as_one(entry_row: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    def agreed(column: str) -> Any:
        values = {row[column] for row in rows}
        return values.pop() if len(values) == 1 else None

    same_side = agreed("credit_debit") == entry_row["credit_debit"]
    for column in ("counterparty_name", "counterparty_account", "counterparty_bic"):
        entry_row[column] = agreed(column) if same_side else None
    texts = list(dict.fromkeys(row["remittance_text"] for row in rows if row["remittance_text"]))
    entry_row.update(creditor_reference=agreed("creditor_reference"), end_to_end_id=agreed("end_to_end_id"))
    entry_row["remittance_text"] = " ".join(texts) or None
    entry_row["bank_transaction_code"] = entry_row["bank_transaction_code"] or agreed("bank_transaction_code")
    return entry_row


def _balance(record: dict[str, Any], kind: str) -> int | None:
    amounts = [
        int(b["getAmount"]["getAmount"]) for b in record.get("getBalances", []) if b["getType"] == kind
    ]
    return amounts[0] if amounts else None


def _expected(dump: dict[str, Any], file: str) -> dict[str, dict[str, Any]]:
    """Expected statements by statement id, each with its fields and its transaction rows."""
    records: list[dict[str, Any]] = []
    entries: dict[int, list[dict[str, Any]]] = {}
    for obj in _walk(dump):
        if _kind(obj) in RECORD_KINDS:
            records.append(obj)
        elif _kind(obj) == "Entry":
            owner = obj["getRecord"] if isinstance(obj["getRecord"], dict) else records[-1]
            entries.setdefault(id(owner), []).append(obj)
    expected = {}
    for record in records:
        own = entries.get(id(record), [])
        assert len(own) == len(record["getEntries"]), "adapter lost entries of the upstream dump"
        expected[record["getId"]] = {
            "message_type": "camt.05" + record["__CLASS__"].split("\\Camt05")[1][0],
            "sequence_number": record["getElectronicSequenceNumber"] or record["getLegalSequenceNumber"],
            "account": record["getAccount"] and record["getAccount"]["getIdentification"],
            "opening_balance_minor": _balance(record, "opening"),
            "closing_balance_minor": _balance(record, "closing"),
            "created_at": record["getCreatedOn"] and record["getCreatedOn"]["0"],
            "rows": [row for entry in own for row in _entry_rows(entry, file)],
        }
    return expected


def _instant(text: str) -> datetime:
    """A timestamp as an instant in UTC, to the second (upstream drops fractions; no zone means UTC)."""
    text = re.sub(r"(\.\d+)", "", text)
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC)


# --- the real test files ----------------------------------------------------------------------------


def _with_account_currency(xml: Path, folder: Path, currency: str = "EUR") -> Path:
    """A copy of `xml` whose every account states `currency` (`Acct/Ccy`; the reader does not mind where)."""
    text = xml.read_text(encoding="utf-8").replace("</Acct>", f"<Ccy>{currency}</Ccy></Acct>")
    copy = folder / xml.name
    copy.write_text(text, encoding="utf-8")
    return copy


@pytest.mark.parametrize("xml", XML_FILES or [None], ids=lambda p: p.name if p else "no-data")
def test_real_file_decodes_as_upstream_or_is_rejected(xml: Path | None, tmp_path: Path) -> None:
    _need_data()
    assert xml is not None
    dumps = _json_for(xml)
    if not dumps:  # no upstream dump: upstream could not read it, and neither may we
        with pytest.raises(StatementRejected, match=rf"^{re.escape(xml.name)}: \S"):
            read_camt(xml)
        return
    if xml.name in CURRENCY_DISAGREES:
        _rejected(xml, re.escape(CURRENCY_DISAGREES[xml.name]))
        statements = {s.statement_id: s for s in read_camt(_with_account_currency(xml, tmp_path))}
        assert all(s.currency == "EUR" for s in statements.values())
        xml_source = tmp_path / xml.name
    else:
        statements = {s.statement_id: s for s in read_camt(xml)}
        xml_source = xml
    for dump in dumps:
        expected = _expected(json.loads(dump.read_text(encoding="utf-8")), xml.name)
        assert set(statements) - set(expected) == LOST_IN_DUMP.get(xml.name, set())
        for statement_id, want in expected.items():
            got = statements[statement_id]
            assert got.source == str(xml_source)
            assert got.message_type == want["message_type"]
            version = re.match(r"camt05(\d)\.v(\d+)", xml.name)
            if version:
                assert got.version == f"camt.05{version[1]}.001.{int(version[2]):02d}"
            for field in ("sequence_number", "account", "opening_balance_minor", "closing_balance_minor"):
                assert getattr(got, field) == want[field], field
            assert _instant(got.created_at or "") == _instant(want["created_at"])
            assert list(got.entries.columns) == list(ENTRY_COLUMNS)
            assert got.entries.drop(columns="transaction_key").to_dict("records") == want["rows"]


# Only the files upstream reads too (those with its JSON dump beside them): the others are refused.
READABLE = [xml for xml in XML_FILES if _json_for(xml)]


@pytest.mark.parametrize("xml", READABLE or [None], ids=lambda p: p.name if p else "no-data")
def test_every_real_credit_has_its_own_payment_id_the_same_on_every_read(
    xml: Path | None, tmp_path: Path
) -> None:
    _need_data()
    assert xml is not None
    source = _with_account_currency(xml, tmp_path) if xml.name in CURRENCY_DISAGREES else xml
    first, _ = payments_rows(read_camt(source), str(source))
    again, _ = payments_rows(read_camt(source), str(source))
    assert first["payment_id"].is_unique, first["payment_id"].tolist()
    assert again["payment_id"].tolist() == first["payment_id"].tolist()


def test_every_real_file_is_covered() -> None:
    _need_data()
    decoded = [x for x in XML_FILES if _json_for(x)]
    assert len(XML_FILES) == 26 and len(decoded) == 25


def test_multi_statement_first_statement() -> None:
    """The statement the upstream dump lost, checked against the XML by hand."""
    _need_data()
    first, second = read_camt(CAMT_DIR / "camt053.v2.multi.statement.xml")
    assert (first.statement_id, second.statement_id) == (
        "253EURNL26VAYB8060476890",
        "254EURNL26VAYB8060476890",
    )
    assert (first.opening_balance_minor, first.closing_balance_minor, first.currency) == (1815, 2700, "EUR")
    row = first.entries.to_dict("records")[0]
    assert len(first.entries) == 1
    assert (row["amount_minor"], row["currency"], row["credit_debit"]) == (885, "EUR", "CRDT")
    assert (row["end_to_end_id"], row["remittance_text"]) == ("000000001", "Transaction Description 1")
    assert first.entries["amount_minor"].dtype == "int64"


# --- hardening: hostile and broken files ------------------------------------------------------------

NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


def _camt(entry_amount: str = '<Amt Ccy="EUR">12.50</Amt>', direction: str = "CRDT", ns: str = NS) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="{ns}"><BkToCstmrStmt>
  <GrpHdr><MsgId>M1</MsgId><CreDtTm>2024-05-02T08:00:00+02:00</CreDtTm></GrpHdr>
  <Stmt><Id>S1</Id><LglSeqNb>7</LglSeqNb><CreDtTm>2024-05-02T08:00:00+02:00</CreDtTm>
    <Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
    <Bal><Tp><CdOrPrtry><Cd>PRCD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">5.00</Amt>
      <CdtDbtInd>DBIT</CdtDbtInd><Dt><Dt>2024-05-01</Dt></Dt></Bal>
    <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">7.50</Amt>
      <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-05-02</Dt></Dt></Bal>
    <Ntry>{entry_amount}<CdtDbtInd>{direction}</CdtDbtInd><Sts>BOOK</Sts>
      <BookgDt><Dt>2024-05-02</Dt></BookgDt><AcctSvcrRef>B1</AcctSvcrRef>
      <NtryDtls><TxDtls><Refs><EndToEndId>E2E-1</EndToEndId></Refs>
        <RltdPties><Dbtr><Nm>Acme GmbH</Nm></Dbtr><DbtrAcct><Id><IBAN>FR7630006000011234567890189</IBAN></Id></DbtrAcct>
          <Cdtr><Nm>Us</Nm></Cdtr></RltdPties>
        <RltdAgts><DbtrAgt><FinInstnId><BIC>AGRIFRPP</BIC></FinInstnId></DbtrAgt></RltdAgts>
        <RmtInf><Ustrd>INV-1</Ustrd><Ustrd>INV-2</Ustrd>
          <Strd><CdtrRefInf><Ref>RF18539007547034</Ref></CdtrRefInf></Strd></RmtInf>
      </TxDtls></NtryDtls>
    </Ntry>
  </Stmt>
</BkToCstmrStmt></Document>
"""


def _write(tmp_path: Path, text: str, name: str = "bank.xml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _rejected(path: Path, reason: str) -> str:
    with pytest.raises(StatementRejected) as caught:
        read_camt(path)
    message = str(caught.value)
    assert message.startswith(f"{path.name}: ") and "\n" not in message
    assert re.search(reason, message), message
    return message


def test_a_well_formed_statement_reads_as_the_bank_wrote_it(tmp_path: Path) -> None:
    (statement,) = read_camt(_write(tmp_path, _camt()))
    assert (statement.message_type, statement.version) == ("camt.053", "camt.053.001.02")
    assert (statement.statement_id, statement.sequence_number, statement.currency) == ("S1", "7", "EUR")
    assert statement.opening_balance_minor == -500  # PRCD stands in for a missing OPBD; debit is negative
    assert statement.closing_balance_minor == 750
    assert statement.entries.to_dict("records") == [
        {
            "bank_reference": "B1",
            "entry_reference": None,
            "transaction_key": None,
            "booking_date": "2024-05-02",
            "value_date": None,
            "amount_minor": 1250,
            "currency": "EUR",
            "credit_debit": "CRDT",
            "counterparty_name": "Acme GmbH",
            "counterparty_account": "FR7630006000011234567890189",
            "counterparty_bic": "AGRIFRPP",
            "creditor_reference": "RF18539007547034",
            "end_to_end_id": "E2E-1",
            "remittance_text": "INV-1 INV-2",
            "bank_transaction_code": None,
            "status": "BOOK",
        }
    ]


def test_a_debit_takes_the_creditor_as_counterparty(tmp_path: Path) -> None:
    (statement,) = read_camt(_write(tmp_path, _camt(direction="DBIT")))
    row = statement.entries.iloc[0]
    assert (row["credit_debit"], row["counterparty_name"], row["counterparty_account"]) == (
        "DBIT",
        "Us",
        None,
    )


def test_billion_laughs_is_rejected(tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n'
        f'<Document xmlns="{NS}"><BkToCstmrStmt>&lol3;</BkToCstmrStmt></Document>'
    )
    _rejected(_write(tmp_path, bomb), "forbidden XML")


def test_external_entity_is_rejected(tmp_path: Path) -> None:
    xxe = _camt().replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    )
    _rejected(_write(tmp_path, xxe.replace("<Id>S1</Id>", "<Id>&x;</Id>")), "forbidden XML")


def test_a_dtd_is_rejected(tmp_path: Path) -> None:
    with_dtd = _camt().replace("<Document", '<!DOCTYPE Document SYSTEM "camt.053.dtd">\n<Document', 1)
    _rejected(_write(tmp_path, with_dtd), "forbidden XML")


@pytest.mark.parametrize("amount", ["abc", "12,50", "1e3", "-5.00", "", " "])
def test_a_non_numeric_amount_is_rejected(tmp_path: Path, amount: str) -> None:
    text = _camt(entry_amount=f'<Amt Ccy="EUR">{amount}</Amt>')
    _rejected(_write(tmp_path, text), r"Stmt 1 entry 1: amount .* is not a plain decimal number")


def test_three_decimals_in_euro_are_rejected(tmp_path: Path) -> None:
    text = _camt(entry_amount='<Amt Ccy="EUR">1.005</Amt>')
    _rejected(_write(tmp_path, text), "more than 2 decimals for EUR")


def test_trailing_zero_decimals_are_exact_and_kept(tmp_path: Path) -> None:
    (statement,) = read_camt(_write(tmp_path, _camt(entry_amount='<Amt Ccy="EUR">12.500</Amt>')))
    assert statement.entries["amount_minor"].tolist() == [1250]


def test_a_truncated_file_is_rejected(tmp_path: Path) -> None:
    text = _camt()
    _rejected(_write(tmp_path, text[: len(text) // 2]), "malformed XML")


@pytest.mark.parametrize(
    ("entry_amount", "direction", "reason"),
    [
        ("", "CRDT", "amount is missing"),
        ("<Amt>12.50</Amt>", "CRDT", r"no currency \(Ccy\)"),
        ('<Amt Ccy="XXQ">12.50</Amt>', "CRDT", "unknown currency"),
        ('<Amt Ccy="EUR">12.50</Amt>', "", r"CdtDbtInd\) is missing"),
        ('<Amt Ccy="EUR">12.50</Amt>', "CRED", "neither CRDT nor DBIT"),
    ],
)
def test_a_missing_or_invalid_required_field_is_rejected(
    tmp_path: Path, entry_amount: str, direction: str, reason: str
) -> None:
    text = _camt(entry_amount=entry_amount, direction=direction)
    if not direction:
        text = text.replace("<CdtDbtInd></CdtDbtInd>", "")
    _rejected(_write(tmp_path, text), reason)


def test_an_unreadable_balance_is_rejected(tmp_path: Path) -> None:
    text = _camt().replace('<Amt Ccy="EUR">7.50</Amt>', '<Amt Ccy="EUR">7,50</Amt>')
    _rejected(_write(tmp_path, text), r"balance 2 \(CLBD\)")


@pytest.mark.parametrize(
    "namespace",
    ["urn:iso:std:iso:20022:tech:xsd:pain.001.001.03", "urn:iso:std:iso:20022:tech:xsd:camt.056.001.01", ""],
)
def test_an_unknown_root_namespace_is_rejected(tmp_path: Path, namespace: str) -> None:
    text = _camt(ns=namespace) if namespace else _camt().replace(f' xmlns="{NS}"', "")
    _rejected(_write(tmp_path, text), "not a camt.052/053/054 Document")


def test_a_message_without_statements_is_rejected(tmp_path: Path) -> None:
    text = re.sub(r"<Stmt>.*</Stmt>", "", _camt(), flags=re.S)
    _rejected(_write(tmp_path, text), "has no Stmt element")


def test_a_missing_file_is_rejected(tmp_path: Path) -> None:
    _rejected(tmp_path / "absent.xml", "cannot read the file")


def test_a_balance_type_given_twice_is_rejected(tmp_path: Path) -> None:
    text = _camt().replace("<Cd>PRCD</Cd>", "<Cd>CLBD</Cd>")
    _rejected(_write(tmp_path, text), "balance CLBD is given more than once")


def test_opening_booked_balance_wins_over_previous_closing(tmp_path: Path) -> None:
    opening = '<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Bal>'
    text = _camt().replace("</Acct>", f"</Acct>{opening}", 1)
    (statement,) = read_camt(_write(tmp_path, text))
    assert statement.opening_balance_minor == 100


# --- batched entries and accounts without a currency (tests/fixtures/bank) ------------------------

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bank"


def test_a_batch_sharing_one_reference_gives_each_credit_its_own_payment() -> None:
    """Three credits of one entry share its AcctSvcrRef: each is a payment of its own amount, with
    its own id (end-to-end id, else transaction id, else the entry reference and its position)."""
    source = FIXTURES / "camt053_batch_shared_reference.xml"
    (statement,) = read_camt(source)
    credits = statement.entries[statement.entries["credit_debit"] == "CRDT"]
    assert credits["amount_minor"].tolist() == [15000, 20000, 15000]  # AmtDtls/TxAmt, TxAmt, Amt
    assert credits["bank_reference"].tolist() == ["BATCH-7781"] * 3  # what the bank wrote, kept
    rows, _ = payments_rows([statement], str(source))
    assert rows["payment_id"].tolist() == [
        "DE89370400440532013000:BATCH-7781/E2E-ACME-1",
        "DE89370400440532013000:BATCH-7781/TX-GLOBEX-9",
        "DE89370400440532013000:BATCH-7781/3",
    ]
    assert rows["amount"].tolist() == ["150.00", "200.00", "150.00"]
    assert rows["payer_name"].tolist() == ["Acme GmbH", "Globex Ltd", "Initech"]
    again, _ = payments_rows(read_camt(source), str(source))
    assert again["payment_id"].tolist() == rows["payment_id"].tolist()
    assert statement.opening_balance_minor + 50000 - 5000 == statement.closing_balance_minor


def test_a_batch_of_credits_reaches_the_ledger_whole() -> None:
    """Through the ingest source and the payments contract: no credit is a duplicate of another."""
    from tasks.ingest.bank.source import read_statement_source
    from tasks.ingest.canonical import prepare_batch
    from tasks.ingest.model import IngestContext

    batch = prepare_batch(
        read_statement_source(FIXTURES / "camt053_batch_shared_reference.xml"), IngestContext()
    )
    assert batch.quarantine.empty, batch.quarantine.to_dict("records")
    payments = batch.tables["payments"]
    assert sorted(payments["amount_minor"].tolist()) == [15000, 15000, 20000]
    assert payments["payment_id"].is_unique


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        # each detail's own account servicer reference, when the details do not share it
        ([("R1", None, "E1"), ("R2", None, "E1")], ["R1", "R2"]),
        # a transaction id shared by two details is no identity: the next reference, else the position
        ([(None, "T1", "E1"), (None, "T1", "E2"), (None, "T1", None)], ["B/E1", "B/E2", "B/3"]),
        # NOTPROVIDED is no reference
        ([(None, None, "NOTPROVIDED"), (None, None, "NOTPROVIDED")], ["B/1", "B/2"]),
        # a reference equal to another detail's fallback is replaced by its own position
        ([(None, None, "2"), (None, None, None)], ["B/1", "B/2"]),
    ],
)
def test_batch_keys_are_unique_within_the_entry(
    tmp_path: Path, keys: list[tuple[str | None, str | None, str | None]], expected: list[str]
) -> None:
    details = ""
    for number, (account_ref, tx_id, e2e) in enumerate(keys, start=1):
        refs = "".join(
            f"<{tag}>{value}</{tag}>"
            for tag, value in (("AcctSvcrRef", account_ref), ("TxId", tx_id), ("EndToEndId", e2e))
            if value
        )
        details += f'<TxDtls><Refs>{refs}</Refs><Amt Ccy="EUR">{number}.00</Amt></TxDtls>'
    total = sum(range(1, len(keys) + 1))
    text = re.sub(
        r"<Ntry>.*</Ntry>",
        f'<Ntry><Amt Ccy="EUR">{total}.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
        f"<AcctSvcrRef>B</AcctSvcrRef><NtryDtls>{details}</NtryDtls></Ntry>",
        _camt(),
        flags=re.S,
    )
    (statement,) = read_camt(_write(tmp_path, text))
    assert statement.entries["transaction_key"].tolist() == expected
    assert statement.entries["amount_minor"].tolist() == [100 * n for n in range(1, len(keys) + 1)]


def test_a_batch_whose_details_state_no_amount_is_one_payment_of_the_entry() -> None:
    """Giving each detail the entry's amount would book the cash twice; the batch is booked once."""
    source = FIXTURES / "camt054_batch_without_detail_amounts.xml"
    (notification,) = read_camt(source)
    assert notification.currency == "EUR"
    [row] = notification.entries.to_dict("records")
    assert (row["amount_minor"], row["credit_debit"], row["bank_reference"]) == (30000, "CRDT", "COLL-0042")
    assert (row["counterparty_name"], row["end_to_end_id"]) == ("Acme GmbH", None)  # agreed; ids differ
    assert row["remittance_text"] == "INV-2026-000001 INV-2026-000002"
    rows, _ = payments_rows([notification], str(source))
    assert rows[["payment_id", "amount"]].values.tolist() == [["DE89370400440532013000:COLL-0042", "300.00"]]


def test_a_batch_whose_details_do_not_add_up_is_refused(tmp_path: Path) -> None:
    text = (FIXTURES / "camt053_batch_shared_reference.xml").read_text(encoding="utf-8")
    text = text.replace(
        '<Amt Ccy="EUR">150.00</Amt>\n            <RltdPties><Dbtr><Nm>Initech',
        '<Amt Ccy="EUR">140.00</Amt>\n            <RltdPties><Dbtr><Nm>Initech',
    )
    assert "140.00" in text
    _rejected(
        _write(tmp_path, text),
        re.escape(
            "Stmt 1 entry 2: its 3 transaction details add up to 490.00 EUR, the entry books 500.00 EUR"
        ),
    )


def test_the_currency_comes_from_the_balances_when_the_account_names_none() -> None:
    (statement,) = read_camt(FIXTURES / "camt053_batch_shared_reference.xml")
    assert statement.currency == "EUR"


def test_the_currency_comes_from_the_entries_when_there_are_no_balances(tmp_path: Path) -> None:
    text = re.sub(r"<Bal>.*?</Bal>", "", _camt(), flags=re.S).replace("<Ccy>EUR</Ccy>", "")
    (statement,) = read_camt(_write(tmp_path, text))
    assert statement.currency == "EUR"


def test_balances_and_entries_in_other_currencies_without_an_account_currency_are_refused(
    tmp_path: Path,
) -> None:
    text = (
        _camt()
        .replace("<Ccy>EUR</Ccy>", "")
        .replace('<Amt Ccy="EUR">7.50</Amt>', '<Amt Ccy="USD">7.50</Amt>')
    )
    _rejected(
        _write(tmp_path, text),
        re.escape(
            "Stmt 1: the account states no currency (Acct/Ccy) and its balances and entries disagree (EUR, USD)"
        ),
    )


def test_the_account_currency_wins_when_it_is_stated(tmp_path: Path) -> None:
    """A stated `Acct/Ccy` is the statement's currency, even beside a balance in another one (as in
    several of the upstream test files); only a statement without it is read from its amounts."""
    text = _camt().replace('<Amt Ccy="EUR">7.50</Amt>', '<Amt Ccy="USD">7.50</Amt>')
    (statement,) = read_camt(_write(tmp_path, text))
    assert statement.currency == "EUR"

"""Ingest: files in, typed ledger rows and quarantined rows (each with the column and the reason) out.

Runs Great Expectations through prepare_batch; the batches are built once per module where possible.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from tasks.ingest.canonical import PreparedBatch, batch_record, prepare_batch
from tasks.ingest.mappings import apply_mapping, load_mapping
from tasks.ingest.model import IngestContext, Mapping, SourceRejected
from tasks.ingest.sources import detect_dataset, inbox_files, read_source, read_sources

INVOICE_HEADER = "invoice_id,customer_id,issue_date,due_date,currency,amount,order_id"
PAYMENT_HEADER = "payment_id,value_date,amount,currency,payer_name,payer_account,reference"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


def csv(header: str, rows: str) -> str:
    """A CSV from a header and rows written one per line (surrounding spaces removed)."""
    return "\n".join([header, *(line.strip() for line in rows.strip().splitlines())])


# ---------------------------------------------------------------------------------------------------
# One invoices file with every kind of bad row, among enough good rows to stay under the 50 % ceiling.

INVOICES = csv(
    INVOICE_HEADER,
    """
    INV-001,C1,2026-01-05,2026-02-04,EUR,1190.00,SO-1
    INV-002,C1,2026-01-05,2026-02-04,EUR,0.01,
    INV-003,C2,2026-01-06,2026-01-06,EUR,0,
    INV-004,C2,2026-01-06,2026-02-05,JPY,150000,
    INV-005,C2,2026-01-06,2026-02-05,JPY,1500.0,
    INV-006,C1,2026-01-07,2026-02-06,KWD,1.234,
    INV-007,C1,2026-01-07,2026-02-06,USD,38.0,
    INV-008,C1,2026-01-07,2026-02-06,EUR,10.50,
    INV-009, C2 ,2026-01-08,2026-02-07, EUR , 99.90 ,
    INV-010,C2,2026-01-08,2026-02-07,GBP,400,
    INV-011,C2,2026-01-08,2026-02-07,EUR,+12.00,
    INV-012,C2,2026-01-08,2026-02-07,EUR,1234567.89,
    INV-NEG,C1,2026-01-09,2026-02-08,EUR,-5.00,
    INV-MAL,C1,2026-01-09,2026-02-08,EUR,"12,50",
    INV-CUR,C1,2026-01-09,2026-02-08,XYZ,10.00,
    INV-EUR,C1,2026-01-09,2026-02-08,EUR,1.005,
    INV-JPY,C1,2026-01-09,2026-02-08,JPY,1.5,
    INV-CUS,C9,2026-01-09,2026-02-08,EUR,10.00,
    INV-DUE,C1,2026-01-31,2026-01-01,EUR,10.00,
    INV-DAT,C1,2026-02-30,2026-03-30,EUR,10.00,
    INV-REQ,,2026-01-09,2026-02-08,EUR,10.00,
    INV-DUP,C1,2026-01-09,2026-02-08,EUR,10.00,
    INV-DUP,C2,2026-01-09,2026-02-08,EUR,11.00,
    INV-CAS,C1,2026-01-09,2026-02-08,EUr,10.00,
    INV-013,C1,2026-01-09,2026-02-08,EUR,13.00,
    """,
)
GOOD = [f"INV-{n:03d}" for n in range(1, 14)]

# key      the reason, which names the column first
QUARANTINED = [
    ("INV-NEG", "amount: must be >= 0"),
    ("INV-MAL", "amount: '12,50' is not a decimal number"),
    ("INV-CUR", "currency: 'XYZ' is not an ISO 4217 currency"),
    ("INV-EUR", "amount: '1.005' has more than the currency's decimals"),
    ("INV-JPY", "amount: '1.5' has more than the currency's decimals"),
    ("INV-CUS", "customer_id: unknown customer"),
    ("INV-DUE", "due_date: must be >= issue_date (due_on_or_after_issue)"),
    ("INV-DAT", "issue_date: '2026-02-30' is not a date in the format %Y-%m-%d"),
    ("INV-REQ", "customer_id: required value is missing"),
    ("INV-DUP", "invoice_id: duplicate key in this batch"),
    ("INV-CAS", "currency: 'EUr' is not an ISO 4217 currency (codes are written in capitals, as EUR)"),
]


@pytest.fixture(scope="module")
def invoices_batch(tmp_path_factory: pytest.TempPathFactory) -> PreparedBatch:
    path = write(tmp_path_factory.mktemp("inbox"), "invoices_2026-01.csv", INVOICES)
    return prepare_batch(read_source(path), IngestContext(customers={"C1", "C2"}))


def quarantined(batch: PreparedBatch) -> dict[str, str]:
    """The quarantined rows as {key: reasons}."""
    return dict(zip(batch.quarantine["key"], batch.quarantine["reasons"], strict=True))


def assert_reasons(batch: PreparedBatch, expected: dict[str, str]) -> None:
    """Every quarantined key with reasons matching `expected` (regular expressions), and no other key.

    Bounds are matched loosely (`>= 1` or `>= 1.0`), the rest of each reason exactly."""
    got = quarantined(batch)
    assert sorted(got) == sorted(expected)
    for key, pattern in expected.items():
        assert re.fullmatch(pattern, got[key]), (key, got[key])


def reasons_of(batch: PreparedBatch, key: str) -> list[str]:
    rows = batch.quarantine[batch.quarantine["key"] == key]
    return [reason for text in rows["reasons"] for reason in text.split("; ")]


@pytest.mark.parametrize(("key", "reason"), QUARANTINED)
def test_bad_row_is_quarantined_with_a_reason_naming_the_column(
    invoices_batch: PreparedBatch, key: str, reason: str
) -> None:
    assert any(given.startswith(reason) for given in reasons_of(invoices_batch, key))
    assert key not in set(invoices_batch.tables["invoices"]["invoice_id"])


def test_unknown_currency_also_explains_why_the_amount_cannot_be_read(invoices_batch: PreparedBatch) -> None:
    assert reasons_of(invoices_batch, "INV-CUR") == [
        "currency: 'XYZ' is not an ISO 4217 currency",
        "amount: '10.00' cannot be read without a known currency",
    ]


def test_each_bad_row_carries_each_reason_once(invoices_batch: PreparedBatch) -> None:
    for key, _reason in QUARANTINED:
        for text in invoices_batch.quarantine.loc[invoices_batch.quarantine["key"] == key, "reasons"]:
            reasons = text.split("; ")
            assert len(reasons) == len(set(reasons)), text


def test_both_rows_of_a_duplicate_key_are_quarantined(invoices_batch: PreparedBatch) -> None:
    duplicates = invoices_batch.quarantine[invoices_batch.quarantine["key"] == "INV-DUP"]
    assert duplicates["row_number"].tolist() == [23, 24]


def test_good_rows_are_kept_with_amounts_in_minor_units(invoices_batch: PreparedBatch) -> None:
    assert invoices_batch.checkpoint.outcome == "quarantined"
    assert not invoices_batch.halted
    ledger = invoices_batch.tables["invoices"].set_index("invoice_id")
    assert sorted(ledger.index) == GOOD
    # invoice   currency  amount_minor
    expected = [
        ("INV-001", "EUR", 119000),
        ("INV-002", "EUR", 1),
        ("INV-003", "EUR", 0),
        ("INV-004", "JPY", 150000),
        ("INV-005", "JPY", 1500),
        ("INV-006", "KWD", 1234),
        ("INV-007", "USD", 3800),
        ("INV-008", "EUR", 1050),
        ("INV-009", "EUR", 9990),
        ("INV-010", "GBP", 40000),
        ("INV-011", "EUR", 1200),
        ("INV-012", "EUR", 123456789),
        ("INV-013", "EUR", 1300),
    ]
    got = [(i, ledger.at[i, "currency"], int(ledger.at[i, "amount_minor"])) for i, _c, _a in expected]
    assert got == expected


def test_ledger_rows_are_typed_and_stamped(invoices_batch: PreparedBatch) -> None:
    row = invoices_batch.tables["invoices"].set_index("invoice_id").loc["INV-009"]
    assert row["customer_id"] == "C2"  # trimmed
    assert row["issue_date"] == date(2026, 1, 8)
    assert row["due_date"] == date(2026, 2, 7)
    assert row["origin"] == "ingested"
    assert row["batch_id"] == invoices_batch.batch_id
    assert invoices_batch.batch_id == f"invoices:{invoices_batch.fingerprint[:24]}"
    assert pd.isna(invoices_batch.tables["invoices"].set_index("invoice_id").at["INV-002", "order_id"])


def test_quarantine_rows_point_at_the_line_a_person_sees(invoices_batch: PreparedBatch) -> None:
    q = invoices_batch.quarantine.set_index("key")
    assert q.at["INV-NEG", "row_number"] == 14  # header is line 1, INV-001 is line 2
    assert set(q["stage"]) == {"ingest"}
    assert set(q["dataset"]) == {"invoices"}
    assert q.at["INV-MAL", "source"].endswith("invoices_2026-01.csv")
    assert json.loads(q.at["INV-MAL", "raw_record"])["amount"] == "12,50"
    assert len(invoices_batch.quarantine) == 12
    assert invoices_batch.row_count == 25


def test_checkpoint_result_names_the_contract(invoices_batch: PreparedBatch) -> None:
    record = invoices_batch.checkpoint.as_record()
    assert record["dataset"] == "invoices"
    assert record["rows_checked"] == 25
    assert record["rows_failed"] == 12
    assert record["outcome"] == "quarantined"
    assert len(record["contract_hash"]) == 12


def test_batch_record_counts(invoices_batch: PreparedBatch) -> None:
    record = batch_record(invoices_batch).iloc[0]
    assert record["row_count"] == 25
    assert record["rows_quarantined"] == 12
    assert record["fingerprint"] == invoices_batch.fingerprint


# ---------------------------------------------------------------------------------------------------
# Other datasets


def test_payments_of_zero_are_quarantined_and_control_totals_are_as_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "payments.csv",
        csv(
            PAYMENT_HEADER,
            """
            P1,2026-02-01,100.00,EUR,Acme,DE89370400440532013000,O2C-2026-000001
            P2,2026-02-01,0.00,EUR,Acme,,
            P3,2026-02-02,2500,JPY,Kato KK,,INV 12
            P4,2026-02-03,5.50,EUR,,,
            """,
        ),
    )
    batch = prepare_batch(read_source(path), IngestContext())
    assert_reasons(batch, {"P2": r"amount: must be >= 1(\.0)?"})
    assert sorted(batch.tables["payments"]["payment_id"]) == ["P1", "P3", "P4"]
    assert batch.control_totals == {"EUR": 10550, "JPY": 2500}


def test_customers_get_defaults_and_their_bank_accounts(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "customers.csv",
        csv(
            "customer_id,name,email,country,currency,payment_terms_days,credit_limit,segment,dunning_profile,"
            "language,bank_accounts",
            """
            C1,Acme,ap@acme.de,DE,EUR,14,5000.00,,standard,de,de89 3704 0044 0532 0130 00;NL91ABNA0417164300
            C2,Kato KK,,JP,JPY,,,,,,
            C3,Bad Terms,,FR,EUR,400,,,,fr,
            C4,Bad Language,,FR,EUR,30,,,,es,
            """,
        ),
    )
    batch = prepare_batch(read_source(path), IngestContext())
    assert_reasons(
        batch,
        {
            "C3": r"payment_terms_days: must be >= 0(\.0)? and <= 365(\.0)?",
            "C4": r"language: not one of en, de, fr",
        },
    )
    customers = batch.tables["customers"].set_index("customer_id")
    assert customers.at["C1", "payment_terms_days"] == 14
    assert customers.at["C1", "credit_limit_minor"] == 500000
    assert (customers.at["C2", "payment_terms_days"], customers.at["C2", "dunning_profile"]) == (
        30,
        "standard",
    )
    assert customers.at["C2", "language"] == "en"
    assert "bank_accounts" not in customers.columns
    accounts = batch.tables["customer_bank_accounts"]
    assert accounts[["customer_id", "account"]].values.tolist() == [
        ["C1", "DE89370400440532013000"],
        ["C1", "NL91ABNA0417164300"],
    ]
    assert batch.control_totals == {}


def test_order_lines_are_priced_in_their_orders_currency(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "order_lines.csv",
        csv(
            "order_id,line_no,sku,description,quantity,unit_price,tax_rate",
            """
            SO-1,1,A,Widget,3,3.33,0.19
            SO-1,2,B,Gadget,1,0.05,0.1
            SO-2,1,C,Sushi,2,1500,0.08
            SO-2,2,D,Tea,1,1500.5,0.08
            SO-9,1,E,Ghost,1,1.00,0.19
            SO-1,3,F,Odd rate,1,1.00,0.1234567
            SO-1,4,G,No quantity,0,1.00,0.19
            SO-1,5,H,Half,1,1.00,0.5
            SO-1,6,I,Free,1,0,0
            """,
        ),
    )
    context = IngestContext(customers={"C1"}, order_currency={"SO-1": "EUR", "SO-2": "JPY"})
    batch = prepare_batch(read_source(path), context)
    assert_reasons(
        batch,
        {
            "SO-2/2": r"unit_price: '1500\.5' has more than the currency's decimals",
            "SO-9/1": r"unit_price: '1\.00' cannot be read without a known currency; order_id: unknown order",
            "SO-1/3": r"tax_rate: '0\.1234567' has more than decimals",
            "SO-1/4": r"quantity: must not be 0",
        },
    )
    lines = batch.tables["order_lines"].set_index(["order_id", "line_no"])
    # order  line  unit_price_minor  tax_rate_ppm
    expected = [
        ("SO-1", 1, 333, 190000),
        ("SO-1", 2, 5, 100000),
        ("SO-2", 1, 1500, 80000),
        ("SO-1", 5, 100, 500000),
        ("SO-1", 6, 0, 0),
    ]
    got = [
        (o, n, int(lines.at[(o, n), "unit_price_minor"]), int(lines.at[(o, n), "tax_rate_ppm"]))
        for o, n, _p, _r in expected
    ]
    assert got == expected


def test_orders_reference_customers_known_to_the_ledger(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "orders.csv",
        csv(
            "order_id,customer_id,order_date,currency,status,fulfilled_date",
            """
            SO-1,C1,2026-01-05,EUR,fulfilled,2026-01-07
            SO-2,C1,2026-01-05,EUR,open,
            SO-3,C2,2026-01-05,EUR,fulfilled,2026-01-06
            SO-4,C1,2026-01-05,EUR,shipped,
            SO-5,C1,2026-01-05,EUR,fulfilled,2026-01-04
            SO-6,C1,2026-01-05,EUR,cancelled,
            """,
        ),
    )
    batch = prepare_batch(read_source(path), IngestContext(customers={"C1"}))
    assert_reasons(
        batch,
        {
            "SO-3": r"customer_id: unknown customer",
            "SO-4": r"status: not one of open, fulfilled, cancelled",
            "SO-5": r"fulfilled_date: must be >= order_date \(fulfilled_on_or_after_order\)",
        },
    )
    assert sorted(batch.tables["orders"]["order_id"]) == ["SO-1", "SO-2", "SO-6"]


def test_more_bad_rows_than_the_ceiling_halts_and_publishes_nothing(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "payments.csv",
        csv(
            PAYMENT_HEADER,
            """
            P1,2026-02-01,100.00,EUR,,,
            P2,2026-02-01,-1.00,EUR,,,
            P3,2026-02-01,1.001,EUR,,,
            """,
        ),
    )
    batch = prepare_batch(read_source(path), IngestContext())
    assert batch.halted
    assert batch.checkpoint.halt_reason == "67% of rows break the contract, above the ceiling of 50%"
    assert batch.tables == {}
    assert batch.quarantine["key"].tolist() == ["P2", "P3"]


def test_xlsx_with_a_mapping_is_read_as_text_and_ingested(tmp_path: Path) -> None:
    path = tmp_path / "bank_export.xlsx"
    pd.DataFrame(
        {
            "Buchungsnr": ["B-1", "B-2", "B-3"],
            "Valuta": [pd.Timestamp("2026-02-01"), pd.Timestamp("2026-02-02"), pd.Timestamp("2026-02-03")],
            "Betrag": [1190.0, 12.5, 0.125],
            "Verwendungszweck": ["O2C-2026-000001", None, "zu viele Stellen"],
        }
    ).to_excel(path, index=False)
    mapping = Mapping(
        dataset="payments",
        default_currency="EUR",
        columns={
            "payment_id": "Buchungsnr",
            "value_date": "Valuta",
            "amount": "Betrag",
            "reference": "Verwendungszweck",
        },
    )
    raw = read_source(path, mapping)
    assert raw.first_row_number == 2
    assert raw.rows[["payment_id", "value_date", "amount", "currency", "reference"]].values.tolist() == [
        ["B-1", "2026-02-01", "1190", "EUR", "O2C-2026-000001"],
        ["B-2", "2026-02-02", "12.5", "EUR", ""],
        ["B-3", "2026-02-03", "0.125", "EUR", "zu viele Stellen"],
    ]
    batch = prepare_batch(raw, IngestContext())
    assert batch.quarantine[["row_number", "key", "reasons"]].values.tolist() == [
        [4, "B-3", "amount: '0.125' has more than the currency's decimals"]
    ]
    payments = batch.tables["payments"].set_index("payment_id")
    assert payments["amount_minor"].to_dict() == {"B-1": 119000, "B-2": 1250}


def test_parquet_rows_are_numbered_from_one(tmp_path: Path) -> None:
    path = tmp_path / "payments_feb.parquet"
    pd.DataFrame(
        {
            "payment_id": ["P1", "P2"],
            "value_date": [date(2026, 2, 1), date(2026, 2, 2)],
            "amount": ["100.00", "1.5"],
            "currency": ["EUR", "JPY"],
        }
    ).to_parquet(path, index=False)
    raw = read_source(path)
    assert raw.first_row_number == 1
    assert raw.rows[["payment_id", "value_date", "amount"]].values.tolist() == [
        ["P1", "2026-02-01", "100.00"],
        ["P2", "2026-02-02", "1.5"],
    ]
    batch = prepare_batch(raw, IngestContext())
    assert batch.quarantine[["row_number", "key"]].values.tolist() == [[2, "P2"]]


# ---------------------------------------------------------------------------------------------------
# Reading: no Great Expectations needed


def test_csv_is_read_as_text_in_contract_order_with_missing_optional_columns_blank(tmp_path: Path) -> None:
    path = write(
        tmp_path, "payments.csv", "currency,amount,value_date,payment_id,extra\nEUR,0012.50,2026-02-01,P1,x\n"
    )
    raw = read_source(path)
    assert raw.dataset == "payments"
    assert raw.first_row_number == 2
    statement_fields = (
        "booking_date,bank_reference,end_to_end_id,creditor_reference,payer_bic,bank_transaction_code"
    )
    assert list(raw.rows.columns) == PAYMENT_HEADER.split(",") + statement_fields.split(",") + [
        "statement_id",
        "account",
    ]
    assert raw.rows.iloc[0].tolist() == ["P1", "2026-02-01", "0012.50", "EUR"] + [""] * 11
    assert raw.fingerprint == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("name", "dataset"),
    [
        ("order_lines_2026.csv", "order_lines"),  # not taken for orders
        ("orders_2026.csv", "orders"),
        ("Customers.CSV", "customers"),
        ("invoices.xlsx", "invoices"),
        ("payments-feb.parquet", "payments"),
    ],
)
def test_dataset_is_told_by_the_file_name(name: str, dataset: str) -> None:
    assert detect_dataset(Path(name), None) == dataset


def test_a_mapping_names_the_dataset() -> None:
    assert detect_dataset(Path("export.csv"), Mapping(dataset="payments")) == "payments"


def test_a_mapping_renames_columns_and_reads_its_date_format(tmp_path: Path) -> None:
    path = write(tmp_path, "bank.csv", "Ref,Datum,Betrag,Text\nP1,31.01.2026,12.50,INV-1\n")
    mapping = Mapping(
        dataset="payments",
        date_format="%d.%m.%Y",
        default_currency="EUR",
        columns={"payment_id": "Ref", "value_date": "Datum", "amount": "Betrag", "reference": "Text"},
    )
    raw = read_source(path, mapping)
    assert raw.rows[["payment_id", "value_date", "amount", "currency", "reference"]].iloc[0].tolist() == [
        "P1",
        "31.01.2026",
        "12.50",
        "EUR",
        "INV-1",
    ]


def test_a_currency_column_wins_over_the_default_currency(tmp_path: Path) -> None:
    path = write(tmp_path, "payments.csv", "payment_id,value_date,amount,currency\nP1,2026-02-01,1,USD\n")
    raw = read_source(path, Mapping(dataset="payments", default_currency="EUR"))
    assert raw.rows.at[0, "currency"] == "USD"


def test_file_missing_a_required_column_is_rejected_naming_file_and_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "invoices_jan.csv",
        "invoice_id,customer_id,issue_date,currency,amount\nI1,C1,2026-01-01,EUR,1\n",
    )
    with pytest.raises(SourceRejected) as caught:
        read_source(path)
    message = str(caught.value)
    assert message.startswith("invoices_jan.csv: ")
    assert "missing required column(s) due_date for dataset invoices" in message


def test_a_mapped_column_not_in_the_file_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "bank.csv", "Ref,Datum,Betrag\nP1,31.01.2026,12.50\n")
    with pytest.raises(SourceRejected, match=r"^bank\.csv: mapped column\(s\) not in the file: Reference$"):
        read_source(path, Mapping(dataset="payments", columns={"payment_id": "Reference"}))


def test_apply_mapping_without_a_currency_and_no_default_is_rejected() -> None:
    frame = pd.DataFrame({"payment_id": ["P1"], "value_date": ["2026-02-01"], "amount": ["1"]})
    with pytest.raises(
        SourceRejected, match="feed: missing required column.s. currency for dataset payments"
    ):
        apply_mapping(frame, "payments", None, "feed")


# file name              content                                    the message says
REJECTED = [
    ("payments.csv", bytes(range(256)) * 4, "payments.csv row 1, the header (column 1): a NUL byte"),
    (
        "payments.csv",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "payments.csv row 1, the header (column 1): byte 0x89 is not UTF-8",
    ),
    ("payments.csv", b"", "payments.csv: the file is empty"),
    (
        "payments.csv",
        b"Dear team,\nplease find the payments attached.\n",
        "payments.csv row 2: 1 field(s) where the header has 2",
    ),
    ("payments.xlsx", b"not a workbook", "payments.xlsx: text, not an XLSX workbook"),
    ("payments.parquet", b"not parquet", "payments.parquet: cannot be read as PARQUET"),
    ("payments.txt", b"payment_id\n", "payments.txt: unsupported file type '.txt'"),
    ("statement.csv", b"payment_id\n", "statement.csv: cannot tell which dataset this file is"),
]


@pytest.mark.parametrize(
    ("name", "content", "message"), REJECTED, ids=[f"{n}-{i}" for i, (n, _c, _m) in enumerate(REJECTED)]
)
def test_a_file_that_is_not_a_table_of_its_dataset_is_rejected(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SourceRejected) as caught:
        read_source(path)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_missing_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(SourceRejected, match="payments.csv: file not found"):
        read_source(tmp_path / "payments.csv")


def test_a_row_with_a_trailing_comma_does_not_shift_the_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path, "payments.csv", "payment_id,value_date,amount,currency\nP1,2026-02-01,12.50,EUR,\n"
    )
    try:
        raw = read_source(path)
    except SourceRejected as exc:
        assert "payments.csv" in str(exc)
        return
    assert raw.rows.loc[0, ["payment_id", "value_date", "amount", "currency"]].tolist() == [
        "P1",
        "2026-02-01",
        "12.50",
        "EUR",
    ]


def test_load_mapping(tmp_path: Path) -> None:
    good = write(
        tmp_path,
        "bank.csv.mapping.yaml",
        "dataset: payments\ndefault_currency: EUR\ncolumns: {payment_id: Ref}\n",
    )
    assert load_mapping(good) == Mapping(
        dataset="payments", default_currency="EUR", columns={"payment_id": "Ref"}
    )


@pytest.mark.parametrize(
    "text", ["dataset: receipts\n", "dataset: payments\ncolour: blue\n", "dataset: [payments\n"]
)
def test_a_bad_mapping_is_rejected_naming_its_file(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "bank.mapping.yaml", text)
    with pytest.raises(SourceRejected, match=r"^bank\.mapping\.yaml: not a valid mapping"):
        load_mapping(path)


def test_a_missing_mapping_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(SourceRejected, match="mapping file not found"):
        load_mapping(tmp_path / "nothing.yaml")


def test_read_sources_uses_a_sidecar_mapping_and_orders_by_dataset(tmp_path: Path) -> None:
    write(tmp_path, "bank.csv", "Ref,Datum,Betrag\nP1,2026-02-01,1.00\n")
    write(
        tmp_path,
        "bank.csv.mapping.yaml",
        "dataset: payments\ndefault_currency: EUR\n"
        "columns: {payment_id: Ref, value_date: Datum, amount: Betrag}\n",
    )
    write(tmp_path, "customers.csv", "customer_id,name,currency\nC1,Acme,EUR\n")
    sources = read_sources([str(tmp_path / "bank.csv"), str(tmp_path / "customers.csv")], None, None)
    assert [s.dataset for s in sources] == ["customers", "payments"]
    assert sources[1].rows.at[0, "currency"] == "EUR"
    assert inbox_files(tmp_path) == [tmp_path / "bank.csv", tmp_path / "customers.csv"]


# ---------------------------------------------------------------------------------------------------
# What a file may hold (tests/hostile/ has the refusals; these are the things that must still load)


def test_a_utf8_byte_order_mark_as_excel_writes_it_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes(b"\xef\xbb\xbfcustomer_id,name,currency\r\nC1,M\xc3\xbcller,EUR\r\n")
    raw = read_source(path)
    assert raw.rows.loc[0, ["customer_id", "name", "currency"]].tolist() == ["C1", "Müller", "EUR"]


def test_free_text_may_hold_tabs_and_line_breaks_a_name_may_not(tmp_path: Path) -> None:
    lines = write(
        tmp_path,
        "order_lines.csv",
        'order_id,line_no,sku,description,quantity,unit_price,tax_rate\nSO1,1,B1,"bolt\tM8\nzinc",2,1.50,0.19\n',
    )
    batch = prepare_batch(read_source(lines), IngestContext(order_currency={"SO1": "EUR"}))
    assert batch.quarantine.empty
    assert batch.tables["order_lines"]["description"].tolist() == ["bolt\tM8\nzinc"]
    names = write(
        tmp_path,
        "customers.csv",
        'customer_id,name,currency\nC1,"Acme\nGmbH",EUR\nC2,Globex,EUR\nC3,Initech,EUR\n',
    )
    batch = prepare_batch(read_source(names), IngestContext())
    assert reasons_of(batch, "C1") == ["name: 'Acme\\nGmbH' contains control character U+000A (line feed)"]


def test_surrounding_spaces_tabs_and_line_ends_are_trimmed_not_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path, "customers.csv", 'customer_id,name,email,currency\nC1,"\tAcme \r\n",ap@acme.example ,EUR\n'
    )
    batch = prepare_batch(read_source(path), IngestContext())
    assert batch.quarantine.empty
    row = batch.tables["customers"].iloc[0]
    assert (row["name"], row["email"]) == ("Acme", "ap@acme.example")


def test_an_email_address_is_one_bare_address(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "customers.csv",
        "customer_id,name,email,currency\n"
        "C1,Acme,ap@acme.example,EUR\nC2,Globex,,EUR\nC3,Initech,it@xn--bcher-kva.example,EUR\n"
        'C4,Hooli,"Hooli AP <ap@hooli.example>",EUR\n',
    )
    batch = prepare_batch(read_source(path), IngestContext())
    assert sorted(batch.tables["customers"]["customer_id"]) == ["C1", "C2", "C3"]
    assert reasons_of(batch, "C4") == [
        "email: 'Hooli AP <ap@hooli.example>' is not a bare address: give it as ap@example.com, without a name or <>"
    ]


def test_a_halt_lists_the_first_reasons_under_what_happened(tmp_path: Path) -> None:
    from tasks.platform.stage import halt_message

    rows = "".join(f"B{n},2026-02-01,{'abc' if n % 4 else '12.50'},EUR\n" for n in range(1, 16))
    path = write(tmp_path, "bank.csv", "Ref,Datum,Betrag,currency\n" + rows)
    mapping = Mapping(
        dataset="payments", columns={"payment_id": "Ref", "value_date": "Datum", "amount": "Betrag"}
    )
    batch = prepare_batch(read_source(path, mapping), IngestContext())
    assert batch.halted and batch.tables == {}
    lines = halt_message("ingest", [batch.checkpoint], quarantine_kept=True).splitlines()
    assert lines[0] == (
        f"ingest halted, nothing published: payments ({path}): 80% of rows break the contract,"
        " above the ceiling of 50%"
    )
    assert lines[1] == "  bank.csv row 2: amount (Betrag in the file): 'abc' is not a decimal number"
    assert len(lines) == 11
    assert lines[-1] == "  ... and 3 more reason(s) in 3 row(s) (every row and reason: o2c export quarantine)"


def test_a_gzip_csv_within_the_limits_is_read(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "customers.csv.gz"
    path.write_bytes(gzip.compress(b"customer_id,name,currency\n" + b"C1,Acme,EUR\n"))
    assert read_source(path).rows.loc[0, "name"] == "Acme"


def test_a_mapping_column_only_a_template_uses_is_a_helper() -> None:
    mapping = Mapping(
        dataset="order_book",
        columns={"raw_no": "InvoiceNo", "customer_id": "CustomerID"},
        templates={"order_id": "SO-{raw_no}"},
    )
    assert mapping.columns["raw_no"] == "InvoiceNo"
    with pytest.raises(ValueError, match="names column\\(s\\) 'raw_no' that an order book does not have"):
        Mapping(dataset="order_book", columns={"raw_no": "InvoiceNo", "customer_id": "CustomerID"})


def test_a_mapping_that_is_not_a_mapping_is_never_quoted(tmp_path: Path) -> None:
    path = write(tmp_path, "passwd", "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin\n")
    with pytest.raises(SourceRejected) as caught:
        load_mapping(path)
    assert "root" not in str(caught.value)
    assert str(caught.value).startswith("passwd: not a valid mapping")


def test_a_named_mapping_is_read_from_the_workspace_or_the_shipped_folder(tmp_path: Path) -> None:
    from tasks.platform.config import PROJECT_ROOT

    workspace = tmp_path / "home"
    (workspace / "mappings").mkdir(parents=True)
    (tmp_path / "in").mkdir()
    write(tmp_path / "in", "bank.csv", "Ref,Datum,Betrag\nP1,2026-02-01,1.00\n")
    inside = write(
        workspace / "mappings",
        "bank.yaml",
        "dataset: payments\ndefault_currency: EUR\ncolumns: {payment_id: Ref, value_date: Datum, amount: Betrag}\n",
    )
    sources = read_sources([str(tmp_path / "in" / "bank.csv")], str(inside), None, workspace=workspace)
    assert sources[0].rows.at[0, "payment_id"] == "P1"
    shipped = PROJECT_ROOT / "data_contracts" / "mappings" / "ibm_ar.yaml"
    with pytest.raises(SourceRejected, match="mapped column"):  # read (it maps another layout), not refused
        read_sources([str(tmp_path / "in" / "bank.csv")], str(shipped), None, workspace=workspace)
    outside = write(tmp_path, "bank.yaml", inside.read_text())
    with pytest.raises(SourceRejected, match="a mapping file must lie inside the workspace"):
        read_sources([str(tmp_path / "in" / "bank.csv")], str(outside), None, workspace=workspace)


def test_a_sidecar_linked_within_its_folder_is_read(tmp_path: Path) -> None:
    write(tmp_path, "bank.csv", "Ref,Datum,Betrag\nP1,2026-02-01,1.00\n")
    write(
        tmp_path,
        "shared.mapping.yaml",
        "dataset: payments\ndefault_currency: EUR\ncolumns: {payment_id: Ref, value_date: Datum, amount: Betrag}\n",
    )
    (tmp_path / "bank.csv.mapping.yaml").symlink_to(tmp_path / "shared.mapping.yaml")
    assert read_sources([str(tmp_path / "bank.csv")], None, None)[0].dataset == "payments"

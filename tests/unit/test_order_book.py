"""An order book (one file of order lines carrying their order and customer, as UCI Online Retail)
split into customers, orders and order lines, with duplicates and lines without a customer found
on the line they are on; and the summary of what became of such a file."""

from __future__ import annotations

import gzip
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from tasks.ingest.canonical import prepare_batch
from tasks.ingest.file_summary import line_amount, reason_class, summarise
from tasks.ingest.mappings import load_mapping
from tasks.ingest.model import IngestContext, Mapping, SourceRejected
from tasks.ingest.sources import read_file_sources

PROJECT = Path(__file__).resolve().parents[2]
RETAIL_MAPPING = PROJECT / "data_contracts" / "mappings" / "online_retail.yaml"
BOOK = """InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom
536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom
536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,17850.0,United Kingdom
536367,84879,ASSORTED BIRD ORNAMENT,32,2010-12-01 08:34:00,1.69,13047.0,France
536367,84879,ASSORTED BIRD ORNAMENT,32,2010-12-01 08:34:00,1.69,13047.0,France
536368,22960,JAM MAKING SET,6,2010-12-01 08:34:00,4.25,,United Kingdom
C536379,D,Discount,-1,2010-12-01 09:41:00,27.50,17850.0,United Kingdom
"""


@pytest.fixture
def book(tmp_path: Path) -> Path:
    path = tmp_path / "retail.csv.gz"
    path.write_bytes(gzip.compress(BOOK.encode()))
    return path


def test_an_order_book_splits_into_customers_orders_and_lines_keeping_row_numbers(book: Path) -> None:
    customers, orders, lines = read_file_sources(book, load_mapping(RETAIL_MAPPING))
    assert [s.dataset for s in (customers, orders, lines)] == ["customers", "orders", "order_lines"]
    assert customers.rows[
        ["customer_id", "name", "country", "currency", "payment_terms"]
    ].values.tolist() == [
        ["17850", "Online Retail customer 17850", "United Kingdom", "GBP", "net 30"],
        ["13047", "Online Retail customer 13047", "France", "GBP", "net 30"],
    ]
    assert orders.rows["order_id"].tolist() == ["536365", "536366", "536367", "536368", "C536379"]
    assert orders.rows.loc[orders.rows["order_id"] == "536368", "customer_id"].item() == ""
    assert orders.rows[["status", "fulfilled_date"]].iloc[0].tolist() == ["fulfilled", "2010-12-01 08:26:00"]
    assert lines.rows["line_no"].tolist() == ["1", "2", "1", "1", "2", "1", "1"]
    assert lines.rows.index.tolist() == list(range(7))  # row number = 2 + position, as in the file
    assert lines.row_problems == {
        4: ["exact duplicate of row 5 (every column the same)"],
        5: ["CustomerID is blank: a line without a customer cannot be billed"],
    }
    assert customers.fingerprint == lines.fingerprint  # one file: its batches differ by dataset


def test_the_order_book_goes_through_its_contracts_with_the_reasons_on_the_lines(book: Path) -> None:
    customers, orders, lines = read_file_sources(book, load_mapping(RETAIL_MAPPING))
    first = prepare_batch(customers, IngestContext())
    assert first.quarantine.empty
    second = prepare_batch(orders, IngestContext(customers={"17850", "13047"}))
    assert second.quarantine[["row_number", "key"]].values.tolist() == [[7, "536368"]]
    assert "customer_id: required value is missing" in second.quarantine.at[0, "reasons"]
    known = dict.fromkeys(["536365", "536366", "536367", "C536379"], "GBP")
    third = prepare_batch(lines, IngestContext(order_currency=known))
    reasons = dict(zip(third.quarantine["row_number"], third.quarantine["reasons"], strict=True))
    assert sorted(reasons) == [6, 7]
    assert reasons[6].startswith("exact duplicate of row 5")
    assert reasons[7].startswith("CustomerID is blank")  # the row's own problem comes first
    loaded = third.tables["order_lines"]
    assert loaded[["order_id", "quantity", "unit_price_minor"]].values.tolist() == [
        ["536365", 6, 255],
        ["536365", 6, 339],
        ["536366", 6, 185],
        ["536367", 32, 169],
        ["C536379", -1, 2750],
    ]


def test_an_order_book_mapping_is_checked_when_loaded(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="needs a group"):
        Mapping(dataset="order_book", extract={"customer_id": r"^\d+$"})
    with pytest.raises(ValidationError, match="order_book only"):
        Mapping(dataset="orders", constants={"status": "fulfilled"})
    bad = tmp_path / "bad.yaml"
    bad.write_text("dataset: order_book\ncolumns: {order_id: Nope, customer_id: CustomerID}\n")
    path = tmp_path / "retail.csv"
    path.write_text(BOOK)
    with pytest.raises(SourceRejected, match="mapped column\\(s\\) not in the file: Nope"):
        read_file_sources(path, load_mapping(bad))
    unnamed = tmp_path / "unnamed.yaml"
    unnamed.write_text(
        "dataset: order_book\ncolumns: {order_id: InvoiceNo, customer_id: CustomerID}\n"
        "templates: {name: 'Customer {client}'}\n"
    )
    with pytest.raises(SourceRejected, match="names 'client', not mapped"):
        read_file_sources(path, load_mapping(unnamed))


def test_a_gzip_file_that_is_not_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "orders.xlsx.gz"
    path.write_bytes(gzip.compress(b"x"))
    with pytest.raises(SourceRejected, match="only CSV files may be gzip-compressed"):
        read_file_sources(path, None)


def test_reason_classes_and_exact_line_amounts() -> None:
    assert reason_class("exact duplicate of row 12 (every column the same); x") == (
        "exact duplicate of row N (every column the same)"
    )
    assert reason_class("unit_price: '0.001' has more than the currency's decimals") == (
        "unit_price: N has more than the currency's decimals"
    )
    assert line_amount("3", "0.001") == Decimal("0.003")
    assert line_amount("x", "1") is None


def test_the_summary_balances_only_when_every_line_is_accounted_for() -> None:
    lines = pd.DataFrame({"quantity": ["2", "1", "-1", "5"], "unit_price": ["1.50", "0.001", "2.00", "1.00"]})
    quarantined = pd.DataFrame(
        {"dataset": ["order_lines"], "row_number": [3], "reasons": ["unit_price: '0.001' bad"]}
    )
    loaded = pd.DataFrame(
        {
            "what": [
                "customers",
                "orders",
                "order lines",
                "orders invoiced",
                "lines on invoices",
                "orders credited",
                "lines on credit notes",
            ],
            "n": [1, 3, 3, 2, 2, 1, 1],
            "currency": [None, None, "GBP", None, None, None, None],
            "net_minor": [None, None, 600, None, 800, None, -200],
        }
    )
    result = summarise(lines, 2, {"customers": 1, "orders": 3}, quarantined, loaded)
    figures = {f["what"]: (f["rows"], f["amount"]) for f in result["figures"]}
    assert figures["order lines in the file"] == (4, "6.001")
    assert figures["order lines quarantined: unit_price: N bad"] == (1, "0.001")
    assert figures["order lines loaded, not billed"] == (0, "0.00")
    assert result["controls"] == {
        "lines in = quarantined + loaded": True,
        "amount in = quarantined + loaded": True,
    }
    short = loaded.assign(net_minor=[None, None, 500, None, 800, None, -200])  # a line's amount lost
    assert (
        summarise(lines, 2, {}, quarantined, short)["controls"]["amount in = quarantined + loaded"] is False
    )

"""Ingest checks the next source while the one before it is written: one run over a book's files
leaves exactly the rows, quarantine and audit of loading the files one run at a time (orders
checked against the customers being written, order lines priced in the currency of the orders being
written), and a second file of the dataset being written waits for it."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

from flows.ingest import ingest_flow
from tasks.platform.config import load_settings
from tasks.platform.ledger import open_ledger

AS_OF = date(2026, 11, 20)
DATASETS = ("customers", "orders", "order_lines", "invoices", "payments")
# further files, each with a row no other file makes good: an order of a customer no file holds,
# an order line of an order no file holds, and an invoice number of the first invoices file again
# with another amount
MORE_ORDERS = """order_id,customer_id,order_date,currency,status,fulfilled_date
SO-9000001,C00001,2026-11-01,EUR,fulfilled,2026-11-02
SO-9000002,C00002,2026-11-01,USD,fulfilled,2026-11-02
SO-9000003,C00003,2026-11-01,GBP,fulfilled,2026-11-02
SO-9000004,C99999,2026-11-01,EUR,fulfilled,2026-11-02
"""
MORE_LINES = """order_id,line_no,sku,description,quantity,unit_price,tax_rate
SO-9000001,1,LUB-GRS-005,Grease,1,5.00,0
SO-9000002,1,LUB-GRS-005,Grease,2,5.00,0
SO-9000003,1,LUB-GRS-005,Grease,3,5.00,0
SO-9999999,1,LUB-GRS-005,Grease,1,5.00,0
"""


def files(book_dir: Path, folder: Path) -> list[str]:
    folder.mkdir(parents=True)
    paths = []
    for name in DATASETS:
        shutil.copy(book_dir / f"{name}.csv", folder / f"{name}.csv")
        paths.append(str(folder / f"{name}.csv"))
    (folder / "orders_more.csv").write_text(MORE_ORDERS)
    (folder / "order_lines_more.csv").write_text(MORE_LINES)
    first_invoice = (book_dir / "invoices.csv").read_text().splitlines()[:2]
    header, row = first_invoice[0], first_invoice[1].split(",")
    row[5] = "1.23"  # the same invoice number, another amount: a conflict with the first file's
    new = [f"INV-9-00000{n},C0000{n},2026-11-01,2026-12-01,EUR,{n}0.00,,," for n in (1, 2)]
    (folder / "invoices_more.csv").write_text("\n".join([header, ",".join(row), *new]) + "\n")
    more = {
        "orders": "orders_more.csv",
        "order_lines": "order_lines_more.csv",
        "invoices": "invoices_more.csv",
    }
    ordered = []
    for name, path in zip(DATASETS, paths, strict=True):
        ordered.append(path)
        if name in more:
            ordered.append(str(folder / more[name]))
    return ordered


def ledger_rows(home: Path) -> dict[str, Any]:
    with open_ledger(load_settings(home).ledger_path) as ledger:
        rows = {
            table: sorted(ledger.con.execute(f"select * exclude (run_id) from {table}").fetchall(), key=repr)
            for table in DATASETS
        }
        rows["quarantine"] = sorted(
            ledger.con.execute("select dataset, row_number, key, reasons from quarantine").fetchall()
        )
        rows["audit"] = ledger.con.execute(
            'select audit_id, entity, key, action, regexp_replace(after, \'"run_id":"[^"]*"\', \'\')'
            " from audit_log order by audit_id"
        ).fetchall()
    return rows


def test_one_run_over_the_files_leaves_what_one_run_per_file_leaves(book_dir: Path, tmp_path: Path) -> None:
    together, apart = tmp_path / "together", tmp_path / "apart"
    paths = files(book_dir, tmp_path / "in")
    state = ingest_flow(paths=paths, as_of=AS_OF, home=str(together), return_state=True)
    assert state.is_completed(), state.message
    for path in paths:
        one = ingest_flow(paths=[path], as_of=AS_OF, home=str(apart), return_state=True)
        assert one.is_completed(), one.message
    mine, theirs = ledger_rows(together), ledger_rows(apart)
    assert {table: len(rows) for table, rows in mine.items()} == {
        table: len(rows) for table, rows in theirs.items()
    }
    assert mine == theirs
    refused = {(row[0], str(row[2]).split("/")[0]): row[3] for row in mine["quarantine"]}
    assert len(mine["orders"]) > 1 and len(mine["order_lines"]) > 1  # checked against rows being written
    # what no file holds is refused all the same
    assert "unknown customer" in refused["orders", "SO-9000004"]
    assert "unknown order" in refused["order_lines", "SO-9999999"]
    assert {row[0] for row in mine["orders"]} >= {"SO-9000001", "SO-9000002", "SO-9000003"}
    assert any(row[0] == "invoices" and row[1] == 2 for row in mine["quarantine"])  # the conflict

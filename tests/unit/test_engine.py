"""The compute engine: Arrow in, SQL, Arrow out; money stays integer; no file can be reached."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from tasks.platform.ledger import compute, memory_ledger


def test_arrow_in_sql_arrow_out_money_stays_integer() -> None:
    invoices = pa.table({"invoice_id": ["I1", "I2", "I3"], "open_minor": pa.array([100, 250, 0], pa.int64())})
    with compute() as engine:
        engine.register("invoices", invoices)
        result = engine.arrow(
            "select sum(open_minor)::bigint as open_minor, count(*) filter (where open_minor > 0) as n from invoices"
        )
    assert result.schema.field("open_minor").type == pa.int64()
    assert result.to_pylist() == [{"open_minor": 350, "n": 2}]


def test_the_engine_reads_no_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("password\nhunter2\n")
    with compute() as engine:
        with pytest.raises(duckdb.PermissionException):
            engine.arrow(f"select * from read_csv('{secret}')")
        with pytest.raises(duckdb.Error):
            engine.execute("set enable_external_access = true")


def test_a_ledger_query_reads_as_arrow() -> None:
    with memory_ledger(
        {"customers": __import__("pandas").DataFrame({"customer_id": ["K1"], "name": ["Acme"]})}
    ) as ledger:
        table = ledger.arrow("remind/customers").select(["customer_id", "name"])
    assert table.to_pylist() == [{"customer_id": "K1", "name": "Acme"}]

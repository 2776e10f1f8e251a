"""The compute engine: an in-process DuckDB in memory, for the set-based work of a stage.

The ledger is the store; this is where heavy computation runs, whatever the store: a stage reads its
facts from the ledger as Arrow tables (`Ledger.arrow`), hands them to its pure logic, which
registers them here and decides in SQL (joins, window functions, aggregates over a million rows),
and gets Arrow tables (money as BIGINT minor units, never a float) back to publish. A sum of BIGINT
is a HUGEINT in DuckDB (a decimal in Arrow): cast money sums back, `sum(open_minor)::bigint`. Nothing here
touches a file: like the ledger, the engine runs with DuckDB's access to files, the network and
extensions switched off and its configuration locked, so what it computes on is only what the code
handed it.

    with compute() as engine:
        engine.register("invoices", invoices)              # an Arrow table or a pandas frame
        open_items = engine.arrow("select ... from invoices where ...", {"as_of": day})
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from tasks.platform.ledger.tables import load_sql

DEFAULT_THREADS = 2  # this machine's cores; DuckDB would otherwise take every core it sees


class Engine:
    """An open in-memory DuckDB for one piece of stage logic."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def register(self, name: str, table: pa.Table | pd.DataFrame) -> None:
        """Make `table` queryable as `name` (no copy for an Arrow table)."""
        self.con.register(name, table)

    def arrow(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> pa.Table:
        """The result of `sql` (its text) as an Arrow table."""
        return self.con.sql(sql, params=params or None).to_arrow_table()

    def named(self, name: str, **params: Any) -> pa.Table:
        """The result of the SQL file `sql/<name>.sql` as an Arrow table."""
        return self.arrow(load_sql(name), params or None)

    def frame(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> pd.DataFrame:
        """The result of `sql` as a pandas frame, read through Arrow (integers stay integers)."""
        return self.arrow(sql, params).to_pandas()

    def execute(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> None:
        self.con.execute(sql, params or None)


@contextmanager
def compute(threads: int = DEFAULT_THREADS) -> Iterator[Engine]:
    """An in-memory engine, closed when the block ends; nothing it holds outlives the block."""
    con = duckdb.connect(
        ":memory:",
        config={
            "enable_external_access": False,
            "autoload_known_extensions": False,
            "autoinstall_known_extensions": False,
            "threads": threads,
        },
    )
    try:
        con.execute("set lock_configuration = true")
        yield Engine(con)
    finally:
        con.close()

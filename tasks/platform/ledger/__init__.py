"""The only part of the code that talks to the store: a DuckDB file under the workspace, or a
PostgreSQL database (`O2C_LEDGER_URL`) through a DuckDB working copy of it.

Reads return pandas frames (or Arrow tables) with money as integer minor units. A stage's writes
(pandas frames or Arrow tables, loaded through Arrow) are gathered in a `Publication` and land in
one transaction, or not at all. Writers are serialized by an exclusive file lock beside the ledger,
so two runs at once wait for each other instead of failing on DuckDB's own file lock.

The rest of the code talks to "the ledger" as one unit and imports from here; the package's
modules are `tables` (table names, audited entities, outbox tables, SQL files), `lock` (the writer
lock), `connection` (opening and migrating the file), `core` (the `Ledger`, composed of `reads`,
`publish`, `delivery_states` and `cash_decisions`), `staging` (a stage's rows made ready to load),
`new_rows` (which of them a table does not hold yet), `working_copy`, `write_back` and
`from_postgres` (a PostgreSQL ledger's working copy, made current on opening, written back at each
commit, made again from PostgreSQL's rows), `engine` (the in-memory DuckDB a stage
computes in, over Arrow tables read from the ledger, whatever the store) and `postgres` (the same
schema in PostgreSQL, and a workspace's ledger copied there, checked table by table).
"""

from tasks.platform.ledger.connection import copy_ledger, memory_ledger, open_ledger
from tasks.platform.ledger.core import Ledger
from tasks.platform.ledger.engine import Engine, compute
from tasks.platform.ledger.lock import LedgerBusy, hold_ledger, hold_outbox
from tasks.platform.ledger.publish import Publication
from tasks.platform.ledger.tables import AUDITED, LEDGER_TABLES, OUTBOX_TABLES, load_sql
from tasks.platform.ledger.working_copy import StoreConflict, StoreProblem

__all__ = [
    "AUDITED",
    "Engine",
    "LEDGER_TABLES",
    "OUTBOX_TABLES",
    "Ledger",
    "LedgerBusy",
    "Publication",
    "StoreConflict",
    "StoreProblem",
    "compute",
    "hold_ledger",
    "hold_outbox",
    "load_sql",
    "memory_ledger",
    "open_ledger",
    "copy_ledger",
]

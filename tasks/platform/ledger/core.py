"""The `Ledger`: one open connection to the store with everything the rest of the code does with
it, put together from the parts of this package (reads, a stage's publication, the outbox's
delivery states, a person's cash decisions). `open_ledger` (tasks/platform/ledger/connection.py)
hands one out.
"""

from __future__ import annotations

from tasks.platform.ledger.cash_decisions import CashDecisions
from tasks.platform.ledger.delivery_states import DeliveryStates
from tasks.platform.ledger.publish import Publishing
from tasks.platform.ledger.reads import Reads


class Ledger(Publishing, DeliveryStates, CashDecisions, Reads):
    """An open connection to the ledger, held under the writer lock."""

"""The report of one legal entity: which customers, invoices and payments are its own
(`sql/report/entity_members.sql`: a customer by its master's `legal_entity`, empty: `default`; an
invoice by its own, else its customer's; a payment by the invoices it paid, else the entity whose
bank received it, else its payer's customer), and the report's inputs cut down to them once, so that
every figure is computed from that entity's rows alone.

The open items, settled invoices, cases, applied cash and reminders are read whole and filtered here
(Arrow's `is_in`, one pass each); the two figures the ledger aggregates itself (the cash not applied
and the DSO at past month ends) are cut in their SQL by the same members, registered once.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tasks.platform.entities import DEFAULT_ENTITY
from tasks.platform.problems import InputRejected

MEMBERS = pa.schema([("kind", pa.string()), ("id", pa.string()), ("entity", pa.string())])


class UnknownEntity(InputRejected):
    """A legal entity that neither the ledger's customers and invoices nor rules/entities.yaml name:
    a command says so in one line, a report run ends with it."""


def members(ledger: Any, entity: str | None, bank_accounts: dict[str, str] | None) -> pa.Table:
    """Every customer's, invoice's and payment's entity (kind, id, entity); none when `entity` is
    None (the whole book needs no members). An unknown `entity` raises `UnknownEntity` naming the
    known ones."""
    if entity is None:
        return MEMBERS.empty_table()
    from tasks.report.journal import entity_account_table

    found = ledger.arrow_with(
        "report/entity_members", {"entity_accounts": entity_account_table(bank_accounts)}
    )
    known = known_entities(found, bank_accounts)
    if entity not in known:
        raise UnknownEntity(f"unknown legal entity {entity!r}; the known ones: {', '.join(known)}")
    return found.cast(MEMBERS)


def known_entities(found: pa.Table, bank_accounts: dict[str, str] | None) -> list[str]:
    """The entities of the ledger's customers and invoices, of rules/entities.yaml, and `default`."""
    named = set(pc.unique(found["entity"]).to_pylist()) if len(found) else set()
    return sorted(named | set((bank_accounts or {}).values()) | {DEFAULT_ENTITY})


def of_entity(inputs: dict[str, Any], found: pa.Table, entity: str) -> dict[str, Any]:
    """The report's inputs cut down to `entity`'s rows: open items, settled invoices and applied
    cash by invoice; cases by their invoice, else their customer; reminders by customer. The cash
    and the month ends were cut in SQL."""
    mine = found.filter(pc.equal(found["entity"], entity))
    invoices = mine.filter(pc.equal(mine["kind"], "invoice"))["id"].combine_chunks()
    customers = mine.filter(pc.equal(mine["kind"], "customer"))["id"].combine_chunks()
    out = dict(inputs, entity=entity)
    for key in ("now", "then", "settled"):
        table = inputs[key]
        out[key] = table.filter(
            pc.is_in(table["invoice_id"], value_set=invoices.cast(table["invoice_id"].type))
        )
    out["allocations"] = _rows_of(inputs["allocations"], "invoice_id", invoices)
    out["reminders"] = _rows_of(inputs["reminders"], "customer_id", customers)
    cases = inputs["cases"]
    by_invoice = cases["invoice_id"].isin(invoices.to_pylist())
    by_customer = cases["invoice_id"].isna() & cases["customer_id"].isin(customers.to_pylist())
    out["cases"] = cases[by_invoice | by_customer].reset_index(drop=True)
    return out


def _rows_of(frame: pd.DataFrame, column: str, ids: pa.Array) -> pd.DataFrame:
    return frame[frame[column].isin(ids.to_pylist())].reset_index(drop=True)

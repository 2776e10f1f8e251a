"""Dunning evaluation: under the policy (`rules/dunning.yaml`, its model in
`rules/dunning_policy.py`), who gets which reminder today, who is left alone and why.

Evaluation is pure, stateless and set-based: the facts (open items, reminder history, cases,
promises, unapplied cash, customer tags; pandas frames or Arrow tables) and `as_of` go into the
compute engine, where each rule of the policy is one SQL statement of `sql/remind/evaluate/` over
the items still in the running. The same facts always give the same answer, and a million open
invoices are evaluated in seconds.

The rules, in the order they apply (each to what the ones before left): the level each open item
has reached; everyone while payments are not reconciled; customers tagged no-dunning or whose
address bounced; invoices
under an open dispute or deduction case or a running promise to pay; invoices in a currency where
unapplied cash covers the overdue amount; one rung up per run, and only customers with an invoice
new at its level; customers reminded too recently for their message's level; invoices in a
currency whose open amount is below the level's minimum.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa

from rules.dunning_messages import messages
from rules.dunning_policy import DunningPolicy, Level, amounts, ladder
from tasks.platform.ledger import Engine, compute, load_sql

__all__ = ["DunningFacts", "DunningPolicy", "Evaluation", "Level", "evaluate"]

NO_DUNNING_TAG = "no-dunning"  # named in sql/remind/evaluate/held_back.sql

Facts: TypeAlias = pd.DataFrame | pa.Table


@dataclass
class DunningFacts:
    """What evaluation looks at: pandas frames or Arrow tables, which may be empty but carry their
    columns.

    items: invoice_id, customer_id, currency, issue_date, due_date, open_minor (open invoices).
    customers: customer_id, dunning_profile, tags (`;`-separated), bounced (optional: why the
    customer's e-mail address no longer takes mail, from the provider's events).
    history: invoice_id, customer_id, last_level, last_reminded_on (reminders not lost in delivery).
    cases: case_id, kind (dispute, deduction, promise), customer_id, invoice_id, status, due_on.
    unapplied: customer_id, currency, unapplied_minor (cash received and not yet applied).
    reconcile_pending: why no reminder may go out at all (payments not yet reconciled), or None.
    charges: invoice_id (the fees and interest earlier reminders booked: open items of the customer,
    shown on the statement of account, never dunned themselves and bearing no interest).
    charged: invoice_id, interest_through (the day an earlier reminder's booked interest charge
    took the invoice's interest up to; interest is charged from then on, not from the due date).
    """

    items: Facts
    customers: Facts
    history: Facts
    cases: Facts
    unapplied: Facts
    reconcile_pending: str | None = None
    charges: Facts | None = None
    charged: Facts | None = None


@dataclass
class Evaluation:
    """items: every invoice in a message, with its level and interest. messages: one row per
    customer (level, fee and totals per currency in `totals`). exclusions: customer_id, invoice_id
    (empty for the whole customer), reason."""

    items: pd.DataFrame
    messages: pd.DataFrame
    exclusions: pd.DataFrame
    reached: int


ITEM_COLUMNS = [
    "customer_id",
    "invoice_id",
    "currency",
    "issue_date",
    "due_date",
    "open_minor",
    "days_past_due",
    "level",
    "level_name",
    "interest_minor",
    "interest_from",
    "is_new",
]
EXCLUSION_COLUMNS = ["customer_id", "invoice_id", "reason"]

# The columns each fact is read with, and their types: a missing column is empty, and a frame's
# loose types (dates as objects or timestamps, text or nothing) become one type each.
FACT_TYPES: dict[str, dict[str, str]] = {
    "items": {
        "invoice_id": "varchar",
        "customer_id": "varchar",
        "currency": "varchar",
        "issue_date": "date",
        "due_date": "date",
        "open_minor": "bigint",
    },
    "customers": {
        "customer_id": "varchar",
        "dunning_profile": "varchar",
        "tags": "varchar",
        "bounced": "varchar",
    },
    "history": {
        "invoice_id": "varchar",
        "customer_id": "varchar",
        "last_level": "bigint",
        "last_reminded_on": "date",
    },
    "cases": {
        "case_id": "varchar",
        "kind": "varchar",
        "customer_id": "varchar",
        "invoice_id": "varchar",
        "status": "varchar",
        "due_on": "date",
    },
    "unapplied": {"customer_id": "varchar", "currency": "varchar", "unapplied_minor": "bigint"},
    "charges": {"invoice_id": "varchar"},
    "charged": {"invoice_id": "varchar", "interest_through": "date"},
}


def evaluate(facts: DunningFacts, policy: DunningPolicy, as_of: date) -> tuple[Evaluation, list[str]]:
    """Each customer's reminder today, every invoice at its level, and every exclusion with its
    reason; and the problems met on the way, as messages (a customer naming a dunning profile the
    policy does not have, dunned under the default one), which change no decision."""
    with compute() as engine:
        fees = _load(engine, facts, policy)
        engine.execute(_sql("reached"), {"as_of": as_of, "default_profile": policy.default_profile})
        engine.execute("create temp table remaining as select * from reached")
        reached = _count(engine, "reached")
        engine.execute(f"create temp table excluded ({EXCLUDED})")
        if facts.reconcile_pending:
            engine.execute(_sql("pending"), {"why": facts.reconcile_pending})
            _exclude(engine)
        for step in ("held_back", "covered"):
            engine.execute(_sql(step), {"as_of": as_of} if step == "held_back" else None)
            _exclude(engine)
        engine.execute(_sql("capped"))
        for step in ("spaced", "small"):
            engine.execute(_sql(step), {"as_of": as_of} if step == "spaced" else None)
            _exclude(engine)
        items = engine.arrow(_sql("items"), {"as_of": as_of})
        engine.register("message_items", items)
        heads, totals = engine.arrow(_sql("messages")), engine.arrow(_sql("totals"))
        exclusions = engine.arrow(_sql("exclusions"))
        unknown = engine.arrow(_sql("problems"))
    decisions = Evaluation(
        items.select(ITEM_COLUMNS + ["profile", "template"]).to_pandas(),
        messages(heads, totals, fees),
        exclusions.to_pandas(),
        reached,
    )
    return decisions, _problems(unknown, policy)


EXCLUDED = "step integer, _row bigint, customer_id varchar, invoice_id varchar, reason varchar"


def _sql(name: str) -> str:
    return load_sql(f"remind/evaluate/{name}")


def _load(engine: Engine, facts: DunningFacts, policy: DunningPolicy) -> pa.Table:
    """Register the facts (each row numbered `_row`, in the order given: the first row of a key is
    the one that counts), the ladder and the minimums and fees of the items' currencies (returned:
    the messages' fees are read from them)."""
    for name, types in FACT_TYPES.items():
        table = _arrow(getattr(facts, name))
        engine.register(f"{name}_raw", table)
        present = set(table.column_names)
        columns = ", ".join(
            f"cast({column if column in present else 'null'} as {kind}) as {column}"
            for column, kind in types.items()
        )
        engine.execute(f"create temp table {name}_in as select {columns}, _row from {name}_raw")
    currencies = [
        str(c)
        for c in engine.arrow("select distinct currency from items_in order by 1").column(0).to_pylist()
    ]
    per_currency = amounts(policy, currencies)
    engine.register("ladder", ladder(policy))
    engine.register("minimums", per_currency)
    return per_currency


def _arrow(fact: Facts | None) -> pa.Table:
    """The fact as an Arrow table with each row's place in it (`_row`); none given: no rows."""
    if fact is None:
        fact = pa.table({"invoice_id": pa.array([], pa.string())})
    table = fact if isinstance(fact, pa.Table) else pa.Table.from_pandas(fact, preserve_index=False)
    return table.append_column("_row", pa.array(np.arange(table.num_rows, dtype=np.int64)))


def _count(engine: Engine, table: str) -> int:
    return int(engine.arrow(f"select count(*) from {table}").column(0)[0].as_py())


def _exclude(engine: Engine) -> None:
    """Record the step's hits as exclusions and take their items out of the running."""
    engine.execute(_sql("exclude"))
    engine.execute("delete from remaining where _row in (select _row from hits)")


def _problems(unknown: pa.Table, policy: DunningPolicy) -> list[str]:
    """Customers with open items who name a dunning profile the policy does not have (they are
    dunned under the default profile, as `rules/dunning.yaml` says), one message each."""
    pairs: Any = zip(
        unknown.column("customer_id").to_pylist(), unknown.column("dunning_profile").to_pylist(), strict=True
    )
    return [
        f"customer {c}: dunning profile {p!r} is not in the policy; dunned under {policy.default_profile!r}"
        for c, p in pairs
    ]

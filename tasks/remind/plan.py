"""Remind: open items and reminder history in; consolidated reminder messages (the outbox) out.

Pure: the levels come from `rules/dunning.py`; this module groups each customer's invoices into one
message, renders it and keys it by (customer, level, invoice set), so the same message is never
queued twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rules.dunning import DunningFacts, DunningPolicy, Evaluation, evaluate
from tasks.platform.bank_ids import creditor_reference
from tasks.platform.config import SHIPPED_TEMPLATES
from tasks.platform.ledger import compute
from tasks.platform.money import to_major_str
from tasks.platform.sellers import FALLBACK_NAME, Party, pay_link
from tasks.remind.charges import CHARGE_COLUMNS, charge_counts, charges_of, statement_items
from tasks.remind.render import Renderer, item_views, statements, total_view


@dataclass
class Dunning:
    reminders: pd.DataFrame
    items: pd.DataFrame
    counts: dict[str, int]
    exclusions: pd.DataFrame = field(default_factory=pd.DataFrame)
    problems: list[str] = field(default_factory=list)  # what the policy could not follow, as messages
    charges: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CHARGE_COLUMNS))


def dunning_items(items: pd.DataFrame | pa.Table, as_of: date) -> pd.DataFrame | pa.Table:
    """One dunning item per invoice from the open items, which list an invoice paid in instalments
    part by part: such an invoice is dunned from its earliest open part's due date, for that part
    and every other part due by the as-of date (a part not yet due is not asked for). An Arrow
    table (the open items as read from the ledger) is rolled up in the compute engine
    (`sql/remind/dunning_items.sql`), a frame here: the same rule, the same items."""
    if isinstance(items, pa.Table):
        with compute() as engine:
            engine.register("open_items", items)
            return engine.named("remind/dunning_items", as_of=as_of)
    if "instalment" not in items.columns or items["instalment"].isna().all():
        return items.drop(columns=["instalment"], errors="ignore")
    whole = items[items["instalment"].isna()]
    parts = items[items["instalment"].notna()].copy()
    parts["due_date"] = pd.to_datetime(parts["due_date"])
    open_due = parts["due_date"].where(parts["open_minor"] > 0)
    first = (
        open_due.groupby(parts["invoice_id"])
        .transform("min")
        .fillna(parts.groupby("invoice_id")["due_date"].transform("max"))
    )
    asked = parts["due_date"] <= first.where(first > pd.Timestamp(as_of), pd.Timestamp(as_of))
    parts["asked_minor"] = parts["open_minor"].where(asked, 0)
    rolled = parts.groupby("invoice_id", as_index=False, sort=False).agg(
        customer_id=("customer_id", "first"),
        currency=("currency", "first"),
        issue_date=("issue_date", "first"),
        amount_minor=("amount_minor", "sum"),
        open_minor=("asked_minor", "sum"),
    )
    rolled["due_date"] = rolled["invoice_id"].map(first.groupby(parts["invoice_id"]).first()).dt.date
    columns = [c for c in items.columns if c != "instalment"]
    whole = whole[columns]
    return (
        pd.concat([whole, rolled[columns]], ignore_index=True)
        .sort_values("invoice_id")
        .reset_index(drop=True)
    )


def open_invoices(items: pa.Table) -> pa.Table:
    """The invoice ids of the dunning items with something open (the open items list every invoice
    issued by the date, paid or not)."""
    return items.filter(pc.greater(items["open_minor"], 0)).select(["invoice_id"])


def plan_reminders(
    facts: DunningFacts,
    customers: pd.DataFrame | pa.Table,
    policy: DunningPolicy,
    *,
    as_of: date,
    rule_version: str,
    reminded_on_date: pd.DataFrame | None = None,
    templates: Path = SHIPPED_TEMPLATES,
    seller_of: Callable[[Any], Party] | None = None,
) -> Dunning:
    """Who gets which reminder on `as_of`: one message per customer, every invoice at its level,
    fees and interest shown apart; and who is left alone, with the reason.

    `reminded_on_date` (customer_id, reminder_id) holds the reminders already queued for `as_of`:
    a customer gets one reminder a day. The same reminder decided again (keyed by customer, level
    and invoice set) is not queued or counted again; a different one, because the facts changed
    since, leaves the customer out with the reason. Only the messages queued are rendered, each in
    its customer's language, signed by the legal entity that bills it (`seller_of`, from its
    `legal_entity`; the shipped default entity when not given)."""
    evaluation, problems = evaluate(facts, policy, as_of)
    earlier = _already_reminded(reminded_on_date)
    heads, names = evaluation.messages, list(evaluation.messages.columns[1:])
    messages = {
        customer: dict(zip(names, values, strict=True))
        for customer, *values in zip(*(heads[c].tolist() for c in heads.columns), strict=True)
    }
    groups = _groups(evaluation.items)
    reminders: list[dict[str, object]] = []
    replaced: list[dict[str, str]] = []
    queued: list[tuple[str, str, int, int, str]] = []  # customer, reminder id, item rows, invoice ids
    invoice = evaluation.items["invoice_id"].tolist()
    for customer_id, first, end in groups:
        invoice_ids = ";".join(sorted(invoice[first:end]))
        reminder_id = _reminder_id(customer_id, int(messages[customer_id]["level"]), invoice_ids)
        if reminder_id in earlier.get(customer_id, ()):
            continue  # queued by an earlier run of the same day: the same message, not a second one
        if customer_id in earlier:
            why = f"already reminded on {as_of.isoformat()} ({', '.join(earlier[customer_id])})"
            replaced.append({"customer_id": customer_id, "invoice_id": "", "reason": why})
            continue
        queued.append((customer_id, reminder_id, first, end, invoice_ids))
    if queued:
        reminders = _rendered(
            queued, evaluation, messages, facts, customers, policy, as_of, rule_version, templates, seller_of
        )
    rows = [i for _c, _r, first, end, _i in queued for i in range(first, end)]
    ids = [r for _c, r, first, end, _i in queued for _ in range(first, end)]
    items = _reminder_items(ids, evaluation.items, rows)
    exclusions = _left_out(evaluation.exclusions, replaced, as_of)
    charges = charges_of(reminders, as_of, policy) if policy.book_charges else []
    wanting = {
        str(r["customer_id"]) for r in reminders if messages[str(r["customer_id"])]["attach_statement"]
    }
    if wanting:  # the statement of account lists the charges this reminder books, as the ledger will
        statement_of = statements(statement_items(facts.items, charges, wanting), wanting, as_of)
        for reminder in reminders:
            reminder["statement_csv"] = statement_of.get(str(reminder["customer_id"]))
    return Dunning(
        pd.DataFrame(reminders, columns=REMINDER_COLUMNS),
        items,
        _counts(evaluation.reached, len(reminders), len(items), exclusions) | charge_counts(charges),
        exclusions[["as_of", "customer_id", "invoice_id", "reason"]],
        problems,
        pd.DataFrame(charges, columns=CHARGE_COLUMNS),
    )


def _groups(items: pd.DataFrame) -> list[tuple[str, int, int]]:
    """Each customer's rows in the items (sorted by customer): customer, first row, end row."""
    if not len(items):
        return []
    customer = items["customer_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, customer[1:] != customer[:-1]])
    ends = np.r_[starts[1:], len(customer)]
    return [(str(customer[s]), int(s), int(e)) for s, e in zip(starts, ends, strict=True)]


def _reminder_id(customer_id: str, level: int, invoice_ids: str) -> str:
    """The reminder's key: the same customer, level and invoice set give the same id."""
    return "R-" + hashlib.sha256(f"{customer_id}|{level}|{invoice_ids}".encode()).hexdigest()[:16]


def _who(customers: pd.DataFrame | pa.Table, wanted: list[str]) -> dict[str, dict[str, Any]]:
    """Name, language, e-mail and legal entity of the customers written to (the first row of each)."""
    table = (
        customers
        if isinstance(customers, pa.Table)
        else pa.Table.from_pandas(customers, preserve_index=False)
    )
    table = table.filter(pc.is_in(table["customer_id"], pa.array(wanted)))
    found: dict[str, dict[str, Any]] = {}
    columns = [
        c for c in ("customer_id", "name", "language", "email", "legal_entity") if c in table.column_names
    ]
    for row in table.select(columns).to_pylist():
        found.setdefault(row["customer_id"], row)
    return found


def _rendered(
    queued: list[tuple[str, str, int, int, str]],
    evaluation: Evaluation,
    messages: dict[str, dict[str, Any]],
    facts: DunningFacts,
    customers: pd.DataFrame | pa.Table,
    policy: DunningPolicy,
    as_of: date,
    rule_version: str,
    templates: Path,
    seller_of: Callable[[Any], Party] | None = None,
) -> list[dict[str, object]]:
    """The queued reminders, each rendered in its customer's language, as outbox rows."""
    renderer = Renderer(templates)
    who = _who(customers, [c for c, *_ in queued])
    views = item_views(evaluation.items, {c: str(w.get("language") or "en") for c, w in who.items()})
    sellers: dict[str, Party] = {}
    day, pay_by = as_of.isoformat(), (as_of + timedelta(days=policy.pay_within_days)).isoformat()
    reminders: list[dict[str, object]] = []
    for customer_id, reminder_id, first, end, invoice_ids in queued:
        customer, row = who[customer_id], messages[customer_id]
        level, totals = int(row["level"]), row["totals"]
        language = str(customer["language"] or "en")
        entity = str(customer.get("legal_entity") or "")
        if entity not in sellers:
            sellers[entity] = seller_of(entity) if seller_of is not None else Party(name=FALLBACK_NAME)
        seller = sellers[entity]
        ids = invoice_ids.split(";")
        reference = creditor_reference(ids[0]) if len(ids) == 1 else ""
        message = renderer.render(
            customer={"customer_id": customer_id, "name": customer["name"]},
            language=language,
            items=views[first:end],
            totals={
                cur: total_view(
                    t,
                    cur,
                    language,
                    pay_link(
                        seller,
                        customer_id=customer_id,
                        amount=to_major_str(int(t["total_minor"]), cur),
                        currency=cur,
                        reference=reference or " ".join(ids),
                    ),
                )
                for cur, t in totals.items()
            },
            max_level=level,
            level_name=str(row["level_name"]),
            as_of=day,
            pay_by=pay_by,
            template=str(row["template"]),
            seller=seller,
            reference=reference,
        )
        reminders.append(
            {
                "reminder_id": reminder_id,
                "customer_id": customer_id,
                "level": level,
                "level_name": message.level_name,
                "invoice_ids": invoice_ids,
                "as_of": as_of,
                "language": message.language,
                "recipient": customer["email"],
                "subject": message.subject,
                "body_text": message.text,
                "body_html": message.html,
                "status": "queued",
                "rule_version": rule_version,
                "profile": row["profile"],
                "totals": json.dumps(totals, sort_keys=True),
                "statement_csv": None,
                "legal_entity": entity,
            }
        )
    return reminders


def _reminder_items(reminder_ids: list[str], items: pd.DataFrame, rows: list[int]) -> pd.DataFrame:
    """The invoices the queued reminders list (`rows` of the evaluated items), each at its level."""
    chosen = items.iloc[rows]
    return pd.DataFrame(
        {
            "reminder_id": reminder_ids,
            "invoice_id": chosen["invoice_id"].to_numpy(dtype=object),
            "level": chosen["level"].to_numpy(dtype="int64"),
            "open_amount_minor": chosen["open_minor"].to_numpy(dtype="int64"),
            "currency": chosen["currency"].to_numpy(dtype=object),
            "days_past_due": chosen["days_past_due"].to_numpy(dtype="int64"),
            "interest_minor": chosen["interest_minor"].to_numpy(dtype="int64"),
            "interest_from": chosen["interest_from"].to_numpy(dtype=object),
        },
        columns=ITEM_COLUMNS,
    )


def _left_out(exclusions: pd.DataFrame, replaced: list[dict[str, str]], as_of: date) -> pd.DataFrame:
    """The policy's exclusions and the customers already reminded today, dated `as_of`."""
    if replaced:
        exclusions = (
            pd.concat([exclusions, pd.DataFrame(replaced)], ignore_index=True)
            .sort_values(["customer_id", "invoice_id"])
            .reset_index(drop=True)
        )
    return exclusions.assign(as_of=as_of)


def _counts(reached: int, reminders: int, items: int, exclusions: pd.DataFrame) -> dict[str, int]:
    return {
        "invoices_at_a_level": reached,
        "customers_reminded": reminders,
        "invoices_in_messages": items,
        "customers_left_out": int(exclusions.loc[exclusions["invoice_id"] == "", "customer_id"].nunique()),
        "invoices_left_out": int((exclusions["invoice_id"] != "").sum()),
    }


def _already_reminded(reminded: pd.DataFrame | None) -> dict[str, list[str]]:
    """The reminder ids already queued per customer on the run's date."""
    out: dict[str, list[str]] = {}
    if reminded is None or not len(reminded):
        return out
    for customer_id, reminder_id in zip(reminded["customer_id"], reminded["reminder_id"], strict=True):
        out.setdefault(str(customer_id), []).append(str(reminder_id))
    return out


REMINDER_COLUMNS = [
    "reminder_id",
    "customer_id",
    "level",
    "level_name",
    "invoice_ids",
    "as_of",
    "language",
    "recipient",
    "subject",
    "body_text",
    "body_html",
    "status",
    "rule_version",
    "profile",
    "totals",
    "statement_csv",
]
ITEM_COLUMNS = [
    "reminder_id",
    "invoice_id",
    "level",
    "open_amount_minor",
    "currency",
    "days_past_due",
    "interest_minor",
    "interest_from",
]


def reconcile_pending(row: dict[str, object] | None) -> str | None:
    """Why no reminder may go out (payments loaded after the latest reconcile), or None."""
    if not row or row.get("payments_loaded_at") is None:
        return None
    loaded, reconciled = row["payments_loaded_at"], row.get("reconciled_at")
    if reconciled is not None and reconciled >= loaded:  # type: ignore[operator]
        return None
    return f"reconcile has not run since payments were loaded at {str(loaded)[:19]}"


def dry_run_view(dunning: Dunning, latest: pd.DataFrame) -> dict[str, object]:
    """What a dry run shows: each planned reminder with its totals and how it differs from the
    customer's previous reminder, totals per level and currency, and everyone left out and why."""
    previous = latest.set_index("customer_id") if len(latest) else pd.DataFrame()
    reminders = []
    for row in dunning.reminders.itertuples(index=False):
        totals = {cur: to_major_str(t["total_minor"], cur) for cur, t in json.loads(row.totals).items()}
        if row.customer_id in previous.index:
            before = previous.loc[row.customer_id]
            change = (
                f"{before['level_name']} -> {row.level_name}"
                if int(before["level"]) != int(row.level)
                else f"again at {row.level_name}: the invoice set changed"
            )
        else:
            change = "first reminder"
        reminders.append(
            {
                "customer_id": row.customer_id,
                "level": int(row.level),
                "level_name": row.level_name,
                "invoices": row.invoice_ids,
                "totals": totals,
                "change": change,
            }
        )
    by_level = dunning.reminders.groupby("level_name").size().to_dict() if len(dunning.reminders) else {}
    per_currency: dict[str, int] = {}
    for raw in dunning.reminders["totals"]:
        for cur, t in json.loads(raw).items():
            per_currency[cur] = per_currency.get(cur, 0) + int(t["total_minor"])
    return {
        "reminders": reminders,
        "by_level": {str(k): int(v) for k, v in by_level.items()},
        "totals": {cur: to_major_str(v, cur) for cur, v in sorted(per_currency.items())},
        "left_out": dunning.exclusions[["customer_id", "invoice_id", "reason"]].to_dict("records"),
    }

"""Remind: open items and reminder history in; consolidated reminder messages (the outbox) out.

Pure: the levels come from `rules/dunning.py`; this module groups each customer's invoices into one
message, renders it and keys it by (customer, level, invoice set), so the same message is never
queued twice.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from rules.dunning import DunningFacts, DunningPolicy, Evaluation, evaluate
from tasks.platform.config import SHIPPED_TEMPLATES
from tasks.platform.mail import render_reminder
from tasks.platform.money import to_major_str


@dataclass
class Dunning:
    reminders: pd.DataFrame
    items: pd.DataFrame
    counts: dict[str, int]
    exclusions: pd.DataFrame = field(default_factory=pd.DataFrame)
    problems: list[str] = field(default_factory=list)  # what the policy could not follow, as messages


def dunning_items(items: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """One dunning item per invoice from the open items, which list an invoice paid in instalments
    part by part: such an invoice is dunned from its earliest open part's due date, for that part
    and every other part due by the as-of date (a part not yet due is not asked for)."""
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


def plan_reminders(
    facts: DunningFacts,
    customers: pd.DataFrame,
    policy: DunningPolicy,
    *,
    as_of: date,
    rule_version: str,
    reminded_on_date: pd.DataFrame | None = None,
    templates: Path = SHIPPED_TEMPLATES,
) -> Dunning:
    """Who gets which reminder on `as_of`: one message per customer, every invoice at its level,
    fees and interest shown apart; and who is left alone, with the reason.

    `reminded_on_date` (customer_id, reminder_id) holds the reminders already queued for `as_of`:
    a customer gets one reminder a day. The same reminder decided again (keyed by customer, level
    and invoice set) is not queued or counted again; a different one, because the facts changed
    since, leaves the customer out with the reason."""
    evaluation, problems = evaluate(facts, policy, as_of)
    earlier = _already_reminded(reminded_on_date)
    by_id = customers.drop_duplicates("customer_id").set_index("customer_id").to_dict("index")
    messages = evaluation.messages.set_index("customer_id").to_dict("index")
    rows_of: dict[str, list[Any]] = {}
    for row in evaluation.items.itertuples(index=False):
        rows_of.setdefault(row.customer_id, []).append(row)
    statements = _statement_items(evaluation, facts)
    reminders: list[dict[str, object]] = []
    items: list[dict[str, object]] = []
    replaced: list[dict[str, str]] = []
    for customer_id in sorted(rows_of):
        group, message_row = rows_of[customer_id], messages[customer_id]
        invoice_ids = ";".join(sorted(row.invoice_id for row in group))
        reminder_id = _reminder_id(customer_id, int(message_row["level"]), invoice_ids)
        if reminder_id in earlier.get(customer_id, ()):
            continue  # queued by an earlier run of the same day: the same message, not a second one
        if customer_id in earlier:
            why = f"already reminded on {as_of.isoformat()} ({', '.join(earlier[customer_id])})"
            replaced.append({"customer_id": customer_id, "invoice_id": "", "reason": why})
            continue
        reminder = _reminder(
            reminder_id,
            by_id[customer_id],
            customer_id,
            message_row,
            group,
            policy,
            as_of,
            rule_version,
            templates,
        )
        if message_row["attach_statement"]:
            reminder["statement_csv"] = _statement(customer_id, statements.get(customer_id), as_of)
        reminders.append(reminder)
        items.extend(_reminder_items(reminder_id, group))
    exclusions = _left_out(evaluation.exclusions, replaced, as_of)
    return Dunning(
        pd.DataFrame(reminders, columns=REMINDER_COLUMNS),
        pd.DataFrame(items, columns=ITEM_COLUMNS),
        _counts(evaluation.reached, len(reminders), len(items), exclusions),
        exclusions[["as_of", "customer_id", "invoice_id", "reason"]],
        problems,
    )


def _reminder_id(customer_id: str, level: int, invoice_ids: str) -> str:
    """The reminder's key: the same customer, level and invoice set give the same id."""
    return "R-" + hashlib.sha256(f"{customer_id}|{level}|{invoice_ids}".encode()).hexdigest()[:16]


def _statement_items(evaluation: Evaluation, facts: DunningFacts) -> dict[str, pd.DataFrame]:
    """The open items of each customer whose message carries a statement of account."""
    messages = evaluation.messages
    wanting = set(messages.loc[messages["attach_statement"].astype(bool), "customer_id"])
    open_items = facts.items[(facts.items["open_minor"] > 0) & facts.items["customer_id"].isin(wanting)]
    return dict(tuple(open_items.groupby("customer_id"))) if len(open_items) else {}


def _reminder(
    reminder_id: str,
    customer: dict[str, Any],
    customer_id: str,
    message_row: dict[str, Any],
    group: list[Any],
    policy: DunningPolicy,
    as_of: date,
    rule_version: str,
    templates: Path,
) -> dict[str, object]:
    """One customer's reminder, rendered in the customer's language, as an outbox row (without its
    statement of account)."""
    level, totals = int(message_row["level"]), message_row["totals"]
    message = render_reminder(
        customer={"customer_id": customer_id, "name": customer["name"]},
        language=str(customer["language"] or "en"),
        items=[_item_view(row) for row in group],
        totals={cur: _total_view(t, cur) for cur, t in totals.items()},
        max_level=level,
        level_name=str(message_row["level_name"]),
        as_of=as_of,
        pay_by=as_of + timedelta(days=policy.pay_within_days),
        template=str(message_row["template"]),
        folder=templates,
    )
    return {
        "reminder_id": reminder_id,
        "customer_id": customer_id,
        "level": level,
        "level_name": message.level_name,
        "invoice_ids": ";".join(sorted(row.invoice_id for row in group)),
        "as_of": as_of,
        "language": message.language,
        "recipient": customer["email"],
        "subject": message.subject,
        "body_text": message.text,
        "body_html": message.html,
        "status": "queued",
        "rule_version": rule_version,
        "profile": message_row["profile"],
        "totals": json.dumps(totals, sort_keys=True),
        "statement_csv": None,
    }


def _reminder_items(reminder_id: str, group: list[Any]) -> list[dict[str, object]]:
    """The invoices a reminder lists, each at its level."""
    return [
        {
            "reminder_id": reminder_id,
            "invoice_id": row.invoice_id,
            "level": int(row.level),
            "open_amount_minor": int(row.open_minor),
            "currency": row.currency,
            "days_past_due": int(row.days_past_due),
            "interest_minor": int(row.interest_minor),
        }
        for row in group
    ]


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


def _total_view(total: dict[str, int], currency: str) -> dict[str, Any]:
    return {name.removesuffix("_minor"): to_major_str(int(v), currency) for name, v in total.items()} | {
        "has_interest": bool(total["interest_minor"]),
        "has_fee": bool(total["fee_minor"]),
    }


def _statement(customer_id: str, items: pd.DataFrame | None, as_of: date) -> str:
    """The customer's statement of account: every open invoice, as CSV."""
    mine = items.sort_values(["currency", "due_date", "invoice_id"]) if items is not None else pd.DataFrame()
    lines = [
        f"statement of account,{customer_id},as of,{as_of.isoformat()}",
        "invoice,issued,due,currency,open",
    ]
    lines += [
        f"{r.invoice_id},{pd.Timestamp(r.issue_date).date()},{pd.Timestamp(r.due_date).date()},{r.currency},"
        f"{to_major_str(int(r.open_minor), r.currency)}"
        for r in mine.itertuples(index=False)
    ]
    return "\n".join(lines) + "\n"


def _item_view(row: object) -> dict[str, object]:
    return {
        "invoice_id": row.invoice_id,  # type: ignore[attr-defined]
        "issue_date": pd.Timestamp(row.issue_date).date().isoformat(),  # type: ignore[attr-defined]
        "due_date": pd.Timestamp(row.due_date).date().isoformat(),  # type: ignore[attr-defined]
        "days_past_due": int(row.days_past_due),  # type: ignore[attr-defined]
        "open_amount": to_major_str(int(row.open_minor), row.currency),  # type: ignore[attr-defined]
        "currency": row.currency,  # type: ignore[attr-defined]
        "level_name": row.level_name,  # type: ignore[attr-defined]
        "interest": to_major_str(int(row.interest_minor), row.currency),  # type: ignore[attr-defined]
        "has_interest": bool(row.interest_minor),  # type: ignore[attr-defined]
    }


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

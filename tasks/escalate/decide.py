"""Escalate: open items and what is known of each customer in; escalation states, the scored
collector worklist, credit holds, write-off proposals, agency hand-overs and notices out.

Pure: facts per customer and currency are computed here from the open items as of the date (plus
reminder levels, broken promises, open cases, ratings and the customer master), the policy decides
the state, and only state changes are recorded, each naming the state it left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from rules.escalation import EscalationPolicy, Rating, Weights, evaluate
from tasks.platform.money import to_major_str

FACT_COLUMNS = [
    "customer_id",
    "currency",
    "open_amount_minor",
    "overdue_amount_minor",
    "oldest_days_past_due",
    "overdue_invoices",
]
WORKLIST_COLUMNS = [
    "collector_group",
    "customer_id",
    "currency",
    "state",
    "score",
    "reason",
    "open_amount_minor",
    "overdue_amount_minor",
    "oldest_days_past_due",
    "overdue_invoices",
    "rating",
    "broken_promises",
    "open_cases",
    "as_of",
    "rule",
]


@dataclass
class Escalation:
    states: pd.DataFrame  # every customer and currency with an open amount, with its state
    entered: pd.DataFrame  # rows for the escalations table: states entered (and left) on this date
    worklist: pd.DataFrame
    counts: dict[str, int]
    ratings: pd.DataFrame = field(default_factory=pd.DataFrame)
    holds: pd.DataFrame = field(default_factory=pd.DataFrame)  # holds to place: customer_id, currency, reason
    write_offs: pd.DataFrame = field(
        default_factory=pd.DataFrame
    )  # invoice_id, customer_id, currency, amount_minor, reason
    agency: pd.DataFrame = field(default_factory=pd.DataFrame)  # the hand-over: one row per open invoice
    notices: pd.DataFrame = field(default_factory=pd.DataFrame)  # customer_id, currency, state, reason


def exposure(open_items: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Open and overdue amount, the oldest overdue item and the number of overdue invoices per
    customer and currency."""
    items = open_items[open_items["open_minor"] > 0].copy()
    items["days_past_due"] = (pd.Timestamp(as_of) - pd.to_datetime(items["due_date"])).dt.days
    items["overdue_minor"] = items["open_minor"].where(items["days_past_due"] > 0, 0)
    items["overdue_days"] = items["days_past_due"].where(items["days_past_due"] > 0, 0)
    items["overdue_invoice"] = items["invoice_id"].where(items["days_past_due"] > 0)
    facts = items.groupby(["customer_id", "currency"], as_index=False).agg(
        open_amount_minor=("open_minor", "sum"),
        overdue_amount_minor=("overdue_minor", "sum"),
        oldest_days_past_due=("overdue_days", "max"),
        overdue_invoices=("overdue_invoice", "nunique"),
    )
    return facts.astype(
        {
            "open_amount_minor": "int64",
            "overdue_amount_minor": "int64",
            "oldest_days_past_due": "int64",
            "overdue_invoices": "int64",
        }
    )[FACT_COLUMNS]


def ratings(settled: pd.DataFrame, rating: Rating, as_of: date | None = None) -> pd.DataFrame:
    """Each customer's rating from the invoices settled in the 12 months before `as_of` (all given
    when None; customer_id, amount_minor, due_date, settled_on): the amount-weighted average of
    the days each was paid late (paid early or on time counts as 0)."""
    columns = ["customer_id", "rating", "average_delay_days", "settled_invoices"]
    if settled is not None and as_of is not None and len(settled):
        settled = settled[
            pd.to_datetime(settled["settled_on"]) > pd.Timestamp(as_of) - pd.Timedelta(days=365)
        ]
    if settled is None or settled.empty:
        return pd.DataFrame(columns=columns)
    frame = settled.copy()
    late = (pd.to_datetime(frame["settled_on"]) - pd.to_datetime(frame["due_date"])).dt.days.clip(lower=0)
    frame["weighted"] = late * frame["amount_minor"].astype("float64")
    grouped = frame.groupby("customer_id").agg(
        weighted=("weighted", "sum"), amount=("amount_minor", "sum"), settled_invoices=("invoice_id", "size")
    )
    grouped["average_delay_days"] = (grouped["weighted"] / grouped["amount"].astype("float64")).round(2)
    grouped["rating"] = grouped["average_delay_days"].map(rating.of)
    return grouped.reset_index()[columns]


def customer_facts(
    facts: pd.DataFrame,
    *,
    customers: pd.DataFrame | None = None,
    dunning_levels: pd.DataFrame | None = None,
    broken_promises: pd.DataFrame | None = None,
    open_cases: pd.DataFrame | None = None,
    rated: pd.DataFrame | None = None,
    unbilled: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The exposure facts with what is known of each customer added (absent: 0, unrated, no tags).
    Credit exposure = open receivables + orders not yet billed, per currency; `over_credit_limit`
    compares it with the customer's credit limit, which is in the customer's own currency."""
    frame = facts.copy()
    if unbilled is not None and len(unbilled):
        frame = frame.merge(
            unbilled[["customer_id", "currency", "unbilled_minor"]],
            on=["customer_id", "currency"],
            how="outer",
        )
        for column in (
            "open_amount_minor",
            "overdue_amount_minor",
            "oldest_days_past_due",
            "overdue_invoices",
        ):
            frame[column] = frame[column].fillna(0).astype("int64")
    frame["unbilled_minor"] = (
        (frame["unbilled_minor"] if "unbilled_minor" in frame else pd.Series(0, index=frame.index))
        .fillna(0)
        .astype("int64")
    )
    frame["exposure_minor"] = frame["open_amount_minor"] + frame["unbilled_minor"]
    for source, column, default in (
        (dunning_levels, "dunning_level", 0),
        (broken_promises, "broken_promises", 0),
        (open_cases, "open_cases", 0),
    ):
        values = (
            source.set_index("customer_id")[column]
            if source is not None and len(source)
            else pd.Series(dtype="int64")
        )
        frame[column] = frame["customer_id"].map(values).fillna(default).astype("int64")
    by_rating = (
        rated.set_index("customer_id")["rating"]
        if rated is not None and len(rated)
        else pd.Series(dtype=object)
    )
    frame["rating"] = frame["customer_id"].map(by_rating).fillna("")
    master = (
        customers.set_index("customer_id") if customers is not None and len(customers) else pd.DataFrame()
    )
    texts: tuple[tuple[str, str | None], ...] = (
        ("tags", ""),
        ("collector_group", "default"),
        ("account_owner", None),
        ("name", None),
    )
    for column, text_default in texts:
        values = master[column] if column in master else pd.Series(dtype=object)
        frame[column] = frame["customer_id"].map(values)
        if text_default is not None:
            frame[column] = frame[column].fillna(text_default)
    limit = (
        pd.to_numeric(master["credit_limit_minor"], errors="coerce")
        if "credit_limit_minor" in master
        else pd.Series(dtype="float64")
    )
    own = master["customer_currency"] if "customer_currency" in master else pd.Series(dtype=object)
    frame["credit_limit_minor"] = (
        frame["customer_id"].map(limit).where(frame["currency"] == frame["customer_id"].map(own))
    )
    frame["over_credit_limit"] = (
        (frame["exposure_minor"] > frame["credit_limit_minor"]).fillna(False).astype(bool)
    )
    return frame


def score(states: pd.DataFrame, weights: Weights) -> tuple[pd.Series, pd.Series]:
    """Each line's worklist score and the reason for it, rule by rule."""
    if states.empty:
        return pd.Series(dtype="float64"), pd.Series(dtype=object)
    units = states["overdue_amount_minor"].astype("float64") / states["currency"].map(
        weights.unit_minor
    ).astype("float64")
    parts = {
        "overdue": units * weights.per_overdue_unit,
        "age": states["oldest_days_past_due"].astype("float64") * weights.per_day_oldest,
        "rating": states["rating"].fillna("").map(lambda r: weights.rating.get(r, 0.0)).astype("float64"),
        "broken promises": states["broken_promises"].astype("float64") * weights.per_broken_promise,
        "open cases": states["open_cases"].astype("float64") * weights.per_open_case,
    }
    total = sum(parts.values(), pd.Series(0.0, index=states.index)).round(2)
    why = [
        f"{row.reason}; score {total[i]:.2f} = "
        + " + ".join(f"{name} {parts[name][i]:.2f}" for name in parts if parts[name][i] != 0)
        for i, row in zip(states.index, states.itertuples(index=False), strict=True)
    ]
    return total, pd.Series(why, index=states.index, dtype=object)


def escalate(
    open_items: pd.DataFrame,
    current: pd.DataFrame,
    policy: EscalationPolicy,
    *,
    as_of: date,
    rule_version: str,
    customers: pd.DataFrame | None = None,
    dunning_levels: pd.DataFrame | None = None,
    broken_promises: pd.DataFrame | None = None,
    open_cases: pd.DataFrame | None = None,
    settled: pd.DataFrame | None = None,
    unbilled: pd.DataFrame | None = None,
    active_holds: pd.DataFrame | None = None,
    proposed: set[str] | None = None,
) -> Escalation:
    """States for everyone with an open amount; `current` (customer_id, currency, state) is the last
    recorded state, so that only changes become new escalation rows. The actions of each state:
    `worklist` lines scored per collector group, `credit_hold` holds to place (one per customer and
    currency, none while one is active), `propose_write_off` a proposal per overdue invoice not
    proposed before, `agency_file` the customer's open invoices for the hand-over, `notify_owner`
    a notice on entering the state."""
    rated = ratings(settled if settled is not None else pd.DataFrame(), policy.rating, as_of)
    facts = customer_facts(
        exposure(open_items, as_of),
        customers=customers,
        dunning_levels=dunning_levels,
        broken_promises=broken_promises,
        open_cases=open_cases,
        rated=rated,
        unbilled=unbilled,
    )
    states = evaluate(facts, policy)
    previous = (
        current.set_index(["customer_id", "currency"])["state"] if len(current) else pd.Series(dtype=str)
    )
    keys = list(zip(states["customer_id"], states["currency"], strict=True))
    before = pd.Series([previous.get(k, "clear") for k in keys], index=states.index)
    changed = states[states["state"] != before].assign(previous_state=before[states["state"] != before])
    # Customers who had a state but no longer have an open amount are cleared explicitly.
    open_keys = set(keys)
    gone = [(k[0], k[1], s) for k, s in previous.items() if s != "clear" and k not in open_keys]
    cleared = pd.DataFrame(gone, columns=["customer_id", "currency", "previous_state"]).assign(
        state="clear", reason="nothing open"
    )
    entered = pd.concat(
        [changed[["customer_id", "currency", "state", "reason", "previous_state"]], cleared],
        ignore_index=True,
    )
    entered = entered.assign(entered_on=as_of, rule="escalation", rule_version=rule_version)

    acting = states["actions"].str.split(",")

    def doing(action: str) -> pd.Series:
        return acting.map(lambda a: action in a).astype(bool)

    on_list = states[doing("worklist")].copy()
    on_list["score"], on_list["reason"] = score(on_list, policy.worklist)
    worklist = (
        on_list.assign(as_of=as_of, rule=on_list["state"])[WORKLIST_COLUMNS]
        .sort_values(["collector_group", "score", "customer_id"], ascending=[True, False, True])
        .reset_index(drop=True)
    )
    held = (
        set(zip(active_holds["customer_id"], active_holds["currency"], strict=True))
        if active_holds is not None and len(active_holds)
        else set()
    )
    # Holds and hand-overs happen on entering a state: a hold a person released stays released
    # until the customer leaves the state and enters one that holds again.
    entering = states.index.isin(changed.index)
    to_hold = states[doing("credit_hold") & entering]
    holds = pd.DataFrame(
        [
            {"customer_id": r.customer_id, "currency": r.currency, "reason": f"{r.state}: {r.reason}"}
            for r in to_hold.itertuples(index=False)
            if (r.customer_id, r.currency) not in held
        ],
        columns=["customer_id", "currency", "reason"],
    )
    overdue = open_items[
        (open_items["open_minor"] > 0) & (pd.to_datetime(open_items["due_date"]) < pd.Timestamp(as_of))
    ]
    write_offs = _write_off_proposals(states[doing("propose_write_off")], overdue, proposed or set())
    agency_states = states[doing("agency_file") & entering]
    agency = _agency_rows(agency_states, open_items[open_items["open_minor"] > 0], as_of)
    noticed = changed[changed["actions"].str.split(",").map(lambda a: "notify_owner" in a).astype(bool)]
    notices = noticed[
        [
            "customer_id",
            "currency",
            "state",
            "reason",
            "account_owner",
            "name",
            "overdue_amount_minor",
            "oldest_days_past_due",
        ]
    ].reset_index(drop=True)
    counts = {
        "customers_with_open_items": int((states["open_amount_minor"] > 0).sum()),
        "state_changes": len(entered),
        "worklist": len(worklist),
        "holds_placed": len(holds),
        "write_offs_proposed": len(write_offs),
        "agency_customers": int(agency["customer_id"].nunique()) if len(agency) else 0,
        "owner_notices": len(notices),
    }
    return Escalation(states, entered, worklist, counts, rated, holds, write_offs, agency, notices)


def _write_off_proposals(states: pd.DataFrame, overdue: pd.DataFrame, proposed: set[str]) -> pd.DataFrame:
    columns = ["invoice_id", "customer_id", "currency", "amount_minor", "reason"]
    if states.empty:
        return pd.DataFrame(columns=columns)
    reasons = {(r.customer_id, r.currency): f"{r.state}: {r.reason}" for r in states.itertuples(index=False)}
    mine = overdue[[k in reasons for k in zip(overdue["customer_id"], overdue["currency"], strict=True)]]
    mine = mine[~mine["invoice_id"].isin(proposed)].drop_duplicates("invoice_id")
    # An invoice in instalments appears once per part: propose what is open on the invoice.
    amounts = overdue.groupby("invoice_id")["open_minor"].sum()
    return pd.DataFrame(
        {
            "invoice_id": mine["invoice_id"],
            "customer_id": mine["customer_id"],
            "currency": mine["currency"],
            "amount_minor": mine["invoice_id"].map(amounts).astype("int64"),
            "reason": [reasons[(c, k)] for c, k in zip(mine["customer_id"], mine["currency"], strict=True)],
        },
        columns=columns,
    ).reset_index(drop=True)


def _agency_rows(states: pd.DataFrame, open_items: pd.DataFrame, as_of: date) -> pd.DataFrame:
    columns = [
        "customer_id",
        "name",
        "currency",
        "invoice_id",
        "issue_date",
        "due_date",
        "days_past_due",
        "open_amount",
        "state",
    ]
    if states.empty:
        return pd.DataFrame(columns=columns)
    keys = {(r.customer_id, r.currency): r for r in states.itertuples(index=False)}
    mine = open_items[
        [k in keys for k in zip(open_items["customer_id"], open_items["currency"], strict=True)]
    ]
    rows: list[dict[str, Any]] = []
    for item in mine.sort_values(["customer_id", "due_date", "invoice_id"]).itertuples(index=False):
        state = keys[(item.customer_id, item.currency)]
        rows.append(
            {
                "customer_id": item.customer_id,
                "name": state.name if isinstance(state.name, str) else "",
                "currency": item.currency,
                "invoice_id": item.invoice_id,
                "issue_date": str(item.issue_date)[:10],
                "due_date": str(item.due_date)[:10],
                "days_past_due": (pd.Timestamp(as_of) - pd.Timestamp(item.due_date)).days,
                "open_amount": to_major_str(int(item.open_minor), str(item.currency)),
                "state": state.state,
            }
        )
    return pd.DataFrame(rows, columns=columns)

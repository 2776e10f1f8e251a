"""Escalate: open items and what is known of each customer in; escalation states, the scored
collector worklist, credit holds, write-off proposals, agency hand-overs and notices out.

Pure: facts per customer and currency come from `tasks/escalate/facts.py` (open items as of the
date, reminder levels, broken promises, open cases, ratings and the customer master), the policy
decides the state, and only state changes are recorded, each naming the state it left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rules.escalation import EscalationPolicy, Weights, evaluate
from tasks.escalate.facts import customer_facts, exposure, ratings
from tasks.platform.money import to_major_str
from tasks.platform.policy import PolicyError

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


def within(result: Escalation, customers: frozenset[str]) -> Escalation:
    """What a run limited to `customers` publishes of a decision over every customer: their rows
    of each frame, counted again (`tasks/platform/scope.py`)."""

    def mine(frame: pd.DataFrame) -> pd.DataFrame:
        if "customer_id" not in frame.columns:
            return frame
        return frame[frame["customer_id"].astype(str).isin(customers)].reset_index(drop=True)

    states, entered, worklist, ratings, holds, write_offs, agency, notices = (
        mine(f)
        for f in (
            result.states,
            result.entered,
            result.worklist,
            result.ratings,
            result.holds,
            result.write_offs,
            result.agency,
            result.notices,
        )
    )
    counts = _counts(states, entered, worklist, holds, write_offs, agency, notices)
    return Escalation(states, entered, worklist, counts, ratings, holds, write_offs, agency, notices)


def _counts(
    states: pd.DataFrame,
    entered: pd.DataFrame,
    worklist: pd.DataFrame,
    holds: pd.DataFrame,
    write_offs: pd.DataFrame,
    agency: pd.DataFrame,
    notices: pd.DataFrame,
) -> dict[str, int]:
    """What a run of escalate counts of its decisions."""
    return {
        "customers_with_open_items": int((states["open_amount_minor"] > 0).sum()) if len(states) else 0,
        "state_changes": len(entered),
        "worklist": len(worklist),
        "holds_placed": len(holds),
        "write_offs_proposed": len(write_offs),
        "agency_customers": int(agency["customer_id"].nunique()) if len(agency) else 0,
        "owner_notices": len(notices),
    }


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
    values = {name: part.tolist() for name, part in parts.items()}  # floats by position, read once
    why = [
        f"{reason}; score {points:.2f} = "
        + " + ".join(f"{name} {values[name][k]:.2f}" for name in values if values[name][k] != 0)
        for k, (reason, points) in enumerate(zip(states["reason"].tolist(), total.tolist(), strict=True))
    ]
    return total, pd.Series(why, index=states.index, dtype=object)


def escalate(
    open_items: pd.DataFrame | pa.Table,
    current: pd.DataFrame,
    policy: EscalationPolicy,
    *,
    as_of: date,
    rule_version: str,
    customers: pd.DataFrame | None = None,
    dunning_levels: pd.DataFrame | None = None,
    broken_promises: pd.DataFrame | None = None,
    open_cases: pd.DataFrame | None = None,
    settled: pd.DataFrame | pa.Table | None = None,
    unbilled: pd.DataFrame | None = None,
    active_holds: pd.DataFrame | None = None,
    proposed: set[str] | None = None,
) -> Escalation:
    """States for everyone with an open amount; `current` (customer_id, currency, state) is the last
    recorded state, so that only changes become new escalation rows. The actions of each state:
    `worklist` lines scored per collector group, `credit_hold` holds to place (one per customer and
    currency, none while one is active), `propose_write_off` a proposal per overdue invoice not
    proposed before, `agency_file` the customer's open invoices for the hand-over, `notify_owner`
    a notice on entering the state. A policy the facts cannot be held against (a threshold missing
    for a currency) raises PolicyError (a ValueError) naming the policy file and the first such
    problem: the run ends with that one line, not a traceback."""
    rated = ratings(settled, policy.rating, as_of)
    known = {"dunning_levels": dunning_levels, "broken_promises": broken_promises, "open_cases": open_cases}
    facts = customer_facts(
        exposure(open_items, as_of), customers=customers, rated=rated, unbilled=unbilled, **known
    )
    states, problems = evaluate(facts, policy, as_of)
    if problems:
        raise PolicyError(f"escalation.yaml: {problems[0]}")
    changed, entered = _changes(states, current, as_of, rule_version)
    # the lines' actions (comma-separated) read once per distinct list, not once per line
    codes, lists = pd.factorize(states["actions"].fillna("").astype(str))

    def doing(action: str) -> pd.Series:
        has = np.array([action in listed.split(",") for listed in lists] + [False], dtype=bool)
        return pd.Series(has[codes], index=states.index)

    # Holds and hand-overs happen on entering a state: a hold a person released stays released
    # until the customer leaves the state and enters one that holds again.
    entering = states.index.isin(changed.index)
    bounced = _bounced(customers)
    returned = states["customer_id"].isin(list(bounced)) & (states["open_amount_minor"] > 0)
    worklist = _with_bounces(_worklist(states[doing("worklist") | returned], policy.worklist, as_of), bounced)
    holds = _holds_to_place(states[doing("credit_hold") & entering], active_holds)
    proposing = states[doing("propose_write_off")]
    write_offs = _write_off_proposals(
        proposing, _overdue(_items_of(open_items, proposing), as_of), proposed or set()
    )
    agency_states = states[doing("agency_file") & entering]
    agency_items = _items_of(open_items, agency_states)
    agency = _agency_rows(agency_states, agency_items[agency_items["open_minor"] > 0], as_of)
    notices = _owner_notices(changed)
    counts = _counts(states, entered, worklist, holds, write_offs, agency, notices)
    return Escalation(states, entered, worklist, counts, rated, holds, write_offs, agency, notices)


def _items_of(open_items: pd.DataFrame | pa.Table, states: pd.DataFrame) -> pd.DataFrame:
    """The open items of the customers of `states` (few, where an action needs their invoices),
    as a frame: a million open items are not turned into Python objects for a few hundred."""
    if not isinstance(open_items, pa.Table):
        return open_items[open_items["customer_id"].isin(states["customer_id"])]
    wanted = pa.array(sorted(set(states["customer_id"])), type=pa.string())
    return open_items.filter(pc.is_in(open_items["customer_id"], wanted)).to_pandas()


def _overdue(open_items: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """The open items past their due date on `as_of`."""
    return open_items[
        (open_items["open_minor"] > 0) & (pd.to_datetime(open_items["due_date"]) < pd.Timestamp(as_of))
    ]


def _changes(
    states: pd.DataFrame, current: pd.DataFrame, as_of: date, rule_version: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The lines whose state changed (with the state they left), and the escalation rows they
    make, with the customers cleared because nothing is open any more."""
    previous: dict[tuple[Any, Any], Any] = (
        dict(
            zip(zip(current["customer_id"], current["currency"], strict=True), current["state"], strict=True)
        )
        if len(current)
        else {}
    )  # a dict, not a Series: a hundred thousand lookups by key
    keys = list(zip(states["customer_id"], states["currency"], strict=True))
    before = pd.Series([previous.get(k, "clear") for k in keys], index=states.index, dtype=object)
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
    return changed, entered.assign(entered_on=as_of, rule="escalation", rule_version=rule_version)


def _bounced(customers: pd.DataFrame | None) -> dict[str, str]:
    """customer_id -> why its e-mail address no longer takes mail (`bounced` of the customer facts)."""
    if customers is None or "bounced" not in customers:
        return {}
    hit = customers[customers["bounced"].notna()]
    return dict(zip(hit["customer_id"].astype(str), hit["bounced"].astype(str), strict=True))


def _with_bounces(worklist: pd.DataFrame, bounced: dict[str, str]) -> pd.DataFrame:
    """A customer whose address bounced is on the worklist whatever its state: a person must find
    another way to reach it. Its line says so first."""
    if not bounced or not len(worklist):
        return worklist
    hit = worklist["customer_id"].isin(list(bounced))
    worklist.loc[hit, "reason"] = [
        f"address bounced ({bounced[c]}); {r}"
        for c, r in zip(worklist.loc[hit, "customer_id"], worklist.loc[hit, "reason"], strict=True)
    ]
    return worklist


def _worklist(on_list: pd.DataFrame, weights: Weights, as_of: date) -> pd.DataFrame:
    """The collectors' lines, scored, highest score first within each collector group."""
    on_list = on_list.copy()
    on_list["score"], on_list["reason"] = score(on_list, weights)
    return (
        on_list.assign(as_of=as_of, rule=on_list["state"])[WORKLIST_COLUMNS]
        .sort_values(["collector_group", "score", "customer_id"], ascending=[True, False, True])
        .reset_index(drop=True)
    )


def _holds_to_place(to_hold: pd.DataFrame, active_holds: pd.DataFrame | None) -> pd.DataFrame:
    """A hold per customer and currency entering a holding state, none where one is in force."""
    held = (
        set(zip(active_holds["customer_id"], active_holds["currency"], strict=True))
        if active_holds is not None and len(active_holds)
        else set()
    )
    return pd.DataFrame(
        [
            {"customer_id": r.customer_id, "currency": r.currency, "reason": f"{r.state}: {r.reason}"}
            for r in to_hold.itertuples(index=False)
            if (r.customer_id, r.currency) not in held
        ],
        columns=["customer_id", "currency", "reason"],
    )


def _owner_notices(changed: pd.DataFrame) -> pd.DataFrame:
    """The lines entering a state that notifies the account owner, with what the notice says."""
    noticed = changed[changed["actions"].str.split(",").map(lambda a: "notify_owner" in a).astype(bool)]
    return noticed[
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
    # whole columns: a customer handed over can hold thousands of open items
    mine = open_items.merge(
        states[["customer_id", "currency", "name", "state"]].drop_duplicates(
            ["customer_id", "currency"], keep="last"
        ),
        on=["customer_id", "currency"],
        how="inner",
        suffixes=("_item", ""),
    ).sort_values(["customer_id", "due_date", "invoice_id"], kind="stable")
    if mine.empty:
        return pd.DataFrame(columns=columns)
    due = pd.to_datetime(mine["due_date"])
    return pd.DataFrame(
        {
            "customer_id": mine["customer_id"].to_numpy(),
            "name": [n if isinstance(n, str) else "" for n in mine["name"].tolist()],
            "currency": mine["currency"].to_numpy(),
            "invoice_id": mine["invoice_id"].to_numpy(),
            "issue_date": pd.to_datetime(mine["issue_date"]).dt.strftime("%Y-%m-%d").to_numpy(),
            "due_date": due.dt.strftime("%Y-%m-%d").to_numpy(),
            "days_past_due": (pd.Timestamp(as_of) - due).dt.days.to_numpy(),
            "open_amount": [
                to_major_str(int(minor), str(currency))
                for minor, currency in zip(
                    mine["open_minor"].tolist(), mine["currency"].tolist(), strict=True
                )
            ],
            "state": mine["state"].to_numpy(),
        },
        columns=columns,
    )

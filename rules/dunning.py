"""Dunning evaluation: under the policy (`rules/dunning.yaml`, its model in
`rules/dunning_policy.py`), who gets which reminder today, who is left alone and why.

Evaluation is pure, stateless and vectorised: from the facts (open items, reminder history, cases,
promises, unapplied cash, customer tags) and `as_of`, the same facts always give the same answer,
and a million open invoices are evaluated in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from rules.dunning_messages import interest, messages
from rules.dunning_policy import DunningPolicy, Level, ladder_table

__all__ = ["DunningFacts", "DunningPolicy", "Evaluation", "Level", "evaluate"]

NO_DUNNING_TAG = "no-dunning"


@dataclass
class DunningFacts:
    """What evaluation looks at. Frames may be empty but carry their columns.

    items: invoice_id, customer_id, currency, issue_date, due_date, open_minor (open invoices).
    customers: customer_id, dunning_profile, tags (`;`-separated).
    history: invoice_id, last_level, last_reminded_on (reminders not lost in delivery).
    cases: case_id, kind (dispute, deduction, promise), customer_id, invoice_id, status, due_on.
    unapplied: customer_id, currency, unapplied_minor (cash received and not yet applied).
    reconcile_pending: why no reminder may go out at all (payments not yet reconciled), or None.
    """

    items: pd.DataFrame
    customers: pd.DataFrame
    history: pd.DataFrame
    cases: pd.DataFrame
    unapplied: pd.DataFrame
    reconcile_pending: str | None = None


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
    "is_new",
]
EXCLUSION_COLUMNS = ["customer_id", "invoice_id", "reason"]


def evaluate(facts: DunningFacts, policy: DunningPolicy, as_of: date) -> tuple[Evaluation, list[str]]:
    """Each customer's reminder today, every invoice at its level, and every exclusion with its
    reason; and the problems met on the way, as messages (a customer naming a dunning profile the
    policy does not have, dunned under the default one), which change no decision."""
    sieve = _Sieve(_reached(facts.items, facts.customers, policy, as_of))
    reached = len(sieve.frame)
    _hold_back(sieve, facts, as_of)
    sieve.frame = _with_news(_cap_one_step(sieve.frame, facts.history, policy), facts.history)
    _space_out(sieve, facts, policy, as_of)
    _exclude_small(sieve, policy)
    frame = sieve.frame
    frame = frame[frame.groupby("customer_id")["is_new"].transform("any")]
    frame["interest_minor"] = interest(frame, policy)
    frame = frame.sort_values(["customer_id", "due_date", "invoice_id"]).reset_index(drop=True)
    decisions = Evaluation(
        frame[ITEM_COLUMNS + ["profile", "template"]],
        messages(frame, policy),
        sieve.exclusions(),
        reached,
    )
    return decisions, _problems(facts, policy)


class _Sieve:
    """The invoices still in the running (`frame`), and every exclusion made so far with its reason."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.excluded: list[pd.DataFrame] = []

    def exclude(self, mask: pd.Series, reason: pd.Series | str, whole_customer: bool = False) -> None:
        """Take the rows of `mask` out, each with its reason (one row per customer, no invoice,
        when the `whole_customer` is left alone)."""
        if not mask.any():
            return
        gone = self.frame[mask]
        why = reason[mask] if isinstance(reason, pd.Series) else reason
        rows = pd.DataFrame(
            {"customer_id": gone["customer_id"], "invoice_id": gone["invoice_id"], "reason": why}
        )
        if whole_customer:
            rows = rows.drop_duplicates("customer_id").assign(invoice_id="")
        self.excluded.append(rows)
        self.frame = self.frame[~mask]

    def exclusions(self) -> pd.DataFrame:
        found = (
            pd.concat(self.excluded, ignore_index=True)
            if self.excluded
            else pd.DataFrame(columns=EXCLUSION_COLUMNS)
        )
        return found[EXCLUSION_COLUMNS].sort_values(["customer_id", "invoice_id"]).reset_index(drop=True)


def _hold_back(sieve: _Sieve, facts: DunningFacts, as_of: date) -> None:
    """Leave out everyone while payments are not reconciled, customers tagged no-dunning, and the
    invoices under a dispute, a running promise or covered by unapplied cash."""
    if facts.reconcile_pending:
        everyone = pd.Series(True, index=sieve.frame.index)
        sieve.exclude(everyone, facts.reconcile_pending, whole_customer=True)
    tags = (
        facts.customers.set_index("customer_id")["tags"].fillna("") if len(facts.customers) else pd.Series()
    )
    tagged = sieve.frame["customer_id"].map(tags).fillna("").str.split(";").map(lambda t: NO_DUNNING_TAG in t)
    sieve.exclude(tagged.astype(bool), f"customer is tagged {NO_DUNNING_TAG}", whole_customer=True)
    for rule in (_disputed, _promised, _covered):
        mask, why = rule(sieve.frame, facts, as_of)
        sieve.exclude(mask, why)


def _with_news(frame: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Mark each invoice new at its level (never reminded at it or above) and keep the customers
    with something new to say."""
    last = frame["invoice_id"].map(_series(history, "invoice_id", "last_level"))
    frame["is_new"] = last.isna() | (frame["level"] > last.fillna(-1))
    return frame[frame.groupby("customer_id")["is_new"].transform("any")]


def _space_out(sieve: _Sieve, facts: DunningFacts, policy: DunningPolicy, as_of: date) -> None:
    """Leave out a customer reminded fewer days ago than its message's level waits."""
    frame = sieve.frame
    ladder = ladder_table(policy)
    level_of = frame.groupby("customer_id")["level"].transform("max")
    rung = ladder.reindex(pd.MultiIndex.from_arrays([frame["profile"], level_of]))
    spacing = rung["min_days_since_previous"].to_numpy()
    last_on = _customer_last_reminded(facts.history, facts.items)
    since = (pd.Timestamp(as_of) - pd.to_datetime(frame["customer_id"].map(last_on))).dt.days
    too_soon = pd.Series((since.to_numpy() < spacing) & since.notna().to_numpy(), index=frame.index)
    sieve.exclude(
        too_soon,
        "last reminded "
        + since.fillna(0).astype("int64").astype(str)
        + " days ago; this level waits "
        + pd.Series(spacing, index=frame.index).astype("int64").astype(str),
        whole_customer=True,
    )


def _problems(facts: DunningFacts, policy: DunningPolicy) -> list[str]:
    """Customers with open items who name a dunning profile the policy does not have (they are
    dunned under the default profile, as `rules/dunning.yaml` says), one message each."""
    customers = facts.customers
    if not len(customers) or "dunning_profile" not in customers:
        return []
    named = customers.drop_duplicates("customer_id")
    profile = named["dunning_profile"]
    owing = named["customer_id"].isin(facts.items.loc[facts.items["open_minor"] > 0, "customer_id"])
    unknown = named[profile.notna() & (profile.astype(str) != "") & ~profile.isin(list(policy.profiles))]
    unknown = unknown[owing[unknown.index]].sort_values("customer_id")
    return [
        f"customer {c}: dunning profile {p!r} is not in the policy; dunned under {policy.default_profile!r}"
        for c, p in zip(unknown["customer_id"], unknown["dunning_profile"], strict=True)
    ]


def _series(frame: pd.DataFrame, key: str, value: str) -> pd.Series:
    if not len(frame):
        return pd.Series(dtype=object)
    return frame.drop_duplicates(key).set_index(key)[value]


def _reached(
    items: pd.DataFrame, customers: pd.DataFrame, policy: DunningPolicy, as_of: date
) -> pd.DataFrame:
    """Open items with the highest level each has reached on `as_of` under its customer's profile."""
    frame = items[items["open_minor"] > 0].copy()
    frame["days_past_due"] = (pd.Timestamp(as_of) - pd.to_datetime(frame["due_date"])).dt.days.astype("int64")
    profiles = _series(customers, "customer_id", "dunning_profile")
    frame["profile"] = (
        frame["customer_id"]
        .map(profiles)
        .where(lambda p: p.isin(list(policy.profiles)), policy.default_profile)
    )
    level = np.full(len(frame), -1, dtype=np.int64)
    days = frame["days_past_due"].to_numpy()
    for name, profile in policy.profiles.items():
        in_profile = (frame["profile"] == name).to_numpy()
        for lv in profile.levels:  # increasing: a later level overwrites an earlier one
            reached = in_profile & (days >= lv.days)
            if lv.before_due_only:
                reached &= days < 0
            level[reached] = lv.level
    frame["level"] = level
    frame = frame[frame["level"] >= 0]
    return _name_levels(frame, policy)


def _name_levels(frame: pd.DataFrame, policy: DunningPolicy) -> pd.DataFrame:
    ladder = ladder_table(policy)
    rung = ladder.reindex(pd.MultiIndex.from_arrays([frame["profile"], frame["level"]]))
    return frame.assign(level_name=rung["level_name"].to_numpy(), template=rung["template"].to_numpy())


Rule = tuple[pd.Series, "pd.Series | str"]


def _open_cases(facts: DunningFacts) -> pd.DataFrame:
    cases = facts.cases
    return cases[cases["status"] == "open"] if len(cases) else cases


def _disputed(frame: pd.DataFrame, facts: DunningFacts, as_of: date) -> Rule:
    """No reminder for an invoice with an open dispute or deduction case."""
    cases = _open_cases(facts)
    if not len(cases):
        return pd.Series(False, index=frame.index), ""
    disputes = cases[cases["kind"].isin(["dispute", "deduction"])]
    case_id = frame["invoice_id"].map(_series(disputes, "invoice_id", "case_id"))
    kind = _text(frame["invoice_id"].map(_series(disputes, "invoice_id", "kind")))
    return case_id.notna(), "open " + kind + " case " + _text(case_id)


def _promised(frame: pd.DataFrame, facts: DunningFacts, as_of: date) -> Rule:
    """No reminder under a promise to pay that is still running; a promise naming no invoice covers
    the whole customer."""
    cases = _open_cases(facts)
    if not len(cases):
        return pd.Series(False, index=frame.index), ""
    promises = cases[(cases["kind"] == "promise") & (pd.to_datetime(cases["due_on"]) >= pd.Timestamp(as_of))]
    until = promises.assign(due=pd.to_datetime(promises["due_on"]).dt.date.astype(str))
    named = until["invoice_id"].fillna("") != ""
    by_invoice = _series(until[named], "invoice_id", "due")
    by_customer = _series(until[~named], "customer_id", "due")
    promised = frame["invoice_id"].map(by_invoice).fillna(frame["customer_id"].map(by_customer))
    return promised.notna(), "promise to pay until " + _text(promised)


def _text(values: pd.Series) -> pd.Series:
    """`values` as text, "" where missing: an empty or all-missing lookup is float, and text
    cannot be added to a float series."""
    return values.astype(object).where(values.notna(), "").astype(str)


def _covered(frame: pd.DataFrame, facts: DunningFacts, as_of: date) -> Rule:
    """No reminder in a currency where the customer's unapplied cash covers the overdue amount."""
    if not len(facts.unapplied) or not len(frame):
        return pd.Series(False, index=frame.index), ""
    cash = facts.unapplied.groupby(["customer_id", "currency"])["unapplied_minor"].sum()
    overdue = frame[frame["days_past_due"] > 0].groupby(["customer_id", "currency"])["open_minor"].sum()
    covered = cash.reindex(overdue.index).fillna(0) >= overdue
    keys = pd.MultiIndex.from_arrays([frame["customer_id"], frame["currency"]])
    hit = pd.Series(covered.reindex(keys).eq(True).to_numpy(dtype=bool), index=frame.index)
    amounts = cash.reindex(keys).fillna(0).astype("int64").astype(str).to_numpy()
    return hit, pd.Series(
        "unapplied cash (" + amounts + " minor units) covers the overdue amount", index=frame.index
    )


def _cap_one_step(frame: pd.DataFrame, history: pd.DataFrame, policy: DunningPolicy) -> pd.DataFrame:
    """A customer moves up at most one rung of the ladder per run: from the highest level its open
    invoices were reminded at to the next level of its profile (courtesy notes are not rungs)."""
    if not len(frame):
        return frame
    last = frame["invoice_id"].map(_series(history, "invoice_id", "last_level"))
    current = last.groupby(frame["customer_id"]).transform("max").fillna(-1).astype("int64")
    cap = np.full(len(frame), -1, dtype=np.int64)
    for name, profile in policy.profiles.items():
        rungs = sorted(lv.level for lv in profile.levels if not lv.before_due_only)
        if not rungs:
            continue
        in_profile = (frame["profile"] == name).to_numpy()
        position = np.searchsorted(np.asarray(rungs), current.to_numpy(), side="right")
        allowed = np.asarray(rungs)[np.minimum(position, len(rungs) - 1)]
        cap[in_profile] = allowed[in_profile]
    courtesy = frame["days_past_due"].to_numpy() < 0
    level = frame["level"].to_numpy()
    capped = np.where(courtesy | (cap < 0), level, np.minimum(level, cap))
    return _name_levels(frame.assign(level=capped), policy)


def _customer_last_reminded(history: pd.DataFrame, items: pd.DataFrame) -> pd.Series:
    """The day each customer was last reminded (about any invoice still open or not)."""
    if not len(history) or "customer_id" not in history:
        return pd.Series(dtype=object)
    return pd.to_datetime(history["last_reminded_on"]).groupby(history["customer_id"]).max()


def _exclude_small(sieve: _Sieve, policy: DunningPolicy) -> None:
    """Leave out a customer's invoices in a currency whose open amount at a level is below the
    minimum of the message's level."""
    frame = sieve.frame
    if not len(frame):
        return
    level = frame.groupby("customer_id")["level"].transform("max")
    totals = frame.groupby(["customer_id", "currency"])["open_minor"].transform("sum")
    minimum = pd.Series(_minimums(frame, level, policy), index=frame.index)
    sieve.exclude(
        totals < minimum,
        "open amount "
        + totals.astype(str)
        + " below the level's minimum of "
        + minimum.astype(str)
        + " minor units",
    )


def _minimums(frame: pd.DataFrame, level: pd.Series, policy: DunningPolicy) -> np.ndarray:
    """The minimum open amount of each row's message level and currency."""
    keys = pd.DataFrame({"profile": frame["profile"], "level": level, "currency": frame["currency"]})
    unique = keys.drop_duplicates().copy()
    unique["minimum"] = [
        next(lv for lv in policy.profiles[p].levels if lv.level == n).min_open_minor(c)
        for p, n, c in zip(unique["profile"], unique["level"], unique["currency"], strict=True)
    ]
    return keys.merge(unique, on=["profile", "level", "currency"], how="left")["minimum"].to_numpy()

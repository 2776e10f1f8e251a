"""Dunning policy (`rules/dunning.yaml`) and its evaluation: who gets which reminder today, and who
is left alone and why.

Evaluation is pure, stateless and vectorised: from the facts (open items, reminder history, cases,
promises, unapplied cash, customer tags) and `as_of`, the same facts always give the same answer,
and a million open invoices are evaluated in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, field_validator, model_validator

from tasks.platform.config import RULES_DIR
from tasks.platform.money import MoneyError, to_minor

NO_DUNNING_TAG = "no-dunning"


def _amounts(value: dict[str, str], what: str) -> dict[str, str]:
    """A per-currency amount table: exact decimal strings, and a `default` for other currencies."""
    if value and "default" not in value:
        raise ValueError(f"{what} needs a 'default' amount for currencies not listed")
    for currency, amount in value.items():
        try:
            minor = to_minor(str(amount), "JPY" if currency == "default" else currency)
        except MoneyError as exc:
            raise ValueError(f"{what} {currency}: {exc}") from None
        if minor < 0:
            raise ValueError(f"{what} {currency}: must not be negative")
    return {k: str(v) for k, v in value.items()}


def _minor_for(table: dict[str, str], currency: str) -> int:
    if not table:
        return 0
    return to_minor(table.get(currency, table["default"]), currency)


class Level(BaseModel):
    """One rung of a profile's ladder."""

    level: int = Field(ge=0)
    name: str
    days: int = Field(description="days relative to the due date (negative: before it)")
    template: str = "reminder"
    channel: str = "email"
    before_due_only: bool = False
    min_days_since_previous: int = Field(default=0, ge=0)
    min_open: dict[str, str] = Field(default_factory=dict)
    fee: dict[str, str] = Field(default_factory=dict)
    interest_percent_per_year: float = Field(default=0, ge=0, le=100)
    attach_statement: bool = False

    @field_validator("min_open", "fee")
    @classmethod
    def _money(cls, value: dict[str, str], info: object) -> dict[str, str]:
        return _amounts(value, getattr(info, "field_name", "amount"))

    @field_validator("template")
    @classmethod
    def _template(cls, value: str) -> str:
        if not (RULES_DIR / "templates" / f"{value}.en.txt").is_file():
            raise ValueError(f"template {value!r} has no rules/templates/{value}.en.txt")
        return value

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        if value not in ("email",):
            raise ValueError(f"channel {value!r} is not one this product delivers (email)")
        return value

    def min_open_minor(self, currency: str) -> int:
        return _minor_for(self.min_open, currency)

    def fee_minor(self, currency: str) -> int:
        return _minor_for(self.fee, currency)


class Profile(BaseModel):
    levels: list[Level] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> Profile:
        numbers = [lv.level for lv in self.levels]
        days = [lv.days for lv in self.levels]
        if numbers != sorted(set(numbers)) or days != sorted(days):
            raise ValueError("levels must be listed in increasing level and days, each level once")
        return self


class DunningPolicy(BaseModel):
    version: int
    default_profile: str
    pay_within_days: int = Field(default=10, ge=1, le=90)
    profiles: dict[str, Profile]

    @model_validator(mode="after")
    def _default_exists(self) -> DunningPolicy:
        if self.default_profile not in self.profiles:
            raise ValueError(f"default_profile {self.default_profile!r} is not a profile")
        return self


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


def evaluate(facts: DunningFacts, policy: DunningPolicy, as_of: date) -> Evaluation:
    """Each customer's reminder today, every invoice at its level, and every exclusion with its reason."""
    frame = _reached(facts.items, facts.customers, policy, as_of)
    reached = len(frame)
    excluded: list[pd.DataFrame] = []

    def exclude(mask: pd.Series, reason: pd.Series | str, whole_customer: bool = False) -> None:
        nonlocal frame
        if not mask.any():
            return
        gone = frame[mask]
        why = reason[mask] if isinstance(reason, pd.Series) else reason
        rows = pd.DataFrame(
            {"customer_id": gone["customer_id"], "invoice_id": gone["invoice_id"], "reason": why}
        )
        if whole_customer:
            rows = rows.drop_duplicates("customer_id").assign(invoice_id="")
        excluded.append(rows)
        frame = frame[~mask]

    if facts.reconcile_pending:
        exclude(pd.Series(True, index=frame.index), facts.reconcile_pending, whole_customer=True)
    tags = (
        facts.customers.set_index("customer_id")["tags"].fillna("") if len(facts.customers) else pd.Series()
    )
    tagged = frame["customer_id"].map(tags).fillna("").str.split(";").map(lambda t: NO_DUNNING_TAG in t)
    exclude(tagged.astype(bool), f"customer is tagged {NO_DUNNING_TAG}", whole_customer=True)
    for rule in (_disputed, _promised, _covered):
        mask, why = rule(frame, facts, as_of)
        exclude(mask, why)

    frame = _cap_one_step(frame, facts.history, policy)
    last = frame["invoice_id"].map(_series(facts.history, "invoice_id", "last_level"))
    frame["is_new"] = last.isna() | (frame["level"] > last.fillna(-1))
    frame = frame[frame.groupby("customer_id")["is_new"].transform("any")]

    ladder = _ladder_table(policy)
    level_of = frame.groupby("customer_id")["level"].transform("max")
    rung = ladder.reindex(pd.MultiIndex.from_arrays([frame["profile"], level_of]))
    spacing = rung["min_days_since_previous"].to_numpy()
    last_on = _customer_last_reminded(facts.history, facts.items)
    since = (pd.Timestamp(as_of) - pd.to_datetime(frame["customer_id"].map(last_on))).dt.days
    too_soon = pd.Series((since.to_numpy() < spacing) & since.notna().to_numpy(), index=frame.index)
    exclude(
        too_soon,
        "last reminded "
        + since.fillna(0).astype("int64").astype(str)
        + " days ago; this level waits "
        + pd.Series(spacing, index=frame.index).astype("int64").astype(str),
        whole_customer=True,
    )
    frame = _exclude_small(frame, policy, exclude)
    frame = frame[frame.groupby("customer_id")["is_new"].transform("any")]
    frame["interest_minor"] = _interest(frame, policy)
    frame = frame.sort_values(["customer_id", "due_date", "invoice_id"]).reset_index(drop=True)
    exclusions = (
        pd.concat(excluded, ignore_index=True) if excluded else pd.DataFrame(columns=EXCLUSION_COLUMNS)
    )
    return Evaluation(
        frame[ITEM_COLUMNS + ["profile", "template"]],
        _messages(frame, policy),
        exclusions[EXCLUSION_COLUMNS].sort_values(["customer_id", "invoice_id"]).reset_index(drop=True),
        reached,
    )


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


def _ladder_table(policy: DunningPolicy) -> pd.DataFrame:
    rows = [
        {
            "profile": name,
            "level": lv.level,
            "level_name": lv.name,
            "template": lv.template,
            "courtesy": lv.before_due_only,
            "min_days_since_previous": lv.min_days_since_previous,
            "interest_percent_per_year": lv.interest_percent_per_year,
        }
        for name, profile in policy.profiles.items()
        for lv in profile.levels
    ]
    return pd.DataFrame(rows).set_index(["profile", "level"])


def _name_levels(frame: pd.DataFrame, policy: DunningPolicy) -> pd.DataFrame:
    ladder = _ladder_table(policy)
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


def _exclude_small(frame: pd.DataFrame, policy: DunningPolicy, exclude) -> pd.DataFrame:  # noqa: ANN001
    """Drop a customer's invoices in a currency whose open amount at a level is below the minimum of
    the message's level."""
    if not len(frame):
        return frame
    level = frame.groupby("customer_id")["level"].transform("max")
    totals = frame.groupby(["customer_id", "currency"])["open_minor"].transform("sum")
    minimum = pd.Series(_minimums(frame, level, policy), index=frame.index)
    small = totals < minimum
    exclude(
        small,
        "open amount "
        + totals.astype(str)
        + " below the level's minimum of "
        + minimum.astype(str)
        + " minor units",
    )
    return frame[~small]


def _minimums(frame: pd.DataFrame, level: pd.Series, policy: DunningPolicy) -> np.ndarray:
    """The minimum open amount of each row's message level and currency."""
    keys = pd.DataFrame({"profile": frame["profile"], "level": level, "currency": frame["currency"]})
    unique = keys.drop_duplicates().copy()
    unique["minimum"] = [
        next(lv for lv in policy.profiles[p].levels if lv.level == n).min_open_minor(c)
        for p, n, c in zip(unique["profile"], unique["level"], unique["currency"], strict=True)
    ]
    return keys.merge(unique, on=["profile", "level", "currency"], how="left")["minimum"].to_numpy()


def _interest(frame: pd.DataFrame, policy: DunningPolicy) -> np.ndarray:
    """Interest to date on each overdue invoice at a level that charges it: open amount x annual
    rate x days past due / 365, rounded half up to the minor unit."""
    if not len(frame):
        return np.zeros(0, dtype=np.int64)
    ladder = _ladder_table(policy)
    rate = ladder.reindex(pd.MultiIndex.from_arrays([frame["profile"], frame["level"]]))[
        "interest_percent_per_year"
    ].to_numpy()
    # exact: the rate in millionths of a percent keeps the arithmetic in integers
    ppm = np.rint(rate * 1_000_000).astype(np.int64)
    days = np.maximum(frame["days_past_due"].to_numpy(), 0).astype(np.int64)
    interest = np.zeros(len(frame), dtype=np.int64)
    charged = np.flatnonzero((ppm > 0) & (days > 0))
    denominator = 100 * 1_000_000 * 365
    amounts = frame["open_minor"].to_numpy()
    interest[charged] = [  # Python integers: the product can exceed 64 bits
        (int(amounts[i]) * int(ppm[i]) * int(days[i]) * 2 + denominator) // (2 * denominator) for i in charged
    ]
    return interest


def _level(policy: DunningPolicy, profile: str, level: int) -> Level:
    return next(x for x in policy.profiles[profile].levels if x.level == int(level))


def _messages(frame: pd.DataFrame, policy: DunningPolicy) -> pd.DataFrame:
    """One row per customer: its message's level, and per currency the open amount, interest and
    the fee of that currency's highest level in the message."""
    columns = ["customer_id", "profile", "level", "level_name", "template", "attach_statement", "totals"]
    if not len(frame):
        return pd.DataFrame(columns=columns)
    top = frame.loc[frame.groupby("customer_id")["level"].idxmax()].sort_values("customer_id")
    sums = (
        frame.groupby(["customer_id", "currency"], sort=True)
        .agg(
            profile=("profile", "first"),
            open_minor=("open_minor", "sum"),
            interest_minor=("interest_minor", "sum"),
            level=("level", "max"),
        )
        .reset_index()
    )
    fees = {
        key: _level(policy, key[0], key[1]).fee_minor(key[2])
        for key in set(zip(sums["profile"], sums["level"], sums["currency"], strict=True))
    }
    totals: dict[str, dict[str, dict[str, int]]] = {}
    for row in sums.itertuples(index=False):
        fee = fees[(row.profile, row.level, row.currency)]
        open_minor, interest = int(row.open_minor), int(row.interest_minor)
        totals.setdefault(row.customer_id, {})[row.currency] = {
            "open_minor": open_minor,
            "interest_minor": interest,
            "fee_minor": fee,
            "total_minor": open_minor + interest + fee,
        }
    statement = {
        (name, lv.level): lv.attach_statement
        for name, profile in policy.profiles.items()
        for lv in profile.levels
    }
    return pd.DataFrame(
        {
            "customer_id": top["customer_id"].to_numpy(),
            "profile": top["profile"].to_numpy(),
            "level": top["level"].astype("int64").to_numpy(),
            "level_name": top["level_name"].to_numpy(),
            "template": top["template"].to_numpy(),
            "attach_statement": [
                statement[(p, int(lv))] for p, lv in zip(top["profile"], top["level"], strict=True)
            ],
            "totals": [totals[c] for c in top["customer_id"]],
        },
        columns=columns,
    )

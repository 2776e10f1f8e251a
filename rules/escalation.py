"""Escalation: which state each customer is in, from facts, as of a date.

Ordered states in the manner of Kill Bill's overdue states: the first whose conditions all hold
wins, and `clear` is the explicit state of a customer that needs nobody. Recomputed from the facts
on every run, so a customer never stays in a state the facts no longer support.

Facts per customer and currency (columns of the frame `evaluate` takes): oldest_days_past_due,
overdue_amount_minor, overdue_invoices, dunning_level (highest reminder level reached),
broken_promises (in the last 12 months), rating (A-D, '' unrated), tags (';'-separated),
over_credit_limit (open receivables + unbilled orders above the customer's credit limit).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tasks.platform.money import MoneyError, to_minor

ACTIONS = ("worklist", "credit_hold", "notify_owner", "agency_file", "propose_write_off")
RATINGS = ("A", "B", "C", "D")


class Conditions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    oldest_days_past_due_over: int | None = Field(default=None, ge=0)
    overdue_amount_over: dict[str, str] | None = None
    overdue_amount_at_most: dict[str, str] | None = None
    overdue_invoices_at_least: int | None = Field(default=None, ge=1)
    dunning_level_at_least: int | None = Field(default=None, ge=0)
    broken_promises_at_least: int | None = Field(default=None, ge=1)
    rating_in: list[str] | None = None
    tags_any: list[str] | None = None  # at least one of these tags
    tags_none: list[str] | None = None  # none of these tags
    over_credit_limit: bool | None = None  # open receivables + unbilled orders above the credit limit

    @field_validator("overdue_amount_over", "overdue_amount_at_most")
    @classmethod
    def _amounts_exact(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for currency, amount in (value or {}).items():
            try:
                # The default applies to any currency, JPY's none-decimal too: it must be whole.
                to_minor(str(amount), "JPY" if currency == "default" else currency)
            except MoneyError as exc:
                raise ValueError(f"{currency}: {exc}") from None
        return value

    @field_validator("rating_in")
    @classmethod
    def _known_ratings(cls, value: list[str] | None) -> list[str] | None:
        unknown = set(value or []) - set(RATINGS)
        if unknown:
            raise ValueError(f"unknown rating(s): {', '.join(sorted(unknown))} (use A, B, C, D)")
        return value


class State(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    reason: str = ""
    when: Conditions = Conditions()
    actions: list[str] = []

    @field_validator("actions")
    @classmethod
    def _known_actions(cls, value: list[str]) -> list[str]:
        unknown = set(value) - set(ACTIONS)
        if unknown:
            raise ValueError(f"unknown action(s): {', '.join(sorted(unknown))} (use {', '.join(ACTIONS)})")
        return value


class Rating(BaseModel):
    """Rating by the amount-weighted average payment delay (days late, early counting as 0) of the
    invoices settled in the last 12 months: up to A days A, up to B days B, up to C days C, else D."""

    model_config = ConfigDict(extra="forbid")
    A: int = 30
    B: int = 60
    C: int = 90

    @model_validator(mode="after")
    def _ordered(self) -> Rating:
        if not 0 <= self.A < self.B < self.C:
            raise ValueError("rating thresholds must rise: 0 <= A < B < C")
        return self

    def of(self, delay_days: float | None) -> str:
        if delay_days is None or pd.isna(delay_days):
            return ""
        for grade, limit in (("A", self.A), ("B", self.B), ("C", self.C)):
            if delay_days <= limit:
                return grade
        return "D"


class Weights(BaseModel):
    """How a worklist line is scored: points per unit of overdue amount (the unit per currency, so
    that a yen does not weigh as a euro), per day of the oldest item, per rating, per broken
    promise and per open case."""

    model_config = ConfigDict(extra="forbid")
    overdue_unit: dict[str, str] = {
        "EUR": "1000.00",
        "USD": "1000.00",
        "GBP": "800.00",
        "JPY": "150000",
        "default": "1000.00",
    }
    per_overdue_unit: float = 10.0
    per_day_oldest: float = 0.5
    rating: dict[str, float] = {"A": 0.0, "B": 10.0, "C": 25.0, "D": 50.0, "": 10.0}
    per_broken_promise: float = 20.0
    per_open_case: float = -5.0  # a case open means someone is on it already

    @field_validator("overdue_unit")
    @classmethod
    def _units_exact(cls, value: dict[str, str]) -> dict[str, str]:
        if "default" not in value:
            raise ValueError("needs a default unit")
        for currency, amount in value.items():
            try:
                if to_minor(str(amount), "JPY" if currency == "default" else currency) <= 0:
                    raise ValueError(f"{currency}: the unit must be more than 0")
            except MoneyError as exc:
                raise ValueError(f"{currency}: {exc}") from None
        return value

    def unit_minor(self, currency: str) -> int:
        return threshold_minor(self.overdue_unit, currency)


class EscalationPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int
    states: list[State] = Field(min_length=1)
    rating: Rating = Rating()
    worklist: Weights = Weights()

    @model_validator(mode="after")
    def _ends_clear(self) -> EscalationPolicy:
        if self.states[-1].name != "clear" or self.states[-1].when != Conditions():
            raise ValueError("the last state must be 'clear' with no conditions")
        names = [s.name for s in self.states]
        if len(set(names)) != len(names):
            raise ValueError("state names must be unique")
        return self


def threshold_minor(amounts: dict[str, str], currency: str) -> int:
    raw = amounts.get(currency, amounts.get("default"))
    if raw is None:
        raise ValueError(f"no threshold for {currency} and no default")
    return to_minor(str(raw), currency)


def _reason(state: State, currency: str) -> str:
    """The state's reason in words, with the thresholds that applied to this currency."""
    if not state.reason:
        return state.name
    values: dict[str, Any] = state.when.model_dump()
    for name in ("overdue_amount_over", "overdue_amount_at_most"):
        amounts = getattr(state.when, name) or {}
        values[name] = f"{amounts.get(currency, amounts.get('default', ''))} {currency}"
    values = {k: "/".join(v) if isinstance(v, list) else v for k, v in values.items()}
    return state.reason.format(**values)


def _tags(frame: pd.DataFrame) -> pd.Series:
    """Each line's tags, as a set of lower-case words (`;`-separated in the customer master): read
    once per distinct text, a hundred thousand customers sharing a handful of them."""
    raw = frame["tags"] if "tags" in frame else pd.Series("", index=frame.index)
    codes, texts = pd.factorize(raw.fillna("").astype(str))
    sets = np.empty(len(texts) + 1, dtype=object)
    sets[:-1] = [frozenset(x.strip().lower() for x in t.split(";") if x.strip()) for t in texts]
    sets[-1] = frozenset()  # no text at all (code -1)
    return pd.Series(sets[codes], index=frame.index, dtype=object)


def evaluate(facts: pd.DataFrame, policy: EscalationPolicy, as_of: date) -> tuple[pd.DataFrame, list[str]]:
    """The state of each customer and currency on `as_of` (the day the facts were computed for:
    they carry their own day counts): `facts` with `state`, `reason` and `actions`
    (comma-separated) added. A fact column that is absent counts as 0 (or unrated, no tags).

    Also the problems met, as messages: a state comparing with an amount the policy gives for
    neither the currency nor a default (its condition then holds for no line of that currency)."""
    frame = facts.copy()
    for column in ("overdue_invoices", "dunning_level", "broken_promises"):
        if column not in frame:
            frame[column] = 0
    if "rating" not in frame:
        frame["rating"] = ""
    tags = _tags(frame)
    frame["state"], frame["reason"], frame["actions"] = "", "", ""
    problems: list[str] = []
    undecided = pd.Series(True, index=frame.index)
    for state in policy.states:
        holds = undecided & _holds(frame, tags, state, problems)
        frame.loc[holds, ["state", "actions"]] = [state.name, ",".join(state.actions)]
        frame.loc[holds, "reason"] = [_reason(state, currency) for currency in frame.loc[holds, "currency"]]
        undecided &= ~holds
    return frame, problems


def _holds(frame: pd.DataFrame, tags: pd.Series, state: State, problems: list[str]) -> pd.Series:
    """Where every condition of `state` holds; a threshold missing for a currency is added to
    `problems` and holds nowhere in that currency."""
    holds = pd.Series(True, index=frame.index)
    cond = state.when
    if cond.oldest_days_past_due_over is not None:
        holds &= frame["oldest_days_past_due"] > cond.oldest_days_past_due_over
    if cond.overdue_amount_over is not None:
        holds &= frame["overdue_amount_minor"] > _limits(frame, cond.overdue_amount_over, state, problems)
    if cond.overdue_amount_at_most is not None:
        holds &= frame["overdue_amount_minor"] <= _limits(frame, cond.overdue_amount_at_most, state, problems)
    if cond.overdue_invoices_at_least is not None:
        holds &= frame["overdue_invoices"] >= cond.overdue_invoices_at_least
    if cond.dunning_level_at_least is not None:
        holds &= frame["dunning_level"] >= cond.dunning_level_at_least
    if cond.broken_promises_at_least is not None:
        holds &= frame["broken_promises"] >= cond.broken_promises_at_least
    if cond.rating_in is not None:
        holds &= frame["rating"].fillna("").isin(cond.rating_in)
    if cond.tags_any is not None:
        wanted = {t.lower() for t in cond.tags_any}
        holds &= tags.map(lambda have, w=wanted: bool(have & w))
    if cond.tags_none is not None:
        refused = {t.lower() for t in cond.tags_none}
        holds &= tags.map(lambda have, r=refused: not (have & r))
    if cond.over_credit_limit is not None:
        over = (
            frame["over_credit_limit"]
            if "over_credit_limit" in frame
            else pd.Series(False, index=frame.index)
        )
        holds &= over.astype(bool) == cond.over_credit_limit
    return holds


def _limits(frame: pd.DataFrame, amounts: dict[str, str], state: State, problems: list[str]) -> pd.Series:
    """Each line's threshold in its currency's minor units; NaN (never exceeded, never reached)
    where the policy has none, with a problem per such currency."""
    known: dict[str, int | float] = {}
    for currency in pd.unique(frame["currency"]):
        if currency in amounts or "default" in amounts:
            known[currency] = threshold_minor(amounts, currency)
        else:
            known[currency] = float("nan")
            problems.append(f"state {state.name}: no threshold for {currency} and no default")
    return frame["currency"].map(known)

"""Escalation: which state each customer is in, from facts, as of a date.

Ordered states in the manner of Kill Bill's overdue states: the first whose conditions all hold
wins, and `clear` is the explicit state of a customer that needs nobody. Recomputed from the facts
on every run, so a customer never stays in a state the facts no longer support.
"""

from __future__ import annotations

import pandas as pd
from pydantic import BaseModel, Field, field_validator, model_validator

from tasks.money import MoneyError, to_minor


class Conditions(BaseModel):
    oldest_days_past_due_over: int | None = Field(default=None, ge=0)
    overdue_amount_over: dict[str, str] | None = None

    @field_validator("overdue_amount_over")
    @classmethod
    def _amounts_exact(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for currency, amount in (value or {}).items():
            try:
                # The default applies to any currency, JPY's none-decimal too: it must be whole.
                to_minor(str(amount), "JPY" if currency == "default" else currency)
            except MoneyError as exc:
                raise ValueError(f"{currency}: {exc}") from None
        return value


class State(BaseModel):
    name: str
    reason: str = ""
    when: Conditions = Conditions()
    actions: list[str] = []

    @field_validator("actions")
    @classmethod
    def _known_actions(cls, value: list[str]) -> list[str]:
        unknown = set(value) - {"worklist"}
        if unknown:
            raise ValueError(f"unknown action(s): {', '.join(sorted(unknown))}")
        return value


class EscalationPolicy(BaseModel):
    version: int
    states: list[State] = Field(min_length=1)

    @model_validator(mode="after")
    def _ends_clear(self) -> EscalationPolicy:
        if self.states[-1].name != "clear" or self.states[-1].when != Conditions():
            raise ValueError("the last state must be 'clear' with no conditions")
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
    amounts = state.when.overdue_amount_over or {}
    threshold = amounts.get(currency, amounts.get("default", ""))
    return state.reason.format(
        oldest_days_past_due_over=state.when.oldest_days_past_due_over,
        overdue_amount_over=f"{threshold} {currency}",
    )


def evaluate(exposure: pd.DataFrame, policy: EscalationPolicy) -> pd.DataFrame:
    """The state of each customer and currency.

    exposure: customer_id, currency, open_amount_minor, overdue_amount_minor, oldest_days_past_due.
    Returns exposure with `state`, `reason` and `actions` (comma-separated) added.
    """
    frame = exposure.copy()
    frame["state"], frame["reason"], frame["actions"] = "", "", ""
    undecided = pd.Series(True, index=frame.index)
    for state in policy.states:
        holds = undecided.copy()
        cond = state.when
        if cond.oldest_days_past_due_over is not None:
            holds &= frame["oldest_days_past_due"] > cond.oldest_days_past_due_over
        if cond.overdue_amount_over is not None:
            limits = frame["currency"].map(lambda c, a=cond.overdue_amount_over: threshold_minor(a, c))
            holds &= frame["overdue_amount_minor"] > limits
        frame.loc[holds, ["state", "actions"]] = [state.name, ",".join(state.actions)]
        frame.loc[holds, "reason"] = [_reason(state, currency) for currency in frame.loc[holds, "currency"]]
        undecided &= ~holds
    return frame

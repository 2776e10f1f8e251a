"""Dunning: which reminder level each open invoice has reached, and who gets a message today.

Pure and stateless: from the open items, the reminder history and `as_of`, the same facts always
give the same answer.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from pydantic import BaseModel, Field, model_validator


class Level(BaseModel):
    level: int = Field(ge=0)
    name: str
    days: int
    template: str
    before_due_only: bool = False


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
    profiles: dict[str, Profile]

    @model_validator(mode="after")
    def _default_exists(self) -> DunningPolicy:
        if self.default_profile not in self.profiles:
            raise ValueError(f"default_profile {self.default_profile!r} is not a profile")
        return self


def reached_levels(
    items: pd.DataFrame, profiles: pd.Series, policy: DunningPolicy, as_of: date
) -> pd.DataFrame:
    """Each open, reminder-worthy invoice with the highest level it has reached on `as_of`.

    items: invoice_id, customer_id, currency, issue_date, due_date, open_minor.
    profiles: customer_id -> dunning profile name (unknown names use the default profile).
    Returns the items that reached a level, with days_past_due, level, level_name, template.
    """
    frame = items[items["open_minor"] > 0].copy()
    frame["days_past_due"] = (pd.Timestamp(as_of) - pd.to_datetime(frame["due_date"])).dt.days.astype("int64")
    frame["profile"] = (
        frame["customer_id"]
        .map(profiles)
        .where(lambda p: p.isin(list(policy.profiles)), policy.default_profile)
    )
    frame["level"] = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    frame["level_name"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    frame["template"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    for name, profile in policy.profiles.items():
        in_profile = frame["profile"] == name
        for lv in profile.levels:  # increasing: a later level overwrites an earlier one
            reached = in_profile & (frame["days_past_due"] >= lv.days)
            if lv.before_due_only:
                reached &= frame["days_past_due"] < 0
            frame.loc[reached, ["level", "level_name", "template"]] = [lv.level, lv.name, lv.template]
    return frame[frame["level"].notna()].astype({"level": "int64"})


def due_messages(reached: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """The invoices of every customer that gets a message today.

    A customer gets one when at least one invoice reached a level above the one it was last
    reminded at; the message then lists every invoice at its level. `history`: invoice_id,
    last_level. Returns `reached` rows of those customers, with `is_new` marking the news.
    """
    last = reached["invoice_id"].map(dict(zip(history["invoice_id"], history["last_level"], strict=True)))
    frame = reached.assign(is_new=last.isna() | (reached["level"] > last.fillna(-1)))
    wanted = frame.groupby("customer_id")["is_new"].transform("any")
    return frame[wanted].sort_values(["customer_id", "due_date", "invoice_id"]).reset_index(drop=True)

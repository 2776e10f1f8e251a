"""The dunning policy as `rules/dunning.yaml` states it: per profile, a ladder of levels (days
relative to the due date, template, channel, spacing, minimum open amount, fee, interest, whether
a statement of account goes with it), validated when the file is loaded.

What the levels mean for a customer on a date is worked out in `rules/dunning.py`.
"""

from __future__ import annotations

from typing import Literal

import pyarrow as pa
from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from tasks.platform.config import SHIPPED_RULES
from tasks.platform.money import MoneyError, to_minor


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
    def _template(cls, value: str, info: ValidationInfo) -> str:
        rules_dir = (info.context or {}).get("rules_dir", SHIPPED_RULES)  # the folder the policy came from
        if not (rules_dir / "templates" / f"{value}.en.txt").is_file():
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
    # A customer never reminded before (no reminder of its open invoices in the history):
    # `by_age` writes at the level its oldest invoice's age calls for (a book taken over with
    # invoices 60 days overdue gets the final notice, not the politest note); `first_rung` starts
    # at the first rung and climbs one rung per run like everyone else.
    first_contact: Literal["by_age", "first_rung"] = "first_rung"

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
    # A reminder's fee and the interest it charges are booked as open items of the customer (due
    # `pay_within_days` after the reminder), which cash pays and the journal books as income; off,
    # they are only shown in the message.
    book_charges: bool = True
    profiles: dict[str, Profile]

    @model_validator(mode="after")
    def _default_exists(self) -> DunningPolicy:
        if self.default_profile not in self.profiles:
            raise ValueError(f"default_profile {self.default_profile!r} is not a profile")
        return self


def longest_wait(policy: DunningPolicy) -> int:
    """The most days any level waits since the customer's previous reminder: a reminder older than
    that can no longer hold a message back."""
    return max(lv.min_days_since_previous for profile in policy.profiles.values() for lv in profile.levels)


def ladder(policy: DunningPolicy) -> pa.Table:
    """Every level of every profile, one row each: profile, level, level_name, template, days,
    courtesy (before the due date only), min_days_since_previous, interest_ppm (the yearly rate in
    millionths of a percent, so interest stays in integers), attach_statement and first_by_age
    (the profile's first contact goes by age)."""
    rows = [
        {
            "profile": name,
            "level": lv.level,
            "level_name": lv.name,
            "template": lv.template,
            "days": lv.days,
            "courtesy": lv.before_due_only,
            "min_days_since_previous": lv.min_days_since_previous,
            "interest_ppm": int(round(lv.interest_percent_per_year * 1_000_000)),
            "attach_statement": lv.attach_statement,
            "first_by_age": profile.first_contact == "by_age",
        }
        for name, profile in policy.profiles.items()
        for lv in profile.levels
    ]
    return pa.Table.from_pylist(rows, schema=LADDER_SCHEMA)


LADDER_SCHEMA = pa.schema(
    [
        ("profile", pa.string()),
        ("level", pa.int64()),
        ("level_name", pa.string()),
        ("template", pa.string()),
        ("days", pa.int64()),
        ("courtesy", pa.bool_()),
        ("min_days_since_previous", pa.int64()),
        ("interest_ppm", pa.int64()),
        ("attach_statement", pa.bool_()),
        ("first_by_age", pa.bool_()),
    ]
)


def amounts(policy: DunningPolicy, currencies: list[str]) -> pa.Table:
    """Per profile, level and currency: the minimum open amount and the fee of the level, in the
    currency's minor units."""
    rows = [
        {
            "profile": name,
            "level": lv.level,
            "currency": currency,
            "min_open_minor": lv.min_open_minor(currency),
            "fee_minor": lv.fee_minor(currency),
        }
        for name, profile in policy.profiles.items()
        for lv in profile.levels
        for currency in currencies
    ]
    return pa.Table.from_pylist(rows, schema=AMOUNTS_SCHEMA)


AMOUNTS_SCHEMA = pa.schema(
    [
        ("profile", pa.string()),
        ("level", pa.int64()),
        ("currency", pa.string()),
        ("min_open_minor", pa.int64()),
        ("fee_minor", pa.int64()),
    ]
)

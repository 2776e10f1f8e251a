"""Cash application policy (`rules/matching.yaml`), validated on load."""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, Field, field_validator

from tasks.platform.money import MoneyError, to_minor


class Scores(BaseModel):
    structured_reference: float = Field(ge=0, le=1)
    invoice_number: float = Field(ge=0, le=1)
    reference_other_customer: float = Field(ge=0, le=1)
    exact_amount: float = Field(ge=0, le=1)
    early_payment_discount: float = Field(ge=0, le=1)
    amount_combination: float = Field(ge=0, le=1)
    amount_within_tolerance: float = Field(ge=0, le=1)
    overpayment: float = Field(ge=0, le=1)
    amount_only: float = Field(ge=0, le=1)
    # the rest of a payment that paid a customer's invoices, exactly their reminder charges; a
    # policy file from before the rule scores it as shipped
    reminder_charges: float = Field(default=0.9, ge=0, le=1)


class Payer(BaseModel):
    name_threshold: float = Field(ge=50, le=100)


class Combination(BaseModel):
    max_invoices: int = Field(ge=2, le=12)
    max_candidates: int = Field(ge=2, le=64)
    # how far the search for a set of invoices summing to a payment may go, in steps (sets of
    # invoices looked at): a count, not a time, so the same book gives the same answer on any machine
    max_steps: int = Field(default=20_000, ge=100, le=10_000_000)
    # policy versions before 3 bounded the search by time; still read, so their runs can be
    # replayed, but no longer used (a time budget made the answer depend on the machine's load)
    time_budget_ms: int | None = Field(default=None, ge=1, le=10_000)
    max_due_span_days: int = Field(ge=0, le=3660)


class Tolerance(BaseModel):
    percent: float = Field(ge=0, le=20)
    ambiguity_percent: float = Field(default=0, ge=0, le=50)
    absolute: dict[str, str]

    @field_validator("absolute")
    @classmethod
    def _exact(cls, value: dict[str, str]) -> dict[str, str]:
        if "default" not in value:
            raise ValueError("needs a 'default' amount")
        for currency, amount in value.items():
            try:
                to_minor(str(amount), "JPY" if currency == "default" else currency)
            except MoneyError as exc:
                raise ValueError(f"{currency}: {exc}") from None
        return value

    def absolute_minor(self, currency: str) -> int:
        return _minor(self.absolute.get(currency, self.absolute["default"]), currency)


@lru_cache(maxsize=256)
def _minor(amount: str, currency: str) -> int:
    """An amount of the policy in minor units (asked once per payment: parsed once)."""
    return to_minor(amount, currency)


class ShortPayment(BaseModel):
    write_off: Tolerance
    deduction_case_days: int = Field(ge=1, le=365)


class OnAccount(BaseModel):
    hold: bool = True
    apply_to_new_invoices: bool = True


class CrossCurrency(BaseModel):
    apply: bool = True
    settle_within_percent: float = Field(default=1.0, ge=0, le=10)


class MatchingPolicy(BaseModel):
    version: int
    auto_apply_score: float = Field(gt=0, le=1)
    suggestions: int = Field(ge=1, le=10)
    scores: Scores
    payer: Payer
    combination: Combination
    tolerance: Tolerance
    short_payment: ShortPayment
    on_account: OnAccount = OnAccount()
    cross_currency: CrossCurrency = CrossCurrency()

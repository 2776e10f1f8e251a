"""The general-ledger account map (`rules/accounts.yaml`): which account each money event is booked
to, per legal entity and, for revenue and output VAT, per rate."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, Field, field_validator, model_validator

from tasks.platform.money import is_currency

DEFAULT_ENTITY = "default"
SINGLE_ROLES = (
    "receivable",
    "bank",
    "unapplied_cash",
    "cash_discount",
    "small_difference",
    "write_off",
    "credit_note_clearing",
)
BY_RATE_ROLES = ("revenue", "tax_payable")
# exchange differences and the currency exchange of cash applied across currencies: needed by an
# entity with a functional currency (gain, loss) and by a payment applied to an invoice of another
# currency (clearing); a journal that needs one the map does not name is refused, naming the role
FX_ROLES = ("fx_gain", "fx_loss", "fx_clearing")
# a reminder's fee and the default interest it charges, booked as open items (no VAT: damages, not
# supplies): needed once the ledger holds such a charge; a journal that needs one the map does not
# name is refused, naming the role
CHARGE_ROLES = ("fee_income", "interest_income")
OPTIONAL_ROLES = (*FX_ROLES, *CHARGE_ROLES)
OTHER_RATE = "other"


class EntityAccounts(BaseModel, extra="forbid"):
    """One entity's accounts; a role not given comes from the default entity (a rate role whole:
    an entity that lists its own revenue rates lists all it uses, with `other`)."""

    receivable: str | None = None
    revenue: dict[str, str] | None = None
    tax_payable: dict[str, str] | None = None
    bank: str | None = None
    unapplied_cash: str | None = None
    cash_discount: str | None = None
    small_difference: str | None = None
    write_off: str | None = None
    credit_note_clearing: str | None = None
    fx_gain: str | None = None
    fx_loss: str | None = None
    fx_clearing: str | None = None
    fee_income: str | None = None
    interest_income: str | None = None
    functional_currency: str | None = None

    @field_validator(*SINGLE_ROLES, *OPTIONAL_ROLES, mode="before")
    @classmethod
    def _account_text(cls, value: object) -> object:
        if value is None:
            return value
        text = str(value).strip()
        if not text:
            raise ValueError("an account may not be empty")
        return text

    @field_validator("functional_currency", mode="before")
    @classmethod
    def _currency(cls, value: object) -> object:
        if value is None:
            return value
        text = str(value).strip()
        if not is_currency(text):
            raise ValueError(f"{text!r} is not an ISO 4217 currency code (EUR, USD, ...)")
        return text

    @field_validator(*BY_RATE_ROLES)
    @classmethod
    def _rates(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return value
        out = {}
        for rate, account in value.items():
            key = str(rate).strip()
            if key != OTHER_RATE:
                try:
                    number = Decimal(key)
                except InvalidOperation:
                    raise ValueError(f"{key!r} is not a rate in percent (or {OTHER_RATE!r})") from None
                if not 0 <= number < 100:
                    raise ValueError(f"{key!r}: a rate in percent is from 0 to under 100")
            if not str(account).strip():
                raise ValueError(f"{key}: an account may not be empty")
            out[key] = str(account).strip()
        if OTHER_RATE not in out:
            raise ValueError(f"{OTHER_RATE!r} is needed: the account for a rate not listed")
        return out


class AccountMap(BaseModel, extra="forbid"):
    version: int
    entities: dict[str, EntityAccounts] = Field(min_length=1)

    @model_validator(mode="after")
    def _default_complete(self) -> AccountMap:
        default = self.entities.get(DEFAULT_ENTITY)
        if default is None:
            raise ValueError(
                f"entities: a {DEFAULT_ENTITY!r} entity is needed (every other entity falls back on it)"
            )
        missing = [r for r in (*SINGLE_ROLES, *BY_RATE_ROLES) if getattr(default, r) is None]
        if missing:
            raise ValueError(f"entities.{DEFAULT_ENTITY}: no account for {', '.join(missing)}")
        for entity, currency in self.functional_currencies().items():
            own = self.entities[entity]
            lacking = [r for r in FX_ROLES if getattr(own, r) is None and getattr(default, r) is None]
            if currency is not None and lacking:
                raise ValueError(
                    f"entities.{entity}: functional_currency {currency} books exchange differences: no"
                    f" account for {', '.join(lacking)}"
                )
        return self

    def functional_currencies(self) -> dict[str, str | None]:
        """Each entity of the map and its functional currency (its own, else the default's; None:
        the journal carries no functional amounts for it)."""
        default = self.entities[DEFAULT_ENTITY].functional_currency
        return {e: own.functional_currency or default for e, own in sorted(self.entities.items())}

    def rows(self) -> list[tuple[str, str, int | None, str]]:
        """(entity, role, rate in ppm or None, account) for every entity of the map and every role: the
        table the journal's lines are joined to. A rate role's `other` has rate None; an optional role
        (FX_ROLES, CHARGE_ROLES) only where the entity or the default names an account for it."""
        default = self.entities[DEFAULT_ENTITY]
        out: list[tuple[str, str, int | None, str]] = []
        for entity in sorted(self.entities):
            own = self.entities.get(entity, default)
            for role in SINGLE_ROLES:
                out.append((entity, role, None, str(getattr(own, role) or getattr(default, role))))
            for role in OPTIONAL_ROLES:
                account = getattr(own, role) or getattr(default, role)
                if account is not None:
                    out.append((entity, role, None, str(account)))
            for role in BY_RATE_ROLES:
                rates = getattr(own, role) or getattr(default, role) or {}
                for rate, account in rates.items():
                    ppm = None if rate == OTHER_RATE else int(Decimal(rate) * 10_000)
                    out.append((entity, role, ppm, account))
        return out

"""The model of the seller's legal entities (`rules/entities.yaml`): who bills, from where, and where
to pay.

Every invoice, credit note and reminder prints its entity's legal name, address, VAT ID,
registration, bank account and contact. The file is checked when a stage loads it: IBAN and BIC by
`schwifty`, the VAT ID by `python-stdnum`, the country as an ISO 3166 code; a mistake names the
file and the field before anything is billed.
"""

from __future__ import annotations

from typing import Literal

import pycountry
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tasks.platform.bank_ids import bic_problem, compact, iban_problem, vat_id_problem

DEFAULT_ENTITY = "default"
"""The key of the entity that bills customers without a `legal_entity` (the workspace's own series)."""


def _checked(value: str, why: str | None) -> str:
    """The identifier compacted (`DE89 3704 ...` -> `DE893704...`), or the reason it is refused."""
    if why:
        raise ValueError(f"{value!r} {why}")
    return compact(value)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Address(_Strict):
    street: str = Field(min_length=1, description="street and number; a second line after a `;`")
    postcode: str = ""
    city: str = Field(min_length=1)
    country: str = Field(description="ISO 3166 two-letter code: DE, FR, GB")

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        code = value.upper()
        if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
            raise ValueError(f"{value!r} is not an ISO 3166 two-letter country code, as DE or FR")
        return code

    def lines(self) -> tuple[str, ...]:
        """The address as printed: street line(s), then postcode and city, then the country's name."""
        country = pycountry.countries.get(alpha_2=self.country)
        town = " ".join(part for part in (self.postcode, self.city) if part)
        streets = tuple(part.strip() for part in self.street.split(";") if part.strip())
        return (*streets, town, country.name if country else self.country)


class Bank(_Strict):
    iban: str
    bic: str = ""
    name: str = ""
    account_holder: str = ""  # when it is not the entity's legal name

    @field_validator("iban")
    @classmethod
    def _iban(cls, value: str) -> str:
        return _checked(value, iban_problem(value) if value else "is required")

    @field_validator("bic")
    @classmethod
    def _bic(cls, value: str) -> str:
        return _checked(value, bic_problem(value))


class Contact(_Strict):
    email: str = ""
    phone: str = ""
    website: str = ""


class Exemption(_Strict):
    """Why the entity's domestic 0 % lines are exempt (VAT category E): the reason code of the
    CEF VATEX list and the reason as the invoice prints it."""

    code: str = Field(pattern=r"^VATEX-[A-Z]{2}-[0-9A-Z-]+$", description="as VATEX-EU-132-1I")
    text: str = Field(min_length=1, description="as: Exempt under Article 132(1)(i) of Directive 2006/112/EC")


class Entity(_Strict):
    legal_name: str = Field(min_length=1)
    address: Address
    vat_id: str = ""
    tax_number: str = ""  # a national tax number, for an entity without a VAT ID
    registration: str = ""  # the commercial register and number, as the law asks it printed
    bank: Bank
    contact: Contact = Contact()
    # the payment provider's page a reminder links to, with {customer_id}, {amount} (a decimal in
    # major units), {currency} and {reference} (the invoice's payment reference, or the invoice
    # numbers of a reminder listing several) filled in
    pay_link: str = ""
    # what a 0 % line to a customer with a VAT ID in another EU member state is: goods, an
    # intra-community supply (category K), or services, reverse charge (AE)
    intra_eu_supplies: Literal["goods", "services"] = "goods"
    # set: a domestic 0 % line is exempt (E) with this reason; unset: zero rated (Z)
    exemption: Exemption | None = None

    @field_validator("pay_link")
    @classmethod
    def _pay_link(cls, value: str) -> str:
        import string

        if not value:
            return value
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"{value!r} is not an http(s) address")
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(f"{value!r}: {exc}") from None
        unknown = names - {"customer_id", "amount", "currency", "reference"}
        if unknown:
            raise ValueError(
                f"{value!r} names {', '.join(sorted(unknown))}; it may use {{customer_id}}, {{amount}},"
                " {currency} and {reference}"
            )
        return value

    @field_validator("vat_id")
    @classmethod
    def _vat_id(cls, value: str) -> str:
        return _checked(value, vat_id_problem(value))


class Entities(_Strict):
    version: int
    entities: dict[str, Entity] = Field(min_length=1)

    def of(self, legal_entity: object) -> Entity | None:
        """The entity that bills a customer whose `legal_entity` is this (empty: `default`)."""
        return self.entities.get(str(legal_entity or "") or DEFAULT_ENTITY)

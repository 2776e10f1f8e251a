"""Who bills: each legal entity's master data as the documents print it.

The entity's legal name, address, VAT ID, registration, bank account and contact come from
`rules/entities.yaml` (the run's rules folder, checked by `tasks/platform/entities.py`). The names set in
the environment (`O2C_SELLER_NAMES`, and `O2C_SELLER_NAME` for the default entity) win over the
file's `legal_name`, as they did before the file existed; an entity the file does not list is
printed by its name alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from tasks.platform.entities import Entities, Entity
from tasks.platform.policy import load_policy

FALLBACK_NAME = "Example Trading Ltd"


@dataclass(frozen=True)
class Party:
    """A seller or a buyer as printed: name, postal address, tax identifiers and, for a seller,
    where to pay and whom to ask."""

    name: str
    street: tuple[str, ...] = ()
    postcode: str = ""
    city: str = ""
    country: str = ""  # ISO 3166 two-letter code
    vat_id: str = ""
    tax_number: str = ""
    registration: str = ""
    iban: str = ""
    bic: str = ""
    bank_name: str = ""
    account_holder: str = ""
    email: str = ""
    phone: str = ""
    website: str = ""
    entity: str = ""  # the legal entity key ('' for the workspace's own series)
    pay_link: str = ""  # a URL template of the payment provider the entity uses (reminders' pay link)
    supplies: str = "goods"  # what a 0 % line to another EU member state is: goods (K) or services (AE)
    exempt_code: str = ""  # a domestic 0 % line is exempt (E) with this reason code (VATEX-EU-...)
    exempt_text: str = ""  # ... and this reason, as printed

    @property
    def has_address(self) -> bool:
        return bool(self.street or self.city)


@cache
def _entities(rules_dir: Path, stamp: float) -> tuple[Entities | None, str]:
    path = rules_dir / "entities.yaml"
    if not path.is_file():
        return None, ""
    return load_policy("entities", Entities, directory=rules_dir, rules_dir=rules_dir)


def load_entities(rules_dir: Path) -> tuple[Entities | None, str]:
    """The validated `entities.yaml` of a rules folder and its version label; (None, "") when the
    folder has none. Read again when the file changes."""
    return _entities(rules_dir, _stamp(rules_dir))


def _stamp(rules_dir: Path) -> float:
    """When the folder's `entities.yaml` last changed (0 when it has none)."""
    path = rules_dir / "entities.yaml"
    return path.stat().st_mtime if path.is_file() else 0.0


def bank_accounts(rules_dir: Path) -> dict[str, str]:
    """Each legal entity's IBAN (rules/entities.yaml) -> the entity: whose bank received a payment."""
    known, _label = load_entities(rules_dir)
    return {e.bank.iban: key for key, e in (known.entities.items() if known else [])}


def seller_party(
    legal_entity: object,
    rules_dir: Path,
    env_names: dict[str, str],
    default_name: str | None,
) -> Party:
    """The seller that bills a customer of `legal_entity` ('' or None: the default entity). Made
    once per entity while `entities.yaml` stays as it is: a run asks for every document and message."""
    return _seller_party(
        str(legal_entity or ""), rules_dir, _stamp(rules_dir), tuple(env_names.items()), default_name
    )


@lru_cache(maxsize=256)
def _seller_party(
    key: str,
    rules_dir: Path,
    stamp: float,
    env_names: tuple[tuple[str, str], ...],
    default_name: str | None,
) -> Party:
    entities, _ = _entities(rules_dir, stamp)
    master = entities.of(key) if entities is not None else None
    name = dict(env_names).get(key) or (default_name if not key else None)
    if master is None:
        return Party(name=name or default_name or FALLBACK_NAME, entity=key)
    return _party(master, name or master.legal_name, key)


def _party(master: Entity, name: str, key: str) -> Party:
    address, bank, contact = master.address, master.bank, master.contact
    return Party(
        name=name,
        street=tuple(part.strip() for part in address.street.split(";") if part.strip()),
        postcode=address.postcode,
        city=address.city,
        country=address.country,
        vat_id=master.vat_id,
        tax_number=master.tax_number,
        registration=master.registration,
        iban=bank.iban,
        bic=bank.bic,
        bank_name=bank.name,
        account_holder=bank.account_holder or name,
        email=contact.email,
        phone=contact.phone,
        website=contact.website,
        entity=key,
        pay_link=master.pay_link,
        supplies=master.intra_eu_supplies,
        exempt_code=master.exemption.code if master.exemption else "",
        exempt_text=master.exemption.text if master.exemption else "",
    )


def buyer_party(customer: dict[str, object]) -> Party:
    """The customer as an invoice addresses it: name, address and VAT ID from the customer master."""

    def text(column: str) -> str:
        value = customer.get(column)
        return value.strip() if isinstance(value, str) else ""

    return Party(
        name=text("name") or text("customer_id"),
        street=tuple(part.strip() for part in text("address").split(";") if part.strip()),
        postcode=text("postcode"),
        city=text("city"),
        country=text("country").upper(),
        vat_id=text("vat_id").replace(" ", "").upper(),
    )


_OUR_IDS = {
    "en": ("VAT ID", "Tax number"),
    "de": ("USt-IdNr.", "Steuernummer"),
    "fr": ("N° TVA", "N° fiscal"),
}


def legal_lines(seller: Party, language: str) -> tuple[str, ...]:
    """The seller's legal particulars as a document's or e-mail's footer prints them: name and
    address; VAT ID, tax number and registration; e-mail, phone and website."""
    from tasks.platform import localized

    vat, tax = _OUR_IDS[localized.language_of(language)]
    first = " · ".join((seller.name, *localized.postal_lines(seller, language)))
    ids = [
        f"{vat} {seller.vat_id}" if seller.vat_id else "",
        f"{tax} {seller.tax_number}" if seller.tax_number else "",
    ]
    second = " · ".join(part for part in (*ids, seller.registration) if part)
    third = " · ".join(part for part in (seller.email, seller.phone, seller.website) if part)
    return tuple(line for line in (first, second, third) if line)


def seller_view(seller: Party, language: str) -> dict[str, object]:
    """What a message template reads of the seller: its name, address lines, account (IBAN in
    groups of four), contact and legal particulars, in the message's language."""
    from tasks.platform import localized
    from tasks.platform.bank_ids import iban_formatted

    return {
        "name": seller.name,
        "address": list(localized.postal_lines(seller, language)),
        "iban": iban_formatted(seller.iban) if seller.iban else "",
        "bic": seller.bic,
        "bank_name": seller.bank_name,
        "account_holder": seller.account_holder or seller.name,
        "email": seller.email,
        "phone": seller.phone,
        "footer": list(legal_lines(seller, language)),
    }


def pay_link(seller: Party, **values: object) -> str:
    """The entity's pay link (`pay_link` in rules/entities.yaml) with the values filled in, each
    URL-encoded; empty when the entity has none."""
    from urllib.parse import quote

    if not seller.pay_link:
        return ""
    return seller.pay_link.format(**{k: quote(str(v), safe="") for k, v in values.items()})

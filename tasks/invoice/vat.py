"""Which VAT category (EN 16931 BT-151, BT-118) each invoice line has, and why a line at 0 % is 0 %.

Pure: the line's rate, the seller (`Party`, its country, VAT ID and the settings of
`rules/entities.yaml`) and the customer's country and VAT ID in, the category out. The rate itself is
the order line's; this module never changes it, only says what a rate of 0 means:

- `S` any rate above 0.
- `K` intra-community supply of goods / `AE` reverse charge for services: a seller in an EU member
  state, a customer in another member state with a VAT ID. Goods or services is the entity's
  `intra_eu_supplies` (default `goods`). Without the buyer's VAT ID such a line cannot be 0 %:
  the invoice stage refuses the customer before numbering (`missing_vat_id`).
- `G` export outside the EU: a seller in the EU, a customer outside it (goods and services alike).
- `E` exempt: a domestic 0 % line of an entity whose `exemption` (reason code and text) is set.
- `Z` zero rated: every other 0 % line, as before.

Each of K, AE, G and E carries its exemption reason code (BT-121) and text (BT-120) in the
document's language; the document prints the text under the tax summary.
"""

from __future__ import annotations

from typing import Any

from tasks.platform.sellers import Party

# the 27 member states (ISO 3166; Greece's VAT IDs start EL, its country code is GR)
EU = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)
CODES = {"K": "VATEX-EU-IC", "AE": "VATEX-EU-AE", "G": "VATEX-EU-G"}
_NOTES = {
    "en": {
        "AE": "Reverse charge: the recipient is liable for the VAT",
        "K": "Intra-community supply, exempt under {basis}",
        "G": "Export outside the EU, exempt from VAT",
    },
    "de": {
        "AE": "Steuerschuldnerschaft des Leistungsempfängers",
        "K": "Innergemeinschaftliche Lieferung, steuerfrei nach {basis}",
        "G": "Ausfuhrlieferung, steuerfrei",
    },
    "fr": {
        "AE": "Autoliquidation",
        "K": "Exonération de TVA, {basis}",
        "G": "Exonération de TVA, exportation hors de l'Union européenne",
    },
}
# the law that exempts an intra-community supply of goods, by the seller's country
_BASIS = {"DE": "§ 4 Nr. 1b UStG", "FR": "article 262 ter I du CGI"}
_DIRECTIVE = {
    "en": "Article 138 of Directive 2006/112/EC",
    "de": "Art. 138 MwStSystRL",
    "fr": "article 138 de la directive 2006/112/CE",
}


def _text(value: Any) -> str:
    return value.strip().upper() if isinstance(value, str) else ""


def category(rate_ppm: int, seller: Party, customer: dict[str, Any]) -> str:
    """The VAT category of a line at `rate_ppm` from `seller` to `customer` (country, vat_id)."""
    if int(rate_ppm):
        return "S"
    country, vat_id = _text(customer.get("country")), _text(customer.get("vat_id"))
    home = seller.country.upper()
    if home in EU and country and country != home:
        if country not in EU:
            return "G"
        if vat_id and seller.vat_id:
            return "AE" if seller.supplies == "services" else "K"
        return "Z"  # refused before numbering (`missing_vat_id`); an older invoice prints as it was
    if seller.exempt_code and (not country or country == home):
        return "E"
    return "Z"


def missing_vat_id(seller: Party, customer: dict[str, Any]) -> str:
    """Why a 0 % line from `seller` to `customer` cannot be billed ('' when it can): a customer in
    another member state needs its VAT ID for a reverse-charge or intra-community line (BR-AE-02,
    BR-IC-02), and the seller its own."""
    country, home = _text(customer.get("country")), seller.country.upper()
    if home not in EU or country not in EU or country == home:
        return ""
    kind = "a reverse-charge (AE)" if seller.supplies == "services" else "an intra-community (K)"
    if not _text(customer.get("vat_id")):
        return (
            f"a 0 % line to {country} is {kind} supply and needs the customer's VAT ID"
            " (vat_id in the customer master, EN 16931 BR-AE-02/BR-IC-02)"
        )
    if not seller.vat_id:
        return (
            f"a 0 % line to {country} is {kind} supply and needs the seller's VAT ID in rules/entities.yaml"
        )
    return ""


def reason(code: str, seller: Party, language: str) -> tuple[str, str]:
    """(exemption reason code BT-121, text BT-120) of a category; ('', '') for S and Z."""
    if code == "E":
        return seller.exempt_code, seller.exempt_text
    if code not in CODES:
        return "", ""
    words = _NOTES.get(language, _NOTES["en"])
    basis = _BASIS.get(seller.country.upper(), _DIRECTIVE.get(language, _DIRECTIVE["en"]))
    return CODES[code], words[code].format(basis=basis)


def breakdown(
    lines: list[dict[str, Any]], seller: Party, customer: dict[str, Any]
) -> list[tuple[str, int, int, int]]:
    """(category, rate_ppm, net_minor, tax_minor) per category and rate, highest rate first, then
    by category: the VAT breakdown (BG-23) and the printed tax summary."""
    sums: dict[tuple[str, int], list[int]] = {}
    for line in lines:
        rate = int(line["tax_rate_ppm"])
        entry = sums.setdefault((category(rate, seller, customer), rate), [0, 0])
        entry[0] += int(line["net_minor"])
        entry[1] += int(line["tax_minor"])
    ordered = sorted(sums.items(), key=lambda item: (-item[0][1], item[0][0]))
    return [(code, rate, net, tax) for (code, rate), (net, tax) in ordered]


def zero_rated_customers(orders: Any, lines: Any, periods: Any = None) -> set[str]:
    """The customers with a 0 % line among the `orders`' `lines` (order_id, tax_rate_ppm) or the
    subscription `periods` due (customer_id, tax_rate_ppm): those `missing_vat_id` is asked about."""
    zero_orders = set(lines.loc[lines["tax_rate_ppm"].astype("int64") == 0, "order_id"])
    found = {str(c) for c in orders.loc[orders["order_id"].isin(zero_orders), "customer_id"]}
    if periods is not None and len(periods):
        found |= {str(c) for c in periods.loc[periods["tax_rate_ppm"].astype("int64") == 0, "customer_id"]}
    return found

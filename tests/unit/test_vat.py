"""The VAT category of a line (`tasks/invoice/vat.py`): what a rate of 0 means, and who is refused."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from tasks.invoice import vat
from tests.unit.test_documents import SELLER

FR_VAT = {"country": "FR", "vat_id": "FR40303265045"}
SERVICES = replace(SELLER, supplies="services")


@pytest.mark.parametrize(
    ("rate", "seller", "customer", "expected"),
    [
        (0, SELLER, FR_VAT, "K"),
        (0, SERVICES, FR_VAT, "AE"),
        (190_000, SELLER, FR_VAT, "S"),  # the order line's rate is never changed
        (0, SELLER, {"country": "US"}, "G"),
        (0, SERVICES, {"country": "CH", "vat_id": "CHE-123"}, "G"),
        (0, SELLER, {"country": "DE", "vat_id": "DE136695976"}, "Z"),
        (190_000, SELLER, {"country": "DE"}, "S"),
        (0, replace(SELLER, country="GB"), FR_VAT, "Z"),  # a seller outside the EU: not modelled
        (0, replace(SELLER, exempt_code="VATEX-EU-132-1I", exempt_text="Exempt"), {"country": "DE"}, "E"),
        (0, replace(SELLER, exempt_code="VATEX-EU-132-1I", exempt_text="Exempt"), FR_VAT, "K"),
    ],
)
def test_the_category_of_a_line(rate, seller, customer, expected) -> None:
    assert vat.category(rate, seller, customer) == expected


def test_a_zero_rated_line_to_another_member_state_needs_the_buyers_vat_id() -> None:
    assert vat.missing_vat_id(SELLER, FR_VAT) == ""
    assert "needs the customer's VAT ID" in vat.missing_vat_id(SELLER, {"country": "FR"})
    assert "reverse-charge (AE)" in vat.missing_vat_id(SERVICES, {"country": "FR", "vat_id": " "})
    assert vat.missing_vat_id(SELLER, {"country": "US"}) == ""
    assert vat.missing_vat_id(SELLER, {"country": "DE"}) == ""


@pytest.mark.parametrize(
    ("code", "seller", "language", "expected"),
    [
        (
            "K",
            SELLER,
            "de",
            ("VATEX-EU-IC", "Innergemeinschaftliche Lieferung, steuerfrei nach § 4 Nr. 1b UStG"),
        ),
        ("AE", SERVICES, "de", ("VATEX-EU-AE", "Steuerschuldnerschaft des Leistungsempfängers")),
        ("AE", SERVICES, "fr", ("VATEX-EU-AE", "Autoliquidation")),
        (
            "K",
            replace(SELLER, country="FR"),
            "fr",
            ("VATEX-EU-IC", "Exonération de TVA, article 262 ter I du CGI"),
        ),
        ("K", SELLER, "en", ("VATEX-EU-IC", "Intra-community supply, exempt under § 4 Nr. 1b UStG")),
        ("G", SELLER, "en", ("VATEX-EU-G", "Export outside the EU, exempt from VAT")),
        ("S", SELLER, "en", ("", "")),
        ("Z", SELLER, "en", ("", "")),
    ],
)
def test_the_exemption_reason_in_the_documents_language(code, seller, language, expected) -> None:
    assert vat.reason(code, seller, language) == expected


def test_the_breakdown_is_per_category_and_rate_in_minor_units() -> None:
    lines = [
        {"tax_rate_ppm": 0, "net_minor": 100_00, "tax_minor": 0},
        {"tax_rate_ppm": 190_000, "net_minor": 10_00, "tax_minor": 1_90},
        {"tax_rate_ppm": 0, "net_minor": 5_01, "tax_minor": 0},
    ]
    assert vat.breakdown(lines, SELLER, FR_VAT) == [("S", 190_000, 10_00, 1_90), ("K", 0, 105_01, 0)]


def test_the_customers_with_a_zero_rated_line_to_bill() -> None:
    orders = pd.DataFrame({"order_id": ["SO-1", "SO-2"], "customer_id": ["C1", "C2"]})
    lines = pd.DataFrame({"order_id": ["SO-1", "SO-2", "SO-2"], "tax_rate_ppm": [190_000, 0, 190_000]})
    periods = pd.DataFrame({"customer_id": ["C3", "C4"], "tax_rate_ppm": [0, 70_000]})
    assert vat.zero_rated_customers(orders, lines, periods) == {"C2", "C3"}
    assert vat.zero_rated_customers(orders, lines, periods.iloc[:0]) == {"C2"}


def test_the_entity_says_goods_or_services_and_its_exemption(tmp_path) -> None:
    from tasks.platform.config import SHIPPED_RULES
    from tasks.platform.policy import PolicyError
    from tasks.platform.sellers import seller_party

    shipped = (SHIPPED_RULES / "entities.yaml").read_text()
    assert seller_party("DE01", SHIPPED_RULES, {}, None).supplies == "goods"  # the default
    configured = shipped.replace(
        "    pay_link: https://pay.example.com/beispiel",
        "    intra_eu_supplies: services\n"
        "    exemption: {code: VATEX-EU-132-1I, text: Steuerfrei nach § 4 Nr. 14 UStG}\n"
        "    pay_link: https://pay.example.com/beispiel",
    )
    (tmp_path / "entities.yaml").write_text(configured)
    seller = seller_party("DE01", tmp_path, {}, None)
    assert (seller.supplies, seller.exempt_code, seller.exempt_text) == (
        "services",
        "VATEX-EU-132-1I",
        "Steuerfrei nach § 4 Nr. 14 UStG",
    )
    broken = tmp_path / "broken"  # a folder of its own: the file is cached by folder and time
    broken.mkdir()
    (broken / "entities.yaml").write_text(configured.replace("supplies: services", "supplies: both"))
    with pytest.raises(PolicyError, match=r"entities\.DE01\.intra_eu_supplies: .*'goods' or 'services'"):
        seller_party("DE01", broken, {}, None)

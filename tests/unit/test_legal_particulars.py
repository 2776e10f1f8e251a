"""What an invoice must carry and how it is written: bank and tax identifiers checked by the
libraries, the seller's entities file, and amounts and dates as each language writes them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from stdnum import iso11649

from rules.entities import Entities
from tasks.ingest.canonical import prepare_batch
from tasks.ingest.model import IngestContext
from tasks.ingest.sources import read_source
from tasks.platform import bank_ids, localized
from tasks.platform.config import SHIPPED_RULES, Settings
from tasks.platform.policy import PolicyError, load_policy


@pytest.mark.parametrize(
    ("language", "money", "day", "rate"),
    [
        ("de", "85.013,38\xa0€", "04.12.2026", "19\xa0%"),
        ("fr", "85\xa0013,38\xa0€", "4 déc. 2026", "19\xa0%"),
        ("en", "€85,013.38", "4 Dec 2026", "19%"),
        ("es", "€85,013.38", "4 Dec 2026", "19%"),  # a language we do not write: English
    ],
)
def test_amounts_dates_and_rates_as_the_language_writes_them(
    language: str, money: str, day: str, rate: str
) -> None:
    assert localized.money(8_501_338, "EUR", language) == money
    assert localized.day(date(2026, 12, 4), language) == day
    assert localized.day("2026-12-04", language) == day
    assert localized.percent(190_000, language) == rate


def test_amounts_keep_the_currencys_own_decimals_exactly() -> None:
    assert localized.money(1234, "JPY", "de") == "1.234\xa0¥"
    assert localized.money(1_234_567, "KWD", "en") == "KWD1,234.567"
    assert localized.money(-12_345, "EUR", "de") == "-123,45\xa0€"
    assert localized.money(10**17 + 1, "EUR", "de") == "1.000.000.000.000.000,01\xa0€"  # no float
    assert localized.number(123_456, "EUR", "fr") == "1\xa0234,56"
    assert localized.percent(55_000, "fr") == "5,5\xa0%"


def test_ibans_bics_and_vat_ids_are_checked_by_the_libraries() -> None:
    assert bank_ids.iban_problem("DE89 3704 0044 0532 0130 00") is None
    assert bank_ids.iban_problem("DE89370400440532013001") == "is not a valid IBAN (invalid checksum digits)"
    assert bank_ids.account_problem("000123456789") is None  # not written as an IBAN: taken as it is
    assert bank_ids.accounts_problem("DE89370400440532013000; GB33BUKB20201555555556") == (
        "holds 'GB33BUKB20201555555556', which is not a valid IBAN (invalid checksum digits)"
    )
    assert bank_ids.bic_problem("COBADEFFXXX") is None
    assert "is not a valid BIC" in str(bank_ids.bic_problem("COBA"))
    assert bank_ids.vat_id_problem("DE 136 695 976") is None
    assert (
        bank_ids.vat_id_problem("DE136695977")
        == "is not a valid VAT ID (the number's checksum or check digit is invalid)"
    )
    assert "must start with its country's code" in str(bank_ids.vat_id_problem("136695976"))


def test_the_payment_reference_is_an_iso_11649_reference_reconcile_reads_back() -> None:
    from tasks.reconcile.matching import rf_payload

    reference = bank_ids.creditor_reference("DE01-2026-000042")
    assert iso11649.is_valid(reference) and reference.startswith("RF")
    assert rf_payload(iso11649.format(reference)) == "DE012026000042"
    assert rf_payload("RF18 5390 0754 7034") == "539007547034"  # the standard's own example
    assert rf_payload("RF19 5390 0754 7034") is None


def test_the_shipped_entities_are_valid_and_a_mistake_names_the_file_and_field(tmp_path: Path) -> None:
    entities, version = load_policy("entities", Entities)
    assert version.startswith("v1-") and entities.of("").legal_name == "Example Trading Ltd"
    assert entities.of("DE01").bank.iban == "DE89370400440532013000"
    broken = (
        (SHIPPED_RULES / "entities.yaml")
        .read_text()
        .replace("DE89370400440532013000", "DE89370400440532013001")
    )
    (tmp_path / "entities.yaml").write_text(broken)
    with pytest.raises(PolicyError) as caught:
        load_policy("entities", Entities, directory=tmp_path)
    assert str(caught.value) == (
        "entities.yaml: entities.DE01.bank.iban: Value error, 'DE89370400440532013001' is not a valid"
        " IBAN (invalid checksum digits)"
    )


def test_the_environment_names_win_over_the_file_and_the_file_gives_the_rest(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, entity_names=(("DE01", "Beispiel AG"),))
    seller = settings.seller("DE01")
    assert (seller.name, seller.vat_id, seller.city, seller.iban) == (
        "Beispiel AG",
        "DE136695976",
        "Berlin",
        "DE89370400440532013000",
    )
    assert settings.seller("").name == "Example Trading Ltd"
    assert Settings(home=tmp_path, seller_name="Acme Ltd").seller_of(None) == "Acme Ltd"
    unknown = settings.seller("XX99")  # not in the file: its name alone
    assert unknown.name == "Example Trading Ltd" and not unknown.iban


def test_customers_with_a_bad_vat_id_or_iban_are_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(
        "customer_id,name,currency,vat_id,bank_accounts,address,postcode,city,country\n"
        "C1,Acme,EUR,DE136695976,DE89370400440532013000;12345678,Hauptstraße 5,80331,München,DE\n"
        "C2,Globex,EUR,DE136695977,,,,,\n"
        "C3,Initech,EUR,,DE89370400440532013001,,,,\n"
        "C4,Hooli,EUR,FR40303265045,FR1420041010050500013M02606,,,,\n"
        "C5,Umbrella,EUR,,,,,,\n"
    )
    batch = prepare_batch(read_source(path), IngestContext())
    assert batch.tables["customers"]["customer_id"].tolist() == ["C1", "C4", "C5"]
    row = batch.tables["customers"].iloc[0]
    assert (row["vat_id"], row["city"], row["postcode"]) == ("DE136695976", "München", "80331")
    reasons = dict(zip(batch.quarantine["key"], batch.quarantine["reasons"], strict=True))
    assert "vat_id: 'DE136695977' is not a valid VAT ID" in str(reasons["C2"])
    assert (
        "bank_accounts: 'DE89370400440532013001' holds 'DE89370400440532013001', which is not a valid IBAN"
        in str(reasons["C3"])
    )


def test_the_fast_money_writer_is_babel_to_the_character() -> None:
    import random

    rng = random.Random(3)
    currencies = ["EUR", "JPY", "BHD", "CLF", "USD", "GBP", "CHF", "SEK", "XAF", "KWD"]
    for _ in range(5000):
        currency, language = rng.choice(currencies), rng.choice(["en", "de", "fr", "es"])
        minor = rng.choice([0, 1, -1, 99, -105, 10**15 + 7, rng.randint(-(10**12), 10**12)])
        assert localized.money(minor, currency, language) == localized.babel_money(minor, currency, language)

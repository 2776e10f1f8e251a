"""The report of one legal entity: every figure from that entity's customers, invoices and payments
alone (entity_members.sql's rules), and the entities' reports adding up to the whole book's where
the figures add: open amount, ageing, credit sales, open invoices, cash not applied."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tasks.report.figures import compute_all, read_inputs
from tasks.report.scope import UnknownEntity

from .tables import table

AS_OF = date(2026, 4, 15)
CUSTOMERS = table("""
    | customer_id | name  | currency | payment_terms_days | dunning_profile | language | legal_entity |
    | K1          | Acme  | EUR      | 30                 | standard        | de       | DE01         |
    | K2          | Bravo | EUR      | 30                 | standard        | fr       | FR01         |
    | K3          | Home  | EUR      | 30                 | standard        | en       |              |
""")
# I4 is K1's, billed by FR01 (the invoice's own entity wins over its customer's)
INVOICES = table("""
    | invoice_id | customer_id | issue_date | due_date   | currency | amount_minor | origin   | legal_entity |
    | I1         | K1          | 2026-03-01 | 2026-03-31 | EUR      | 100_00       | ingested |              |
    | I2         | K2          | 2026-03-01 | 2026-03-31 | EUR      | 200_00       | ingested |              |
    | I3         | K3          | 2026-01-10 | 2026-02-09 | EUR      | 300_00       | ingested |              |
    | I4         | K1          | 2026-04-01 | 2026-05-01 | EUR      | 50_00        | ingested | FR01         |
    | I5         | K2          | 2026-02-01 | 2026-03-03 | USD      | 80_00        | ingested |              |
""")
# P1 is split: 100.00 to DE01's I1, 40.00 to FR01's I2, 10.00 left on account (with DE01, paid most);
# P2 arrived on FR01's bank, from nobody known; P3 from nobody, on no entity's bank (`default`);
# P4 from K2's account, applied to nothing: on account with FR01
PAYMENTS = table("""
    | payment_id | value_date | amount_minor | currency | account                     | payer_account |
    | P1         | 2026-03-20 | 150_00       | EUR      |                             |               |
    | P2         | 2026-04-02 | 50_00        | EUR      | FR1420041010050500013M02606 |               |
    | P3         | 2026-04-03 | 70_00        | EUR      |                             | XX99NOBODY    |
    | P4         | 2026-04-04 | 20_00        | EUR      |                             | FR76KBRAVO    |
    | P5         | 2026-03-10 | 80_00        | USD      |                             |               |
""")
ALLOCATIONS = table("""
    | allocation_id | payment_id | invoice_id | amount_minor | currency | rule      | as_of      |
    | P1/I1         | P1         | I1         | 100_00       | EUR      | reference | 2026-03-20 |
    | P1/I2         | P1         | I2         | 40_00        | EUR      | manual    | 2026-03-21 |
    | P5/I5         | P5         | I5         | 80_00        | USD      | reference | 2026-03-10 |
""")
ACCOUNTS = table("""
    | customer_id | account    |
    | K2          | FR76KBRAVO |
""")
CASES = table("""
    | case_id | kind     | customer_id | invoice_id | amount_minor | currency | reason_code | opened_on  | status |
    | D1      | dispute  | K2          | I2         | 40_00        | EUR      | price       | 2026-04-01 | open   |
    | D2      | dispute  | K1          | I4         | 10_00        | EUR      | price       | 2026-04-05 | open   |
    | D3      | dispute  | K3          |            | 5_00         | EUR      | other       | 2026-04-06 | open   |
""")
BANKS = {"FR1420041010050500013M02606": "FR01"}
ENTITIES = ("DE01", "FR01", "default")


@pytest.fixture
def ledger(ledger_of):
    return ledger_of(
        customers=CUSTOMERS, invoices=INVOICES, payments=PAYMENTS, allocations=ALLOCATIONS,
        customer_bank_accounts=ACCOUNTS, cases=CASES,
    )  # fmt: skip


def report(ledger, entity: str | None, banks: dict[str, str] = BANKS) -> dict:
    inputs = read_inputs(ledger, AS_OF, 90, entity, banks)
    return compute_all(inputs, AS_OF, 90)[1]


def test_each_entity_reports_its_own_invoices_payments_and_cases(ledger) -> None:
    de, fr, home = (report(ledger, e) for e in ENTITIES)
    assert de["entity"] == "DE01" and "entity" not in report(ledger, None)
    # DE01: I1 paid by P1; P1's 10.00 left is held for K1 with DE01
    assert de["currencies"]["EUR"]["open_amount"] == "0.00"
    assert (de["currencies"]["EUR"]["cash_on_account"], de["currencies"]["EUR"]["unidentified_cash"]) == (
        "10.00",
        "0.00",
    )
    assert "USD" not in de["currencies"]
    # FR01: I2 160.00 15 days overdue, I4 50.00 not due; P2 traced to nobody, P4 on account
    eur = fr["currencies"]["EUR"]
    assert (eur["open_amount"], eur["ageing"]["1-30"], eur["ageing"]["not_due"]) == (
        "210.00",
        "160.00",
        "50.00",
    )
    assert (eur["cash_on_account"], eur["unidentified_cash"]) == ("20.00", "50.00")
    assert fr["currencies"]["USD"]["invoices_settled"] == 1
    # default: I3 300.00, 65 days overdue; P3 traced to nobody
    eur = home["currencies"]["EUR"]
    assert (eur["open_amount"], eur["ageing"]["61-90"], eur["unidentified_cash"]) == (
        "300.00",
        "300.00",
        "70.00",
    )
    # the collection work: each entity's disputes (by invoice, else by customer), its cash applied
    assert (de["operations"]["disputes_open"], fr["operations"]["disputes_open"]) == (0, 2)
    assert home["operations"]["disputes_open"] == 1
    assert de["operations"]["auto_match_rate_by_amount"] == {"EUR": 100.0}
    assert fr["operations"]["auto_match_rate_by_amount"]["EUR"] == 0.0


def test_the_entities_add_up_to_the_whole_book(ledger) -> None:
    whole = report(ledger, None)
    parts = [report(ledger, e) for e in ENTITIES]
    for currency, fig in whole["currencies"].items():
        mine = [p["currencies"][currency] for p in parts if currency in p["currencies"]]

        def total(key: str, mine: list = mine) -> Decimal:
            return sum((Decimal(f[key]) for f in mine), Decimal(0))

        for key in ("open_amount", "credit_sales", "cash_on_account", "unidentified_cash"):
            assert total(key) == Decimal(fig[key]), (currency, key)
        for bucket, amount in fig["ageing"].items():
            assert sum(Decimal(f["ageing"][bucket]) for f in mine) == Decimal(amount), (currency, bucket)
        assert sum(f["open_invoices"] for f in mine) == fig["open_invoices"]
    assert sum(p["operations"]["disputes_open"] for p in parts) == whole["operations"]["disputes_open"]


def test_one_entity_of_a_single_entity_book_is_the_whole_report(ledger_of) -> None:
    ledger = ledger_of(
        customers=CUSTOMERS.assign(legal_entity=None), invoices=INVOICES.assign(legal_entity=None),
        payments=PAYMENTS, allocations=ALLOCATIONS, customer_bank_accounts=ACCOUNTS, cases=CASES,
    )  # fmt: skip
    alone = report(ledger, "default", {})  # and no entity's bank account in the rules
    assert alone.pop("entity") == "default"
    assert alone == report(ledger, None, {})


def test_an_unknown_entity_is_refused_naming_the_known_ones(ledger) -> None:
    with pytest.raises(
        UnknownEntity, match=r"unknown legal entity 'XX01'; the known ones: DE01, FR01, default"
    ):
        read_inputs(ledger, AS_OF, 90, "XX01", BANKS)


def test_the_dso_trend_of_past_month_ends_adds_up_too(ledger) -> None:
    def month_ends(entity: str | None) -> dict:
        frame = read_inputs(ledger, AS_OF, 90, entity, BANKS)["month_ends"]
        return {
            (str(r.month_end)[:10], r.currency): (r.open_minor, r.sales_minor) for r in frame.itertuples()
        }

    whole, parts = month_ends(None), [month_ends(e) for e in ENTITIES]
    assert whole[("2026-03-31", "EUR")] == (460_00, 600_00)  # I1 paid; I2 160.00, I3 300.00 open
    assert parts[0][("2026-03-31", "EUR")] == (0, 100_00)  # DE01: I1 billed and paid in March
    for key, (open_minor, sales_minor) in whole.items():
        assert sum(p.get(key, (0, 0))[0] for p in parts) == open_minor
        assert sum(p.get(key, (0, 0))[1] for p in parts) == sales_minor

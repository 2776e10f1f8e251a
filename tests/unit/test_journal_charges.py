"""A reminder's charges in the journal, on literal books: a fee and default interest are open items
(invoices of kind fee and interest, no lines, no VAT) booked to the receivable against fee and
interest income; cash paying them and write-offs on them book as on any invoice; a map that names no
account for the income refuses the journal, naming the role; a USD fee valued in EUR."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from rules.accounts import AccountMap
from tasks.report.figures import cash_per_currency
from tasks.report.journal import JournalProblem, balances, check, entity_account_table, journal_lines

from .tables import table
from .test_journal import (
    ACCOUNTS,
    BEGINNING,
    END,
    LINES,
    VERSION,
    _receivable_is_open_amount,
    entry,
    random_book,
)
from .test_journal_fx import rates

CUSTOMERS = table("""
    | customer_id | name  | currency | payment_terms_days | dunning_profile | language | legal_entity |
    | K1          | Acme  | EUR      | 30                 | standard        | de       | DE01         |
    | K2          | Bravo | EUR      | 30                 | standard        | fr       | FR01         |
    | K3          | Cargo | USD      | 30                 | standard        | en       | DE01         |
""")
# the reminder R-0123456789abcdef of 10 April charged Acme a fee of 5.00 and 3.21 interest; Bravo's
# reminder R-fedcba9876543210 a fee of 40.00 (FR01's chart)
INVOICES = table("""
    | invoice_id                 | customer_id | issue_date | due_date   | currency | net_minor | tax_minor | amount_minor | origin | kind     | legal_entity | charged_by         |
    | DE01-2026-000001           | K1          | 2026-03-01 | 2026-03-31 | EUR      | 300_00    | 45_00     | 345_00       | billed | invoice  | DE01         |                    |
    | R-0123456789abcdef-FEE-EUR | K1          | 2026-04-10 | 2026-04-24 | EUR      | 5_00      | 0         | 5_00         | charge | fee      | DE01         | R-0123456789abcdef |
    | R-0123456789abcdef-INT-EUR | K1          | 2026-04-10 | 2026-04-24 | EUR      | 3_21      | 0         | 3_21         | charge | interest | DE01         | R-0123456789abcdef |
    | R-fedcba9876543210-FEE-EUR | K2          | 2026-04-12 | 2026-04-26 | EUR      | 40_00     | 0         | 40_00        | charge | fee      |              | R-fedcba9876543210 |
""")
# one payment of 350.00 pays the invoice and the fee; the interest is written off
PAYMENTS = table("""
    | payment_id | value_date | amount_minor | currency |
    | P1         | 2026-04-20 | 350_00       | EUR      |
""")
ALLOCATIONS = table("""
    | allocation_id | payment_id | invoice_id                 | amount_minor | currency | rule           | rule_version | as_of      |
    | P1/DE01-1     | P1         | DE01-2026-000001           | 345_00       | EUR      | invoice_number | v1-test      | 2026-04-21 |
    | P1/FEE        | P1         | R-0123456789abcdef-FEE-EUR | 5_00         | EUR      | invoice_number | v1-test      | 2026-04-21 |
""")
ADJUSTMENTS = table("""
    | adjustment_id | invoice_id                 | kind      | amount_minor | currency | reason | rule_version | as_of      |
    | WO-000001     | R-0123456789abcdef-INT-EUR | write_off | 3_21         | EUR      | waived | manual       | 2026-05-01 |
""")
BOOK = {
    "customers": CUSTOMERS,
    "invoices": INVOICES,
    "invoice_lines": LINES[LINES["invoice_id"] == "DE01-2026-000001"],
    "payments": PAYMENTS,
    "allocations": ALLOCATIONS,
    "invoice_adjustments": ADJUSTMENTS,
}


def journal(ledger, accounts: AccountMap = ACCOUNTS) -> pd.DataFrame:  # noqa: ANN001
    made = journal_lines(ledger, accounts, VERSION, date_from=BEGINNING, date_to=END)
    assert check(made.lines) == []
    return made.lines.to_pandas()


def test_a_fee_and_interest_book_the_receivable_against_their_income(ledger_of) -> None:
    lines = journal(ledger_of(**BOOK))
    # no VAT, no revenue: the whole charge is income (SKR04 example accounts; FR01's own chart)
    assert entry(lines, "FEE:R-0123456789abcdef-FEE-EUR") == [
        ("1200", "receivable", None, "5.00", "0.00"),
        ("4830", "fee_income", None, "0.00", "5.00"),
    ]
    assert entry(lines, "INT:R-0123456789abcdef-INT-EUR") == [
        ("1200", "receivable", None, "3.21", "0.00"),
        ("7100", "interest_income", None, "0.00", "3.21"),
    ]
    assert entry(lines, "FEE:R-fedcba9876543210-FEE-EUR") == [
        ("411000", "receivable", None, "40.00", "0.00"),
        ("758000", "fee_income", None, "0.00", "40.00"),
    ]
    fee = lines[lines["entry_id"] == "FEE:R-0123456789abcdef-FEE-EUR"]
    assert set(fee["description"]) == {
        "fee R-0123456789abcdef-FEE-EUR",
        "fee R-0123456789abcdef-FEE-EUR: reminder fee",
    }
    assert set(fee["document_type"]) == {"fee"} and set(fee["posting_date"]) == {date(2026, 4, 10)}
    interest = lines[lines["entry_id"] == "INT:R-0123456789abcdef-INT-EUR"]
    assert set(interest["document_type"]) == {"interest"}
    assert "interest R-0123456789abcdef-INT-EUR: interest" in set(interest["description"])
    # cash applied to the fee and a write-off of the interest: as on any invoice
    assert entry(lines, "APP:P1/FEE") == [
        ("3272", "unapplied_cash", None, "5.00", "0.00"),
        ("1200", "receivable", None, "0.00", "5.00"),
    ]
    assert entry(lines, "ADJ:WO-000001") == [
        ("6930", "write_off", None, "3.21", "0.00"),
        ("1200", "receivable", None, "0.00", "3.21"),
    ]


def test_the_receivable_with_charges_is_the_open_amount_on_every_date(ledger_of) -> None:
    ledger = ledger_of(**BOOK)
    for day in (date(2026, 4, 9), date(2026, 4, 10), date(2026, 4, 12), date(2026, 4, 20), date(2026, 5, 1)):
        _receivable_is_open_amount(ledger, day)
    # on 1 May the payment has cleared the invoice and the fee, the interest is written off; Bravo's
    # fee is open
    made = journal_lines(ledger, ACCOUNTS, VERSION, date_from=BEGINNING, date_to=date(2026, 5, 1)).lines
    assert {k: v for k, v in balances(made).items() if v} == {("FR01", "EUR"): 40_00}
    assert balances(made, "unapplied_cash") == {("DE01", "EUR"): 0}
    assert balances(made, "fee_income") == {("DE01", "EUR"): -5_00, ("FR01", "EUR"): -40_00}
    assert balances(made, "interest_income") == {("DE01", "EUR"): -3_21}


def _without(*roles: str) -> AccountMap:
    entities = {
        name: {k: v for k, v in own.items() if k not in roles}
        for name, own in ACCOUNTS.model_dump(exclude_none=True)["entities"].items()
    }
    return AccountMap.model_validate({"version": 1, "entities": entities})


@pytest.mark.parametrize("role", ["fee_income", "interest_income"])
def test_a_map_without_the_income_account_refuses_the_journal_naming_the_role(ledger_of, role: str) -> None:
    with pytest.raises(JournalProblem, match=f"no account for {role} \\(rules/accounts.yaml\\)"):
        journal_lines(ledger_of(**BOOK), _without(role), VERSION, date_from=BEGINNING, date_to=END)


def test_a_map_without_the_income_accounts_still_books_a_ledger_without_charges(ledger_of) -> None:
    sales = {**BOOK, "invoices": INVOICES[INVOICES["origin"] != "charge"], "allocations": ALLOCATIONS[:1]}
    lines = journal(
        ledger_of(**{**sales, "invoice_adjustments": ADJUSTMENTS[:0]}),
        _without("fee_income", "interest_income"),
    )
    assert not {"fee_income", "interest_income"} & set(lines["role"])


def test_a_usd_fee_is_valued_in_eur_at_its_issue_date_and_its_cash_at_the_value_date(
    ledger_of, tmp_path: Path
) -> None:
    # a fee of 10.80 USD charged on 2 March (1.05: 10.29 EUR), paid on 6 March in USD (1.08: 10.00
    # EUR): a realised exchange loss of 0.29 EUR
    fee = table("""
        | invoice_id                 | customer_id | issue_date | due_date   | currency | net_minor | tax_minor | amount_minor | origin | kind | legal_entity | charged_by         |
        | R-00000000000000aa-FEE-USD | K3          | 2026-03-02 | 2026-03-16 | USD      | 10_80     | 0         | 10_80        | charge | fee  | DE01         | R-00000000000000aa |
    """)  # fmt: skip
    lines = journal(ledger_of(
        customers=CUSTOMERS, invoices=fee, exchange_rates=rates(tmp_path),
        payments=table("""
            | payment_id | value_date | amount_minor | currency |
            | P9         | 2026-03-06 | 10_80        | USD      |
        """),
        allocations=table("""
            | allocation_id | payment_id | invoice_id                 | amount_minor | currency | rule | rule_version | as_of      |
            | P9/FEE        | P9         | R-00000000000000aa-FEE-USD | 10_80        | USD      | t    | t            | 2026-03-06 |
        """),
    ))  # fmt: skip
    columns = ["account", "role", "currency", "debit", "credit", "functional_debit", "functional_credit"]
    rows = lines[lines["entry_id"] == "FEE:R-00000000000000aa-FEE-USD"][columns]
    assert list(rows.itertuples(index=False, name=None)) == [
        ("1200", "receivable", "USD", "10.80", "0.00", "10.29", "0.00"),
        ("4830", "fee_income", "USD", "0.00", "10.80", "0.00", "10.29"),
    ]
    applied = lines[lines["entry_id"] == "APP:P9/FEE"][columns]
    assert list(applied.itertuples(index=False, name=None)) == [
        ("3272", "unapplied_cash", "USD", "10.80", "0.00", "10.00", "0.00"),
        ("6880", "fx_loss", "USD", "0.00", "0.00", "0.29", "0.00"),
        ("1200", "receivable", "USD", "0.00", "10.80", "0.00", "10.29"),
    ]
    receivable = lines[lines["role"] == "receivable"]
    assert (receivable["functional_debit_minor"] - receivable["functional_credit_minor"]).sum() == 0


@pytest.mark.parametrize("seed", range(0, 20, 3))
def test_an_entitys_unapplied_cash_is_the_reports_on_every_date(ledger_of, seed: int) -> None:
    """The rest of a payment sits in the entity the report counts it in (the entity of the invoices
    it paid most, else of its bank, else of its payer), so per entity and currency the journal's
    unapplied cash is the report's cash on account and unidentified cash, on every date."""
    ledger = ledger_of(**random_book(random.Random(seed)))
    lines = journal_lines(ledger, ACCOUNTS, VERSION, date_from=BEGINNING, date_to=END).lines.to_pandas()
    members = {
        "entity_members": ledger.arrow_with(
            "report/entity_members", {"entity_accounts": entity_account_table(None)}
        )
    }
    unapplied = lines[lines["role"] == "unapplied_cash"]
    for offset in range(0, 130, 9):
        day = date(2026, 1, 1) + timedelta(days=offset)
        cut = unapplied[unapplied["posting_date"] <= day]
        signed = (cut["credit_minor"] - cut["debit_minor"]).groupby([cut["entity"], cut["currency"]]).sum()
        journal = {k: int(v) for k, v in signed.items() if v}
        held = ledger.arrow_with("report/unapplied_as_of", members, as_of=day)
        report = {}
        for entity in set(held["entity"].to_pylist()):
            for row in cash_per_currency(held, entity).to_dict("records"):
                value = int(row["on_account_minor"]) + int(row["unidentified_minor"])
                if value:
                    report[(entity, row["currency"])] = value
        assert journal == report, day

"""The journal in foreign currency, worked by hand: cash applied across currencies balanced through
fx_clearing in each document currency; every line also in the entity's functional currency, at the
issue date's rate for the receivable and the value date's for cash; the difference booked as
realised exchange gain or loss; a missing rate refused, naming the pair and the day."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from rules.accounts import AccountMap
from tasks.platform.fx import read_rates
from tasks.platform.policy import PolicyError, load_policy
from tasks.report.journal import JournalProblem, check, journal_lines

from .tables import table

ACCOUNTS, VERSION = load_policy("accounts", AccountMap)  # the shipped map: functional EUR
BEGINNING, END = date(2000, 1, 1), date(2030, 12, 31)

# units per 1 EUR (the ECB's way round): USD 1.05 on Monday 2 March, 1.08 on Friday 6 March
RATES_CSV = """rate_date,base_currency,currency,rate
2026-03-02,EUR,USD,1.05
2026-03-02,EUR,GBP,0.84
2026-03-06,EUR,USD,1.08
2026-03-06,EUR,GBP,0.85
"""
CUSTOMERS = table("""
    | customer_id | name  | currency | payment_terms_days | dunning_profile | language | legal_entity |
    | K1          | Acme  | USD      | 30                 | standard        | en       | DE01         |
    | K9          | Brit  | USD      | 30                 | standard        | en       | UK01         |
""")
# an imported USD invoice of 108.00 (no VAT), issued on 2 March: 108 / 1.05 = 102.857... = 102.86 EUR
INVOICES = table("""
    | invoice_id | customer_id | issue_date | due_date   | currency | net_minor | tax_minor | amount_minor | origin   | kind    |
    | U-1        | K1          | 2026-03-02 | 2026-04-01 | USD      | 108_00    | 0         | 108_00       | ingested | invoice |
""")


def rates(tmp_path: Path, text: str = RATES_CSV) -> pd.DataFrame:
    """The rates as `o2c rates load` reads them (the long CSV), ready for the ledger."""
    path = tmp_path / "rates.csv"
    path.write_text(text, encoding="utf-8")
    return read_rates(path).assign(source=path.name, run_id="cli:test")


def book(tmp_path: Path, payments: str, allocations: str, **more: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {
        "customers": CUSTOMERS,
        "invoices": INVOICES,
        "payments": table(payments),
        "allocations": table(allocations),
        "exchange_rates": rates(tmp_path),
        **more,
    }


def entry(lines: pd.DataFrame, entry_id: str) -> list[tuple]:
    """(account, role, currency, debit, credit, functional debit, functional credit) of an entry."""
    rows = lines[lines["entry_id"] == entry_id]
    columns = ["account", "role", "currency", "debit", "credit", "functional_debit", "functional_credit"]
    return list(rows[columns].itertuples(index=False, name=None))


def journal(ledger, accounts: AccountMap = ACCOUNTS) -> pd.DataFrame:  # noqa: ANN001
    made = journal_lines(ledger, accounts, VERSION, date_from=BEGINNING, date_to=END)
    assert check(made.lines) == []
    return made.lines.to_pandas()


def test_a_usd_invoice_paid_in_eur_books_the_exchange_loss(ledger_of, tmp_path: Path) -> None:
    # 100.00 EUR on 6 March pays the 108.00 USD (1.08): the receivable was 102.86 EUR at the issue
    # date's 1.05; the cash is worth 100.00 EUR: a realised loss of 2.86 EUR
    lines = journal(ledger_of(**book(tmp_path, """
        | payment_id | value_date | amount_minor | currency |
        | P1         | 2026-03-06 | 100_00       | EUR      |
    """, """
        | allocation_id | payment_id | invoice_id | amount_minor | currency | payment_amount_minor | payment_currency | exchange_rate | rate_date  | rule           | rule_version | as_of      |
        | P1/U-1        | P1         | U-1        | 108_00       | USD      | 100_00               | EUR              | 1.08          | 2026-03-06 | cross_currency | v1           | 2026-03-06 |
    """)))  # fmt: skip
    assert entry(lines, "INV:U-1") == [
        ("1200", "receivable", "USD", "108.00", "0.00", "102.86", "0.00"),
        ("4200", "revenue", "USD", "0.00", "108.00", "0.00", "102.86"),
    ]
    assert entry(lines, "PAY:P1@DE01") == [
        ("1800", "bank", "EUR", "100.00", "0.00", "100.00", "0.00"),
        ("3272", "unapplied_cash", "EUR", "0.00", "100.00", "0.00", "100.00"),
    ]
    # EUR: Dr unapplied cash 100.00 / Cr fx clearing 100.00; USD: Dr fx clearing 108.00 / Cr
    # receivable 108.00; in EUR the clearing nets to 0 and the loss balances the entry
    assert entry(lines, "APP:P1/U-1") == [
        ("1460", "fx_clearing", "USD", "108.00", "0.00", "100.00", "0.00"),
        ("3272", "unapplied_cash", "EUR", "100.00", "0.00", "100.00", "0.00"),
        ("6880", "fx_loss", "USD", "0.00", "0.00", "2.86", "0.00"),
        ("1200", "receivable", "USD", "0.00", "108.00", "0.00", "102.86"),
        ("1460", "fx_clearing", "EUR", "0.00", "100.00", "0.00", "100.00"),
    ]
    app = lines[lines["entry_id"] == "APP:P1/U-1"].set_index("role")
    assert app.loc["receivable", "rate"] == "0.9523809524" and app.loc["receivable", "rate_date"] == date(
        2026, 3, 2
    )
    assert app.loc["unapplied_cash", "rate"] == "1" and app.loc["fx_loss", "rate"] is None
    receivable = lines[lines["role"] == "receivable"]
    assert receivable["functional_debit_minor"].sum() == receivable["functional_credit_minor"].sum()
    assert set(lines["functional_currency"]) == {"EUR"}


def test_the_same_invoice_paid_in_usd_is_valued_at_the_value_dates_rate(ledger_of, tmp_path: Path) -> None:
    # 108.00 USD on 6 March is 100.00 EUR at 1.08: the same loss of 2.86, no currency exchange
    lines = journal(ledger_of(**book(tmp_path, """
        | payment_id | value_date | amount_minor | currency |
        | P1         | 2026-03-06 | 108_00       | USD      |
    """, """
        | allocation_id | payment_id | invoice_id | amount_minor | currency | rule | rule_version | as_of      |
        | P1/U-1        | P1         | U-1        | 108_00       | USD      | t    | v1           | 2026-03-06 |
    """)))  # fmt: skip
    assert entry(lines, "PAY:P1@DE01") == [
        ("1800", "bank", "USD", "108.00", "0.00", "100.00", "0.00"),
        ("3272", "unapplied_cash", "USD", "0.00", "108.00", "0.00", "100.00"),
    ]
    assert entry(lines, "APP:P1/U-1") == [
        ("3272", "unapplied_cash", "USD", "108.00", "0.00", "100.00", "0.00"),
        ("6880", "fx_loss", "USD", "0.00", "0.00", "2.86", "0.00"),
        ("1200", "receivable", "USD", "0.00", "108.00", "0.00", "102.86"),
    ]


UK_MAP = """version: 1
entities:
  default:
    receivable: "1200"
    revenue: {other: "4200"}
    tax_payable: {other: "3800"}
    bank: "1800"
    unapplied_cash: "3272"
    cash_discount: "4730"
    small_difference: "6960"
    write_off: "6930"
    credit_note_clearing: "1200"
    fx_clearing: "1460"
    fx_gain: "4840"
    fx_loss: "6880"
    functional_currency: EUR
  UK01:
    functional_currency: GBP
    fx_gain: "7900"
"""


def uk_accounts(tmp_path: Path, text: str = UK_MAP) -> AccountMap:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "accounts.yaml").write_text(text, encoding="utf-8")
    return load_policy("accounts", AccountMap, rules)[0]


def test_a_gbp_entity_values_in_pounds_crossing_dollars_through_the_euro(ledger_of, tmp_path: Path) -> None:
    # UK01 keeps its books in GBP. Its USD invoice of 108.00 on 2 March: GBP 0.84 / USD 1.05 per
    # EUR = 0.8 GBP per USD: 86.40 GBP. Paid by 100.00 EUR on 6 March: 0.85 GBP per EUR = 85.00
    # GBP. Loss 1.40 GBP; a EUR 100.00 payment of a GBP 85.00 invoice at the same rate: no difference,
    # and a gain on a GBP invoice paid by more than it is worth
    invoices = table("""
        | invoice_id | customer_id | issue_date | due_date   | currency | net_minor | tax_minor | amount_minor | origin   | kind    |
        | U-9        | K9          | 2026-03-02 | 2026-04-01 | USD      | 108_00    | 0         | 108_00       | ingested | invoice |
        | G-9        | K9          | 2026-03-02 | 2026-04-01 | GBP      | 84_00     | 0         | 84_00        | ingested | invoice |
    """)  # fmt: skip
    ledger = ledger_of(**book(tmp_path, """
        | payment_id | value_date | amount_minor | currency |
        | P9         | 2026-03-06 | 200_00       | EUR      |
    """, """
        | allocation_id | payment_id | invoice_id | amount_minor | currency | payment_amount_minor | payment_currency | exchange_rate | rate_date  | rule           | rule_version | as_of      |
        | P9/U-9        | P9         | U-9        | 108_00       | USD      | 100_00               | EUR              | 1.08          | 2026-03-06 | cross_currency | v1           | 2026-03-06 |
        | P9/G-9        | P9         | G-9        | 84_00        | GBP      | 100_00               | EUR              | 0.84          | 2026-03-02 | cross_currency | v1           | 2026-03-06 |
    """, invoices=invoices))  # fmt: skip
    lines = journal(ledger, uk_accounts(tmp_path))
    assert entry(lines, "INV:U-9")[0] == ("1200", "receivable", "USD", "108.00", "0.00", "86.40", "0.00")
    assert entry(lines, "APP:P9/U-9") == [
        ("1460", "fx_clearing", "USD", "108.00", "0.00", "85.00", "0.00"),
        ("3272", "unapplied_cash", "EUR", "100.00", "0.00", "85.00", "0.00"),
        ("6880", "fx_loss", "USD", "0.00", "0.00", "1.40", "0.00"),
        ("1200", "receivable", "USD", "0.00", "108.00", "0.00", "86.40"),
        ("1460", "fx_clearing", "EUR", "0.00", "100.00", "0.00", "85.00"),
    ]
    # 84.00 GBP billed; 100.00 EUR given is 85.00 GBP on 6 March: a gain of 1.00 GBP (UK01's account)
    assert entry(lines, "APP:P9/G-9") == [
        ("3272", "unapplied_cash", "EUR", "100.00", "0.00", "85.00", "0.00"),
        ("1460", "fx_clearing", "GBP", "84.00", "0.00", "85.00", "0.00"),
        ("1200", "receivable", "GBP", "0.00", "84.00", "0.00", "84.00"),
        ("1460", "fx_clearing", "EUR", "0.00", "100.00", "0.00", "85.00"),
        ("7900", "fx_gain", "GBP", "0.00", "0.00", "0.00", "1.00"),
    ]
    crossed = lines[(lines["entry_id"] == "INV:U-9") & (lines["role"] == "receivable")]
    assert crossed["rate"].tolist() == ["0.8"] and set(lines["functional_currency"]) == {"GBP"}


def test_an_adjustment_on_a_foreign_invoice_is_valued_at_its_issue_dates_rate(
    ledger_of, tmp_path: Path
) -> None:
    # 105.84 USD on 6 March (98.00 EUR at 1.08) and a 2.16 USD discount settle the 108.00 USD invoice.
    # The receivable runs down from 102.86 EUR: 2.16 USD left is 2.06 EUR (2.16 / 1.05), so the cash
    # clears 100.80 and the discount the last 2.06 at the issue date's rate; the loss is 2.80
    adjustments = table("""
        | adjustment_id | invoice_id | kind                   | amount_minor | currency | reason | rule_version | as_of      |
        | D1            | U-1        | early_payment_discount | 2_16         | USD      | 2 %    | v1           | 2026-03-06 |
    """)  # fmt: skip
    lines = journal(ledger_of(**book(tmp_path, """
        | payment_id | value_date | amount_minor | currency |
        | P1         | 2026-03-06 | 105_84       | USD      |
    """, """
        | allocation_id | payment_id | invoice_id | amount_minor | currency | rule | rule_version | as_of      |
        | P1/U-1        | P1         | U-1        | 105_84       | USD      | t    | v1           | 2026-03-06 |
    """, invoice_adjustments=adjustments)))  # fmt: skip
    assert entry(lines, "APP:P1/U-1") == [
        ("3272", "unapplied_cash", "USD", "105.84", "0.00", "98.00", "0.00"),
        ("6880", "fx_loss", "USD", "0.00", "0.00", "2.80", "0.00"),
        ("1200", "receivable", "USD", "0.00", "105.84", "0.00", "100.80"),
    ]
    assert entry(lines, "ADJ:D1") == [
        ("4730", "cash_discount", "USD", "2.16", "0.00", "2.06", "0.00"),
        ("1200", "receivable", "USD", "0.00", "2.16", "0.00", "2.06"),
    ]
    receivable = lines[lines["role"] == "receivable"]  # settled: exactly 0 in EUR
    assert receivable["functional_debit_minor"].sum() == receivable["functional_credit_minor"].sum()


def test_a_missing_rate_is_refused_naming_the_pair_and_the_day(ledger_of, tmp_path: Path) -> None:
    only_march_6 = "rate_date,base_currency,currency,rate\n2026-03-06,EUR,USD,1.08\n"
    ledger = ledger_of(**{**book(tmp_path, """
        | payment_id | value_date | amount_minor | currency |
        | P1         | 2026-03-06 | 108_00       | USD      |
    """, """
        | allocation_id | payment_id | invoice_id | amount_minor | currency | rule | rule_version | as_of      |
        | P1/U-1        | P1         | U-1        | 108_00       | USD      | t    | v1           | 2026-03-06 |
    """), "exchange_rates": rates(tmp_path, only_march_6)})  # fmt: skip
    with pytest.raises(JournalProblem) as refused:
        journal_lines(ledger, ACCOUNTS, VERSION, date_from=BEGINNING, date_to=END)
    assert "no exchange rate for USD to EUR on 2026-03-02" in str(refused.value)
    assert "o2c rates load FILE" in str(refused.value) and "remove functional_currency" in str(refused.value)
    # cash applied on 6 March still needs 2 March's rate: its receivable is valued at the issue date's
    with pytest.raises(JournalProblem, match="USD to EUR on 2026-03-02"):
        journal_lines(ledger, ACCOUNTS, VERSION, date_from=date(2026, 3, 6), date_to=date(2026, 3, 6))


def test_without_a_functional_currency_the_journal_is_in_document_currencies(
    ledger_of, tmp_path: Path
) -> None:
    plain = uk_accounts(tmp_path, UK_MAP.replace("    functional_currency: EUR\n", "").split("  UK01:")[0])
    lines = journal(ledger_of(**{**book(tmp_path, """
        | payment_id | value_date | amount_minor | currency |
        | P1         | 2026-03-06 | 100_00       | EUR      |
    """, """
        | allocation_id | payment_id | invoice_id | amount_minor | currency | payment_amount_minor | payment_currency | exchange_rate | rate_date  | rule           | rule_version | as_of      |
        | P1/U-1        | P1         | U-1        | 108_00       | USD      | 100_00               | EUR              | 1.08          | 2026-03-06 | cross_currency | v1           | 2026-03-06 |
    """), "exchange_rates": rates(tmp_path, "rate_date,base_currency,currency,rate\n")}), plain)  # fmt: skip
    assert [r[:5] for r in entry(lines, "APP:P1/U-1")] == [
        ("1460", "fx_clearing", "USD", "108.00", "0.00"),
        ("3272", "unapplied_cash", "EUR", "100.00", "0.00"),
        ("1200", "receivable", "USD", "0.00", "108.00"),
        ("1460", "fx_clearing", "EUR", "0.00", "100.00"),
    ]
    assert lines["functional_currency"].isna().all() and lines["rate"].isna().all()
    assert lines["functional_debit"].isna().all()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("    functional_currency: EURO\n", "'EURO' is not an ISO 4217 currency code"),
        ("    functional_currency: EUR\n", "needs"),
    ],
)
def test_a_bad_functional_currency_is_named(tmp_path: Path, text: str, problem: str) -> None:
    base = UK_MAP.split("    fx_clearing")[0] + text
    with pytest.raises(PolicyError, match="accounts.yaml") as caught:
        uk_accounts(tmp_path, base)
    assert "functional_currency" in str(caught.value) or "fx_" in str(caught.value)
    if problem != "needs":
        assert problem in str(caught.value)
    else:
        assert "no account for fx_gain, fx_loss, fx_clearing" in str(caught.value)

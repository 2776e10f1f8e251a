"""An early-payment discount in the journal corrects the output VAT (§ 17 UStG, Art. 90 of the VAT
directive), worked by hand: the discount split over the invoice's VAT rates in proportion to its
gross per rate, the VAT of each part debited to that rate's tax_payable account, the net to
cash_discount, the receivable credited gross; an imported invoice at `other`; a 0 % invoice without
a VAT line; a USD invoice valued in EUR; and every discount entry of random books balanced."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd

from tasks.report.journal import check, journal_lines

from .tables import table
from .test_journal import (
    ACCOUNTS,
    BEGINNING,
    END,
    USD_FR01,
    VERSION,
    _receivable_is_open_amount,
    entry,
    random_book,
)
from .test_journal_fx import entry as fx_entry
from .test_journal_fx import rates

CUSTOMERS = table("""
    | customer_id | name  | currency | payment_terms_days | dunning_profile | language | legal_entity |
    | K1          | Acme  | EUR      | 30                 | standard        | de       | DE01         |
    | K3          | Cargo | USD      | 30                 | standard        | en       | DE01         |
""")
# D-1 and D-2: 100.00 net at 19 % and 50.00 at 7 %, gross 119.00 + 53.50 = 172.50; I-9 imported,
# 595.00 with 95.00 VAT (no lines); Z-1 200.00 at 0 %; U-1 100.00 USD at 19 %, issued 2 March
# (1.05 USD per EUR)
INVOICES = table("""
    | invoice_id | customer_id | issue_date | due_date   | currency | net_minor | tax_minor | amount_minor | origin   | kind    | legal_entity |
    | D-1        | K1          | 2026-03-02 | 2026-04-01 | EUR      | 150_00    | 22_50     | 172_50       | billed   | invoice | DE01         |
    | D-2        | K1          | 2026-03-02 | 2026-04-01 | EUR      | 150_00    | 22_50     | 172_50       | billed   | invoice | DE01         |
    | I-9        | K1          | 2026-03-02 | 2026-04-01 | EUR      | 500_00    | 95_00     | 595_00       | ingested | invoice |              |
    | Z-1        | K1          | 2026-03-02 | 2026-04-01 | EUR      | 200_00    | 0         | 200_00       | billed   | invoice | DE01         |
    | U-1        | K3          | 2026-03-02 | 2026-04-01 | USD      | 100_00    | 19_00     | 119_00       | billed   | invoice | DE01         |
""")
LINES = table("""
    | invoice_id | line_no | quantity | unit_price_minor | tax_rate_ppm | net_minor | tax_minor | currency |
    | D-1        | 1       | 1        | 100_00           | 190_000      | 100_00    | 19_00     | EUR      |
    | D-1        | 2       | 1        | 50_00            | 70_000       | 50_00     | 3_50      | EUR      |
    | D-2        | 1       | 1        | 100_00           | 190_000      | 100_00    | 19_00     | EUR      |
    | D-2        | 2       | 1        | 50_00            | 70_000       | 50_00     | 3_50      | EUR      |
    | Z-1        | 1       | 1        | 200_00           | 0            | 200_00    | 0         | EUR      |
    | U-1        | 1       | 1        | 100_00           | 190_000      | 100_00    | 19_00     | USD      |
""")
PAYMENTS = table("""
    | payment_id | value_date | amount_minor | currency |
    | P1         | 2026-03-10 | 169_05       | EUR      |
""")
ALLOCATIONS = table("""
    | allocation_id | payment_id | invoice_id | amount_minor | currency | rule           | rule_version | as_of      |
    | P1/D-1        | P1         | D-1        | 169_05       | EUR      | invoice_number | v1-test      | 2026-03-10 |
""")
ADJUSTMENTS = table("""
    | adjustment_id | invoice_id | kind                   | amount_minor | currency | reason | rule_version | as_of      |
    | S-1           | D-1        | early_payment_discount | 3_45         | EUR      | 2 %    | v1-test      | 2026-03-10 |
    | S-2           | D-2        | early_payment_discount | 1_00         | EUR      | odd    | v1-test      | 2026-03-10 |
    | S-9           | I-9        | early_payment_discount | 10_00        | EUR      | odd    | v1-test      | 2026-03-10 |
    | S-0           | Z-1        | early_payment_discount | 4_00         | EUR      | 2 %    | v1-test      | 2026-03-10 |
    | S-U           | U-1        | early_payment_discount | 2_38         | USD      | 2 %    | v1-test      | 2026-03-10 |
""")


def book(tmp_path: Path) -> dict[str, pd.DataFrame]:
    return {
        "customers": CUSTOMERS,
        "invoices": INVOICES,
        "invoice_lines": LINES,
        "payments": PAYMENTS,
        "allocations": ALLOCATIONS,
        "invoice_adjustments": ADJUSTMENTS,
        "exchange_rates": rates(tmp_path),
    }


def test_a_discount_is_split_over_the_invoices_rates_and_corrects_their_vat(
    ledger_of, tmp_path: Path
) -> None:
    ledger = ledger_of(**book(tmp_path))
    made = journal_lines(ledger, ACCOUNTS, VERSION, date_from=BEGINNING, date_to=END)
    assert check(made.lines) == []
    lines = made.lines.to_pandas()
    # 2 % of 172.50 = 3.45, split by gross: 3.45 x 53.50 / 172.50 = 1.07 at 7 %, the rest 2.38 at
    # 19 %; VAT 1.07 x 7 / 107 = 0.07 and 2.38 x 19 / 119 = 0.38; net 1.00 + 2.00 = 3.00
    assert entry(lines, "ADJ:S-1") == [
        ("4730", "cash_discount", None, "3.00", "0.00"),
        ("3806", "tax_payable", "19", "0.38", "0.00"),
        ("3801", "tax_payable", "7", "0.07", "0.00"),
        ("1200", "receivable", None, "0.00", "3.45"),
    ]
    # 1.00 does not split evenly: the running total after 7 % is 1.00 x 53.50 / 172.50 = 0.3101...
    # = 0.31, the 19 % part the rest 0.69; VAT 0.31 x 7 / 107 = 0.0202... = 0.02 and
    # 0.69 x 19 / 119 = 0.1101... = 0.11; net 0.87
    assert entry(lines, "ADJ:S-2") == [
        ("4730", "cash_discount", None, "0.87", "0.00"),
        ("3806", "tax_payable", "19", "0.11", "0.00"),
        ("3801", "tax_payable", "7", "0.02", "0.00"),
        ("1200", "receivable", None, "0.00", "1.00"),
    ]
    # imported, no lines: its VAT share of its amount, 10.00 x 95 / 595 = 1.596... = 1.60 at `other`
    assert entry(lines, "ADJ:S-9") == [
        ("4730", "cash_discount", None, "8.40", "0.00"),
        ("3800", "tax_payable", None, "1.60", "0.00"),
        ("1200", "receivable", None, "0.00", "10.00"),
    ]
    # 0 %: no VAT to correct, the discount is all net
    assert entry(lines, "ADJ:S-0") == [
        ("4730", "cash_discount", None, "4.00", "0.00"),
        ("1200", "receivable", None, "0.00", "4.00"),
    ]
    # D-1 is settled: 169.05 cash and 3.45 discount
    _receivable_is_open_amount(ledger, END)


def test_a_foreign_discount_balances_in_functional_currency(ledger_of, tmp_path: Path) -> None:
    lines = journal_lines(ledger_of(**book(tmp_path)), ACCOUNTS, VERSION, date_from=BEGINNING, date_to=END)
    lines = lines.lines.to_pandas()
    # 2.38 USD on 119.00 USD at 19 %: 0.38 VAT (0.38 / 1.05 = 0.36 EUR) and 2.00 net. The receivable
    # runs down from 119.00 / 1.05 = 113.33 EUR to 116.62 / 1.05 = 111.07: 2.26 EUR; the net line
    # balances the entry, 2.26 - 0.36 = 1.90 EUR
    assert fx_entry(lines, "ADJ:S-U") == [
        ("4730", "cash_discount", "USD", "2.00", "0.00", "1.90", "0.00"),
        ("3806", "tax_payable", "USD", "0.38", "0.00", "0.36", "0.00"),
        ("1200", "receivable", "USD", "0.00", "2.38", "0.00", "2.26"),
    ]


def test_every_discount_entry_of_random_books_balances_in_both_currencies(ledger_of) -> None:
    seen = 0
    for seed in range(6):
        accounts = USD_FR01 if seed % 2 else ACCOUNTS
        ledger = ledger_of(**random_book(random.Random(seed)))
        lines = journal_lines(ledger, accounts, VERSION, date_from=BEGINNING, date_to=END).lines.to_pandas()
        discounts = lines[lines["document_type"] == "early_payment_discount"]
        signed = discounts["debit_minor"] - discounts["credit_minor"]
        functional = discounts["functional_debit_minor"] - discounts["functional_credit_minor"]
        assert (signed.groupby(discounts["entry_id"]).sum() == 0).all(), seed
        assert (functional.groupby(discounts["entry_id"]).sum() == 0).all(), seed
        seen += int((discounts["role"] == "tax_payable").sum())
    assert seen > 0  # the books give discounts on invoices with VAT

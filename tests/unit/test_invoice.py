"""Invoice: fulfilled orders in, numbered invoices out; tax rounded per line, numbers without gaps."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from tasks.invoice.billing import Billing, bill_orders
from tasks.invoice.issue import line_totals

from .tables import table

AS_OF = date(2026, 3, 31)

NO_SEQUENCES = table("""
    | series | year | last_number |
""")


def bill(
    orders: pd.DataFrame,
    lines: pd.DataFrame,
    sequences: pd.DataFrame = NO_SEQUENCES,
    *,
    as_of: date = AS_OF,
    series: str = "O2C",
) -> Billing:
    return bill_orders(orders, lines, sequences, as_of=as_of, series=series)


def test_tax_is_rounded_half_away_from_zero_on_each_line() -> None:
    lines = table("""
        | order_id | line_no | quantity | unit_price_minor | tax_rate_ppm |
        | SO-1     | 1       | 3        | 333              | 190000       |
        | SO-1     | 2       | 1        | 5                | 100000       |
        | SO-1     | 3       | 1        | 25               | 100000       |
        | SO-1     | 4       | 1        | 14               | 100000       |
        | SO-1     | 5       | -1       | 25               | 100000       |
        | SO-1     | 6       | 2        | 1999             | 0            |
        | SO-1     | 7       | 1        | 1                | 500000       |
        | SO-1     | 8       | 1        | 1                | 499999       |
    """)
    totals = line_totals(lines)
    # exact tax per line:    189.81  0.5  2.5  1.4  -2.5  0     0.5  0.499999
    assert totals["net_minor"].tolist() == [999, 5, 25, 14, -25, 3998, 1, 1]
    assert totals["tax_minor"].tolist() == [190, 1, 3, 1, -3, 0, 1, 0]


ORDERS = table("""
    | order_id | customer_id | currency | fulfilled_date | payment_terms_days |
    | SO-1     | C1          | EUR      | 2026-03-02     | 30                 |
""")


def test_invoice_total_is_the_sum_of_its_rounded_lines() -> None:
    # Two lines of 0.05 at 10 %: each line's tax of 0.005 rounds to 0.01, so the invoice carries
    # 0.02 of tax, where rounding the invoice's 0.01 of tax once would give 0.01.
    lines = table("""
        | order_id | line_no | quantity | unit_price_minor | tax_rate_ppm |
        | SO-1     | 1       | 1        | 5                | 100000       |
        | SO-1     | 2       | 1        | 5                | 100000       |
    """)
    invoice = bill(ORDERS, lines).invoices.iloc[0]
    assert (invoice["net_minor"], invoice["tax_minor"], invoice["amount_minor"]) == (10, 2, 12)


def test_invoice_with_lines_at_different_rates() -> None:
    lines = table("""
        | order_id | line_no | quantity | unit_price_minor | tax_rate_ppm |
        | SO-1     | 1       | 3        | 19_99            | 190000       |
        | SO-1     | 2       | 2        | 4_50             | 70000        |
        | SO-1     | 3       | 1        | 100_00           | 0            |
    """)
    # line  net      tax
    #   1   59.97    11.3943 -> 11.39
    #   2    9.00     0.63
    #   3  100.00     0.00
    invoice = bill(ORDERS, lines).invoices.iloc[0]
    assert (invoice["net_minor"], invoice["tax_minor"], invoice["amount_minor"]) == (168_97, 12_02, 180_99)


THREE_ORDERS = table("""
    | order_id | customer_id | currency | fulfilled_date | payment_terms_days |
    | SO-3     | C2          | USD      | 2026-03-05     | 14                 |
    | SO-1     | C1          | EUR      | 2026-03-02     | 30                 |
    | SO-2     | C1          | EUR      | 2026-03-05     | 0                  |
""")
THREE_ORDERS_LINES = table("""
    | order_id | line_no | quantity | unit_price_minor | tax_rate_ppm |
    | SO-1     | 1       | 1        | 100_00           | 190000       |
    | SO-2     | 1       | 2        | 50_00            | 190000       |
    | SO-3     | 1       | 1        | 10_00            | 0            |
""")


def test_numbers_continue_the_years_series_in_fulfilment_order() -> None:
    sequences = table("""
        | series | year | last_number |
        | O2C    | 2026 | 41          |
        | O2C    | 2025 | 900         |
        | OTHER  | 2026 | 7           |
    """)
    billing = bill(THREE_ORDERS, THREE_ORDERS_LINES, sequences)
    got = billing.invoices[
        ["invoice_id", "order_id", "customer_id", "currency", "amount_minor"]
    ].values.tolist()
    assert got == [
        ["O2C-2026-000042", "SO-1", "C1", "EUR", 119_00],  # fulfilled first
        ["O2C-2026-000043", "SO-2", "C1", "EUR", 119_00],  # same day as SO-3: by order id
        ["O2C-2026-000044", "SO-3", "C2", "USD", 10_00],
    ]
    assert billing.sequences.to_dict("records") == [{"series": "O2C", "year": 2026, "last_number": 44}]


def test_a_new_year_restarts_at_one() -> None:
    sequences = table("""
        | series | year | last_number |
        | O2C    | 2025 | 1234        |
    """)
    billing = bill(THREE_ORDERS, THREE_ORDERS_LINES, sequences, as_of=date(2026, 1, 1))
    assert billing.invoices["invoice_id"].tolist() == [
        "O2C-2026-000001",
        "O2C-2026-000002",
        "O2C-2026-000003",
    ]
    assert billing.sequences.to_dict("records") == [{"series": "O2C", "year": 2026, "last_number": 3}]


def test_the_series_is_the_callers() -> None:
    sequences = table("""
        | series | year | last_number |
        | O2C    | 2026 | 41          |
        | EU     | 2026 | 7           |
    """)
    billing = bill(THREE_ORDERS, THREE_ORDERS_LINES, sequences, series="EU")
    assert billing.invoices["invoice_id"].tolist() == ["EU-2026-000008", "EU-2026-000009", "EU-2026-000010"]


def test_due_date_is_the_issue_date_plus_the_customers_terms() -> None:
    billing = bill(THREE_ORDERS, THREE_ORDERS_LINES)
    got = billing.invoices[["order_id", "issue_date", "due_date"]].values.tolist()
    assert got == [
        ["SO-1", AS_OF, date(2026, 4, 30)],  # 30 days
        ["SO-2", AS_OF, AS_OF],  # due on receipt
        ["SO-3", AS_OF, date(2026, 4, 14)],  # 14 days
    ]


def test_due_date_crosses_a_leap_day() -> None:
    billing = bill(
        ORDERS, THREE_ORDERS_LINES[THREE_ORDERS_LINES["order_id"] == "SO-1"], as_of=date(2028, 2, 15)
    )
    assert billing.invoices.at[0, "due_date"] == date(2028, 3, 16)


def test_orders_without_lines_are_skipped_and_take_no_number() -> None:
    orders = table("""
        | order_id | customer_id | currency | fulfilled_date | payment_terms_days |
        | SO-1     | C1          | EUR      | 2026-03-01     | 30                 |
        | SO-2     | C1          | EUR      | 2026-03-02     | 30                 |
        | SO-3     | C1          | EUR      | 2026-03-03     | 30                 |
    """)
    lines = THREE_ORDERS_LINES[THREE_ORDERS_LINES["order_id"] != "SO-2"]
    billing = bill(orders, lines)
    assert billing.invoices[["invoice_id", "order_id"]].values.tolist() == [
        ["O2C-2026-000001", "SO-1"],
        ["O2C-2026-000002", "SO-3"],
    ]
    assert billing.skipped.to_dict("records") == [{"order_id": "SO-2", "reason": "order has no lines"}]
    assert billing.sequences["last_number"].tolist() == [2]


def test_no_lines_at_all_bills_nothing_and_consumes_no_number() -> None:
    sequences = table("""
        | series | year | last_number |
        | O2C    | 2026 | 41          |
    """)
    billing = bill(THREE_ORDERS, THREE_ORDERS_LINES.iloc[0:0], sequences)
    assert billing.invoices.empty
    assert billing.sequences.empty
    assert sorted(billing.skipped["order_id"]) == ["SO-1", "SO-2", "SO-3"]


def test_lines_of_orders_not_being_billed_are_ignored() -> None:
    billing = bill(ORDERS, THREE_ORDERS_LINES)
    assert billing.invoices[["order_id", "amount_minor"]].values.tolist() == [["SO-1", 119_00]]


def test_invoices_are_marked_billed() -> None:
    invoice = bill(ORDERS, THREE_ORDERS_LINES).invoices.iloc[0]
    assert invoice["origin"] == "billed"
    assert list(bill(ORDERS, THREE_ORDERS_LINES).invoices.columns) == [
        "invoice_id",
        "customer_id",
        "order_id",
        "issue_date",
        "due_date",
        "currency",
        "net_minor",
        "tax_minor",
        "discount_date",
        "discount_amount_minor",
        "amount_minor",
        "origin",
        "kind",
        "credit_for_invoice",
    ]


def test_terms_set_the_due_date_and_the_early_payment_discount() -> None:
    orders = table("""
        | order_id | customer_id | currency | fulfilled_date | payment_terms_days | payment_terms |
        | SO-1     | C1          | EUR      | 2026-03-02     | 30                 | 2% 10 net 30  |
        | SO-2     | C2          | EUR      | 2026-03-02     | 30                 | eom 15        |
        | SO-3     | C3          | EUR      | 2026-03-02     | 45                 |               |
    """)
    billing = bill(orders, THREE_ORDERS_LINES)
    rows = billing.invoices[["order_id", "due_date", "discount_date", "discount_amount_minor"]]
    assert [[None if pd.isna(v) else v for v in row] for row in rows.values.tolist()] == [
        ["SO-1", date(2026, 4, 30), date(2026, 4, 10), 2_38],  # issued 31 March; 2 % of 119.00
        ["SO-2", date(2026, 4, 15), None, None],  # the end of March plus 15
        ["SO-3", date(2026, 5, 15), None, None],  # no terms written: net 45
    ]


def test_the_invoice_keeps_its_lines_as_billed() -> None:
    billing = bill(ORDERS, THREE_ORDERS_LINES)
    assert billing.lines[
        ["invoice_id", "line_no", "order_id", "net_minor", "tax_minor", "currency"]
    ].values.tolist() == [["O2C-2026-000001", 1, "SO-1", 100_00, 19_00, "EUR"]]


def test_the_completeness_control_balances_orders_in_with_invoiced_and_skipped() -> None:
    orders = table("""
        | order_id | customer_id | currency | fulfilled_date | payment_terms_days |
        | SO-1     | C1          | EUR      | 2026-03-02     | 30                 |
        | SO-2     | C1          | USD      | 2026-03-02     | 30                 |
        | SO-9     | C1          | EUR      | 2026-03-02     | 30                 |
    """)
    billing = bill(orders, THREE_ORDERS_LINES)  # SO-9 has no lines: skipped with its reason
    assert billing.skipped.values.tolist() == [["SO-9", "order has no lines"]]
    assert billing.control.values.tolist() == [
        ["EUR", 2, 119_00, 2, 119_00],
        ["USD", 1, 119_00, 1, 119_00],
    ]


def test_the_completeness_checkpoint_halts_when_an_order_is_lost() -> None:
    from tasks.platform.checkpoint import run_checkpoint
    from tasks.platform.contracts import load_contract

    lost = table("""
        | currency | orders_in | amount_in_minor | orders_out | amount_out_minor |
        | EUR      | 3         | 300_00          | 2          | 200_00           |
    """)
    result = run_checkpoint(lost, load_contract("invoice_control"), source="test")
    assert result.outcome == "halted"
    balanced = lost.assign(orders_out=3, amount_out_minor=300_00)
    assert run_checkpoint(balanced, load_contract("invoice_control"), source="test").outcome != "halted"


# ---------------------------------------------------------------------------------------------------
# Credit notes: cancellations and returns

CREDITS = table("""
    | order_id | customer_id | currency | fulfilled_date | payment_terms_days | credit_for |
    | SO-1     | C1          | EUR      | 2026-03-02     | 30                 |            |
    | RET-1    | C1          | EUR      | 2026-03-05     | 30                 | SO-1       |
    | RET-2    | C1          | EUR      | 2026-03-06     | 30                 | SO-OLD     |
    | RET-3    | C1          | EUR      | 2026-03-07     | 30                 | SO-NONE    |
    | RET-4    | C1          | EUR      | 2026-03-08     | 30                 | SO-1       |
    | BAD-1    | C1          | EUR      | 2026-03-09     | 30                 |            |
    | MIX-1    | C1          | EUR      | 2026-03-10     | 30                 |            |
""")
CREDIT_LINES = table("""
    | order_id | line_no | quantity | unit_price_minor | tax_rate_ppm |
    | SO-1     | 1       | 3        | 100_00           | 190000       |
    | RET-1    | 1       | -1       | 100_00           | 190000       |
    | RET-2    | 1       | -2       | 10_00            | 0            |
    | RET-3    | 1       | -1       | 10_00            | 0            |
    | RET-4    | 1       | 1        | 100_00           | 190000       |
    | BAD-1    | 1       | -1       | 10_00            | 0            |
    | MIX-1    | 1       | 1        | 10_00            | 0            |
    | MIX-1    | 2       | -2       | 10_00            | 0            |
""")
BILLED_BEFORE = table("""
    | order_id | invoice_id      | customer_id | currency | open_minor |
    | SO-OLD   | O2C-2025-000900 | C1          | EUR      | 5_00       |
""")


@pytest.fixture
def credited() -> Billing:
    sequences = table("""
        | series | year | last_number |
        | O2C-CN | 2026 | 4           |
    """)
    return bill_orders(CREDITS, CREDIT_LINES, sequences, as_of=AS_OF, series="O2C", billed=BILLED_BEFORE)


def test_a_return_becomes_a_credit_note_against_the_invoice_of_the_order_it_credits(
    credited: Billing,
) -> None:
    rows = credited.invoices[
        ["invoice_id", "kind", "order_id", "amount_minor", "credit_for_invoice", "due_date"]
    ]
    assert rows.values.tolist() == [
        ["O2C-2026-000001", "invoice", "SO-1", 357_00, None, date(2026, 4, 30)],
        ["O2C-CN-2026-000005", "credit_note", "RET-1", -119_00, "O2C-2026-000001", AS_OF],
        ["O2C-CN-2026-000006", "credit_note", "RET-2", -20_00, "O2C-2025-000900", AS_OF],
        ["O2C-CN-2026-000007", "credit_note", "BAD-1", -10_00, None, AS_OF],  # returns naming no order
    ]
    assert credited.sequences.values.tolist() == [
        ["O2C", 2026, 1],
        ["O2C-CN", 2026, 7],
    ]  # each series gapless


def test_a_credit_note_takes_at_most_what_is_open_off_its_invoice(credited: Billing) -> None:
    assert credited.adjustments[["adjustment_id", "invoice_id", "amount_minor"]].values.tolist() == [
        ["O2C-CN-2026-000005/O2C-2026-000001", "O2C-2026-000001", 119_00],
        ["O2C-CN-2026-000005/applied", "O2C-CN-2026-000005", -119_00],
        # only 5.00 was still open on the old invoice: the other 15.00 stays open on the credit note,
        # the customer's credit
        ["O2C-CN-2026-000006/O2C-2025-000900", "O2C-2025-000900", 5_00],
        ["O2C-CN-2026-000006/applied", "O2C-CN-2026-000006", -5_00],
    ]
    assert set(credited.adjustments["kind"]) == {"credit_note"}


def test_a_credit_that_cannot_be_placed_is_skipped_with_its_reason(credited: Billing) -> None:
    assert credited.skipped.values.tolist() == [
        ["RET-3", "credits order SO-NONE, which no invoice bills"],
        ["RET-4", "a cancellation or return has lines with positive quantities"],
        ["MIX-1", "its lines total below zero but are not all returns: bill the sale and the return apart"],
    ]
    # in: 357.00 - 119.00 - 20.00 - 10.00 + 119.00 - 10.00 - 10.00; out: four billed, three skipped
    assert credited.control.values.tolist() == [["EUR", 7, 307_00, 7, 307_00]]


def test_credit_note_lines_keep_their_negative_quantities(credited: Billing) -> None:
    notes = credited.lines[credited.lines["invoice_id"].str.contains("-CN-")]
    assert notes[["invoice_id", "quantity", "net_minor", "tax_minor"]].values.tolist() == [
        ["O2C-CN-2026-000005", -1, -100_00, -19_00],
        ["O2C-CN-2026-000006", -2, -20_00, 0],
        ["O2C-CN-2026-000007", -1, -10_00, 0],
    ]


def test_terms_in_instalments_split_the_invoice_and_set_its_last_due_date() -> None:
    orders = table("""
        | order_id | customer_id | currency | fulfilled_date | payment_terms_days | payment_terms                       |
        | SO-1     | C1          | EUR      | 2026-03-02     | 30                 | net 30, 3 instalments every 30 days |
    """)
    billing = bill(orders, THREE_ORDERS_LINES)
    assert billing.invoices[["invoice_id", "amount_minor", "due_date"]].values.tolist() == [
        ["O2C-2026-000001", 119_00, date(2026, 6, 29)]
    ]
    assert billing.instalments.values.tolist() == [
        ["O2C-2026-000001", 1, date(2026, 4, 30), 39_67, "EUR"],  # 119.00 in three: 39.67 + 39.67 + 39.66
        ["O2C-2026-000001", 2, date(2026, 5, 30), 39_67, "EUR"],
        ["O2C-2026-000001", 3, date(2026, 6, 29), 39_66, "EUR"],
    ]


ENTITY_ORDERS = table("""
    | order_id | customer_id | currency | fulfilled_date | payment_terms_days | legal_entity | credit_for |
    | SO-1     | C1          | EUR      | 2026-03-02     | 30                 | DE01         |            |
    | SO-2     | C2          | EUR      | 2026-03-03     | 30                 | FR01         |            |
    | SO-3     | C3          | EUR      | 2026-03-04     | 30                 |              |            |
    | SO-4     | C1          | EUR      | 2026-03-05     | 30                 | DE01         |            |
    | RET-1    | C1          | EUR      | 2026-03-06     | 30                 | DE01         | SO-1       |
""")
ENTITY_LINES = table("""
    | order_id | line_no | quantity | unit_price_minor | tax_rate_ppm |
    | SO-1     | 1       | 1        | 100_00           | 190000       |
    | SO-2     | 1       | 2        | 10_00            | 200000       |
    | SO-3     | 1       | 3        | 10_00            | 0            |
    | SO-4     | 1       | 1        | 50_00            | 190000       |
    | RET-1    | 1       | -1       | 100_00           | 190000       |
""")


def test_each_legal_entity_numbers_in_its_own_series_without_gaps() -> None:
    sequences = table("""
        | series | year | last_number |
        | DE01   | 2026 | 10          |
        | O2C    | 2026 | 3           |
    """)
    billing = bill(ENTITY_ORDERS, ENTITY_LINES, sequences)
    issued = billing.invoices.sort_values("invoice_id")
    rows = issued[["invoice_id", "order_id", "legal_entity", "amount_minor"]].values.tolist()
    assert rows == [
        ["DE01-2026-000011", "SO-1", "DE01", 119_00],
        ["DE01-2026-000012", "SO-4", "DE01", 59_50],
        ["DE01-CN-2026-000001", "RET-1", "DE01", -119_00],  # credits SO-1 in its entity's series
        ["FR01-2026-000001", "SO-2", "FR01", 24_00],
        ["O2C-2026-000004", "SO-3", None, 30_00],  # no entity: the workspace's series
    ]
    assert sorted(map(tuple, billing.sequences.values.tolist())) == [
        ("DE01", 2026, 12),
        ("DE01-CN", 2026, 1),
        ("FR01", 2026, 1),
        ("O2C", 2026, 4),
    ]
    assert billing.control[
        ["currency", "orders_in", "amount_in_minor", "orders_out", "amount_out_minor"]
    ].values.tolist() == [["EUR", 5, 113_50, 5, 113_50]]
    assert billing.adjustments["invoice_id"].tolist() == ["DE01-2026-000011", "DE01-CN-2026-000001"]

"""Reminder charges: the fee and the interest a queued reminder charges become open items of the
customer (rows for `invoices` of kind fee and interest), charged once per reminder; interest is
charged only as it grows since the last reminder that booked it; charges are never dunned."""

from __future__ import annotations

from datetime import date

import pandas as pd

from rules.dunning import DunningFacts, evaluate
from tasks.remind.plan import Dunning, plan_reminders

from .tables import table
from .test_dunning import AS_OF, AT_LEVEL_2, CUSTOMERS, LATE, NO_CASES, NO_CASH, POLICY, VERSION


def facts(
    items: str = LATE, history: str = AT_LEVEL_2, charges: str | None = None, charged: str | None = None
) -> DunningFacts:
    return DunningFacts(
        table(items),
        CUSTOMERS,
        table(history),
        table(NO_CASES),
        table(NO_CASH),
        None,
        table(charges) if charges else None,
        table(charged) if charged else None,
    )


def plan(given: DunningFacts, policy=POLICY, reminded: pd.DataFrame | None = None) -> Dunning:
    return plan_reminders(
        given, CUSTOMERS, policy, as_of=AS_OF, rule_version=VERSION, reminded_on_date=reminded
    )


def test_the_final_notice_books_its_fee_and_interest_per_currency() -> None:
    dunning = plan(facts())
    reminder_id = dunning.reminders.at[0, "reminder_id"]
    rows = dunning.charges.to_dict("records")
    assert [(r["invoice_id"], r["kind"], r["currency"], r["amount_minor"]) for r in rows] == [
        (f"{reminder_id}-FEE-EUR", "fee", "EUR", 10_00),
        (f"{reminder_id}-INT-EUR", "interest", "EUR", 13_15),  # L-1: 1000.00 x 8 % x 60 / 365
        (f"{reminder_id}-FEE-USD", "fee", "USD", 10_00),
        (f"{reminder_id}-INT-USD", "interest", "USD", 3_22),  # L-3: 300.00 x 8 % x 49 / 365
    ]
    for row in rows:
        assert row["customer_id"] == "C1" and row["origin"] == "charge" and row["charged_by"] == reminder_id
        assert row["issue_date"] == AS_OF and row["due_date"] == date(2026, 4, 10)  # pay within 10 days
        assert row["tax_minor"] == 0 and row["net_minor"] == row["amount_minor"]  # no VAT on damages
    assert dunning.counts["fees_charged"] == 2 and dunning.counts["interest_charged"] == 2
    # what the message asks for is what is booked: the open amount plus the charges
    assert dunning.items.set_index("invoice_id")["interest_from"].to_dict() == {
        "L-1": date(2026, 1, 30),
        "L-3": date(2026, 2, 10),
        "L-2": None,  # the second reminder charges no interest
    }


def test_a_policy_that_does_not_book_charges_only_shows_them() -> None:
    dunning = plan(facts(), POLICY.model_copy(update={"book_charges": False}))
    assert len(dunning.reminders) == 1 and dunning.charges.empty
    assert "Reminder fee: €10.00" in dunning.reminders.at[0, "body_text"]
    assert dunning.counts["fees_charged"] == 0


def test_interest_already_charged_is_not_charged_again() -> None:
    """L-1's interest was booked up to 1 March: this reminder charges the 30 days since, on what is
    open now; L-3's was never booked and runs from its due date."""
    through = "| invoice_id | interest_through |\n| L-1 | 2026-03-01 |"
    result, _problems = evaluate(facts(charged=through), POLICY, AS_OF)
    rows = result.items.set_index("invoice_id")
    assert rows.loc["L-1", "interest_minor"] == 6_58  # 1000.00 x 8 % x 30 / 365 = 6.575... -> 6.58
    assert rows.loc["L-1", "interest_from"] == date(2026, 3, 1)
    assert rows.loc["L-3", "interest_minor"] == 3_22
    # charged up to the as-of date (or later): nothing more today
    today = "| invoice_id | interest_through |\n| L-1 | 2026-03-31 |\n| L-3 | 2026-04-02 |"
    none, _problems = evaluate(facts(charged=today), POLICY, AS_OF)
    assert none.items.set_index("invoice_id").loc[["L-1", "L-3"], "interest_minor"].tolist() == [0, 0]
    assert plan(facts(charged=today)).charges["kind"].tolist() == ["fee", "fee"]


def test_a_charge_is_never_dunned_and_shows_on_the_statement() -> None:
    """An unpaid fee of an earlier reminder, long overdue, gets no level, no interest and no message
    of its own; it is on the statement of account the final notice attaches."""
    fee = "R-0000000000000001-FEE-EUR"
    items = LATE + f"| {fee} | C1 | EUR | 2026-01-10 | 2026-01-20 | 5_00 |\n"
    dunning = plan(facts(items, charges=f"| invoice_id |\n| {fee} |"))
    assert fee not in dunning.items["invoice_id"].tolist()
    assert dunning.reminders.at[0, "invoice_ids"] == "L-1;L-2;L-3"
    assert f"{fee},2026-01-10,2026-01-20,EUR,5.00" in dunning.reminders.at[0, "statement_csv"]
    alone = plan(
        facts(
            f"| invoice_id | customer_id | currency | issue_date | due_date | open_minor |\n"
            f"| {fee} | C1 | EUR | 2026-01-10 | 2026-01-20 | 5_00 |",
            charges=f"| invoice_id |\n| {fee} |",
        )
    )
    assert alone.reminders.empty and alone.charges.empty


def test_the_same_reminder_never_charges_twice() -> None:
    first = plan(facts())
    reminded = first.reminders[["customer_id", "reminder_id"]]
    again = plan(facts(), reminded=reminded)
    assert again.reminders.empty and again.charges.empty

"""Dunning: the level each open invoice has reached, who is left alone and why, and one
consolidated message per customer with fees and interest shown apart."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from rules.dunning import DunningFacts, DunningPolicy, evaluate
from tasks.platform.policy import PolicyError, load_policy
from tasks.remind.plan import Dunning, dry_run_view, dunning_items, plan_reminders, reconcile_pending

from .tables import table

AS_OF = date(2026, 3, 31)
SHIPPED, VERSION = load_policy("dunning", DunningPolicy)
# The ladder's rules are tested one rung at a time: every profile starting at its first rung. The
# shipped standard profile's first contact by age is tested on its own below.
POLICY = SHIPPED.model_copy(
    update={
        "profiles": {
            n: p.model_copy(update={"first_contact": "first_rung"}) for n, p in SHIPPED.profiles.items()
        }
    }
)
NO_HISTORY = "| invoice_id | customer_id | last_level | last_reminded_on |"
NO_CASES = "| case_id | kind | customer_id | invoice_id | status | due_on |"
NO_CASH = "| customer_id | currency | unapplied_minor |"
CUSTOMERS = table("""
    | customer_id | name                                | email            | language | dunning_profile | tags       |
    | C1          | <script>alert('x')</script> & Sons  | ap@c1.example    | en       | standard        |            |
    | C2          | Müller & Söhne GmbH                 | buch@c2.example  | de       | standard        |            |
    | C3          | Dupont SARL                         |                  | fr       | standard        |            |
    | C4          | Rossi SpA                           | ap@c4.example    | es       | standard        |            |
    | KEY         | Key Account AG                      | ap@key.example   | de       | strategic       |            |
    | SMALL       | Small Shop                          | ap@small.example | en       | small-business  |            |
    | ODD         | Odd Profile Ltd                     | ap@odd.example   | en       | no-such-profile |            |
    | QUIET       | Quiet Ltd                           | ap@quiet.example | en       | standard        | vip;no-dunning |
""")


def facts(
    items: str,
    history: str = NO_HISTORY,
    cases: str = NO_CASES,
    unapplied: str = NO_CASH,
    pending: str | None = None,
) -> DunningFacts:
    return DunningFacts(table(items), CUSTOMERS, table(history), table(cases), table(unapplied), pending)


def levels(result_items: pd.DataFrame) -> list[list[object]]:
    return result_items[["invoice_id", "level"]].values.tolist()


def test_the_shipped_policy() -> None:
    assert set(POLICY.profiles) == {"standard", "strategic", "small-business"}
    standard = POLICY.profiles[POLICY.default_profile]
    assert [(lv.level, lv.name, lv.days, lv.before_due_only) for lv in standard.levels] == [
        (0, "courtesy", -3, True),
        (1, "first_reminder", 7, False),
        (2, "second_reminder", 21, False),
        (3, "final_notice", 35, False),
    ]
    assert standard.levels[2].fee_minor("EUR") == 5_00 and standard.levels[2].fee_minor("JPY") == 700
    assert standard.levels[2].fee_minor("SEK") == 5_00  # the default amount in another currency
    assert standard.levels[3].interest_percent_per_year == 8.0
    assert VERSION.startswith("v2-")


# ---------------------------------------------------------------------------------------------------
# The ladder, at each boundary: the day before, on and after each level (standard profile)


@pytest.mark.parametrize(
    ("days", "previous", "expected"),
    [
        (-4, None, None),  # courtesy starts 3 days before due
        (-3, None, 0),
        (-2, None, 0),
        (-1, None, 0),
        (0, None, None),  # due today: too late for courtesy, too early for a reminder
        (6, 0, None),
        (7, 0, 1),
        (8, 0, 1),
        (20, 1, None),  # already reminded at 1: nothing new, no message
        (21, 1, 2),
        (22, 1, 2),
        (34, 2, None),
        (35, 2, 3),
        (36, 2, 3),
        (400, 3, None),  # the top of the ladder is not repeated
    ],
)
def test_level_by_days_past_due(days: int, previous: int | None, expected: int | None) -> None:
    due = pd.Timestamp(AS_OF) - pd.Timedelta(days=days)
    history = NO_HISTORY
    if previous is not None:
        history += f"\n| I | C1 | {previous} | 2026-01-01 |"
    result, _problems = evaluate(
        facts(
            f"""
        | invoice_id | customer_id | currency | issue_date | due_date            | open_minor |
        | I          | C1          | EUR      | 2025-01-01 | {due.date()}        | 100_00     |
    """,
            history,
        ),
        POLICY,
        AS_OF,
    )
    assert levels(result.items) == ([] if expected is None else [["I", expected]])


def test_each_customer_is_dunned_by_its_profile_and_unknown_profiles_by_the_default() -> None:
    result, _problems = evaluate(
        facts("""
        | invoice_id | customer_id | currency | issue_date | due_date   | open_minor |
        | A          | KEY         | EUR      | 2026-01-01 | 2026-03-21 | 500_00     |
        | B          | KEY         | EUR      | 2026-01-01 | 2026-03-17 | 500_00     |
        | C          | SMALL       | EUR      | 2026-01-01 | 2026-03-28 | 50_00      |
        | D          | ODD         | EUR      | 2026-01-01 | 2026-03-24 | 50_00      |
        | E          | NOBODY      | EUR      | 2026-01-01 | 2026-03-24 | 50_00      |
    """),
        POLICY,
        AS_OF,
    )
    assert result.items[["invoice_id", "profile", "level"]].values.tolist() == [
        ["B", "strategic", 1],  # 14 days: strategic starts at 14 (A at 10 days is not there yet)
        ["E", "standard", 1],  # a customer we know nothing of: the default profile
        ["D", "standard", 1],  # a profile the policy does not have: the default
        ["C", "small-business", 1],  # 3 days is enough for small business
    ]


def test_an_unknown_profile_is_reported_as_a_problem_and_changes_no_decision() -> None:
    items = """
        | invoice_id | customer_id | currency | issue_date | due_date   | open_minor |
        | D          | ODD         | EUR      | 2026-01-01 | 2026-03-24 | 50_00      |
        | A          | C1          | EUR      | 2026-01-01 | 2026-03-01 | 50_00      |
    """
    result, problems = evaluate(facts(items), POLICY, AS_OF)
    assert problems == [
        "customer ODD: dunning profile 'no-such-profile' is not in the policy; dunned under 'standard'"
    ]
    assert result.items["invoice_id"].tolist() == ["A", "D"]
    _, none = evaluate(facts(items.replace("| ODD ", "| C2  ")), POLICY, AS_OF)
    assert none == []


# ---------------------------------------------------------------------------------------------------
# One step up per run, and the spacing between reminders

ITEMS = """
    | invoice_id | customer_id | currency | issue_date | due_date   | open_minor |
    | I-1        | C1          | EUR      | 2026-01-01 | 2026-02-01 | 100_00     |
    | I-2        | C1          | EUR      | 2026-02-20 | 2026-03-20 | 50_00      |
    | I-3        | C1          | USD      | 2026-03-01 | 2026-04-02 | 20_00      |
    | I-4        | C1          | EUR      | 2026-03-28 | 2026-04-27 | 10_00      |
    | I-5        | C2          | EUR      | 2026-02-01 | 2026-03-23 | 30_00      |
    | I-6        | C3          | EUR      | 2026-02-01 | 2026-03-21 | 40_00      |
"""
#   I-1  58 days past due -> level 3 reached, but C1 was never reminded: first_reminder
#   I-2  11 days          -> level 1
#   I-3   2 days before   -> courtesy
#   I-4  27 days before   -> no level
#   I-5   8 days          -> level 1
#   I-6  10 days          -> level 1


def test_a_customer_never_reminded_starts_at_the_first_reminder_however_late() -> None:
    result, _problems = evaluate(facts(ITEMS), POLICY, AS_OF)
    assert levels(result.items) == [["I-1", 1], ["I-2", 1], ["I-3", 0], ["I-5", 1], ["I-6", 1]]
    assert result.messages[["customer_id", "level", "level_name"]].values.tolist() == [
        ["C1", 1, "first_reminder"],
        ["C2", 1, "first_reminder"],
        ["C3", 1, "first_reminder"],
    ]


def test_under_the_shipped_policy_a_first_contact_is_at_the_level_the_age_calls_for() -> None:
    """Never reminded, 58 days overdue: the final notice at once, not a first reminder; the other
    customers' invoices are young enough for the first rung anyway. The next run climbs as ever."""
    result, _problems = evaluate(facts(ITEMS), SHIPPED, AS_OF)
    assert levels(result.items) == [["I-1", 3], ["I-2", 1], ["I-3", 0], ["I-5", 1], ["I-6", 1]]
    assert result.messages[["customer_id", "level", "level_name"]].values.tolist() == [
        ["C1", 3, "final_notice"],
        ["C2", 1, "first_reminder"],
        ["C3", 1, "first_reminder"],
    ]
    history = NO_HISTORY + "\n| I-5 | C2 | 1 | 2026-03-20 |"
    later, _problems = evaluate(facts(ITEMS, history), SHIPPED, date(2026, 4, 30))
    c2 = later.items[later.items["customer_id"] == "C2"]
    assert levels(c2) == [["I-5", 2]]  # 38 days overdue, reminded once: one rung up, not by age
    strategic = SHIPPED.profiles["strategic"]
    assert strategic.first_contact == "first_rung"  # key accounts still start gently


def test_a_customer_moves_up_one_level_per_run() -> None:
    history = NO_HISTORY + "\n| I-1 | C1 | 1 | 2026-03-10 |\n| I-2 | C1 | 1 | 2026-03-10 |"
    result, _problems = evaluate(facts(ITEMS, history), POLICY, AS_OF)
    c1 = result.items[result.items["customer_id"] == "C1"]
    assert levels(c1) == [["I-1", 2], ["I-2", 1], ["I-3", 0]]  # I-1 could be at 3: one step only
    assert c1["is_new"].tolist() == [True, False, True]


def test_no_repeat_for_the_same_level() -> None:
    history = NO_HISTORY + "".join(
        f"\n| {i} | {c} | {lv} | 2026-03-01 |"
        for i, c, lv in [("I-1", "C1", 1), ("I-2", "C1", 1), ("I-3", "C1", 0), ("I-5", "C2", 1)]
    )
    result, _problems = evaluate(facts(ITEMS, history), POLICY, AS_OF)
    # C1's I-1 may rise to level 2, so C1 gets a message; C2 has nothing new; C3 was never reminded
    assert result.messages["customer_id"].tolist() == ["C1", "C3"]


def test_the_next_level_waits_for_its_days_since_the_previous_reminder() -> None:
    history = NO_HISTORY + "\n| I-1 | C1 | 1 | {day} |\n| I-2 | C1 | 1 | {day} |"
    too_soon, _problems = evaluate(facts(ITEMS, history.format(day="2026-03-22")), POLICY, AS_OF)  # 9 days
    assert "C1" not in too_soon.messages["customer_id"].tolist()
    assert too_soon.exclusions[too_soon.exclusions["customer_id"] == "C1"].values.tolist() == [
        ["C1", "", "last reminded 9 days ago; this level waits 10"]
    ]
    on_time, _problems = evaluate(facts(ITEMS, history.format(day="2026-03-21")), POLICY, AS_OF)  # 10 days
    assert on_time.messages.loc[on_time.messages["customer_id"] == "C1", "level"].tolist() == [2]


# ---------------------------------------------------------------------------------------------------
# Exclusions, each recorded with its reason


def with_cases(*rows: str) -> Any:
    """ITEMS evaluated with these case rows (case_id | kind | customer_id | invoice_id | status | due_on)."""
    return evaluate(facts(ITEMS, cases="\n".join([NO_CASES, *rows])), POLICY, AS_OF)[0]


def test_an_open_dispute_or_deduction_case_stops_reminders_for_its_invoice_only() -> None:
    result = with_cases(
        "| K1 | dispute   | C1 | I-1 | open     | |",
        "| K2 | deduction | C2 | I-5 | open     | |",
        "| K3 | dispute   | C3 | I-6 | resolved | |",
    )
    assert levels(result.items) == [["I-2", 1], ["I-3", 0], ["I-6", 1]]
    assert result.exclusions.values.tolist() == [
        ["C1", "I-1", "open dispute case K1"],
        ["C2", "I-5", "open deduction case K2"],
    ]


def test_a_running_promise_to_pay_stops_reminders_and_a_broken_one_does_not() -> None:
    result = with_cases(
        "| P1 | promise | C1 | I-1 | open | 2026-04-15 |",
        "| P2 | promise | C2 |     | open | 2026-03-31 |",  # the whole customer, until today
        "| P3 | promise | C3 |     | open | 2026-03-30 |",  # ran out yesterday
    )
    assert levels(result.items) == [["I-2", 1], ["I-3", 0], ["I-6", 1]]
    assert result.exclusions.values.tolist() == [
        ["C1", "I-1", "promise to pay until 2026-04-15"],
        ["C2", "I-5", "promise to pay until 2026-03-31"],
    ]


def test_cases_that_leave_no_invoice_to_look_at_end_the_evaluation_quietly() -> None:
    """Every invoice at a level under an open dispute, and a promise elsewhere: the promise rule
    then looks at no invoice at all (met on a generated book: the run stopped with a traceback)."""
    only = """
    | invoice_id | customer_id | currency | issue_date | due_date   | open_minor |
    | I-1        | C1          | EUR      | 2026-01-01 | 2026-02-01 | 100_00     |
"""
    cases = "\n".join(
        [NO_CASES, "| K1 | dispute | C1 | I-1 | open | |", "| P1 | promise | C2 | | open | 2026-04-15 |"]
    )
    result, _problems = evaluate(facts(only, cases=cases), POLICY, AS_OF)
    assert levels(result.items) == []
    assert result.exclusions.values.tolist() == [["C1", "I-1", "open dispute case K1"]]
    # the dispute rule itself with nothing left to look at (the one customer tagged no-dunning)
    quiet = only.replace("| C1          |", "| QUIET       |")
    result, _problems = evaluate(facts(quiet, cases=cases.replace("| C1 |", "| QUIET |")), POLICY, AS_OF)
    assert levels(result.items) == []
    assert result.exclusions.values.tolist() == [["QUIET", "", "customer is tagged no-dunning"]]


def test_a_customer_tagged_no_dunning_is_left_alone() -> None:
    result, _problems = evaluate(
        facts("""
        | invoice_id | customer_id | currency | issue_date | due_date   | open_minor |
        | Q-1        | QUIET       | EUR      | 2026-01-01 | 2026-02-01 | 900_00     |
        | Q-2        | QUIET       | EUR      | 2026-01-01 | 2026-02-02 | 900_00     |
    """),
        POLICY,
        AS_OF,
    )
    assert result.items.empty
    assert result.exclusions.values.tolist() == [["QUIET", "", "customer is tagged no-dunning"]]


def test_unapplied_cash_that_covers_the_overdue_amount_stops_reminders_in_that_currency() -> None:
    covered, _problems = evaluate(
        facts(ITEMS, unapplied=NO_CASH + "\n| C1 | EUR | 150_00 |\n| C2 | EUR | 29_99 |"), POLICY, AS_OF
    )
    assert levels(covered.items) == [["I-3", 0], ["I-5", 1], ["I-6", 1]]  # C2's cash is a cent short
    assert covered.exclusions.values.tolist() == [
        ["C1", "I-1", "unapplied cash (15000 minor units) covers the overdue amount"],
        ["C1", "I-2", "unapplied cash (15000 minor units) covers the overdue amount"],
    ]


def test_no_reminder_at_all_while_payments_wait_for_reconcile() -> None:
    why = reconcile_pending(
        {"payments_loaded_at": "2026-03-31 08:00:00", "reconciled_at": "2026-03-30 18:00:00"}
    )
    assert why == "reconcile has not run since payments were loaded at 2026-03-31 08:00:00"
    result, _problems = evaluate(facts(ITEMS, pending=why), POLICY, AS_OF)
    assert result.items.empty
    assert result.exclusions.values.tolist() == [[c, "", why] for c in ("C1", "C2", "C3")]
    assert (
        reconcile_pending(
            {"payments_loaded_at": "2026-03-31 08:00:00", "reconciled_at": "2026-03-31 09:00:00"}
        )
        is None
    )
    assert reconcile_pending({"payments_loaded_at": None, "reconciled_at": None}) is None


def test_below_the_minimum_open_amount_there_is_no_reminder() -> None:
    result, _problems = evaluate(
        facts("""
        | invoice_id | customer_id | currency | issue_date | due_date   | open_minor |
        | S-1        | C1          | EUR      | 2026-01-01 | 2026-03-01 | 9_99       |
        | S-2        | C2          | EUR      | 2026-01-01 | 2026-03-01 | 6_00       |
        | S-3        | C2          | EUR      | 2026-01-01 | 2026-03-02 | 4_00       |
    """),
        POLICY,
        AS_OF,
    )
    assert levels(result.items) == [["S-2", 1], ["S-3", 1]]  # together 10.00: enough
    assert result.exclusions.values.tolist() == [
        ["C1", "S-1", "open amount 999 below the level's minimum of 1000 minor units"]
    ]


def test_the_same_facts_always_give_the_same_answer() -> None:
    one, _problems = evaluate(facts(ITEMS), POLICY, AS_OF)
    two, _problems = evaluate(facts(ITEMS), POLICY, AS_OF)
    pd.testing.assert_frame_equal(one.items, two.items)
    pd.testing.assert_frame_equal(one.exclusions, two.exclusions)


# ---------------------------------------------------------------------------------------------------
# Fees and interest

LATE = """
    | invoice_id | customer_id | currency | issue_date | due_date   | open_minor |
    | L-1        | C1          | EUR      | 2025-12-01 | 2026-01-30 | 1000_00    |
    | L-2        | C1          | EUR      | 2026-02-01 | 2026-03-10 | 200_00     |
    | L-3        | C1          | USD      | 2026-01-01 | 2026-02-10 | 300_00     |
"""
AT_LEVEL_2 = (
    NO_HISTORY
    + "\n| L-1 | C1 | 2 | 2026-03-01 |\n| L-2 | C1 | 1 | 2026-03-01 |\n| L-3 | C1 | 2 | 2026-03-01 |"
)


def test_interest_per_day_overdue_and_one_fee_per_currency_at_the_final_notice() -> None:
    """The fee of a currency is that of its highest level in the message: a currency with only a
    courtesy note in it carries no fee."""
    result, _problems = evaluate(facts(LATE, AT_LEVEL_2), POLICY, AS_OF)
    # L-1: 60 days, L-3: 49 days, at the final notice (8 % a year); L-2: 21 days, second reminder
    assert result.items[["invoice_id", "level", "days_past_due", "interest_minor"]].values.tolist() == [
        ["L-1", 3, 60, 13_15],  # 1000.00 x 8 % x 60 / 365 = 13.150... -> 13.15
        ["L-3", 3, 49, 3_22],  # 300.00 x 8 % x 49 / 365 = 3.2219... -> 3.22
        ["L-2", 2, 21, 0],  # the second reminder charges no interest
    ]
    totals = result.messages.at[0, "totals"]
    assert totals == {
        "EUR": {"open_minor": 1200_00, "interest_minor": 13_15, "fee_minor": 10_00, "total_minor": 1223_15},
        "USD": {"open_minor": 300_00, "interest_minor": 3_22, "fee_minor": 10_00, "total_minor": 313_22},
    }
    assert bool(result.messages.at[0, "attach_statement"])


def test_interest_rounds_half_up_to_the_minor_unit() -> None:
    policy = DunningPolicy.model_validate(
        {
            "version": 1,
            "default_profile": "p",
            "profiles": {
                "p": {"levels": [{"level": 1, "name": "r", "days": 1, "interest_percent_per_year": 36.5}]}
            },
        }
    )
    result, _problems = evaluate(
        facts("""
        | invoice_id | customer_id | currency | issue_date | due_date   | open_minor |
        | H-1        | C1          | EUR      | 2026-01-01 | 2026-03-30 | 50         |
        | H-2        | C1          | EUR      | 2026-01-01 | 2026-03-30 | 49         |
    """),
        policy,
        AS_OF,
    )
    # 36.5 % a year is 0.1 % a day: 50 x 0.001 = 0.05 -> 0; 1 day on 500 would be 0.5 -> 1
    assert result.items["interest_minor"].tolist() == [0, 0]
    bigger, _problems = evaluate(
        facts("""
        | invoice_id | customer_id | currency | issue_date | due_date   | open_minor |
        | H-3        | C1          | EUR      | 2026-01-01 | 2026-03-30 | 500        |
        | H-4        | C1          | EUR      | 2026-01-01 | 2026-03-30 | 1499       |
    """),
        policy,
        AS_OF,
    )
    assert bigger.items["interest_minor"].tolist() == [1, 1]  # 0.5 -> 1, 1.499 -> 1


# ---------------------------------------------------------------------------------------------------
# Consolidated messages


def plan(history: str = NO_HISTORY, *, as_of: date = AS_OF, items: str = ITEMS) -> Dunning:
    return plan_reminders(facts(items, history), CUSTOMERS, POLICY, as_of=as_of, rule_version=VERSION)


@pytest.fixture(scope="module")
def dunning() -> Dunning:
    return plan()


def test_one_message_per_customer(dunning: Dunning) -> None:
    assert dunning.reminders[
        ["customer_id", "level", "level_name", "invoice_ids", "language", "status"]
    ].values.tolist() == [
        ["C1", 1, "first_reminder", "I-1;I-2;I-3", "en", "queued"],
        ["C2", 1, "first_reminder", "I-5", "de", "queued"],
        ["C3", 1, "first_reminder", "I-6", "fr", "queued"],
    ]
    assert dunning.counts == {
        "invoices_at_a_level": 5,
        "customers_reminded": 3,
        "invoices_in_messages": 5,
        "customers_left_out": 0,
        "invoices_left_out": 0,
        "fees_charged": 0,
        "interest_charged": 0,
    }


def test_every_invoice_of_the_message_is_listed_at_its_level(dunning: Dunning) -> None:
    c1 = dunning.reminders.at[0, "reminder_id"]
    items = dunning.items[dunning.items["reminder_id"] == c1]
    assert items[
        ["invoice_id", "level", "open_amount_minor", "currency", "days_past_due"]
    ].values.tolist() == [
        ["I-1", 1, 100_00, "EUR", 58],
        ["I-2", 1, 50_00, "EUR", 11],
        ["I-3", 0, 20_00, "USD", -2],
    ]
    text = dunning.reminders.at[0, "body_text"]
    for line in (
        "- I-1 of 1 Jan 2026, due 1 Feb 2026: €100.00 (58 days overdue)",
        "- I-2 of 20 Feb 2026, due 20 Mar 2026: €50.00 (11 days overdue)",
        "- I-3 of 1 Mar 2026, due 2 Apr 2026: US$20.00\n",
        "Open amount: €150.00",
        "Open amount: US$20.00",
        "pay the amount due by 10 Apr 2026.",
    ):
        assert line in text
    assert "I-4" not in text and "fee" not in text


def test_fees_and_interest_are_shown_apart_in_text_and_html() -> None:
    dunning = plan(AT_LEVEL_2, items=LATE)
    text, html = dunning.reminders.at[0, "body_text"], dunning.reminders.at[0, "body_html"]
    for line in (
        "- L-1 of 1 Dec 2025, due 30 Jan 2026: €1,000.00 (60 days overdue), interest €13.15",
        "Open amount: €1,200.00\nInterest on overdue amounts: €13.15\nReminder fee: €10.00\nTotal due: €1,223.15",
        "Total due: US$313.22",
    ):
        assert line in text
    assert ">Reminder fee</td><td" in html and ">€10.00</td>" in html
    assert json.loads(dunning.reminders.at[0, "totals"])["EUR"]["fee_minor"] == 10_00
    assert dunning.items["interest_minor"].tolist() == [13_15, 3_22, 0]


def test_a_level_that_says_so_attaches_the_statement_of_account() -> None:
    dunning = plan(AT_LEVEL_2, items=LATE)
    charge = dunning.reminders.at[0, "reminder_id"]  # the fee and interest it books are listed too
    assert dunning.reminders.at[0, "statement_csv"].splitlines() == [
        "statement of account,C1,as of,2026-03-31",
        "invoice,issued,due,currency,open",
        "L-1,2025-12-01,2026-01-30,EUR,1000.00",
        "L-2,2026-02-01,2026-03-10,EUR,200.00",
        f"{charge}-FEE-EUR,2026-03-31,2026-04-10,EUR,10.00",
        f"{charge}-INT-EUR,2026-03-31,2026-04-10,EUR,13.15",
        "L-3,2026-01-01,2026-02-10,USD,300.00",
        f"{charge}-FEE-USD,2026-03-31,2026-04-10,USD,10.00",
        f"{charge}-INT-USD,2026-03-31,2026-04-10,USD,3.22",
    ]
    assert plan().reminders["statement_csv"].isna().all()  # a first reminder attaches none


@pytest.mark.parametrize(
    ("customer", "subject", "phrase"),
    [
        (
            "C1",
            "Payment reminder: open invoices (C1)",
            "Open amount: €190.00\nTotal due: €190.00\nOpen amount: US$20.00",
        ),
        ("C2", "Zahlungserinnerung: offene Rechnungen (C2)", "Offener Betrag: 70,00\xa0€"),
        ("C3", "Relance : factures impayées (C3)", "Montant restant dû : 40,00\xa0€"),
        ("C4", "Payment reminder: open invoices (C4)", "Open amount: €40.00"),  # Spanish: English
    ],
)
def test_each_customer_is_written_to_in_its_language(customer: str, subject: str, phrase: str) -> None:
    dunning = plan(items=ITEMS.replace("| I-6        | C3 ", f"| I-6        | {customer} "))
    row = dunning.reminders[dunning.reminders["customer_id"] == customer].iloc[0]
    assert row["subject"] == subject
    assert phrase in row["body_text"]


def test_a_courtesy_note_has_its_own_subject() -> None:
    dunning = plan(
        items="""
        | invoice_id | customer_id | currency | issue_date | due_date   | open_minor |
        | I-3        | C1          | USD      | 2026-03-01 | 2026-04-02 | 20_00      |
    """
    )
    assert dunning.reminders[["level", "level_name", "subject"]].values.tolist() == [
        [0, "courtesy", "Upcoming payment: invoices falling due (C1)"]
    ]
    assert "fall due soon" in dunning.reminders.at[0, "body_text"]


def test_the_reminder_id_is_the_customer_level_and_invoice_set(dunning: Dunning) -> None:
    expected = "R-" + hashlib.sha256(b"C1|1|I-1;I-2;I-3").hexdigest()[:16]
    assert dunning.reminders.at[0, "reminder_id"] == expected
    assert dunning.reminders["reminder_id"].is_unique


def test_the_same_facts_a_day_later_give_the_same_reminder_id(dunning: Dunning) -> None:
    again = plan(as_of=date(2026, 4, 1))
    assert again.reminders["reminder_id"].tolist() == dunning.reminders["reminder_id"].tolist()


def test_html_escapes_a_customer_name_with_markup(dunning: Dunning) -> None:
    html = dunning.reminders.at[0, "body_html"]
    assert "<script>" not in html
    assert "Dear &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Sons," in html
    # the plain text part carries the name as it is
    assert "Dear <script>alert('x')</script> & Sons," in dunning.reminders.at[0, "body_text"]


def test_each_language_has_its_own_html_layout_with_the_data_escaped(dunning: Dunning) -> None:
    html = dunning.reminders.at[1, "body_html"]
    assert '<html lang="de">' in html and "Zahlungserinnerung</div>" in html
    assert "Müller &amp; Söhne GmbH" in html
    assert ">Offener Betrag</td>" in html and ">30,00\xa0€</td>" in html
    assert "<script>" not in dunning.reminders.at[0, "body_html"]


def test_the_dry_run_view_shows_levels_totals_changes_and_who_is_left_out() -> None:
    history = NO_HISTORY + "\n| I-1 | C1 | 1 | 2026-03-10 |\n| I-2 | C1 | 1 | 2026-03-10 |"
    dunning = plan_reminders(
        facts(ITEMS, history, cases=NO_CASES + "\n| K1 | dispute | C3 | I-6 | open | |"),
        CUSTOMERS,
        POLICY,
        as_of=AS_OF,
        rule_version=VERSION,
    )
    latest = table("""
        | customer_id | level | level_name     | invoice_ids | as_of      |
        | C1          | 1     | first_reminder | I-1;I-2     | 2026-03-10 |
    """)
    view = dry_run_view(dunning, latest)
    assert view["reminders"] == [
        {
            "customer_id": "C1",
            "level": 2,
            "level_name": "second_reminder",
            "invoices": "I-1;I-2;I-3",
            "totals": {"EUR": "155.00", "USD": "20.00"},  # the second reminder's fee is 5.00
            "change": "first_reminder -> second_reminder",
        },
        {
            "customer_id": "C2",
            "level": 1,
            "level_name": "first_reminder",
            "invoices": "I-5",
            "totals": {"EUR": "30.00"},
            "change": "first reminder",
        },
    ]
    assert view["by_level"] == {"first_reminder": 1, "second_reminder": 1}
    assert view["totals"] == {"EUR": "185.00", "USD": "20.00"}
    assert view["left_out"] == [{"customer_id": "C3", "invoice_id": "I-6", "reason": "open dispute case K1"}]


# ---------------------------------------------------------------------------------------------------
# The policy file

LEVEL = "{{level: {level}, name: n{level}, days: {days}, template: reminder}}"


def write_policy(
    folder: Path, levels: list[tuple[int, int]], default: str = "standard", extra: str = ""
) -> None:
    listed = ", ".join(LEVEL.format(level=lv, days=d) for lv, d in levels)
    (folder / "dunning.yaml").write_text(
        f"version: 3\ndefault_profile: {default}\nprofiles:\n  standard:\n    levels: [{listed}{extra}]\n"
    )


@pytest.mark.parametrize(
    "levels", [[(1, 21), (2, 7)], [(2, 7), (1, 21)], [(1, 7), (1, 21)]], ids=["days", "levels", "twice"]
)
def test_levels_out_of_order_are_rejected(tmp_path: Path, levels: list[tuple[int, int]]) -> None:
    write_policy(tmp_path, levels)
    with pytest.raises(
        PolicyError, match="dunning.yaml: .*levels must be listed in increasing level and days"
    ):
        load_policy("dunning", DunningPolicy, tmp_path)


def test_a_default_profile_that_does_not_exist_is_rejected(tmp_path: Path) -> None:
    write_policy(tmp_path, [(1, 7)], default="gentle")
    with pytest.raises(PolicyError, match="default_profile 'gentle' is not a profile"):
        load_policy("dunning", DunningPolicy, tmp_path)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (', {level: 2, name: x, days: 9, fee: {EUR: "5.00"}}', "fee needs a 'default' amount"),
        (', {level: 2, name: x, days: 9, fee: {EUR: "5.001", default: "5"}}', "fee EUR: "),
        (
            ', {level: 2, name: x, days: 9, min_open: {EUR: "-1", default: "5"}}',
            "min_open EUR: must not be negative",
        ),
        (", {level: 2, name: x, days: 9, channel: fax}", "channel 'fax' is not one this product delivers"),
        (
            ", {level: 2, name: x, days: 9, template: gentle}",
            "template 'gentle' has no rules/templates/gentle.en.txt",
        ),
        (", {level: 2, name: x, days: 9, interest_percent_per_year: 120}", "interest_percent_per_year"),
    ],
)
def test_a_bad_level_is_rejected_with_a_clear_message(tmp_path: Path, extra: str, message: str) -> None:
    write_policy(tmp_path, [(1, 7)], extra=extra)
    with pytest.raises(PolicyError, match=f"dunning.yaml: profiles.standard.levels.1.*{message}"):
        load_policy("dunning", DunningPolicy, tmp_path)


def test_a_valid_policy_file_loads_with_its_version(tmp_path: Path) -> None:
    write_policy(tmp_path, [(1, 7), (2, 21)])
    policy, version = load_policy("dunning", DunningPolicy, tmp_path)
    assert [lv.days for lv in policy.profiles["standard"].levels] == [7, 21]
    digest = hashlib.sha256((tmp_path / "dunning.yaml").read_bytes()).hexdigest()[:8]
    assert version == f"v3-{digest}"


def instalment_items(open_parts: list[int]) -> pd.DataFrame:
    """Invoice I-3 of 300.00 in three parts due 1 Oct, 31 Oct and 30 Nov with the given open
    amounts, beside an ordinary invoice I-1."""
    rows = [
        {
            "invoice_id": "I-1",
            "customer_id": "C1",
            "currency": "EUR",
            "issue_date": date(2026, 9, 1),
            "due_date": date(2026, 10, 1),
            "amount_minor": 5000,
            "open_minor": 5000,
            "instalment": None,
        },
    ]
    for n, (due, open_minor) in enumerate(
        zip([date(2026, 10, 1), date(2026, 10, 31), date(2026, 11, 30)], open_parts, strict=True), start=1
    ):
        rows.append(
            {
                "invoice_id": "I-3",
                "customer_id": "C1",
                "currency": "EUR",
                "issue_date": date(2026, 9, 1),
                "due_date": due,
                "amount_minor": 10000,
                "open_minor": open_minor,
                "instalment": n,
            }
        )
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("open_parts", "as_of", "due", "asked"),
    [
        ([10000, 10000, 10000], date(2026, 11, 20), date(2026, 10, 1), 20000),  # parts 1 and 2 are due
        ([0, 10000, 10000], date(2026, 11, 20), date(2026, 10, 31), 10000),  # part 1 paid: from part 2
        ([0, 2500, 10000], date(2026, 12, 5), date(2026, 10, 31), 12500),  # part 3 now due as well
        ([0, 0, 10000], date(2026, 11, 20), date(2026, 11, 30), 10000),  # before its due date: part 3 alone
        ([0, 0, 0], date(2026, 11, 20), date(2026, 11, 30), 0),  # all paid
    ],
)
def test_an_instalment_invoice_is_dunned_from_its_earliest_open_part(
    open_parts: list[int], as_of: date, due: date, asked: int
) -> None:
    items = dunning_items(instalment_items(open_parts), as_of)
    assert "instalment" not in items.columns
    assert items["invoice_id"].tolist() == ["I-1", "I-3"]
    row = items.set_index("invoice_id").loc["I-3"]
    assert (row["due_date"], int(row["open_minor"]), int(row["amount_minor"])) == (due, asked, 30000)
    assert int(items.set_index("invoice_id").at["I-1", "open_minor"]) == 5000


def test_items_without_instalments_pass_through() -> None:
    items = instalment_items([1, 1, 1])
    plain = items[items["instalment"].isna()]
    assert dunning_items(plain, date(2026, 11, 20)).equals(plain.drop(columns=["instalment"]))


@pytest.mark.parametrize(
    ("open_parts", "as_of"),
    [
        ([10000, 10000, 10000], date(2026, 11, 20)),
        ([0, 10000, 10000], date(2026, 11, 20)),
        ([0, 2500, 10000], date(2026, 12, 5)),
        ([0, 0, 10000], date(2026, 11, 20)),
        ([0, 0, 0], date(2026, 11, 20)),
    ],
)
def test_the_open_items_as_arrow_roll_up_to_the_same_dunning_items(
    open_parts: list[int], as_of: date
) -> None:
    import pyarrow as pa

    frame = instalment_items(open_parts)
    schema = pa.schema(
        [
            ("invoice_id", pa.string()),
            ("customer_id", pa.string()),
            ("currency", pa.string()),
            ("issue_date", pa.date32()),
            ("due_date", pa.date32()),
            ("amount_minor", pa.int64()),
            ("open_minor", pa.int64()),
            ("instalment", pa.int32()),
        ]
    )
    rolled = dunning_items(pa.Table.from_pandas(frame, schema=schema, preserve_index=False), as_of)
    assert isinstance(rolled, pa.Table)
    expected = dunning_items(frame, as_of)
    assert rolled.to_pylist() == [
        {k: (int(v) if k.endswith("_minor") else v) for k, v in row.items()}
        for row in expected.to_dict("records")
    ]

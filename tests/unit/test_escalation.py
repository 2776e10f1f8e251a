"""Escalation: each customer's state from the facts as of a date; only changes are recorded."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from rules.escalation import EscalationPolicy, evaluate, threshold_minor
from tasks.escalate.decide import Escalation, escalate
from tasks.escalate.facts import exposure, ratings
from tasks.platform.policy import PolicyError, load_policy

from .tables import table

AS_OF = date(2026, 3, 31)
POLICY, VERSION = load_policy("escalation", EscalationPolicy)
WORKLIST = "collector_worklist"


def test_the_shipped_policy_ends_with_clear() -> None:
    assert [s.name for s in POLICY.states] == [
        "small_balance_write_off",
        "collection_agency",
        "broken_promises",
        "over_credit_limit",
        "credit_hold",
        WORKLIST,
        "watch",
        "clear",
    ]
    assert POLICY.states[5].when.oldest_days_past_due_over == 45
    assert VERSION.startswith("v2-")


# The worklist needs both: oldest item over 45 days past due AND overdue amount over the threshold.
FACTS = """
    | customer_id | currency | open_amount_minor | overdue_amount_minor | oldest_days_past_due | expected  |
    | AT-45       | EUR      | 1000_00           | 1000_00              | 45                   | clear     |
    | AT-46       | EUR      | 1000_00           | 1000_00              | 46                   | worklist  |
    | EUR-500.00  | EUR      | 500_00            | 500_00               | 90                   | clear     |
    | EUR-500.01  | EUR      | 500_01            | 500_01               | 90                   | worklist  |
    | USD-500.01  | USD      | 500_01            | 500_01               | 90                   | worklist  |
    | GBP-400.00  | GBP      | 400_00            | 400_00               | 90                   | clear     |
    | GBP-400.01  | GBP      | 400_01            | 400_01               | 90                   | worklist  |
    | JPY-75000   | JPY      | 75000             | 75000                | 90                   | clear     |
    | JPY-75001   | JPY      | 75001             | 75001                | 90                   | worklist  |
    | CHF-500.00  | CHF      | 500_00            | 500_00               | 90                   | clear     |
    | CHF-500.01  | CHF      | 500_01            | 500_01               | 90                   | worklist  |
    | KWD-500.000 | KWD      | 500_000           | 500_000              | 90                   | clear     |
    | KWD-500.001 | KWD      | 500_001           | 500_001              | 90                   | worklist  |
    | NOT-OVERDUE | EUR      | 9000_00           | 0                    | 0                    | clear     |
"""


@pytest.fixture(scope="module")
def decided() -> pd.DataFrame:
    return evaluate(table(FACTS), POLICY, AS_OF)[0]


@pytest.mark.parametrize("customer", [row.split("|")[1].strip() for row in FACTS.strip().splitlines()[1:]])
def test_state_at_the_boundaries(decided: pd.DataFrame, customer: str) -> None:
    row = decided.set_index("customer_id").loc[customer]
    expected = WORKLIST if row["expected"] == "worklist" else "clear"
    assert row["state"] == expected
    assert row["actions"] == ("worklist" if expected == WORKLIST else "")


def test_clear_is_an_explicit_state(decided: pd.DataFrame) -> None:
    clear = decided[decided["state"] == "clear"]
    assert set(clear["reason"]) == {"clear"}
    assert (decided["state"] != "").all()


@pytest.mark.parametrize(
    ("currency", "minor"),
    [
        ("EUR", 500_00),
        ("USD", 500_00),
        ("GBP", 400_00),
        ("JPY", 75000),
        ("CHF", 500_00),
        ("KWD", 500_000),
        ("BHD", 500_000),
    ],
)
def test_threshold_per_currency_and_default(currency: str, minor: int) -> None:
    assert threshold_minor(POLICY.states[5].when.overdue_amount_over or {}, currency) == minor


def test_no_threshold_and_no_default_is_an_error() -> None:
    with pytest.raises(ValueError, match="no threshold for CHF and no default"):
        threshold_minor({"EUR": "500.00"}, "CHF")


def test_the_reason_names_the_threshold_of_the_customers_currency(decided: pd.DataFrame) -> None:
    reason = decided.set_index("customer_id").at["JPY-75001", "reason"]
    assert reason.startswith("oldest item over 45 days past due and overdue amount over 75000")
    assert "500.00" not in reason


# ---------------------------------------------------------------------------------------------------
# Facts from open items

ITEMS = """
    | invoice_id | customer_id | currency | due_date   | open_minor |
    | I-1        | C1          | EUR      | 2026-02-01 | 300_00     |
    | I-2        | C1          | EUR      | 2026-03-30 | 250_00     |
    | I-3        | C1          | EUR      | 2026-03-31 | 100_00     |
    | I-4        | C1          | EUR      | 2026-04-30 | 50_00      |
    | I-5        | C1          | USD      | 2026-01-01 | 10_00      |
    | I-6        | C2          | EUR      | 2026-04-15 | 70_00      |
    | I-7        | C3          | EUR      | 2025-12-01 | 0          |
"""


def test_exposure_per_customer_and_currency() -> None:
    facts = exposure(table(ITEMS), AS_OF)
    assert facts.values.tolist() == [
        # customer currency  open     overdue   oldest days past due, overdue invoices
        ["C1", "EUR", 700_00, 550_00, 58, 2],  # due today (I-3) is not overdue yet
        ["C1", "USD", 10_00, 10_00, 89, 1],
        ["C2", "EUR", 70_00, 0, 0, 0],  # nothing overdue
    ]  # C3 has nothing open


def run(items: str, current: str) -> Escalation:
    return escalate(table(items), table(current), POLICY, as_of=AS_OF, rule_version=VERSION)


STATE_ITEMS = """
    | invoice_id | customer_id | currency | due_date   | open_minor |
    | I-1        | STAYS       | EUR      | 2026-01-01 | 900_00     |
    | I-2        | ENTERS      | EUR      | 2026-02-01 | 600_00     |
    | I-3        | ENTERS      | USD      | 2026-02-01 | 600_00     |
    | I-4        | LEAVES      | EUR      | 2026-01-01 | 100_00     |
    | I-5        | NEW         | EUR      | 2026-03-01 | 100_00     |
"""
CURRENT = """
    | customer_id | currency | state              |
    | STAYS       | EUR      | collector_worklist |
    | LEAVES      | EUR      | collector_worklist |
    | PAID        | EUR      | collector_worklist |
    | PAID        | USD      | clear              |
    | GONE        | EUR      | clear              |
"""


@pytest.fixture(scope="module")
def result() -> Escalation:
    return run(STATE_ITEMS, CURRENT)


def test_state_change_rows_only_when_the_state_changes(result: Escalation) -> None:
    assert result.entered[["customer_id", "currency", "state"]].values.tolist() == [
        ["ENTERS", "EUR", WORKLIST],
        ["ENTERS", "USD", WORKLIST],
        ["LEAVES", "EUR", "clear"],  # paid down to 100.00: below the threshold
        ["PAID", "EUR", "clear"],  # nothing open any more: cleared explicitly
    ]
    assert result.entered.set_index("customer_id").at["PAID", "reason"] == "nothing open"
    assert set(result.entered["entered_on"]) == {AS_OF}
    assert set(result.entered["rule_version"]) == {VERSION}
    assert result.counts == {
        "customers_with_open_items": 5,
        "state_changes": 4,
        "worklist": 3,
        "holds_placed": 0,
        "write_offs_proposed": 0,
        "agency_customers": 0,
        "owner_notices": 0,
    }


def test_every_customer_with_an_open_amount_has_a_state(result: Escalation) -> None:
    states = result.states.set_index(["customer_id", "currency"])["state"].to_dict()
    assert states == {
        ("ENTERS", "EUR"): WORKLIST,
        ("ENTERS", "USD"): WORKLIST,
        ("LEAVES", "EUR"): "clear",
        ("NEW", "EUR"): "clear",  # 30 days: not yet
        ("STAYS", "EUR"): WORKLIST,
    }


def test_the_worklist_largest_overdue_first(result: Escalation) -> None:
    assert result.worklist[
        ["customer_id", "currency", "overdue_amount_minor", "oldest_days_past_due"]
    ].values.tolist() == [
        ["STAYS", "EUR", 900_00, 89],
        ["ENTERS", "EUR", 600_00, 58],
        ["ENTERS", "USD", 600_00, 58],
    ]
    assert set(result.worklist["rule"]) == {WORKLIST}
    assert set(result.worklist["as_of"]) == {AS_OF}


def test_running_again_on_the_recorded_states_changes_nothing(result: Escalation) -> None:
    recorded = result.states[["customer_id", "currency", "state"]]
    again = escalate(table(STATE_ITEMS), recorded, POLICY, as_of=AS_OF, rule_version=VERSION)
    assert again.entered.empty


def test_nothing_open_and_nothing_recorded() -> None:
    result = run(
        "| invoice_id | customer_id | currency | due_date | open_minor |",
        "| customer_id | currency | state |",
    )
    assert result.entered.empty and result.worklist.empty and result.states.empty


def test_nothing_open_clears_whoever_was_escalated() -> None:
    result = run("| invoice_id | customer_id | currency | due_date | open_minor |", CURRENT)
    assert result.entered[["customer_id", "currency", "state", "reason"]].values.tolist() == [
        ["STAYS", "EUR", "clear", "nothing open"],
        ["LEAVES", "EUR", "clear", "nothing open"],
        ["PAID", "EUR", "clear", "nothing open"],
    ]


# ---------------------------------------------------------------------------------------------------
# The policy file

CLEAR = "  - {name: clear, when: {}, actions: []}\n"
WORK = (
    "  - name: collector_worklist\n"
    "    when: {oldest_days_past_due_over: 45, overdue_amount_over: {EUR: '%s', default: '500.00'}}\n"
    "    actions: [%s]\n"
)


def write(folder: Path, states: str) -> Path:
    path = folder / "escalation.yaml"
    path.write_text("version: 7\nstates:\n" + states)
    return path


def test_a_valid_policy_loads(tmp_path: Path) -> None:
    write(tmp_path, WORK % ("500.00", "worklist") + CLEAR)
    policy, version = load_policy("escalation", EscalationPolicy, tmp_path)
    assert [s.name for s in policy.states] == [WORKLIST, "clear"]
    assert version.startswith("v7-")


# states in the file                                    the error says
REJECTED = [
    (CLEAR + WORK % ("500.00", "worklist"), "the last state must be 'clear' with no conditions"),
    (WORK % ("500.00", "worklist"), "the last state must be 'clear' with no conditions"),
    (
        WORK % ("500.00", "worklist") + "  - {name: clear, when: {oldest_days_past_due_over: 1}}\n",
        "the last state must be 'clear' with no conditions",
    ),
    (
        WORK % ("500.00", "worklist") + "  - {name: done}\n",
        "the last state must be 'clear' with no conditions",
    ),
    (WORK % ("500.00", "phone_call") + CLEAR, "unknown action(s): phone_call"),
    (WORK % ("500.001", "worklist") + CLEAR, "EUR: amount '500.001' has more than 2 decimals for EUR"),
    (WORK % ("five hundred", "worklist") + CLEAR, "is not a decimal number"),
    ("  - {name: w, when: {oldest_days_past_due_over: -1}}\n" + CLEAR, "greater than or equal to 0"),
    ("", "states"),
]


@pytest.mark.parametrize(("states", "message"), REJECTED, ids=[f"{i}" for i in range(len(REJECTED))])
def test_a_bad_policy_is_rejected_naming_the_file(tmp_path: Path, states: str, message: str) -> None:
    write(tmp_path, states)
    with pytest.raises(PolicyError) as caught:
        load_policy("escalation", EscalationPolicy, tmp_path)
    assert str(caught.value).startswith("escalation.yaml: ")
    assert message in str(caught.value)


def test_a_default_threshold_that_loads_can_be_applied_to_every_currency(tmp_path: Path) -> None:
    write(tmp_path, WORK.replace("default: '500.00'", "default: '500.50'") % ("500.00", "worklist") + CLEAR)
    try:
        policy, _version = load_policy("escalation", EscalationPolicy, tmp_path)
    except PolicyError:
        return  # rejecting the file is a fine answer too
    facts = table("""
        | customer_id | currency | open_amount_minor | overdue_amount_minor | oldest_days_past_due |
        | C1          | KRW      | 900000            | 900000               | 90                   |
    """)
    assert evaluate(facts, policy, AS_OF)[0].at[0, "state"] == WORKLIST


# ---------------------------------------------------------------------------------------------------
# Policy v2: each state at its boundaries (the first state whose conditions all hold wins)

V2 = """
    | customer_id   | currency | open_amount_minor | overdue_amount_minor | oldest_days_past_due | overdue_invoices | dunning_level | broken_promises | rating | tags      | over_credit_limit | expected                |
    | SMALL-180     | EUR      | 25_00             | 25_00                | 180                  | 1                | 0             | 0               |        |           | False             | clear                   |
    | SMALL-181     | EUR      | 25_00             | 25_00                | 181                  | 1                | 0             | 0               |        |           | False             | small_balance_write_off |
    | SMALL-25.01   | EUR      | 25_01             | 25_01                | 181                  | 1                | 0             | 0               |        |           | False             | clear                   |
    | AGENCY-120    | EUR      | 900_00            | 900_00               | 120                  | 2                | 3             | 0               |        |           | False             | collector_worklist      |
    | AGENCY-121    | EUR      | 900_00            | 900_00               | 121                  | 2                | 3             | 0               |        |           | False             | collection_agency       |
    | AGENCY-LVL2   | EUR      | 900_00            | 900_00               | 121                  | 2                | 2             | 0               |        |           | False             | collector_worklist      |
    | AGENCY-STRAT  | EUR      | 900_00            | 900_00               | 121                  | 2                | 3             | 0               |        | strategic | False             | collector_worklist      |
    | PROMISES-1    | EUR      | 100_00            | 0                    | 0                    | 0                | 0             | 1               |        |           | False             | clear                   |
    | PROMISES-2    | EUR      | 100_00            | 0                    | 0                    | 0                | 0             | 2               |        |           | False             | broken_promises         |
    | LIMIT-AT      | EUR      | 100_00            | 0                    | 0                    | 0                | 0             | 0               |        |           | False             | clear                   |
    | LIMIT-OVER    | EUR      | 100_00            | 0                    | 0                    | 0                | 0             | 0               |        |           | True              | over_credit_limit       |
    | HOLD-90       | EUR      | 2000_00           | 2000_00              | 90                   | 3                | 0             | 0               |        |           | False             | collector_worklist      |
    | HOLD-91       | EUR      | 2000_00           | 2000_00              | 91                   | 3                | 0             | 0               |        |           | False             | credit_hold             |
    | HOLD-1000.00  | EUR      | 1000_00           | 1000_00              | 91                   | 3                | 0             | 0               |        |           | False             | collector_worklist      |
    | HOLD-1000.01  | EUR      | 1000_01           | 1000_01              | 91                   | 3                | 0             | 0               |        |           | False             | credit_hold             |
    | WATCH-B       | EUR      | 10_00             | 10_00                | 5                    | 1                | 0             | 0               | B      |           | False             | clear                   |
    | WATCH-C       | EUR      | 10_00             | 10_00                | 5                    | 1                | 0             | 0               | C      |           | False             | watch                   |
    | WATCH-D-NONE  | EUR      | 10_00             | 0                    | 0                    | 0                | 0             | 0               | D      |           | False             | clear                   |
"""


@pytest.mark.parametrize("customer", [row.split("|")[1].strip() for row in V2.strip().splitlines()[1:]])
def test_each_v2_state_at_its_boundaries(customer: str) -> None:
    facts = table(V2)
    facts["over_credit_limit"] = facts["over_credit_limit"].astype(str) == "True"
    row = evaluate(facts, POLICY, AS_OF)[0].set_index("customer_id").loc[customer]
    assert row["state"] == row["expected"]


def test_the_reason_of_a_list_condition_reads_as_words() -> None:
    facts = table(V2)
    facts["over_credit_limit"] = facts["over_credit_limit"].astype(str) == "True"
    row = evaluate(facts, POLICY, AS_OF)[0].set_index("customer_id").loc["WATCH-C"]
    assert row["reason"] == "rated C/D and something overdue"
    assert row["actions"] == "worklist"


# ---------------------------------------------------------------------------------------------------
# Ratings: amount-weighted average days late over the invoices settled in 12 months

SETTLED = """
    | customer_id | invoice_id | amount_minor | due_date   | settled_on |
    | A30         | I-1        | 100_00       | 2026-01-01 | 2026-01-31 |
    | B31         | I-2        | 100_00       | 2026-01-01 | 2026-02-01 |
    | B60         | I-3        | 100_00       | 2026-01-01 | 2026-03-02 |
    | C61         | I-4        | 100_00       | 2026-01-01 | 2026-03-03 |
    | C90         | I-5        | 100_00       | 2026-01-01 | 2026-04-01 |
    | D91         | I-6        | 100_00       | 2026-01-01 | 2026-04-02 |
    | EARLY       | I-7        | 100_00       | 2026-01-31 | 2026-01-01 |
    | WEIGHT      | I-8        | 300_00       | 2026-01-01 | 2026-01-01 |
    | WEIGHT      | I-9        | 100_00       | 2026-01-01 | 2026-05-01 |
"""


def test_rating_thresholds_and_weighting() -> None:
    rated = ratings(table(SETTLED), POLICY.rating).set_index("customer_id")
    assert rated["rating"].to_dict() == {
        "A30": "A", "B31": "B", "B60": "B", "C61": "C", "C90": "C", "D91": "D", "EARLY": "A", "WEIGHT": "A",
    }  # fmt: skip
    assert rated.at["EARLY", "average_delay_days"] == 0  # paid early counts as 0, not as negative
    assert rated.at["WEIGHT", "average_delay_days"] == 30  # (300.00 x 0 + 100.00 x 120) / 400.00: still A
    assert rated.at["WEIGHT", "settled_invoices"] == 2


def test_nothing_settled_is_unrated() -> None:
    assert ratings(table(SETTLED).iloc[0:0], POLICY.rating).empty


# ---------------------------------------------------------------------------------------------------
# The worklist per collector group, scored; actions on entering a state

ACTION_ITEMS = """
    | invoice_id | customer_id | currency | issue_date | due_date   | amount_minor | open_minor |
    | H-1        | HOLDME      | EUR      | 2025-11-01 | 2025-12-01 | 2000_00      | 2000_00    |
    | W-1        | NORTH1      | EUR      | 2026-01-01 | 2026-02-01 | 600_00       | 600_00     |
    | W-2        | NORTH2      | EUR      | 2026-01-01 | 2026-02-10 | 5000_00      | 5000_00    |
    | W-3        | SOUTH1      | EUR      | 2026-01-01 | 2026-02-01 | 700_00       | 700_00     |
    | S-1        | TINY        | EUR      | 2025-06-01 | 2025-07-01 | 10_00        | 10_00      |
"""
MASTER = """
    | customer_id | name      | tags | collector_group | account_owner     | credit_limit_minor | customer_currency |
    | HOLDME      | Hold AG   |      | north           | owner@example.com |                    | EUR               |
    | NORTH1      | North One |      | north           |                   |                    | EUR               |
    | NORTH2      | North Two |      | north           |                   |                    | EUR               |
    | SOUTH1      | South One |      | south           |                   |                    | EUR               |
    | TINY        | Tiny SARL |      | south           |                   |                    | EUR               |
"""


def act(current: str = "| customer_id | currency | state |", **extra: object) -> Escalation:
    return escalate(
        table(ACTION_ITEMS),
        table(current),
        POLICY,
        as_of=AS_OF,
        rule_version=VERSION,
        customers=table(MASTER),
        **extra,
    )


def test_the_worklist_is_one_list_per_collector_group_highest_score_first() -> None:
    lines = act().worklist
    assert lines[["collector_group", "customer_id", "state"]].values.tolist() == [
        ["north", "HOLDME", "credit_hold"],
        ["north", "NORTH2", "collector_worklist"],
        ["north", "NORTH1", "collector_worklist"],
        ["south", "SOUTH1", "collector_worklist"],
    ]
    north2 = lines.set_index("customer_id").loc["NORTH2"]
    # 5,000.00 overdue: 50 points; 49 days: 24.50; unrated: 10
    assert north2["score"] == 84.5
    assert north2["reason"].endswith("score 84.50 = overdue 50.00 + age 24.50 + rating 10.00")


def test_actions_happen_on_entering_a_state_and_never_twice() -> None:
    first = act()
    assert first.holds[["customer_id", "currency"]].values.tolist() == [["HOLDME", "EUR"]]
    assert first.write_offs[["invoice_id", "amount_minor"]].values.tolist() == [["S-1", 10_00]]
    assert first.notices[["customer_id", "state", "account_owner"]].values.tolist() == [
        ["HOLDME", "credit_hold", "owner@example.com"]
    ]
    recorded = first.entered[["customer_id", "currency", "state"]]
    again = escalate(
        table(ACTION_ITEMS),
        recorded,
        POLICY,
        as_of=AS_OF,
        rule_version=VERSION,
        customers=table(MASTER),
        proposed={"S-1"},
    )
    assert again.entered.empty and again.holds.empty and again.notices.empty and again.write_offs.empty
    assert len(again.worklist) == 4  # the worklist is recomputed every run


def test_entering_and_leaving_are_one_row_naming_both_states() -> None:
    first = act()
    row = first.entered.set_index("customer_id").loc["HOLDME"]
    assert (row["previous_state"], row["state"]) == ("clear", "credit_hold")
    paid = table(ACTION_ITEMS.replace("| 2000_00      | 2000_00    |", "| 2000_00      | 0          |"))
    later = escalate(
        paid, first.entered[["customer_id", "currency", "state"]], POLICY, as_of=AS_OF, rule_version=VERSION
    )
    left = later.entered.set_index("customer_id").loc["HOLDME"]
    assert (left["previous_state"], left["state"], left["reason"]) == ("credit_hold", "clear", "nothing open")


def test_a_customer_over_its_credit_limit_with_unbilled_orders() -> None:
    master = table(
        MASTER.replace(
            "| north           |                   |                    | EUR               |\n    | NORTH2",
            "| north           |                   | 1000_00            | EUR               |\n    | NORTH2",
            1,
        )
    )
    unbilled = table("""
        | customer_id | currency | unbilled_minor |
        | NORTH1      | EUR      | 400_00         |
        | NORTH1      | USD      | 9000_00        |
    """)
    result = escalate(table(ACTION_ITEMS), table("| customer_id | currency | state |"), POLICY, as_of=AS_OF,
                      rule_version=VERSION, customers=master, unbilled=unbilled)  # fmt: skip
    states = result.states.set_index(["customer_id", "currency"])
    # 600.00 open + 400.00 unbilled = 1,000.00: at the limit, not over it
    assert states.at[("NORTH1", "EUR"), "exposure_minor"] == 1000_00
    assert states.at[("NORTH1", "EUR"), "state"] == "collector_worklist"
    assert not states.at[("NORTH1", "USD"), "over_credit_limit"]  # the limit is in the customer's currency
    over = escalate(table(ACTION_ITEMS), table("| customer_id | currency | state |"), POLICY, as_of=AS_OF,
                    rule_version=VERSION, customers=master, unbilled=unbilled.assign(unbilled_minor=[400_01, 0]))  # fmt: skip
    assert (
        over.states.set_index(["customer_id", "currency"]).at[("NORTH1", "EUR"), "state"]
        == "over_credit_limit"
    )


def test_only_the_last_twelve_months_count_for_the_rating() -> None:
    settled = table(SETTLED)
    # As of 2 April 2027, only settlements after 2 April 2026 count: D91's on that very day does not.
    rated = ratings(settled, POLICY.rating, date(2027, 4, 2)).set_index("customer_id")
    assert sorted(rated.index) == ["WEIGHT"]
    assert rated.at["WEIGHT", "settled_invoices"] == 1 and rated.at["WEIGHT", "rating"] == "D"  # 120 days


def test_a_threshold_missing_for_a_currency_is_a_problem_and_holds_nowhere_in_it() -> None:
    policy = EscalationPolicy.model_validate(
        {
            "version": 1,
            "states": [
                {
                    "name": WORKLIST,
                    "when": {"overdue_amount_over": {"EUR": "500.00"}},
                    "actions": ["worklist"],
                },
                {"name": "clear"},
            ],
        }
    )
    facts = table("""
        | customer_id | currency | open_amount_minor | overdue_amount_minor | oldest_days_past_due |
        | C1          | CHF      | 900_00            | 900_00               | 90                   |
        | C2          | EUR      | 900_00            | 900_00               | 90                   |
        | C3          | CHF      | 100_00            | 100_00               | 90                   |
    """)
    states, problems = evaluate(facts, policy, AS_OF)
    assert states["state"].tolist() == ["clear", WORKLIST, "clear"]
    assert problems == [f"state {WORKLIST}: no threshold for CHF and no default"]
    # a policy problem: one line naming the file (the stage runner reports PolicyError so), no traceback
    with pytest.raises(
        PolicyError, match="escalation.yaml: .*no threshold for USD and no default"
    ):  # I-5: USD
        escalate(table(ITEMS), pd.DataFrame(), policy, as_of=AS_OF, rule_version="v1")


def _agency_fixture() -> tuple[pd.DataFrame, pd.DataFrame]:
    items = pd.DataFrame(
        {
            "customer_id": ["C2", "C1", "C1", "C1", "C3"],
            "currency": ["EUR", "EUR", "EUR", "USD", "EUR"],
            "invoice_id": ["I-5", "I-2", "I-1", "I-3", "I-4"],
            "issue_date": [
                date(2026, 1, 5),
                date(2026, 2, 1),
                date(2026, 1, 1),
                date(2026, 1, 1),
                date(2026, 1, 1),
            ],
            "due_date": [
                date(2026, 2, 4),
                date(2026, 3, 3),
                date(2026, 3, 3),
                date(2026, 1, 31),
                date(2026, 1, 31),
            ],
            "open_minor": [12_345, 100_00, 5, 7_50, 1],
        }
    )
    states = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C1"],
            "currency": ["EUR", "EUR", "JPY"],
            "name": ["Acme & Co", None, "Acme & Co"],
            "state": ["collection_agency", "collection_agency", "collection_agency"],
        }
    )
    return items, states


@pytest.mark.parametrize("as_timestamps", [False, True])
def test_agency_rows_are_the_open_items_of_the_lines_handed_over(as_timestamps: bool) -> None:
    from tasks.escalate.decide import _agency_rows

    items, states = _agency_fixture()
    if as_timestamps:  # a frame the ledger gave as timestamps, not dates: the same rows
        items = items.assign(
            issue_date=pd.to_datetime(items["issue_date"]), due_date=pd.to_datetime(items["due_date"])
        )
    rows = _agency_rows(states, items, date(2026, 3, 13))
    # C1's USD invoice and C3's are not handed over; C1's EUR by due date, then invoice number
    assert rows.to_dict("records") == [
        {
            "customer_id": "C1",
            "name": "Acme & Co",
            "currency": "EUR",
            "invoice_id": "I-1",
            "issue_date": "2026-01-01",
            "due_date": "2026-03-03",
            "days_past_due": 10,
            "open_amount": "0.05",
            "state": "collection_agency",
        },
        {
            "customer_id": "C1",
            "name": "Acme & Co",
            "currency": "EUR",
            "invoice_id": "I-2",
            "issue_date": "2026-02-01",
            "due_date": "2026-03-03",
            "days_past_due": 10,
            "open_amount": "100.00",
            "state": "collection_agency",
        },
        {
            "customer_id": "C2",
            "name": "",
            "currency": "EUR",
            "invoice_id": "I-5",
            "issue_date": "2026-01-05",
            "due_date": "2026-02-04",
            "days_past_due": 37,
            "open_amount": "123.45",
            "state": "collection_agency",
        },
    ]
    assert list(_agency_rows(states.iloc[:0], items, date(2026, 3, 13)).columns) == list(rows.columns)
    assert _agency_rows(states, items.iloc[:0], date(2026, 3, 13)).empty


def test_tags_and_actions_are_read_once_per_distinct_text_with_the_same_answers() -> None:
    from rules.escalation import _tags

    frame = pd.DataFrame({"tags": ["VIP; Public ", None, "", "public", "VIP; Public "]})
    tags = _tags(frame)
    assert tags.tolist() == [{"vip", "public"}, set(), set(), {"public"}, {"vip", "public"}]
    assert tags.iloc[0] is tags.iloc[4]  # one set for each distinct text
    assert _tags(pd.DataFrame({"x": [1, 2]})).tolist() == [set(), set()]

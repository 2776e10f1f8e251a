"""Dunning: the level each open invoice has reached, and one consolidated message per customer."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from rules.dunning import DunningPolicy, due_messages, reached_levels
from rules.policy import PolicyError, load_policy
from tasks.remind import Dunning, plan_reminders

from .tables import table

AS_OF = date(2026, 3, 31)
POLICY, VERSION = load_policy("dunning", DunningPolicy)
NO_HISTORY = table("""
    | invoice_id | last_level |
""")


def test_the_shipped_policy() -> None:
    standard = POLICY.profiles[POLICY.default_profile]
    assert [(lv.level, lv.name, lv.days, lv.before_due_only) for lv in standard.levels] == [
        (0, "courtesy", -3, True),
        (1, "first_reminder", 7, False),
        (2, "second_reminder", 21, False),
    ]
    assert VERSION.startswith("v1-")


def test_level_by_days_past_due() -> None:
    items = table("""
        | invoice_id | customer_id | currency | issue_date | due_date   | open_minor | days | expected |
        | I-4        | C1          | EUR      | 2026-03-01 | 2026-04-04 | 10_00      | -4   | -        |
        | I-3        | C1          | EUR      | 2026-03-01 | 2026-04-03 | 10_00      | -3   | 0        |
        | I-1        | C1          | EUR      | 2026-03-01 | 2026-04-01 | 10_00      | -1   | 0        |
        | I0         | C1          | EUR      | 2026-03-01 | 2026-03-31 | 10_00      | 0    | -        |
        | I6         | C1          | EUR      | 2026-02-01 | 2026-03-25 | 10_00      | 6    | -        |
        | I7         | C1          | EUR      | 2026-02-01 | 2026-03-24 | 10_00      | 7    | 1        |
        | I20        | C1          | EUR      | 2026-02-01 | 2026-03-11 | 10_00      | 20   | 1        |
        | I21        | C1          | EUR      | 2026-02-01 | 2026-03-10 | 10_00      | 21   | 2        |
        | I100       | C1          | EUR      | 2025-11-01 | 2025-12-21 | 10_00      | 100  | 2        |
        | PAID       | C1          | EUR      | 2025-11-01 | 2025-12-21 | 0          | 100  | -        |
    """)
    reached = reached_levels(items, pd.Series({"C1": "standard"}), POLICY, AS_OF)
    expected = items[items["expected"] != "-"]
    assert reached["invoice_id"].tolist() == expected["invoice_id"].tolist()
    assert reached["level"].tolist() == [int(x) for x in expected["expected"]]
    assert reached["days_past_due"].tolist() == [int(x) for x in expected["days"]]
    assert reached["level_name"].tolist() == [
        "courtesy",
        "courtesy",
        "first_reminder",
        "first_reminder",
        "second_reminder",
        "second_reminder",
    ]
    assert reached["template"].tolist() == [
        "courtesy",
        "courtesy",
        "reminder",
        "reminder",
        "reminder",
        "reminder",
    ]


STRICT = DunningPolicy.model_validate(
    {
        "version": 2,
        "default_profile": "standard",
        "profiles": {
            "standard": {"levels": [{"level": 1, "name": "reminder", "days": 14, "template": "reminder"}]},
            "strict": {"levels": [{"level": 1, "name": "reminder", "days": 1, "template": "reminder"}]},
        },
    }
)


def test_each_customer_is_dunned_by_its_profile_and_unknown_profiles_by_the_default() -> None:
    items = table("""
        | invoice_id | customer_id | currency | issue_date | due_date   | open_minor |
        | A          | STRICT      | EUR      | 2026-03-01 | 2026-03-29 | 10_00      |
        | B          | STANDARD    | EUR      | 2026-03-01 | 2026-03-29 | 10_00      |
        | C          | ODD         | EUR      | 2026-03-01 | 2026-03-29 | 10_00      |
        | D          | ODD         | EUR      | 2026-03-01 | 2026-03-01 | 10_00      |
        | E          | NOBODY      | EUR      | 2026-03-01 | 2026-03-01 | 10_00      |
    """)
    profiles = pd.Series({"STRICT": "strict", "STANDARD": "standard", "ODD": "no-such-profile"})
    reached = reached_levels(items, profiles, STRICT, AS_OF)
    assert reached[["invoice_id", "profile", "level"]].values.tolist() == [
        ["A", "strict", 1],  # 2 days past due is enough for strict
        ["D", "standard", 1],  # 30 days
        ["E", "standard", 1],
    ]


def reached_of(items: str) -> pd.DataFrame:
    return reached_levels(table(items), pd.Series(dtype=object), POLICY, AS_OF)


ITEMS = """
    | invoice_id | customer_id | currency | issue_date | due_date   | open_minor |
    | I-1        | C1          | EUR      | 2026-01-01 | 2026-03-01 | 100_00     |
    | I-2        | C1          | EUR      | 2026-02-20 | 2026-03-20 | 50_00      |
    | I-3        | C1          | USD      | 2026-03-01 | 2026-04-02 | 20_00      |
    | I-4        | C1          | EUR      | 2026-03-28 | 2026-04-27 | 10_00      |
    | I-5        | C2          | EUR      | 2026-02-01 | 2026-03-23 | 30_00      |
    | I-6        | C3          | EUR      | 2026-02-01 | 2026-03-21 | 40_00      |
"""
#   I-1  30 days past due -> level 2
#   I-2  11 days          -> level 1
#   I-3   2 days before   -> courtesy
#   I-4  27 days before   -> no level, not in any message
#   I-5   8 days          -> level 1
#   I-6  10 days          -> level 1


def messages(history: str) -> pd.DataFrame:
    return due_messages(reached_of(ITEMS), table(history))


def test_without_history_every_customer_at_a_level_gets_a_message() -> None:
    due = messages("""
        | invoice_id | last_level |
    """)
    assert due[["customer_id", "invoice_id", "level", "is_new"]].values.tolist() == [
        ["C1", "I-1", 2, True],
        ["C1", "I-2", 1, True],
        ["C1", "I-3", 0, True],
        ["C2", "I-5", 1, True],
        ["C3", "I-6", 1, True],
    ]


def test_no_repeat_for_the_same_level() -> None:
    due = messages("""
        | invoice_id | last_level |
        | I-1        | 2          |
        | I-2        | 1          |
        | I-3        | 0          |
        | I-5        | 1          |
    """)
    assert due["customer_id"].unique().tolist() == ["C3"]


def test_a_level_that_rises_brings_a_message_listing_every_invoice_at_its_level() -> None:
    due = messages("""
        | invoice_id | last_level |
        | I-1        | 1          |
        | I-2        | 1          |
        | I-3        | 0          |
        | I-5        | 1          |
        | I-6        | 1          |
    """)
    # I-1 went from the first to the second reminder; I-2 and I-3 come along in the same message.
    assert due[["customer_id", "invoice_id", "level", "is_new"]].values.tolist() == [
        ["C1", "I-1", 2, True],
        ["C1", "I-2", 1, False],
        ["C1", "I-3", 0, False],
    ]


def test_a_courtesy_note_is_followed_by_a_first_reminder() -> None:
    items = """
        | invoice_id | customer_id | currency | issue_date | due_date   | open_minor |
        | I-9        | C9          | EUR      | 2026-02-01 | 2026-03-24 | 10_00      |
    """
    due = due_messages(
        reached_of(items),
        table("""
        | invoice_id | last_level |
        | I-9        | 0          |
    """),
    )
    assert due[["invoice_id", "level", "is_new"]].values.tolist() == [["I-9", 1, True]]


def test_a_lower_level_than_already_sent_brings_nothing() -> None:
    due = messages("""
        | invoice_id | last_level |
        | I-1        | 2          |
        | I-2        | 2          |
        | I-3        | 1          |
        | I-5        | 2          |
        | I-6        | 2          |
    """)
    assert due.empty


# ---------------------------------------------------------------------------------------------------
# Consolidated messages

CUSTOMERS = table("""
    | customer_id | name                                | email            | language | dunning_profile |
    | C1          | <script>alert('x')</script> & Sons  | ap@c1.example    | en       | standard        |
    | C2          | Müller & Söhne GmbH                 | buch@c2.example  | de       | standard        |
    | C3          | Dupont SARL                         |                  | es       | standard        |
""")


def plan(history: str = "| invoice_id | last_level |", *, as_of: date = AS_OF, items: str = ITEMS) -> Dunning:
    return plan_reminders(table(items), CUSTOMERS, table(history), POLICY, as_of=as_of, rule_version=VERSION)


@pytest.fixture(scope="module")
def dunning() -> Dunning:
    return plan()


def test_one_message_per_customer(dunning: Dunning) -> None:
    assert dunning.reminders[
        ["customer_id", "level", "level_name", "invoice_ids", "language", "status"]
    ].values.tolist() == [
        ["C1", 2, "second_reminder", "I-1;I-2;I-3", "en", "queued"],
        ["C2", 1, "first_reminder", "I-5", "de", "queued"],
        ["C3", 1, "first_reminder", "I-6", "en", "queued"],  # no Spanish templates: English
    ]
    assert dunning.counts == {"invoices_at_a_level": 5, "customers_reminded": 3, "invoices_in_messages": 5}


def test_every_invoice_of_the_message_is_listed_at_its_level(dunning: Dunning) -> None:
    c1 = dunning.reminders.at[0, "reminder_id"]
    items = dunning.items[dunning.items["reminder_id"] == c1]
    assert items[
        ["invoice_id", "level", "open_amount_minor", "currency", "days_past_due"]
    ].values.tolist() == [
        ["I-1", 2, 100_00, "EUR", 30],
        ["I-2", 1, 50_00, "EUR", 11],
        ["I-3", 0, 20_00, "USD", -2],
    ]
    text = dunning.reminders.at[0, "body_text"]
    for line in (
        "- I-1  issued 2026-01-01  due 2026-03-01  100.00 EUR  (30 days past due)",
        "- I-2  issued 2026-02-20  due 2026-03-20  50.00 EUR  (11 days past due)",
        "- I-3  issued 2026-03-01  due 2026-04-02  20.00 USD\n",
        "Total open: 150.00 EUR",
        "Total open: 20.00 USD",
        "payment by 2026-04-10",
    ):
        assert line in text
    assert "I-4" not in text


def test_subjects_say_the_customer_and_its_language(dunning: Dunning) -> None:
    assert dunning.reminders["subject"].tolist() == [
        "Payment reminder: open invoices (C1)",
        "Zahlungserinnerung: offene Rechnungen (C2)",
        "Payment reminder: open invoices (C3)",
    ]
    assert dunning.reminders["recipient"].tolist() == ["ap@c1.example", "buch@c2.example", None]


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
    expected = "R-" + hashlib.sha256(b"C1|2|I-1;I-2;I-3").hexdigest()[:16]
    assert dunning.reminders.at[0, "reminder_id"] == expected
    assert dunning.reminders["reminder_id"].is_unique


def test_the_same_facts_a_day_later_give_the_same_reminder_id(dunning: Dunning) -> None:
    again = plan(as_of=date(2026, 4, 1))
    assert again.reminders["reminder_id"].tolist() == dunning.reminders["reminder_id"].tolist()


def test_another_invoice_set_is_another_reminder(dunning: Dunning) -> None:
    fewer = plan(
        items=ITEMS.replace(
            "| I-2        | C1          | EUR      | 2026-02-20 | 2026-03-20 | 50_00      |", ""
        )
    )
    assert fewer.reminders.at[0, "invoice_ids"] == "I-1;I-3"
    assert fewer.reminders.at[0, "reminder_id"] != dunning.reminders.at[0, "reminder_id"]


def test_history_stops_the_repeat_of_a_whole_message() -> None:
    dunning = plan("""
        | invoice_id | last_level |
        | I-1        | 2          |
        | I-2        | 1          |
        | I-3        | 0          |
        | I-5        | 1          |
    """)
    assert dunning.reminders["customer_id"].tolist() == ["C3"]


def test_html_escapes_a_customer_name_with_markup(dunning: Dunning) -> None:
    html = dunning.reminders.at[0, "body_html"]
    assert "<script>" not in html
    assert "Dear &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Sons," in html
    # the plain text part carries the name as it is
    assert "Dear <script>alert('x')</script> & Sons," in dunning.reminders.at[0, "body_text"]


def test_a_language_without_an_html_layout_gets_the_text_escaped_in_a_page(dunning: Dunning) -> None:
    html = dunning.reminders.at[1, "body_html"]
    assert '<html lang="de">' in html
    assert "Müller &amp; Söhne GmbH" in html
    assert "Offener Gesamtbetrag: 30.00 EUR" in html


# ---------------------------------------------------------------------------------------------------
# The policy file

LEVEL = "{{level: {level}, name: n{level}, days: {days}, template: reminder}}"


def write_policy(folder: Path, levels: list[tuple[int, int]], default: str = "standard") -> None:
    listed = ", ".join(LEVEL.format(level=lv, days=d) for lv, d in levels)
    (folder / "dunning.yaml").write_text(
        f"version: 3\ndefault_profile: {default}\nprofiles:\n  standard:\n    levels: [{listed}]\n"
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


def test_a_valid_policy_file_loads_with_its_version(tmp_path: Path) -> None:
    write_policy(tmp_path, [(1, 7), (2, 21)])
    policy, version = load_policy("dunning", DunningPolicy, tmp_path)
    assert [lv.days for lv in policy.profiles["standard"].levels] == [7, 21]
    digest = hashlib.sha256((tmp_path / "dunning.yaml").read_bytes()).hexdigest()[:8]
    assert version == f"v3-{digest}"

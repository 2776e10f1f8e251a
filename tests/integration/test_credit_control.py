"""The escalate stage acting through Prefect: a credit hold and a notice to the account owner on
entering a state, a hold released by a person with a reason and not placed again, a customer over
its credit limit through unbilled orders, a write-off proposed by policy and approved by a person,
and the hand-over file for the collection agency."""

from __future__ import annotations

import email
import email.policy
from datetime import date
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from cli import app
from flows.escalate import escalate_flow
from flows.ingest import ingest_flow
from tasks.platform.config import load_settings
from tasks.platform.ledger import open_ledger

AS_OF = date(2026, 11, 20)
FILES = {
    "customers.csv": """customer_id,name,email,currency,credit_limit,collector_group,account_owner,tags
K1,Hold AG,ap@hold.example,EUR,,north,owner@example.com,
K2,Tiny SARL,ap@tiny.example,EUR,,south,,
K3,Gone GmbH,ap@gone.example,EUR,,south,,
K4,Limit Ltd,ap@limit.example,EUR,500.00,north,,
""",
    "invoices.csv": """invoice_id,customer_id,issue_date,due_date,currency,amount
X-1,K1,2026-07-01,2026-08-01,EUR,2000.00
X-2,K2,2026-03-01,2026-04-01,EUR,10.00
X-3,K3,2026-06-01,2026-07-01,EUR,900.00
X-4,K4,2026-11-01,2026-12-01,EUR,300.00
""",
    "orders.csv": """order_id,customer_id,order_date,currency,status,fulfilled_date
SO-4,K4,2026-11-15,EUR,open,
""",
    "order_lines.csv": """order_id,line_no,sku,description,quantity,unit_price,tax_rate
SO-4,1,A,Widget,1,200.01,0
""",
}


def cli(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--home", str(home)])
    return result.exit_code, result.output.strip()


def test_escalation_acts_and_people_decide(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text)
    ingest_flow(paths=[str(folder / n) for n in FILES], as_of=AS_OF, home=str(home))
    with (
        open_ledger(load_settings(home).ledger_path) as ledger,
        ledger.transaction("test"),
    ):  # K3's final reminder
        ledger.con.execute(
            "insert into reminders (reminder_id, customer_id, level, level_name, invoice_ids, as_of, language,"
            " recipient, subject, body_text, body_html, status, rule_version, run_id)"
            " values ('R-1', 'K3', 3, 'final', 'X-3', '2026-10-01', 'en', 'ap@gone.example', 's', 't', 'h',"
            " 'sent', 'v', 'test')"
        )

    summary = escalate_flow(as_of=AS_OF, home=str(home))
    states = {}
    with open_ledger(load_settings(home).ledger_path) as ledger:
        for row in ledger.table("escalations").itertuples():
            states[row.customer_id] = (row.previous_state, row.state)
        holds = ledger.table("credit_holds").set_index("customer_id")
        proposals = ledger.table("write_offs")
    assert states == {
        "K1": ("clear", "credit_hold"),  # 111 days, 2,000.00 overdue
        "K2": ("clear", "small_balance_write_off"),  # 10.00 for 233 days
        "K3": ("clear", "collection_agency"),  # 142 days after the final reminder
        "K4": ("clear", "over_credit_limit"),  # 300.00 open + 200.01 not billed > 500.00
    }
    assert sorted(holds.index) == ["K1", "K3", "K4"]
    assert (
        holds.at["K4", "placed_reason"]
        == "over_credit_limit: open receivables and unbilled orders above the credit limit"
    )
    assert proposals[
        ["write_off_id", "invoice_id", "amount_minor", "source", "proposed_by"]
    ].values.tolist() == [["WO-000001", "X-2", 10_00, "policy", "escalate stage"]]
    assert summary["delivery"]["sent"] == 1  # only K1 has an account owner
    notice = email.message_from_bytes(
        (home / "outbox" / "OWN-K1-EUR-credit_hold-2026-11-20.eml").read_bytes(), policy=email.policy.default
    )
    assert notice["To"] == "owner@example.com"
    assert notice["Subject"] == "Escalation: Hold AG (K1) is now credit_hold"
    assert (
        "Overdue: 2000.00 EUR, the oldest item 111 days past due."
        in notice.get_body(("plain",)).get_content()
    )
    agency = pd.read_csv(summary["agency_file"], dtype=str)
    assert agency[["customer_id", "invoice_id", "open_amount", "days_past_due"]].values.tolist() == [
        ["K3", "X-3", "900.00", "142"]
    ]

    out = tmp_path / "worklist.csv"
    assert cli(home, "export", "worklist", "--out", str(out))[0] == 0
    worklist = pd.read_csv(out, dtype=str)
    assert worklist[["collector_group", "customer_id", "state"]].values.tolist() == [
        ["north", "K1", "credit_hold"],
        ["north", "K4", "over_credit_limit"],
    ]

    # A person releases K1's hold, with a reason; the next run does not hold K1 again.
    code, out_text = cli(home, "hold", "release", "K1", "--reason", "", "--by", "anna")
    assert (code, out_text) == (2, "error: --reason (why the hold may go) is required")
    code, out_text = cli(home, "hold", "release", "K1", "--reason", "paying by instalments", "--by", "anna")
    assert code == 0 and out_text.startswith(
        "HOLD-K1-EUR-2026-11-20 released (K1, placed 2026-11-20 by escalate stage)"
    )
    again = escalate_flow(as_of=date(2026, 11, 21), home=str(home))
    assert again["counts"]["holds_placed"] == 0 and again["counts"]["write_offs_proposed"] == 0
    assert "agency_file" not in again  # handed over once, on entering the state
    code, out_text = cli(home, "hold", "place", "--customer", "K2", "--reason", "bankrupt", "--by", "anna")
    assert (code, out_text) == (0, "HOLD-000001")
    code, out_text = cli(home, "hold", "place", "--customer", "K2", "--reason", "again", "--by", "anna")
    assert (code, out_text) == (2, "error: customer K2 is already on credit hold")

    holds_csv = tmp_path / "holds.csv"
    assert cli(home, "export", "holds", "--out", str(holds_csv))[0] == 0
    exported = pd.read_csv(holds_csv, dtype=str, keep_default_na=False)
    assert exported[
        ["customer_id", "status", "placed_by", "released_by", "release_reason"]
    ].values.tolist() == [
        ["K2", "active", "anna", "", ""],
        ["K3", "active", "escalate stage", "", ""],
        ["K4", "active", "escalate stage", "", ""],
        ["K1", "released", "escalate stage", "anna", "paying by instalments"],
    ]

    # The policy's proposal is approved by a person within their limit, and closes the invoice.
    assert cli(home, "writeoff", "approve", "WO-000001", "--by", "ar.lead")[0] == 0
    with open_ledger(load_settings(home).ledger_path) as ledger:
        open_x2 = ledger.con.execute(
            "select open_minor from invoice_balances where invoice_id = 'X-2'"
        ).fetchone()
    assert open_x2 == (0,)

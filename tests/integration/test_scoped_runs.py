"""A run limited to some customers (a legal entity's, a pilot's file) bills, applies cash, reminds
and escalates them only; every other customer's rows stay exactly as they were, and running it
again changes nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from cli import app
from flows.ingest import ingest_flow
from flows.order_to_cash import order_to_cash
from flows.parameters import RunScope
from tasks.platform.config import load_settings
from tasks.platform.ledger import open_ledger
from tests.integration.conftest import in_postgres_pass

DAY_1, DAY_2 = date(2026, 11, 20), date(2026, 11, 21)
BOOK = {
    "customers.csv": """customer_id,name,email,country,currency,payment_terms_days,segment,language,legal_entity
K1,Alpha GmbH,ap@alpha.example,DE,EUR,30,pilot,de,DE01
K2,Beta SARL,ap@beta.example,FR,EUR,30,,fr,FR01
K3,Gamma AG,ap@gamma.example,DE,EUR,30,,de,DE01
""",
    "invoices.csv": """invoice_id,customer_id,issue_date,due_date,currency,amount,order_id
A-1,K1,2026-08-01,2026-09-01,EUR,100.00,
B-1,K2,2026-08-01,2026-09-01,EUR,200.00,
C-1,K3,2026-08-01,2026-09-01,EUR,300.00,
""",
}
DAY_2_FILES = {
    "payments.csv": """payment_id,value_date,amount,currency,payer_name,payer_account,reference
P-A,2026-11-21,100.00,EUR,Alpha GmbH,,A-1
P-B,2026-11-21,200.00,EUR,Beta SARL,,B-1
""",
    "orders.csv": """order_id,customer_id,order_date,currency,status,fulfilled_date,credit_for
SO-1,K1,2026-11-18,EUR,fulfilled,2026-11-19,
SO-2,K2,2026-11-18,EUR,fulfilled,2026-11-19,
""",
    "order_lines.csv": """order_id,line_no,sku,description,quantity,unit_price,tax_rate
SO-1,1,W-1,Widget,2,50.00,0.19
SO-2,1,W-1,Widget,3,50.00,0.20
""",
}
STAGES = ["invoice", "reconcile", "remind", "escalate"]
THEIRS = {  # per table: the rows of customer K2 (Beta, FR01), as a person would look at them
    "invoices": "select * from invoices where customer_id = 'K2'",
    "allocations": "select a.* from allocations a join invoices i using (invoice_id) where i.customer_id = 'K2'",
    "reminders": "select * from reminders where customer_id = 'K2'",
    "reminder_exclusions": "select * from reminder_exclusions where customer_id = 'K2'",
    "worklist": "select * from worklist where customer_id = 'K2'",
    "escalations": "select * from escalations where customer_id = 'K2'",
    "customer_ratings": "select * from customer_ratings where customer_id = 'K2'",
}


def write(folder: Path, files: dict[str, str]) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return [str(folder / name) for name in files]


def rows(home: Path, sql: str) -> list[tuple[Any, ...]]:
    with open_ledger(load_settings(home).ledger_path) as ledger:
        return sorted(ledger.con.execute(sql).fetchall(), key=repr)


def of_k2(home: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {table: rows(home, sql) for table, sql in THEIRS.items()}


@in_postgres_pass  # the longer runs of this file: in make test-postgres, beside the other long ones
def test_an_entitys_run_leaves_the_other_entitys_customers_as_they_were(home: Path, tmp_path: Path) -> None:
    ingest_flow(paths=write(tmp_path / "day1", BOOK), as_of=DAY_1, home=str(home))
    order_to_cash(as_of=DAY_1, home=str(home), stages=STAGES)  # every customer reminded on day 1
    assert rows(home, "select customer_id from reminders") == [("K1",), ("K2",), ("K3",)]
    ingest_flow(paths=write(tmp_path / "day2", DAY_2_FILES), as_of=DAY_2, home=str(home))
    before = of_k2(home)

    done = order_to_cash(as_of=DAY_2, home=str(home), stages=STAGES, scope=RunScope(entity="DE01"))
    assert done["reconcile"]["counts"]["scope"] == "legal entity DE01"
    assert done["reconcile"]["counts"]["customers_in_scope"] == 2
    # DE01's customers: SO-1 billed in DE01's series, P-A applied to A-1; Beta's order, payment
    # and every row of Beta's are as they were
    assert rows(home, "select customer_id from invoices where order_id is not null") == [("K1",)]
    assert rows(home, "select payment_id, invoice_id from allocations") == [("P-A", "A-1")]
    assert of_k2(home) == before
    assert rows(home, "select payment_id from payment_exceptions") == []  # P-B is Beta's: not queued

    again = order_to_cash(as_of=DAY_2, home=str(home), stages=STAGES, scope=RunScope(entity="DE01"))
    assert again["invoice"]["counts"]["orders_billed"] == 0
    assert again["reconcile"]["counts"]["allocations"] == 0
    assert of_k2(home) == before

    # the pilot's file names Beta: now its order is billed and its payment applied
    pilot = tmp_path / "pilot.txt"
    pilot.write_text("# the pilot's customers\nK2\n")
    result = CliRunner().invoke(
        app, ["run", "reconcile", "--as-of", "2026-11-21", "--customers", str(pilot), "--home", str(home)]
    )
    assert result.exit_code == 0, result.output
    assert rows(home, "select payment_id, invoice_id from allocations") == [("P-A", "A-1"), ("P-B", "B-1")]
    assert rows(home, "select customer_id from invoices where order_id is not null") == [("K1",)]


def test_a_scope_that_names_nobody_is_refused_with_one_line(home: Path, tmp_path: Path) -> None:
    ingest_flow(paths=write(tmp_path / "day1", BOOK), as_of=DAY_1, home=str(home))
    for options, says in (
        (
            ["--entity", "XX99"],
            "no customer belongs to legal entity 'XX99' (the customer master's: DE01, FR01)",
        ),
        (["--segment", "retail"], "no customer is in segment 'retail' (the customer master's: pilot)"),
    ):
        result = CliRunner().invoke(app, ["run", "remind", *options, "--home", str(home)])
        assert result.exit_code != 0 and says in result.output, result.output
        assert "Traceback" not in result.output
    result = CliRunner().invoke(app, ["run", "report", "--entity", "DE01", "--home", str(home)])
    assert result.exit_code == 2 and "apply to escalate, invoice, reconcile, remind and all" in result.output
    done = order_to_cash(as_of=DAY_1, home=str(home), stages=["remind"], scope=RunScope(segment="pilot"))
    assert done["remind"]["counts"]["customers_in_scope"] == 1
    assert rows(home, "select customer_id from reminders") == [("K1",)]


@in_postgres_pass
def test_a_shadow_run_computes_the_pilot_in_a_copy_and_touches_nothing(home: Path, tmp_path: Path) -> None:
    # the pilot (Beta) in shadow: its order billed and e-mailed, its payment applied, all in
    # <home>/shadow; the workspace's ledger is the same file, byte for byte; the comparison with
    # the legacy process reads the shadow
    ingest_flow(paths=write(tmp_path / "day1", BOOK), as_of=DAY_1, home=str(home))
    ingest_flow(paths=write(tmp_path / "day2", DAY_2_FILES), as_of=DAY_2, home=str(home))
    ledger_file = load_settings(home).ledger_path
    before = ledger_file.read_bytes()
    pilot = tmp_path / "pilot.csv"
    pilot.write_text("customer_id,name\nK2,Beta SARL\n")
    result = CliRunner().invoke(
        app,
        ["run", "all", "--shadow", "--customers", str(pilot), "--as-of", "2026-11-21", "--home", str(home)],
    )
    assert result.exit_code == 0, result.output
    assert f"shadow: {home / 'shadow'}" in result.stderr
    assert ledger_file.read_bytes() == before
    shadow = home / "shadow"
    assert rows(shadow, "select payment_id, invoice_id from allocations") == [("P-B", "B-1")]
    assert rows(shadow, "select customer_id from invoices where order_id is not null") == [("K2",)]
    assert list((shadow / "outbox").glob("*.eml")), "the e-mails the pilot would send, as files"
    assert not (home / "outbox").exists() or not list((home / "outbox").glob("*.eml"))

    legacy = tmp_path / "legacy-cash.csv"
    legacy.write_text("payment_id,invoice_id,amount\nP-B,B-1,200.00\n")
    compared = CliRunner().invoke(
        app,
        [
            "pilot",
            "compare",
            "--shadow",
            "--legacy",
            str(legacy),
            "--customers",
            str(pilot),
            "--home",
            str(home),
        ],
    )
    assert compared.exit_code == 0, compared.output
    assert "allocation       1 compared       1 agree (100.0 %)" in compared.output

    again = CliRunner().invoke(
        app,
        ["run", "all", "--shadow", "--customers", str(pilot), "--as-of", "2026-11-21", "--home", str(home)],
    )
    assert again.exit_code == 0, again.output  # made again from the workspace: the same shadow
    assert rows(shadow, "select payment_id, invoice_id from allocations") == [("P-B", "B-1")]
    assert ledger_file.read_bytes() == before

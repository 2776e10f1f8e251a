"""Working the exception queue by hand: `o2c apply`, `o2c unapply` and `o2c export exceptions`.

One small ledger is built through the real ingest flow once; each test works on its own copy.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli import app
from tasks.platform.config import load_settings
from tasks.platform.ledger import open_ledger
from tests.integration.ledger_builder import load

AS_OF = date(2026, 11, 20)
CUSTOMERS = """
K1,Alpha GmbH,ap@alpha.example,DE,EUR,30,,,standard,de,
K2,Beta Ltd,ap@beta.example,GB,EUR,30,,,standard,en,
K3,Gamma Inc,ap@gamma.example,US,USD,30,,,standard,en,
"""
INVOICES = """
I-1,K1,2026-10-01,2026-10-31,EUR,300.00,
I-2,K2,2026-10-02,2026-11-01,EUR,500.00,
I-3,K3,2026-10-03,2026-11-02,USD,200.00,
"""
# None of the references names an invoice: these payments are what the exception queue holds.
PAYMENTS = """
P-1,2026-11-10,400.00,EUR,Alpha GmbH,de89 3704 0044 0532 0130 00,thanks
P-2,2026-11-11,100.00,EUR,B. Ltd,,October
P-3,2026-11-12,50.00,USD,Gamma Inc,US-ACC-1,payment
"""
SUGGESTIONS = json.dumps(
    [{"invoice_id": "I-1", "amount_minor": 30000, "score": 0.8, "rule": "payer", "evidence": {}}]
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ledger with three customers, three open invoices and three unapplied payments."""
    home = tmp_path_factory.mktemp("cash_decisions_home")
    load(home, home / "in", AS_OF, customers=CUSTOMERS, invoices=INVOICES, payments=PAYMENTS)
    return load_settings(home).ledger_path


@pytest.fixture
def ledger_home(home: Path, template: Path) -> Path:
    """This test's workspace, holding a copy of the template ledger (in its PostgreSQL database
    with `O2C_TEST_LEDGER=postgres`)."""
    home.mkdir(parents=True, exist_ok=True)
    url = load_settings(home).ledger_url
    if url is None:
        shutil.copy(template, load_settings(home).ledger_path)
        return home
    import psycopg

    from tasks.platform.ledger.postgres import copy_workspace, plain_url

    with psycopg.connect(plain_url(url), autocommit=True) as pg:  # emptied, then the template copied in
        pg.execute("drop schema public cascade")
        pg.execute("create schema public")
    copy_workspace(template, url)
    return home


def o2c(home: Path, *args: str) -> Any:
    return CliRunner().invoke(app, [*args, "--home", str(home)])


def put_in_queue(home: Path, payment_id: str, currency: str, unapplied_minor: int) -> None:
    """The reconcile stage fills the queue; here a row is written the way it would be."""
    with open_ledger(load_settings(home).ledger_path) as ledger, ledger.transaction("test: queue"):
        ledger.con.execute(
            "insert into payment_exceptions values (?, ?, ?, ?, ?, ?, ?)",
            [payment_id, currency, unapplied_minor, "no reference matched", SUGGESTIONS, AS_OF, "test-run"],
        )


def rows(home: Path, sql: str) -> list[tuple]:
    with open_ledger(load_settings(home).ledger_path) as ledger:
        return ledger.con.execute(sql).fetchall()


def snapshot(home: Path) -> dict[str, list[tuple]]:
    """Every row of every table of the ledger."""
    with open_ledger(load_settings(home).ledger_path) as ledger:
        tables = [
            r[0]
            for r in ledger.con.execute(
                "select table_name from information_schema.tables where table_schema = 'main'"
            ).fetchall()
        ]
        return {t: ledger.con.execute(f"select * from {t} order by all").fetchall() for t in tables}


def open_amount(home: Path, invoice_id: str) -> int:
    return rows(
        home,
        "select i.amount_minor - coalesce(sum(a.amount_minor), 0) from invoices i"
        f" left join allocations a using (invoice_id) where i.invoice_id = '{invoice_id}'"
        " group by i.amount_minor",
    )[0][0]


def test_apply_default_amount_audits_clears_the_queue_and_learns_the_payer(ledger_home: Path) -> None:
    put_in_queue(ledger_home, "P-1", "EUR", 40000)
    put_in_queue(ledger_home, "P-2", "EUR", 10000)

    # P-2 (100.00) to I-2 (500.00 open): the lesser, 100.00; P-2 has nothing left and leaves the queue.
    result = o2c(ledger_home, "apply", "--payment", "P-2", "--invoice", "I-2", "--by", "Ada Lovelace")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "P-2/I-2"
    # P-1 (400.00) to I-1 (300.00 open): the lesser, 300.00; 100.00 of P-1 stays in the queue.
    result = o2c(ledger_home, "apply", "--payment", "P-1", "--invoice", "I-1", "--by", "Ada Lovelace")
    assert result.exit_code == 0, result.output

    allocations = rows(
        ledger_home,
        "select allocation_id, amount_minor, currency, rule, rule_version, score, evidence, as_of,"
        " decided_by, run_id from allocations order by allocation_id",
    )
    assert [a[:9] for a in allocations] == [
        (
            "P-1/I-1",
            30000,
            "EUR",
            "manual",
            "manual",
            1.0,
            '{"decided_by": "Ada Lovelace"}',
            date.today(),
            "Ada Lovelace",
        ),
        (
            "P-2/I-2",
            10000,
            "EUR",
            "manual",
            "manual",
            1.0,
            '{"decided_by": "Ada Lovelace"}',
            date.today(),
            "Ada Lovelace",
        ),
    ]
    assert all(a[9].startswith("cli:") for a in allocations) and allocations[0][9] != allocations[1][9]
    assert rows(ledger_home, "select payment_id from payment_exceptions") == [("P-1",)]

    audit = rows(
        ledger_home,
        "select stage, entity, key, action, before, after, run_id from audit_log"
        " where entity = 'allocations' order by key",
    )
    assert [a[:5] for a in audit] == [
        ("reconcile", "allocations", "P-1/I-1", "insert", None),
        ("reconcile", "allocations", "P-2/I-2", "insert", None),
    ]
    after = json.loads(audit[0][5])
    assert after["allocation_id"] == "P-1/I-1" and after["amount_minor"] == 30000
    assert after["decided_by"] == "Ada Lovelace" and after["run_id"] == allocations[0][9] == audit[0][6]

    # P-1 came from an account: it now belongs to K1, normalised; P-2 had none and teaches nothing.
    assert rows(ledger_home, "select account, customer_id, source from payer_accounts") == [
        ("DE89370400440532013000", "K1", "confirmed_match")
    ]

    # The queue's export shows what P-1 has left unapplied now, and reconcile's suggestions as written.
    out = ledger_home / "exceptions.csv"
    result = o2c(ledger_home, "export", "exceptions", "--out", str(out))
    assert result.exit_code == 0, result.output
    queue = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(queue.columns) == [
        "payment_id",
        "value_date",
        "currency",
        "amount",
        "unapplied",
        "payer_name",
        "reference",
        "reason",
        "suggestions",
        "as_of",
    ]
    assert queue.values.tolist() == [
        [
            "P-1",
            "2026-11-10",
            "EUR",
            "400.00",
            "100.00",
            "Alpha GmbH",
            "thanks",
            "no reference matched",
            SUGGESTIONS,
            "2026-11-20",
        ]
    ]


def test_apply_an_amount_then_unapply_restores_the_open_amount(ledger_home: Path) -> None:
    result = o2c(
        ledger_home, "apply", "--payment", "P-1", "--invoice", "I-2", "--amount", "150.50", "--by", "Grace"
    )
    assert result.exit_code == 0, result.output
    assert open_amount(ledger_home, "I-2") == 50000 - 15050
    # The rest of P-1 (249.50) may go to another invoice of its currency, up to that invoice's open amount.
    result = o2c(ledger_home, "apply", "--payment", "P-1", "--invoice", "I-1", "--by", "Grace")
    assert result.exit_code == 0, result.output
    assert rows(ledger_home, "select amount_minor from allocations where allocation_id = 'P-1/I-1'") == [
        (24950,)
    ]

    result = o2c(ledger_home, "unapply", "--allocation", "P-1/I-2", "--by", "Linus")
    assert result.exit_code == 0, result.output
    assert "P-1/I-2" in result.stdout and "150.50 EUR" in result.stdout
    assert open_amount(ledger_home, "I-2") == 50000
    assert rows(ledger_home, "select allocation_id from allocations") == [("P-1/I-1",)]

    (action, before, after, run_id) = rows(
        ledger_home,
        "select action, before, after, run_id from audit_log where entity = 'allocations'"
        " and key = 'P-1/I-2' and action = 'delete'",
    )[0]
    assert json.loads(before)["amount_minor"] == 15050 and json.loads(before)["decided_by"] == "Grace"
    assert json.loads(after) == {"decided_by": "Linus"}
    assert run_id.startswith("cli:")

    # Unapplied, the pair may be applied again; an unknown allocation is refused.
    result = o2c(
        ledger_home, "apply", "--payment", "P-1", "--invoice", "I-2", "--amount", "1", "--by", "Grace"
    )
    assert result.exit_code == 0, result.output
    result = o2c(ledger_home, "unapply", "--allocation", "P-9/I-2", "--by", "Linus")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: allocation 'P-9/I-2' does not exist"


REFUSALS = [
    ("over the unapplied amount", ["P-1", "I-1", "390.01"], "never apply more than a payment has"),
    ("over the open amount", ["P-1", "I-1", "300.01"], "never apply more than an invoice owes"),
    ("two currencies, no rate", ["P-3", "I-1", None], "no USD->EUR rate on or before 2026-11-12"),
    ("unknown payment", ["P-9", "I-1", None], "payment 'P-9' does not exist"),
    ("unknown invoice", ["P-1", "I-9", None], "invoice 'I-9' does not exist"),
    ("too many decimals", ["P-1", "I-1", "1.005"], "more than 2 decimals for EUR"),
    ("not a number", ["P-1", "I-1", "12,00"], "is not a decimal number"),
    ("zero", ["P-1", "I-1", "0.00"], "must be more than zero"),
    ("negative", ["P-1", "I-1", "-5"], "must be more than zero"),
    ("duplicate pair", ["P-1", "I-2", "1.00"], "unapply it first"),
    ("nothing left on the payment", ["P-2", "I-1", None], "no unapplied cash left"),
]


@pytest.mark.parametrize(("case", "args", "says"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refused_decisions_write_nothing(ledger_home: Path, case: str, args: list, says: str) -> None:
    # Prior decisions the refusals run into: P-1 already applied to I-2, P-2 fully applied to I-2.
    for payment, invoice, amount in (("P-1", "I-2", "10.00"), ("P-2", "I-2", "100.00")):
        result = o2c(
            ledger_home,
            "apply",
            "--payment",
            payment,
            "--invoice",
            invoice,
            "--amount",
            amount,
            "--by",
            "Ada",
        )
        assert result.exit_code == 0, result.output
    before = snapshot(ledger_home)

    payment, invoice, amount = args
    command = ["apply", "--payment", payment, "--invoice", invoice, "--by", "Ada"]
    result = o2c(ledger_home, *command, *(["--amount", amount] if amount is not None else []))

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], result.stderr
    assert "Traceback" not in result.output
    assert snapshot(ledger_home) == before


def test_a_person_applies_a_usd_payment_to_a_eur_invoice_at_the_banks_rate(ledger_home: Path) -> None:
    # P-3, 50.00 USD from Gamma, for Alpha's I-1 (300.00 EUR) at the bank's 0.92 EUR per USD:
    # 46.00 EUR paid, the whole 50.00 USD given; a rate is refused for one currency, and too much
    result = o2c(ledger_home, "apply", "--payment", "P-1", "--invoice", "I-1", "--rate", "1.1", "--by", "Ada")
    assert (
        result.exit_code == 2 and "--rate is for a payment and an invoice of two currencies" in result.stderr
    )
    result = o2c(
        ledger_home, "apply", "--payment", "P-3", "--invoice", "I-3", "--amount", "10", "--by", "Ada"
    )  # one currency: as before
    assert result.exit_code == 0, result.output
    result = o2c(
        ledger_home, "apply", "--payment", "P-3", "--invoice", "I-1", "--rate", "0,92", "--by", "Ada"
    )
    assert result.exit_code == 2 and "--rate '0,92' is not a decimal number" in result.stderr
    result = o2c(
        ledger_home, "apply", "--payment", "P-3", "--invoice", "I-1", "--rate", "0.92", "--by", "Ada"
    )
    assert result.exit_code == 0, result.output
    got = rows(
        ledger_home,
        "select amount_minor, currency, payment_amount_minor, payment_currency, exchange_rate, rate_date"
        " from allocations where allocation_id = 'P-3/I-1'",
    )
    assert got == [(36_80, "EUR", 40_00, "USD", "0.92", date(2026, 11, 12))]  # 40.00 USD were left
    assert rows(ledger_home, "select open_minor from invoice_balances where invoice_id = 'I-1'") == [
        (263_20,)
    ]


def test_reconcile_does_not_remake_a_match_a_person_took_back(home: Path, tmp_path: Path) -> None:
    from flows.reconcile import reconcile_flow
    from tests.integration.ledger_builder import load_one_invoice

    load_one_invoice(
        home, tmp_path / "in", date(2026, 11, 20), payments="Q-1,2026-11-10,100.00,EUR,Acme,,X-1\n"
    )
    first = reconcile_flow(as_of=date(2026, 11, 20), home=str(home))
    assert first["counts"]["allocations"] == 1
    taken_back = CliRunner().invoke(
        app, ["unapply", "--allocation", "Q-1/X-1", "--by", "Dana", "--home", str(home)]
    )
    assert taken_back.exit_code == 0, taken_back.output
    again = reconcile_flow(as_of=date(2026, 11, 20), home=str(home))
    assert again["counts"]["allocations"] == 0
    with open_ledger(load_settings(home).ledger_path) as ledger:
        queue = ledger.table("payment_exceptions").set_index("payment_id")
    assert queue.loc["Q-1", "reason"] == "a person took this match back"
    reapplied = CliRunner().invoke(
        app, ["apply", "--payment", "Q-1", "--invoice", "X-1", "--by", "Dana", "--home", str(home)]
    )
    assert reapplied.exit_code == 0, reapplied.output

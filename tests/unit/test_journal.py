"""The journal on literal books in memory: which event books what, that every entity, currency and
day balances, that the receivable account is the report's open amount at every date, and that a
bad account map or an unknown adjustment stops the hand-over."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from rules.accounts import AccountMap
from tasks.platform.fx import Rates, convert_minor
from tasks.platform.policy import PolicyError, load_policy
from tasks.report.journal import Journal, JournalProblem, balances, check, journal_lines, write

from .tables import table

ACCOUNTS, VERSION = load_policy("accounts", AccountMap)
BEGINNING, END = date(2000, 1, 1), date(2030, 12, 31)

CUSTOMERS = table("""
    | customer_id | name  | currency | payment_terms_days | dunning_profile | language | legal_entity |
    | K1          | Acme  | EUR      | 30                 | standard        | de       | DE01         |
    | K2          | Bravo | EUR      | 30                 | standard        | fr       | FR01         |
""")
INVOICES = table("""
    | invoice_id       | customer_id | issue_date | due_date   | currency | net_minor | tax_minor | amount_minor | origin   | kind        | credit_for_invoice | legal_entity |
    | DE01-2026-000001 | K1          | 2026-03-01 | 2026-03-31 | EUR      | 300_00    | 45_00     | 345_00       | billed   | invoice     |                    | DE01         |
    | DE01-2026-000002 | K1          | 2026-03-05 | 2026-04-04 | EUR      | -100_00   | -19_00    | -119_00      | billed   | credit_note | DE01-2026-000001   | DE01         |
    | X-77             | K2          | 2026-02-01 | 2026-03-03 | EUR      | 1000_00   | 200_00    | 1200_00      | ingested | invoice     |                    |              |
""")
LINES = table("""
    | invoice_id       | line_no | quantity | unit_price_minor | tax_rate_ppm | net_minor | tax_minor | currency |
    | DE01-2026-000001 | 1       | 2        | 100_00           | 190_000      | 200_00    | 38_00     | EUR      |
    | DE01-2026-000001 | 2       | 1        | 100_00           | 70_000       | 100_00    | 7_00      | EUR      |
    | DE01-2026-000002 | 1       | -1       | 100_00           | 190_000      | -100_00   | -19_00    | EUR      |
""")
PAYMENTS = table("""
    | payment_id | value_date | amount_minor | currency | payer_account          |
    | P1         | 2026-03-20 | 1500_00      | EUR      | FR1420041010050500013M02606 |
""")
ACCOUNTS_OF = table("""
    | customer_id | account                     |
    | K2          | FR1420041010050500013M02606 |
""")
ALLOCATIONS = table("""
    | allocation_id  | payment_id | invoice_id       | amount_minor | currency | rule            | rule_version | as_of      |
    | P1/X-77        | P1         | X-77             | 1176_00      | EUR      | invoice_number  | v1-test      | 2026-03-25 |
    | P1/DE01-1      | P1         | DE01-2026-000001 | 200_00       | EUR      | manual          | manual       | 2026-03-25 |
""")
ADJUSTMENTS = table("""
    | adjustment_id                  | invoice_id       | kind                   | amount_minor | currency | reason | rule_version | as_of      |
    | P1/X-77/early_payment_discount | X-77             | early_payment_discount | 24_00        | EUR      | 2 %    | v1-test      | 2026-03-25 |
    | DE01-2026-000002/DE01-2026-000001 | DE01-2026-000001 | credit_note         | 119_00       | EUR      | cn     | invoice      | 2026-03-05 |
    | DE01-2026-000002/applied       | DE01-2026-000002 | credit_note            | -119_00      | EUR      | cn     | invoice      | 2026-03-05 |
    | WO-000001                      | DE01-2026-000001 | write_off              | 26_00        | EUR      | gone   | v1-test      | 2026-04-30 |
""")
CROSS = ["payment_amount_minor", "payment_currency", "exchange_rate", "rate_date"]
BOOK = {
    "customers": CUSTOMERS,
    "customer_bank_accounts": ACCOUNTS_OF,
    "invoices": INVOICES,
    "invoice_lines": LINES,
    "payments": PAYMENTS,
    "allocations": ALLOCATIONS,
    "invoice_adjustments": ADJUSTMENTS,
}


def lines_of(ledger, **options) -> pd.DataFrame:  # noqa: ANN001
    made = journal_lines(ledger, ACCOUNTS, VERSION, date_from=options.pop("date_from", BEGINNING),
                         date_to=options.pop("date_to", END), **options)  # fmt: skip
    return made.lines.to_pandas()


def entry(lines: pd.DataFrame, entry_id: str) -> list[tuple]:
    rows = lines[lines["entry_id"] == entry_id]
    return list(rows[["account", "role", "tax_rate", "debit", "credit"]].itertuples(index=False, name=None))


def test_each_event_books_its_lines_to_the_entitys_accounts(ledger_of) -> None:
    lines = lines_of(ledger_of(**BOOK))
    # a billed invoice: receivable; revenue and VAT per rate (SKR04 example accounts); debits
    # first, then by account
    assert entry(lines, "INV:DE01-2026-000001") == [
        ("1200", "receivable", None, "345.00", "0.00"),
        ("3801", "tax_payable", "7", "0.00", "7.00"),
        ("3806", "tax_payable", "19", "0.00", "38.00"),
        ("4300", "revenue", "7", "0.00", "100.00"),
        ("4400", "revenue", "19", "0.00", "200.00"),
    ]
    # a credit note reverses its lines
    assert entry(lines, "CRN:DE01-2026-000002") == [
        ("4400", "revenue", "19", "100.00", "0.00"),
        ("3806", "tax_payable", "19", "19.00", "0.00"),
        ("1200", "receivable", None, "0.00", "119.00"),
    ]
    # an imported invoice (no lines) of an FR01 customer: its own chart, VAT at `other`
    assert entry(lines, "INV:X-77") == [
        ("411000", "receivable", None, "1200.00", "0.00"),
        ("445700", "tax_payable", None, "0.00", "200.00"),
        ("706000", "revenue", None, "0.00", "1000.00"),
    ]
    # cash received: per entity of the invoices it paid, the rest in its payer's entity (FR01)
    assert entry(lines, "PAY:P1@DE01") == [
        ("1800", "bank", None, "200.00", "0.00"),
        ("3272", "unapplied_cash", None, "0.00", "200.00"),
    ]
    assert entry(lines, "PAY:P1@FR01") == [
        ("512000", "bank", None, "1300.00", "0.00"),
        ("419100", "unapplied_cash", None, "0.00", "1300.00"),
    ]
    # applied on the payment's value date; recorded on the run's date
    applied = lines[lines["entry_id"] == "APP:P1/X-77"]
    assert entry(lines, "APP:P1/X-77") == [
        ("419100", "unapplied_cash", None, "1176.00", "0.00"),
        ("411000", "receivable", None, "0.00", "1176.00"),
    ]
    assert set(applied["posting_date"]) == {date(2026, 3, 20)} and set(applied["recorded_on"]) == {
        date(2026, 3, 25)
    }
    assert set(applied["rule_version"]) == {"v1-test"} and set(applied["document_id"]) == {"P1/X-77"}
    # the discount corrects the output VAT: X-77 (imported) is 200.00 VAT of 1200.00 gross, so
    # 24.00 x 200 / 1200 = 4.00 VAT at `other` and 20.00 net
    assert entry(lines, "ADJ:P1/X-77/early_payment_discount") == [
        ("665000", "cash_discount", None, "20.00", "0.00"),
        ("445700", "tax_payable", None, "4.00", "0.00"),
        ("411000", "receivable", None, "0.00", "24.00"),
    ]
    assert entry(lines, "ADJ:WO-000001") == [
        ("6930", "write_off", None, "26.00", "0.00"),
        ("1200", "receivable", None, "0.00", "26.00"),
    ]
    assert set(lines["account_map_version"]) == {VERSION}
    assert (
        check(journal_lines(ledger_of(**BOOK), ACCOUNTS, VERSION, date_from=BEGINNING, date_to=END).lines)
        == []
    )


def test_the_receivable_account_is_the_open_amount_on_every_date(ledger_of) -> None:
    ledger = ledger_of(**BOOK)
    for day in (date(2026, 2, 28), date(2026, 3, 4), date(2026, 3, 5), date(2026, 3, 20), date(2026, 4, 30)):
        _receivable_is_open_amount(ledger, day)
    # on 30 April: X-77 settled (1176 cash + 24 discount); DE01-1: 345 - 200 - 119 (credit) - 26 = 0;
    # the credit note applied in full; P1's 124.00 unapplied in FR01
    lines = lines_of(ledger, date_to=date(2026, 4, 30))
    made = pd.DataFrame(lines)
    assert balances(_table(made)) == {("DE01", "EUR"): 0, ("FR01", "EUR"): 0}
    assert balances(_table(made), "unapplied_cash") == {("DE01", "EUR"): 0, ("FR01", "EUR"): -124_00}


def _table(frame: pd.DataFrame):  # noqa: ANN202
    import pyarrow as pa

    return pa.Table.from_pandas(frame, preserve_index=False)


def _receivable_is_open_amount(ledger, day: date, every=None) -> None:  # noqa: ANN001
    """The receivable per entity and currency, of the journal to `day` (or of `every` line, cut at
    `day`), equals the open items' amount that day."""
    import pyarrow.compute as pc

    if every is None:
        lines = journal_lines(ledger, ACCOUNTS, VERSION, date_from=BEGINNING, date_to=day).lines
    else:
        lines = every.filter(pc.less_equal(every.column("posting_date"), day))
    assert check(lines) == []
    items = ledger.query("report/open_items_as_of", as_of=day)
    entities = ledger.con.execute(
        "select i.invoice_id, coalesce(nullif(i.legal_entity, ''), nullif(c.legal_entity, ''), 'default')"
        " from invoices i left join customers c using (customer_id)"
    ).fetchall()
    items["entity"] = items["invoice_id"].map(dict(entities))
    expected = {k: int(v) for k, v in items.groupby(["entity", "currency"])["open_minor"].sum().items() if v}
    got = {k: v for k, v in balances(lines).items() if v}
    assert got == expected, day


def test_a_period_and_an_entity_are_chosen(ledger_of) -> None:
    ledger = ledger_of(**BOOK)
    march = lines_of(ledger, date_from=date(2026, 3, 1), date_to=date(2026, 3, 31))
    assert march["posting_date"].min() >= date(2026, 3, 1) and march["posting_date"].max() <= date(
        2026, 3, 31
    )
    assert "INV:X-77" not in set(march["entry_id"]) and "ADJ:WO-000001" not in set(march["entry_id"])
    fr = lines_of(ledger, entity="FR01")
    assert set(fr["entity"]) == {"FR01"} and "INV:X-77" in set(fr["entry_id"])


def test_an_adjustment_the_map_does_not_know_stops_the_journal(ledger_of) -> None:
    odd = pd.concat([ADJUSTMENTS, table("""
        | adjustment_id | invoice_id | kind       | amount_minor | currency | reason | rule_version | as_of      |
        | Z1            | X-77       | goodwill   | 1_00         | EUR      | ?      | v            | 2026-03-25 |
    """)])  # fmt: skip
    with pytest.raises(JournalProblem, match="no account for unmapped adjustment kind goodwill"):
        journal_lines(
            ledger_of(**{**BOOK, "invoice_adjustments": odd}),
            ACCOUNTS,
            VERSION,
            date_from=BEGINNING,
            date_to=END,
        )


def test_an_unbalanced_day_is_named() -> None:
    import pyarrow as pa

    lines = pa.table({
        "entity": ["DE01", "DE01"], "currency": ["EUR", "EUR"], "posting_date": [date(2026, 3, 1)] * 2,
        "account": ["1200", "4400"], "role": ["receivable", "revenue"],
        "debit_minor": [100, 0], "credit_minor": [0, 99],
    })  # fmt: skip
    assert check(lines) == ["DE01 EUR 2026-03-01: debits 100 and credits 99 (minor units) differ"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("version: 1\nentities:\n  DE01: {receivable: '1'}\n", "a 'default' entity is needed"),
        ("version: 1\nentities:\n  default: {receivable: '1'}\n", "entities.default: no account for bank"),
        (
            "version: 1\nentities:\n  default: {revenue: {'x': '1', other: '2'}}\n",
            "'x' is not a rate in percent",
        ),
        ("version: 1\nentities:\n  default: {revenue: {'19': '1'}}\n", "'other' is needed"),
        ("version: 1\nentities:\n  default: {cash: '1'}\n", "Extra inputs are not permitted"),
    ],
)
def test_a_bad_account_map_is_named(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "accounts.yaml").write_text(text)
    with pytest.raises(PolicyError, match="accounts.yaml") as caught:
        load_policy("accounts", AccountMap, tmp_path)
    assert problem in str(caught.value)


# odd seeds: FR01 keeps its books in USD (JPY and EUR crossed through the euro's quotes)
USD_FR01 = AccountMap.model_validate(
    {**ACCOUNTS.model_dump(), "entities": {**ACCOUNTS.model_dump()["entities"],
     "FR01": {**ACCOUNTS.model_dump()["entities"]["FR01"], "functional_currency": "USD"}}}
)  # fmt: skip


@pytest.mark.parametrize("seed", range(20))
def test_random_books_balance_and_their_receivable_is_the_open_amount(ledger_of, seed: int) -> None:
    accounts = USD_FR01 if seed % 2 else ACCOUNTS
    ledger = ledger_of(**random_book(random.Random(seed)))
    lines = journal_lines(ledger, accounts, VERSION, date_from=BEGINNING, date_to=END).lines
    assert check(lines) == []
    for offset in range(0, 130, 9):
        day = date(2026, 1, 1) + timedelta(days=offset)
        _receivable_is_open_amount(ledger, day, lines)
        _functional_receivable_is_open_items_at_issue_rates(ledger, day, lines, accounts)
    received = ledger.con.execute("select currency, sum(amount_minor) from payments group by 1").fetchall()
    applied = dict(
        ledger.con.execute(
            "select payment_currency, sum(payment_amount_minor) from allocations group by 1"
        ).fetchall()
    )
    unapplied: dict[str, int] = {}
    for (_entity, currency), value in balances(lines, "unapplied_cash").items():
        unapplied[currency] = unapplied.get(currency, 0) + value
    for currency, amount in received:
        assert -unapplied.get(currency, 0) == amount - applied.get(currency, 0)


def _functional_receivable_is_open_items_at_issue_rates(ledger, day: date, every, accounts) -> None:  # noqa: ANN001
    """In functional currency, cut at `day`: every entity's lines balance, the fx_clearing account
    is 0, and the receivable is each open item's open amount valued at its issue date's rate, rounded
    half up once per item (the journal converts what is left of each invoice and books differences)."""
    import pyarrow.compute as pc

    lines = every.filter(pc.less_equal(every.column("posting_date"), day)).to_pandas()
    signed = lines["functional_debit_minor"] - lines["functional_credit_minor"]
    assert (signed.groupby(lines["entity"]).sum() == 0).all(), day
    assert (signed[lines["role"] == "fx_clearing"].groupby(lines["entity"]).sum() == 0).all(), day
    rates = Rates.of(ledger.query("platform/rates/all"))
    functional = accounts.functional_currencies()
    invoices = ledger.con.execute(
        "select i.invoice_id, coalesce(nullif(i.legal_entity, ''), nullif(c.legal_entity, ''), 'default'),"
        " i.currency, i.issue_date, i.amount_minor from invoices i left join customers c using (customer_id)"
    ).fetchall()
    items = ledger.query("report/open_items_as_of", as_of=day)
    open_of = dict(zip(items["invoice_id"], items["open_minor"], strict=True))
    expected: dict[str, int] = {}
    for invoice_id, entity, currency, issued, _amount in invoices:
        if issued > day:
            continue
        to = functional.get(entity, functional["default"])
        rate = rates.fraction(currency, to, issued)
        assert rate is not None
        value = convert_minor(int(open_of.get(invoice_id, 0)), currency, to, rate[0], rate[1])
        expected[entity] = expected.get(entity, 0) + value
    got = signed[lines["role"] == "receivable"].groupby(lines["entity"]).sum().to_dict()
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in expected.items() if v}, day


def random_rates(rng: random.Random) -> pd.DataFrame:
    """USD and JPY per EUR on the working days from December to June, a random walk, as `o2c rates
    load` reads them from a long CSV."""
    import tempfile

    from tasks.platform.fx import read_rates

    rows, usd, jpy = ["rate_date,base_currency,currency,rate"], Decimal("1.08"), Decimal("160.5")
    day = date(2025, 12, 1)
    while day <= date(2026, 6, 30):
        if day.weekday() < 5:
            usd = max(Decimal("0.9"), usd + Decimal(rng.randint(-150, 150)) / 10_000)
            jpy = max(Decimal(120), jpy + Decimal(rng.randint(-90, 90)) / 100)
            rows += [f"{day},EUR,USD,{usd}", f"{day},EUR,JPY,{jpy}"]
        day += timedelta(days=1)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rates.csv"
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        return read_rates(path).assign(source="rates.csv", run_id="cli:test")


def random_book(rng: random.Random) -> dict[str, pd.DataFrame]:
    """Customers in three entities, billed and imported invoices with lines at several rates, credit
    notes, reminder fees and interest, payments partly applied, discounts, small differences and
    write-offs, on random days."""
    customers = [
        {"customer_id": f"K{n}", "name": f"C{n}", "currency": "EUR", "payment_terms_days": 30,
         "dunning_profile": "standard", "language": "en", "legal_entity": rng.choice(["", "DE01", "FR01", "XX"])}
        for n in range(6)
    ]  # fmt: skip
    invoices, lines, payments, allocations, adjustments = [], [], [], [], []
    exchange_rates = random_rates(rng)
    rates = Rates.of(exchange_rates)
    currencies = ["EUR", "JPY", "USD"]
    for n in range(rng.randint(5, 25)):
        customer = rng.choice(customers)
        currency = rng.choice(currencies)
        issued = date(2026, 1, 1) + timedelta(days=rng.randint(0, 90))
        credit = rng.random() < 0.15
        sign = -1 if credit else 1
        invoice_id = f"I{n}"
        net = tax = 0
        if rng.random() < 0.7:
            for line_no in range(rng.randint(1, 4)):
                rate = rng.choice([0, 70_000, 190_000, 200_000, 55_000])
                line_net = sign * rng.randint(1, 100_000)
                line_tax = sign * (abs(line_net) * rate // 1_000_000)
                net, tax = net + line_net, tax + line_tax
                lines.append({"invoice_id": invoice_id, "line_no": line_no + 1, "quantity": sign,
                              "unit_price_minor": abs(line_net), "tax_rate_ppm": rate, "net_minor": line_net,
                              "tax_minor": line_tax, "currency": currency})  # fmt: skip
        else:
            net = sign * rng.randint(1, 100_000)
            tax = sign * rng.randint(0, abs(net) // 4)
        amount = net + tax + (sign * rng.randint(0, 3) if lines and rng.random() < 0.1 else 0)
        invoices.append({"invoice_id": invoice_id, "customer_id": customer["customer_id"], "issue_date": issued,
                         "due_date": issued + timedelta(days=30), "currency": currency, "net_minor": net,
                         "tax_minor": tax, "amount_minor": amount, "origin": rng.choice(["billed", "ingested"]),
                         "kind": "credit_note" if credit else "invoice",
                         "legal_entity": rng.choice([None, customer["legal_entity"]])})  # fmt: skip
    for n in range(rng.choice([0, 0, 1, 2, 4])):  # a reminder's fee and interest: open items, no lines
        customer, currency = rng.choice(customers), rng.choice(currencies)
        kind, amount = rng.choice([("fee", 5_00), ("interest", rng.randint(1, 20_000))])
        issued = date(2026, 1, 1) + timedelta(days=rng.randint(0, 90))
        invoices.append({"invoice_id": f"R-{n:016x}-{kind[:3].upper()}-{currency}", "customer_id": customer["customer_id"],
                         "issue_date": issued, "due_date": issued + timedelta(days=14), "currency": currency,
                         "net_minor": amount, "tax_minor": 0, "amount_minor": amount, "origin": "charge",
                         "kind": kind, "legal_entity": customer["legal_entity"], "charged_by": f"R-{n:016x}"})  # fmt: skip
    for n in range(rng.randint(0, 15)):
        currency = rng.choice(currencies)
        amount = rng.randint(1, 150_000)
        value_date = date(2026, 1, 1) + timedelta(days=rng.randint(0, 120))
        payments.append(
            {"payment_id": f"P{n}", "value_date": value_date, "amount_minor": amount, "currency": currency}
        )
        left = amount
        for invoice in rng.sample(invoices, k=min(len(invoices), 3)):
            if invoice["amount_minor"] <= 0 or left <= 0:
                continue
            given = part = min(left, rng.randint(1, invoice["amount_minor"]))
            rate = quote = None
            if invoice["currency"] != currency:  # across currencies at the value date's rate
                fraction = rates.fraction(currency, invoice["currency"], value_date)
                if rng.random() < 0.5 or fraction is None:
                    continue
                part = convert_minor(given, currency, invoice["currency"], fraction[0], fraction[1])
                if not 0 < part <= invoice["amount_minor"]:
                    continue
                rate, quote = str(fraction[0] / fraction[1]), fraction[2]
            left -= given
            allocations.append({"allocation_id": f"P{n}/{invoice['invoice_id']}", "payment_id": f"P{n}",
                                "invoice_id": invoice["invoice_id"], "amount_minor": part,
                                "currency": invoice["currency"], "payment_amount_minor": given,
                                "payment_currency": currency, "exchange_rate": rate, "rate_date": quote,
                                "rule": "t", "rule_version": "t",
                                "as_of": value_date + timedelta(days=rng.randint(0, 10))})  # fmt: skip
    for n in range(rng.randint(0, 8)):
        invoice = rng.choice(invoices)
        kind = rng.choice(["early_payment_discount", "small_difference", "write_off", "credit_note"])
        adjustments.append({"adjustment_id": f"A{n}", "invoice_id": invoice["invoice_id"], "kind": kind,
                            "amount_minor": rng.randint(-50, 500), "currency": invoice["currency"], "reason": "r",
                            "rule_version": "t",
                            "as_of": invoice["issue_date"] + timedelta(days=rng.randint(0, 60))})  # fmt: skip
    return {
        "customers": pd.DataFrame(customers),
        "invoices": pd.DataFrame(invoices),
        "invoice_lines": pd.DataFrame(lines, columns=list(LINES.columns)),
        "payments": pd.DataFrame(payments, columns=list(PAYMENTS.columns[:4])),
        "allocations": pd.DataFrame(allocations, columns=[*ALLOCATIONS.columns, *CROSS]),
        "exchange_rates": exchange_rates,
        "invoice_adjustments": pd.DataFrame(adjustments, columns=list(ADJUSTMENTS.columns)),
    }


def test_the_files_say_the_same(ledger_of, tmp_path: Path) -> None:
    import csv
    import json

    made: Journal = journal_lines(ledger_of(**BOOK), ACCOUNTS, VERSION, date_from=BEGINNING, date_to=END)
    write(made, tmp_path / "j.csv")
    write(made, tmp_path / "j.json")
    rows = list(csv.DictReader((tmp_path / "j.csv").open(encoding="utf-8", newline="")))
    document = json.loads((tmp_path / "j.json").read_text(encoding="utf-8"))
    assert document["format"] == "o2c-journal" and [c["name"] for c in document["columns"]] == list(rows[0])
    assert all(c["description"] for c in document["columns"])
    assert [r["entry_id"] for r in rows] == [r["entry_id"] for r in document["lines"]]
    assert rows[0]["debit"] == str(document["lines"][0]["debit"])
    assert {(t["entity"], t["currency"]) for t in document["totals"]} == {("DE01", "EUR"), ("FR01", "EUR")}
    assert all(t["debit_minor"] == t["credit_minor"] for t in document["totals"])
    first = (tmp_path / "j.json").read_bytes()
    write(made, tmp_path / "j.json")
    assert (tmp_path / "j.json").read_bytes() == first


def test_cash_not_yet_applied_sits_in_the_entity_whose_bank_received_it(ledger_of) -> None:
    payments = pd.concat([PAYMENTS, table("""
        | payment_id | value_date | amount_minor | currency | account                          |
        | P2         | 2026-03-21 | 40_00        | EUR      | DE89 3704 0044 0532 0130 00      |
        | P3         | 2026-03-21 | 10_00        | EUR      | XX00UNKNOWN                      |
    """)])  # fmt: skip
    ledger = ledger_of(**{**BOOK, "payments": payments})
    made = journal_lines(
        ledger, ACCOUNTS, VERSION, date_from=BEGINNING, date_to=END,
        bank_accounts={"DE89370400440532013000": "DE01", "FR1420041010050500013M02606": "FR01"},
    )  # fmt: skip
    lines = made.lines.to_pandas()
    assert entry(lines, "PAY:P2@DE01") == [
        ("1800", "bank", None, "40.00", "0.00"),
        ("3272", "unapplied_cash", None, "0.00", "40.00"),
    ]
    assert "PAY:P3@default" in set(lines["entry_id"])  # an account no entity owns, a payer nobody knows
    assert check(made.lines) == []

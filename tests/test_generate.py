"""Tests of the synthetic book generator: determinism, money and date invariants, the truth file, and that
every payment habit and every kind of messy remittance data really turns up in a 500-invoice book."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from datetime import date, timedelta
from decimal import Decimal
from difflib import SequenceMatcher
from pathlib import Path

import pandas as pd
import pytest

from tasks.platform.money import exponent, line_amounts, to_minor
from tools import generate as generate_module
from tools.generate import Book, generate_book, write_book

AS_OF = date(2026, 3, 31)
HEADERS = {
    "customers": "customer_id,name,email,country,currency,payment_terms_days,credit_limit,segment,"
    "dunning_profile,language,bank_accounts,payment_terms",
    "orders": "order_id,customer_id,order_date,currency,status,fulfilled_date",
    "order_lines": "order_id,line_no,sku,description,quantity,unit_price,tax_rate",
    "invoices": "invoice_id,customer_id,issue_date,due_date,currency,amount,order_id,discount_date,discount_amount",
    "payments": "payment_id,value_date,amount,currency,payer_name,payer_account,reference",
    "truth_allocations": "payment_id,invoice_id,amount,currency",
}
FILES = {name: f"{name}.csv" for name in HEADERS} | {"truth_allocations": "truth/allocations.csv"}
IBAN_LENGTH = {"DE": 22, "AT": 20, "CH": 21, "FR": 27, "BE": 16, "NL": 18, "GB": 22}
LEGAL_FORMS = ["GmbH", "SARL", "Ltd", "Inc", "B.V.", "AG", "S.A."]
INVOICE_TOKEN = re.compile(r"inv[- ]?(\d{4})[- ]?(\d{1,6})", re.IGNORECASE)


@pytest.fixture(scope="module")
def book() -> Book:
    return generate_book(customers=50, invoices=500, seed=42, as_of=AS_OF)


@pytest.fixture(scope="module", params=[(42, 50, 500), (7, 120, 3000)], ids=["seed42-500", "seed7-3000"])
def any_book(request: pytest.FixtureRequest) -> Book:
    """Books of two sizes and seeds for the invariants that must hold in every book."""
    seed, customers, invoices = request.param
    return generate_book(customers=customers, invoices=invoices, seed=seed, as_of=AS_OF)


def minor(frame: pd.DataFrame, column: str = "amount") -> pd.Series:
    return pd.Series(
        [to_minor(a, c) for a, c in zip(frame[column], frame["currency"], strict=True)], index=frame.index
    )


@pytest.fixture(scope="module")
def facts(book: Book) -> pd.DataFrame:
    """One row per truth allocation with its payment, invoice and customer next to it."""
    invoices = book.invoices.assign(invoice_minor=minor(book.invoices))
    payments = book.payments.assign(payment_minor=minor(book.payments))
    truth = book.truth_allocations.assign(allocated_minor=minor(book.truth_allocations))
    rows = truth.merge(payments.drop(columns="currency"), on="payment_id").merge(
        invoices.drop(columns=["currency", "amount"]), on="invoice_id"
    )
    rows = rows.merge(book.customers[["customer_id", "name", "bank_accounts"]], on="customer_id")
    rows["days_late"] = (pd.to_datetime(rows.value_date) - pd.to_datetime(rows.due_date)).dt.days
    rows["allocations_in_payment"] = rows.groupby("payment_id").payment_id.transform("size")
    return rows


@pytest.fixture(scope="module")
def single(facts: pd.DataFrame) -> pd.DataFrame:
    """Truth rows of payments that settle exactly one invoice."""
    return facts[facts.allocations_in_payment == 1]


def test_customers_who_pay_early_are_offered_the_discount_they_take(book: Book) -> None:
    """2 % within ten days of issue on every invoice of the customers who pay early, and the
    discounted transfers pay exactly the invoice less that discount."""
    invoices = book.invoices
    offered = invoices[invoices["discount_date"] != ""]
    assert 0 < len(offered) < len(invoices)
    issued = pd.to_datetime(offered["issue_date"])
    assert ((pd.to_datetime(offered["discount_date"]) - issued).dt.days == 10).all()
    assert (minor(offered, "discount_amount") == minor(offered) * 2 // 100).all()
    assert (invoices.loc[invoices["discount_date"] == "", "discount_amount"] == "").all()
    customers = book.customers.set_index("customer_id")
    written = invoices["customer_id"].map(customers["payment_terms"])
    assert ((written != "") == (invoices["discount_date"] != "")).all()  # by the customer's terms
    offering = customers[customers["payment_terms"] != ""]
    assert (offering["payment_terms"] == "2% 10 net " + offering["payment_terms_days"]).all()


# --- determinism, files and formats --------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    first = generate_book(customers=30, invoices=300, seed=5, as_of=AS_OF)
    second = generate_book(customers=30, invoices=300, seed=5, as_of=AS_OF)
    for name in HEADERS:
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name))
    paths_a = write_book(first, tmp_path / "a")
    paths_b = write_book(second, tmp_path / "b")
    for name in HEADERS:
        assert paths_a[name].read_bytes() == paths_b[name].read_bytes()


def test_other_seed_gives_another_book(book: Book) -> None:
    other = generate_book(customers=50, invoices=500, seed=43, as_of=AS_OF)
    for name in ("customers", "invoices", "payments", "truth_allocations"):
        assert not getattr(book, name).equals(getattr(other, name)), name


def test_write_book_writes_six_files_with_exact_headers(book: Book, tmp_path: Path) -> None:
    paths = write_book(book, tmp_path)
    assert set(paths) == set(HEADERS)
    for name, file_name in FILES.items():
        assert paths[name] == tmp_path / file_name
        lines = paths[name].read_text(encoding="utf-8").splitlines()
        assert lines[0] == HEADERS[name]
        assert len(lines) == len(getattr(book, name)) + 1
        reread = pd.read_csv(paths[name], dtype=str, keep_default_na=False)
        pd.testing.assert_frame_equal(reread, getattr(book, name).reset_index(drop=True), check_dtype=False)


def test_columns_are_strings_sorted_by_id(any_book: Book) -> None:
    for name, header in HEADERS.items():
        frame = getattr(any_book, name)
        assert list(frame.columns) == header.split(",")
        assert all(isinstance(value, str) for column in frame.columns for value in frame[column]), name
    for name, key in [("customers", "customer_id"), ("orders", "order_id"), ("invoices", "invoice_id")]:
        ids = getattr(any_book, name)[key]
        assert ids.is_unique and ids.is_monotonic_increasing, name
    assert any_book.payments.payment_id.is_monotonic_increasing and any_book.payments.payment_id.is_unique
    keys = list(
        zip(any_book.truth_allocations.payment_id, any_book.truth_allocations.invoice_id, strict=True)
    )
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


@pytest.mark.parametrize(
    ("dataset", "column"),
    [
        ("invoices", "amount"),
        ("payments", "amount"),
        ("truth_allocations", "amount"),
        ("customers", "credit_limit"),
        ("order_lines", "unit_price"),
    ],
)
def test_amounts_have_exactly_the_currency_decimals(any_book: Book, dataset: str, column: str) -> None:
    frame = getattr(any_book, dataset)
    if "currency" not in frame:
        currency_of = dict(zip(any_book.orders.order_id, any_book.orders.currency, strict=True))
        frame = frame.assign(currency=frame.order_id.map(currency_of))
    assert {"EUR", "JPY"} <= set(frame.currency)
    for amount, currency in zip(frame[column], frame.currency, strict=True):
        decimals = exponent(currency)
        pattern = rf"[1-9]\d*\.\d{{{decimals}}}|0\.\d{{{decimals}}}" if decimals else r"[1-9]\d*"
        assert re.fullmatch(pattern, amount), (amount, currency)
        assert to_minor(amount, currency) > 0


GENERATOR_MODULES = [generate_module] + [
    importlib.import_module(f"tools.generate.{part.name}")
    for part in pkgutil.iter_modules(generate_module.__path__)
]


def test_generator_reads_neither_clock_nor_environment_nor_prefect() -> None:
    assert {m.__name__.rsplit(".", 1)[-1] for m in GENERATOR_MODULES} >= {"generate", "text", "payments"}
    for module in GENERATOR_MODULES:
        source = inspect.getsource(module)
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])
        }
        assert not imported & {"prefect", "os", "time", "secrets", "uuid"}, module
        assert not re.search(r"\b(today|now|utcnow)\(", source), module
        assert "np.random.seed" not in source and "random.seed" not in source, module


# --- customers -----------------------------------------------------------------------------------------


def iban_is_valid(account: str) -> bool:
    rearranged = account[4:] + account[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def test_customer_master_is_plausible(any_book: Book) -> None:
    customers = any_book.customers
    assert customers.customer_id.str.fullmatch(r"C\d{5}").all()
    assert customers.name.is_unique
    assert set(customers.payment_terms_days) <= {"14", "30", "45", "60"}
    assert set(customers.segment) == {"enterprise", "mid-market", "small-business"}
    profile_of = {"enterprise": "strategic", "mid-market": "standard", "small-business": "small-business"}
    assert (customers.dunning_profile == customers.segment.map(profile_of)).all()
    assert customers.email.str.fullmatch(r"[a-z.]+@[a-z0-9-]+\.[a-z.]+").all()
    currency_of = {"DE": "EUR", "FR": "EUR", "AT": "EUR", "NL": "EUR", "GB": "GBP", "US": "USD", "JP": "JPY"}
    language_of = {"DE": "de", "AT": "de", "FR": "fr", "GB": "en", "US": "en"}
    for row in customers.itertuples():
        assert currency_of.get(row.country, row.currency) == row.currency
        assert language_of.get(row.country, row.language) == row.language
    assert (customers.currency == "EUR").mean() > 0.5
    assert {"USD", "GBP", "CHF", "JPY"} <= set(customers.currency)
    for form in LEGAL_FORMS:
        assert customers.name.str.endswith(" " + form).any(), form


def test_bank_accounts_have_valid_iban_check_digits(any_book: Book) -> None:
    counts = []
    for country, accounts in zip(any_book.customers.country, any_book.customers.bank_accounts, strict=True):
        listed = accounts.split(";")
        counts.append(len(listed))
        for account in listed:
            if country in ("US", "JP"):
                assert account.isdigit()
            else:
                assert account.startswith(country) and len(account) == IBAN_LENGTH[country], account
                assert iban_is_valid(account), account
    assert set(counts) == {1, 2}
    paid_from = [a for a in any_book.payments.payer_account if a[:2].isalpha()]
    assert paid_from and all(iban_is_valid(account) for account in paid_from)


def test_iban_check_itself_rejects_a_wrong_digit() -> None:
    assert iban_is_valid("DE89370400440532013000")
    assert not iban_is_valid("DE89370400440532013001")


# --- orders and invoices -------------------------------------------------------------------------------


def test_invoice_amount_is_the_sum_of_its_order_lines(any_book: Book) -> None:
    currency_of = dict(zip(any_book.orders.order_id, any_book.orders.currency, strict=True))
    gross: dict[str, int] = {}
    for line in any_book.order_lines.itertuples():
        assert int(line.quantity) > 0
        assert re.fullmatch(r"0|0\.\d+", line.tax_rate)
        net, tax = line_amounts(
            int(line.quantity), to_minor(line.unit_price, currency_of[line.order_id]), Decimal(line.tax_rate)
        )
        gross[line.order_id] = gross.get(line.order_id, 0) + net + tax
    for invoice in any_book.invoices.itertuples():
        assert to_minor(invoice.amount, invoice.currency) == gross[invoice.order_id], invoice.invoice_id


def test_every_invoice_has_its_own_fulfilled_order(any_book: Book) -> None:
    orders = any_book.orders.set_index("order_id")
    invoices = any_book.invoices
    assert invoices.order_id.is_unique
    for invoice in invoices.itertuples():
        order = orders.loc[invoice.order_id]
        assert (order.customer_id, order.currency, order.status) == (
            invoice.customer_id,
            invoice.currency,
            "fulfilled",
        )
        assert order.fulfilled_date == invoice.issue_date
        days_before = (date.fromisoformat(invoice.issue_date) - date.fromisoformat(order.order_date)).days
        assert 1 <= days_before <= 7
    line_numbers = any_book.order_lines.groupby("order_id").line_no.apply(list)
    assert set(line_numbers.index) == set(any_book.orders.order_id)
    assert all(numbers == [str(n) for n in range(1, len(numbers) + 1)] for numbers in line_numbers)
    assert set(line_numbers.map(len)) == {1, 2, 3, 4, 5}


def test_orders_not_invoiced_are_recent_fulfilled_open_or_cancelled(any_book: Book) -> None:
    orders = any_book.orders
    assert orders.order_id.str.fullmatch(r"SO-\d{7}").all()
    assert ((orders.status == "fulfilled") == (orders.fulfilled_date != "")).all()
    unbilled = orders[~orders.order_id.isin(any_book.invoices.order_id)]
    n = len(any_book.invoices)
    shares = unbilled.status.value_counts()
    assert shares["fulfilled"] == n * 5 // 100 and shares["open"] == n * 3 // 100
    assert shares["cancelled"] == n * 2 // 100
    recent = unbilled[unbilled.status == "fulfilled"].fulfilled_date.map(date.fromisoformat)
    assert all(AS_OF - timedelta(days=9) <= day <= AS_OF for day in recent)


def test_invoice_numbers_run_per_year(any_book: Book) -> None:
    invoices = any_book.invoices
    assert invoices.invoice_id.str.fullmatch(r"INV-\d{4}-\d{6}").all()
    assert (invoices.invoice_id.str[4:8] == invoices.issue_date.str[:4]).all()
    for _, ids in invoices.groupby(invoices.issue_date.str[:4]).invoice_id:
        assert sorted(int(i[-6:]) for i in ids) == list(range(1, len(ids) + 1))


def test_due_date_is_issue_date_plus_payment_terms(any_book: Book) -> None:
    terms = dict(
        zip(any_book.customers.customer_id, any_book.customers.payment_terms_days.astype(int), strict=True)
    )
    for invoice in any_book.invoices.itertuples():
        due = date.fromisoformat(invoice.issue_date) + timedelta(days=terms[invoice.customer_id])
        assert invoice.due_date == due.isoformat()


def test_no_date_after_as_of_and_issue_dates_cover_the_year(any_book: Book) -> None:
    dates = [
        *any_book.invoices.issue_date,
        *any_book.orders.order_date,
        *any_book.orders.fulfilled_date[any_book.orders.fulfilled_date != ""],
        *any_book.payments.value_date,
    ]
    assert max(dates) <= AS_OF.isoformat()
    issued = any_book.invoices.issue_date.map(date.fromisoformat)
    assert min(issued) >= AS_OF - timedelta(days=368) and min(issued) <= AS_OF - timedelta(days=330)
    months_ago = issued.map(lambda day: (AS_OF - day).days // 30)
    assert (months_ago <= 2).sum() > (months_ago.between(9, 11)).sum()  # recent months are denser


# --- truth allocations ---------------------------------------------------------------------------------


def test_truth_allocations_never_exceed_payment_or_invoice(any_book: Book) -> None:
    truth = any_book.truth_allocations.assign(allocated=minor(any_book.truth_allocations))
    payments = any_book.payments.set_index("payment_id")
    invoices = any_book.invoices.set_index("invoice_id")
    assert set(truth.invoice_id) <= set(invoices.index)
    assert (truth.currency == truth.invoice_id.map(invoices.currency)).all()
    assert (truth.currency == truth.payment_id.map(payments.currency)).all()
    assert (truth.allocated > 0).all()
    per_payment = truth.groupby("payment_id").allocated.sum()
    assert (per_payment <= minor(payments).loc[per_payment.index]).all()
    per_invoice = truth.groupby("invoice_id").allocated.sum()
    assert (per_invoice <= minor(invoices).loc[per_invoice.index]).all()


def test_payment_ids_and_value_dates(any_book: Book) -> None:
    payments = any_book.payments
    assert payments.payment_id.str.fullmatch(r"P\d{9}").all()
    assert payments.value_date.is_monotonic_increasing
    assert (pd.to_datetime(payments.value_date).dt.dayofweek < 5).all()  # banks book on working days


def test_invoice_numbers_in_references_name_invoices_the_payment_settles(any_book: Book) -> None:
    settled = any_book.truth_allocations.groupby("payment_id").invoice_id.apply(set)
    for payment in any_book.payments.itertuples():
        named = {f"INV-{year}-{int(seq):06d}" for year, seq in INVOICE_TOKEN.findall(payment.reference)}
        assert named <= settled.get(payment.payment_id, set()), payment


# --- realism: habits -----------------------------------------------------------------------------------


def test_early_payers_pay_before_due_some_taking_a_cash_discount(single: pd.DataFrame) -> None:
    early = single[single.days_late <= -4]
    in_full = early[early.payment_minor == early.invoice_minor]
    discounted = early[early.payment_minor == early.invoice_minor - early.invoice_minor * 2 // 100]
    assert len(in_full) >= 5 and len(discounted) >= 5


@pytest.mark.parametrize(("low", "high"), [(-3, 3), (1, 15), (20, 92)], ids=["on-time", "late", "chronic"])
def test_full_payments_around_and_after_due_date(single: pd.DataFrame, low: int, high: int) -> None:
    full = single[(single.payment_minor == single.invoice_minor) & single.days_late.between(low, high)]
    assert len(full) >= 5


def test_partial_payers_pay_part_and_sometimes_the_rest_later(facts: pd.DataFrame) -> None:
    share = facts.allocated_minor / facts.invoice_minor
    assert share.between(0.4, 0.9).sum() >= 3
    payments_per_invoice = facts.groupby("invoice_id").payment_id.nunique()
    assert (payments_per_invoice == 2).sum() >= 2


def overdue_unpaid(book: Book, facts: pd.DataFrame, days: int) -> pd.DataFrame:
    invoices = book.invoices
    overdue = pd.to_datetime(invoices.due_date) < pd.Timestamp(AS_OF - timedelta(days=days))
    return invoices[overdue & ~invoices.invoice_id.isin(facts.invoice_id)]


def test_disputers_leave_some_invoices_unpaid_and_pay_others(book: Book, facts: pd.DataFrame) -> None:
    # habits that pay whole invoices do so within 92 days, so long-unpaid invoices are disputes
    disputed = overdue_unpaid(book, facts, 95)
    assert set(disputed.customer_id) & set(facts.customer_id)


def test_some_customers_never_pay(book: Book, facts: pd.DataFrame) -> None:
    unpaid_customers = set(overdue_unpaid(book, facts, 30).customer_id) - set(facts.customer_id)
    assert unpaid_customers


def test_open_balance_spreads_over_all_ageing_buckets(book: Book, facts: pd.DataFrame) -> None:
    invoices = book.invoices.assign(invoice_minor=minor(book.invoices))
    paid = facts.groupby("invoice_id").allocated_minor.sum()
    open_minor = invoices.invoice_minor - invoices.invoice_id.map(paid).fillna(0)
    days_overdue = (pd.Timestamp(AS_OF) - pd.to_datetime(invoices.due_date)).dt.days
    buckets = pd.cut(days_overdue, [-999, 0, 30, 60, 90, 120, 999])
    open_by_bucket = open_minor.groupby(buckets, observed=False).sum()
    assert (open_by_bucket > 0).all(), open_by_bucket
    not_due = invoices[days_overdue <= 0]
    assert (~not_due.invoice_id.isin(facts.invoice_id)).mean() > 0.7  # not yet due: mostly unpaid


# --- realism: remittance data --------------------------------------------------------------------------

REFERENCE_PATTERNS = {
    "exact": r"INV-\d{4}-\d{6}",
    "spaced": r"INV \d{4} \d{6}",
    "compact": r"INV\d{10}",
    "unpadded": r"INV-\d{4}-[1-9]\d{0,4}",
    "lower": r"inv-\d{4}-\d{6}",
    "noise": r"(?!(.*INV){2})(?=.*[A-Za-z]{3,}.*INV-\d{4}-\d{6}|.*INV-\d{4}-\d{6}.*[A-Za-z]{3,}).*",
    "several, comma": r"(\D*INV-?\d{4}-?\d{6}, ){1,4}INV-?\d{4}-?\d{6}",
    "several, space": r"(\D*INV-?\d{4}-?\d{6} ){1,4}INV-?\d{4}-?\d{6}",
    "several, slash": r"(\D*INV-?\d{4}-?\d{6}/){1,4}INV-?\d{4}-?\d{6}",
    "empty": r"",
    "useless word": r"Payment|ACH credit|Invoice payment|SEPA credit transfer|Wire transfer|Zahlung",
    "purchase order": r"PO \d{10}",
}


@pytest.mark.parametrize("variant", list(REFERENCE_PATTERNS))
def test_each_remittance_variant_appears_a_few_times(book: Book, facts: pd.DataFrame, variant: str) -> None:
    references = book.payments[book.payments.payment_id.isin(facts.payment_id)].reference
    assert references.str.fullmatch(REFERENCE_PATTERNS[variant]).sum() >= 3


def test_payment_runs_settle_two_to_five_invoices_of_one_customer(facts: pd.DataFrame) -> None:
    runs = facts[facts.allocations_in_payment > 1]
    assert runs.payment_id.nunique() >= 10
    assert runs.allocations_in_payment.max() <= 5
    assert (runs.groupby("payment_id").customer_id.nunique() == 1).all()
    assert (runs.allocated_minor == runs.invoice_minor).all()


def test_short_over_and_bank_fee_payments(single: pd.DataFrame, facts: pd.DataFrame) -> None:
    missing = single.invoice_minor - single.payment_minor
    fees = {"JPY": {440, 660, 880}, "USD": {1500, 2000, 2500, 3500}}
    bank_fee = pd.Series(
        [
            gap in fees.get(currency, {500, 750, 1000, 1500, 2500})
            for gap, currency in zip(missing, single.currency, strict=True)
        ],
        index=single.index,
    )
    cash_discount = missing == single.invoice_minor * 2 // 100
    short = (missing / single.invoice_minor).between(0.004, 0.051) & ~bank_fee & ~cash_discount
    assert (single[short].allocated_minor == single[short].payment_minor).all()
    allocated = facts.groupby("payment_id").allocated_minor.sum()
    overpaid = facts.groupby("payment_id").payment_minor.first() > allocated
    assert short.sum() >= 3 and bank_fee.sum() >= 3 and overpaid.sum() >= 3


LEGAL_FORM_AT_END = re.compile(
    r" (GmbH & Co\. KG|GmbH|AG|S\.A\.|SARL|SAS|SRL|BV|B\.V\.|N\.V\.|Ltd|PLC|Inc|LLC|Corp|Co\., Ltd\.|K\.K\.)$"
)
LEGAL_FORM_SPELLINGS = {
    *("Gmbh", "G.m.b.H.", "Gesellschaft mbH", "GmbH + Co. KG", "GmbH u. Co KG", "Aktiengesellschaft", "A.G."),
    *("SA", "S.A", "S.A.R.L.", "Sarl", "S.A.S.", "Sas", "S.R.L.", "B.V.", "BV", "B V", "NV", "Limited"),
    *("Ltd.", "plc", "Public Limited Company", "Inc.", "Incorporated", "L.L.C.", "Llc", "Corporation"),
    *("Corp.", "Co Ltd", "Company Limited", "Kabushiki Kaisha", "KK"),
}


def test_payer_names_vary_like_bank_data(facts: pd.DataFrame) -> None:
    pairs = facts.drop_duplicates("payment_id")[["payer_name", "name"]].itertuples(index=False)
    kinds = {"exact": 0, "upper": 0, "no legal form": 0, "other legal form": 0, "abbreviated": 0, "typo": 0}
    for payer, name in pairs:
        core = LEGAL_FORM_AT_END.sub("", name)
        if payer == name:
            kinds["exact"] += 1
        elif payer == name.upper():
            kinds["upper"] += 1
        elif payer == core:
            kinds["no legal form"] += 1
        elif payer.startswith(core + " ") and payer[len(core) + 1 :] in LEGAL_FORM_SPELLINGS:
            kinds["other legal form"] += 1
        elif len(payer) < len(name) and (name.startswith(payer) or "." in payer):
            kinds["abbreviated"] += 1
        elif SequenceMatcher(None, payer, name).ratio() > 0.9:
            kinds["typo"] += 1
    assert min(kinds.values()) >= 2, kinds
    assert kinds["exact"] > max(count for kind, count in kinds.items() if kind != "exact")


def test_payer_accounts_are_mostly_known(facts: pd.DataFrame) -> None:
    payments = facts.drop_duplicates("payment_id")
    known = [
        account in accounts.split(";")
        for account, accounts in zip(payments.payer_account, payments.bank_accounts, strict=True)
    ]
    empty = (payments.payer_account == "").sum()
    assert sum(known) / len(payments) > 0.7
    assert empty >= 3 and len(payments) - sum(known) - empty >= 3  # some from another account


def test_stray_payments_have_no_truth_and_no_customer_account(book: Book) -> None:
    stray = book.payments[~book.payments.payment_id.isin(book.truth_allocations.payment_id)]
    assert len(stray) >= 3
    customer_accounts = {a for accounts in book.customers.bank_accounts for a in accounts.split(";")}
    assert not set(stray.payer_account) & customer_accounts
    assert not any(INVOICE_TOKEN.search(reference) for reference in stray.reference)

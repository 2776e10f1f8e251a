"""A large batch matched as two halves by currency, one in a second process (`tasks/reconcile/halves.py`):
the same allocations, write-offs, cases, exceptions, cash left and counts as the batch matched
whole, on a generated book of five currencies; and the same again when the second process fails."""

from __future__ import annotations

from datetime import date
from functools import cache

import pandas as pd
import pytest

import tasks.reconcile.halves as halves_module
from tasks.platform import elsewhere
from tasks.platform.fx import Rates
from tasks.platform.money import to_minor
from tasks.reconcile.apply import apply_cash
from tasks.reconcile.halves import currency_halves, of_currencies
from tasks.reconcile.matching import PayerDirectory
from tasks.reconcile.named import named_invoices
from tasks.reconcile.outcome import CashApplication
from tasks.reconcile.policy import default_policy
from tasks.reconcile.references import InvoiceKeys
from tools.generate import generate_book

AS_OF = date(2026, 11, 20)


@cache
def book() -> tuple[pd.DataFrame, pd.DataFrame, PayerDirectory]:
    """Payments, invoices and payers of a generated book of 3,000 invoices in five currencies."""
    generated = generate_book(customers=300, invoices=3_000, seed=7, as_of=AS_OF)
    inv = generated.invoices
    minor = [to_minor(a, c) for a, c in zip(inv["amount"], inv["currency"], strict=True)]
    has_discount = inv["discount_amount"] != ""
    invoices = pd.DataFrame(
        {
            "invoice_id": inv["invoice_id"],
            "customer_id": inv["customer_id"],
            "currency": inv["currency"],
            "due_date": pd.to_datetime(inv["due_date"]),
            "open_minor": minor,
            "amount_minor": minor,
            "discount_date": pd.to_datetime(inv["discount_date"].where(has_discount)),
            "discount_amount_minor": [
                to_minor(a, c) if a else None
                for a, c in zip(inv["discount_amount"], inv["currency"], strict=True)
            ],
        }
    )
    pay = generated.payments
    payments = pd.DataFrame(
        {
            "payment_id": pay["payment_id"],
            "value_date": pd.to_datetime(pay["value_date"]),
            "currency": pay["currency"],
            "unapplied_minor": [to_minor(a, c) for a, c in zip(pay["amount"], pay["currency"], strict=True)],
            "reference": pay["reference"],
            "payer_name": pay["payer_name"],
            "payer_account": pay["payer_account"],
        }
    )
    accounts = {
        account: customer
        for customer, listed in zip(
            generated.customers["customer_id"], generated.customers["bank_accounts"], strict=True
        )
        for account in str(listed or "").split(";")
        if account
    }
    names = dict(zip(generated.customers["customer_id"], generated.customers["name"], strict=True))
    return payments, invoices, PayerDirectory(accounts, names, default_policy().payer.name_threshold)


def across() -> tuple[pd.DataFrame, Rates]:
    """The book's payments and 40 more in EUR, each naming one GBP, USD or CHF invoice for what it
    is open for, at a rate of 1 on every day (the pass across currencies pays them)."""
    payments, invoices, _ = book()
    named = invoices[invoices["currency"].isin(["GBP", "USD", "CHF"])].head(40)
    more = pd.DataFrame(
        {
            "payment_id": [f"PX{n:03d}" for n in range(len(named))],
            "value_date": named["due_date"].to_numpy(),
            "currency": "EUR",
            "unapplied_minor": named["open_minor"].to_numpy(),
            "reference": [f"Rechnung {i}" for i in named["invoice_id"]],
            "payer_name": "",
            "payer_account": "",
        }
    )
    days = pd.date_range(payments["value_date"].min() - pd.Timedelta(days=7), AS_OF, freq="D")
    rates = Rates.of(
        pd.DataFrame(
            [(day, "EUR", c, "1") for day in days for c in ("GBP", "USD", "CHF", "JPY")],
            columns=["rate_date", "base_currency", "currency", "rate"],
        )
    )
    return pd.concat([payments, more], ignore_index=True), rates


def reconcile(*, with_rates: bool = False) -> CashApplication:
    payments, invoices, payers = book()
    rates = None
    if with_rates:
        payments, rates = across()
    return apply_cash(
        payments, invoices, as_of=AS_OF, rule_version="t", policy=default_policy(), payers=payers, rates=rates
    )


def as_sets(cash: CashApplication) -> dict[str, object]:
    """Every frame of a run as a set of rows (the halves give the first half's rows, then the
    second's, rather than round by round)."""
    frames = ("allocations", "unapplied", "exceptions", "write_offs", "cases", "on_account")
    return {
        name: {tuple(row) for row in getattr(cash, name).astype(str).to_numpy().tolist()} for name in frames
    } | {"counts": cash.counts}


@pytest.fixture(scope="module")
def whole() -> CashApplication:
    """The book matched whole (below `HALVES_FROM` payments)."""
    payments, _, _ = book()
    assert currency_halves(payments) is None
    return reconcile()


def test_the_halves_are_the_largest_currency_against_the_rest_when_it_leaves_enough() -> None:
    payments = pd.DataFrame({"currency": ["EUR"] * 60 + ["GBP"] * 20 + ["USD"] * 15 + ["JPY"] * 5})
    assert currency_halves(payments, at_least=10) == ({"EUR"}, {"GBP", "USD", "JPY"})
    assert currency_halves(payments, at_least=101) is None  # too few payments to pay for a process
    one_sided = pd.DataFrame({"currency": ["EUR"] * 90 + ["GBP"] * 10})
    assert currency_halves(one_sided, at_least=10) is None  # the other half would be too small
    assert currency_halves(pd.DataFrame({"currency": ["EUR"] * 50}), at_least=10) is None
    even = pd.DataFrame({"currency": ["EUR"] * 40 + ["GBP"] * 30 + ["USD"] * 30})
    assert currency_halves(even, at_least=10) == ({"EUR"}, {"GBP", "USD"})


def test_matched_in_two_halves_the_book_gets_what_it_gets_matched_whole(
    whole: CashApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered: list[object] = []

    class Recorded(elsewhere.Elsewhere):
        def result(self) -> object:
            answered.append(super().result())  # raises, as the real one does, if it failed
            return answered[-1]

    monkeypatch.setattr(halves_module, "HALVES_FROM", 100)
    monkeypatch.setattr(halves_module, "Elsewhere", Recorded)
    halved = reconcile()
    assert len(answered) == 1  # the second half was matched in another process
    assert len(whole.allocations) > 1_000 and whole.counts["matching_rounds"] >= 2
    assert set(whole.allocations["currency"]) == {"EUR", "GBP", "USD", "CHF", "JPY"}
    assert as_sets(halved) == as_sets(whole)
    # the first half's rows, then the second's
    currencies = halved.allocations["currency"].tolist()
    assert currencies.index("GBP") > len(currencies) - 1 - currencies[::-1].index("EUR")


def test_the_pass_across_currencies_reads_the_halves_keys_as_the_whole_books(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    whole = reconcile(with_rates=True)
    across_rows = whole.allocations[whole.allocations["rule"] == "cross_currency"]
    # the EUR payments paid those of their invoices the book's own payments had left open
    assert len(across_rows) >= 5
    monkeypatch.setattr(halves_module, "HALVES_FROM", 100)
    assert as_sets(reconcile(with_rates=True)) == as_sets(whole)


def test_keys_read_in_halves_and_joined_find_what_the_whole_books_keys_find() -> None:
    payments, invoices, _ = book()
    ordered = invoices.sort_values(["due_date", "invoice_id"], kind="stable").reset_index(drop=True)
    halves = currency_halves(payments, at_least=100)
    assert halves is not None
    joined = InvoiceKeys.joined(
        [InvoiceKeys(of_currencies(ordered, half), in_due_order=True) for half in halves]
    )
    whole = InvoiceKeys(ordered, in_due_order=True)
    owners = dict(zip(ordered["invoice_id"], ordered["customer_id"], strict=True))
    for currency in ("EUR", "GBP", "JPY"):  # each text read as its own currency's, then as others'
        texts = payments.assign(currency=currency)
        got = named_invoices(texts, joined, owners)
        assert len(got) > 50
        assert got.equals(named_invoices(texts, whole, owners))


def test_a_half_whose_process_fails_is_matched_here_with_the_same_result(
    whole: CashApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(halves_module, "HALVES_FROM", 100)
    monkeypatch.setattr(elsewhere.sys, "executable", "/bin/false")
    assert as_sets(reconcile()) == as_sets(whole)


def test_a_half_whose_process_cannot_start_is_matched_here_with_the_same_result(
    whole: CashApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_process(*args: object, **kwargs: object) -> None:
        raise BlockingIOError("Resource temporarily unavailable")

    monkeypatch.setattr(halves_module, "HALVES_FROM", 100)
    monkeypatch.setattr(elsewhere.subprocess, "Popen", no_process)
    assert as_sets(reconcile()) == as_sets(whole)

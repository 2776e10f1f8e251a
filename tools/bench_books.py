"""Synthetic inputs at volume for the single-stage benchmarks of `o2c bench`: open invoices and as
many payments for reconcile (`scale_book`), open invoices with history, cases and unapplied cash for
the dunning policy (`dunning_facts`), and customers with fulfilled orders and their lines for the
invoice stage (`invoicing_book`).

Simpler than the generator's book (one currency mostly, plain names) but shaped like a busy ledger;
the same seed gives the same frames. Nothing here reads the clock or the environment.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from rules.dunning import DunningFacts

# How banks carry an invoice number in the remittance text: exact, lower case, spaces, no
# separators, leading zeros dropped, inside other text.
_SPELLINGS: tuple[Callable[[str], str], ...] = (
    lambda i: i,
    lambda i: f"Payment {i.lower()}",
    lambda i: f"INV {i[4:8]} {i[9:]} thank you",
    lambda i: i.replace("-", ""),
    lambda i: f"RE {i[:9]}{i[9:].lstrip('0')} ACME",
)


def scale_book(payments: int, seed: int, as_of: date) -> dict[str, Any]:
    """A book for timing reconcile at volume: `payments` open invoices and as many payments.

    Mix (of payments): 80 % name their invoice in the remittance, spelled as banks carry it (exact,
    lower case, spaces, no separators, leading zeros dropped, inside other text); 10 % pay the exact
    amount from the customer's known account with no reference; 5 % pay part of a named invoice;
    5 % are receipts no rule can place. Returns frames for customers, invoices and payments.
    """
    rng = random.Random(seed)
    customers = max(payments // 20, 10)
    ids = [f"INV-2026-{i:07d}" for i in range(1, payments + 1)]
    owners = [rng.randrange(customers) for _ in ids]
    issued = [as_of.toordinal() - rng.randrange(15, 200) for _ in ids]
    amounts = [rng.randrange(1_000, 2_000_000) for _ in ids]
    references, paid, names, accounts = _remittances(ids, owners, amounts, rng)
    customer_frame = pd.DataFrame(
        {
            "customer_id": [f"C{c:07d}" for c in range(customers)],
            "name": [f"Customer {c} Ltd" for c in range(customers)],
            "currency": "EUR",
            "bank_accounts": [f"DE{c:020d}" for c in range(customers)],
        }
    )
    invoice_frame = pd.DataFrame(
        {
            "invoice_id": ids,
            "customer_id": [f"C{c:07d}" for c in owners],
            "issue_date": [date.fromordinal(d) for d in issued],
            "due_date": [date.fromordinal(d + 30) for d in issued],
            "currency": "EUR",
            "amount": [_major(a) for a in amounts],
        }
    )
    payment_frame = pd.DataFrame(
        {
            "payment_id": [f"P{k:09d}" for k in range(payments)],
            "value_date": [date.fromordinal(min(d + 30, as_of.toordinal())) for d in issued],
            "amount": [_major(a) for a in paid],
            "currency": "EUR",
            "payer_name": names,
            "payer_account": accounts,
            "reference": references,
        }
    )
    return {"customers": customer_frame, "invoices": invoice_frame, "payments": payment_frame}


def _remittances(
    ids: list[str], owners: list[int], amounts: list[int], rng: random.Random
) -> tuple[list[str], list[int], list[str], list[str]]:
    """Each invoice's payment in the mix `scale_book` describes: (references, amounts paid in minor
    units, payer names, payer accounts), one entry per invoice."""
    references: list[str] = []
    paid: list[int] = []
    names: list[str] = []
    accounts: list[str] = []
    for k, (invoice_id, owner, amount) in enumerate(zip(ids, owners, amounts, strict=True)):
        kind = rng.random()
        account = f"DE{owner:020d}"
        if kind < 0.80:
            references.append(_SPELLINGS[k % len(_SPELLINGS)](invoice_id))
            paid.append(amount)
        elif kind < 0.90:
            references.append("")
            paid.append(amount)
        elif kind < 0.95:
            references.append(f"part payment {invoice_id}")
            paid.append(amount // 2)
        else:
            references.append("transfer")
            paid.append(rng.randrange(100, 50_000))
            account = f"GB{rng.randrange(10**18):020d}"
        names.append(f"Customer {owner} Ltd")
        accounts.append(account)
    return references, paid, names, accounts


def _major(cents: int) -> str:
    """Minor units of a two-decimal currency as a decimal string."""
    return f"{cents // 100}.{cents % 100:02d}"


def dunning_facts(invoices: int, seed: int, as_of: date) -> DunningFacts:
    """Facts for timing the dunning policy: `invoices` open invoices of invoices / 20 customers over
    the three profiles, due from 60 days ahead to 120 days ago; a third of the customers reminded
    before, some disputes and promises, some unapplied cash, a few customers tagged no-dunning."""
    rng = np.random.default_rng(seed)
    customer_ids = np.array([f"C{c:07d}" for c in range(max(invoices // 20, 10))], dtype=object)
    items = _open_items(invoices, customer_ids, as_of, rng)
    customers = len(customer_ids)
    profiles = np.array(["standard", "strategic", "small-business"], dtype=object)
    tags = np.where(rng.random(customers) < 0.01, "no-dunning", "")
    customer_frame = pd.DataFrame(
        {
            "customer_id": customer_ids,
            "dunning_profile": profiles[rng.integers(0, 3, customers)],
            "tags": tags,
        }
    )
    history = _reminder_history(items, customer_ids, as_of, rng)
    cases = _cases(items, customer_frame, as_of, seed)
    cash_owners = customer_frame.sample(frac=0.05, random_state=seed + 2)["customer_id"]
    unapplied = pd.DataFrame(
        {
            "customer_id": cash_owners,
            "currency": "EUR",
            "unapplied_minor": rng.integers(100, 5_000_000, len(cash_owners)),
        }
    )
    return DunningFacts(items, customer_frame, history, cases, unapplied, None)


def _open_items(
    invoices: int, customer_ids: np.ndarray, as_of: date, rng: np.random.Generator
) -> pd.DataFrame:
    """`invoices` open invoices spread over the customers, four in five in EUR, the rest in USD."""
    owner = rng.integers(0, len(customer_ids), invoices)
    due = pd.Timestamp(as_of) + pd.to_timedelta(rng.integers(-120, 60, invoices), unit="D")
    return pd.DataFrame(
        {
            "invoice_id": np.array([f"INV-{i:08d}" for i in range(invoices)], dtype=object),
            "customer_id": customer_ids[owner],
            "currency": np.where(rng.random(invoices) < 0.8, "EUR", "USD"),
            "issue_date": due - pd.Timedelta(days=30),
            "due_date": due,
            "open_minor": rng.integers(500, 500_000, invoices),
        }
    )


def _reminder_history(
    items: pd.DataFrame, customer_ids: np.ndarray, as_of: date, rng: np.random.Generator
) -> pd.DataFrame:
    """A third of the customers reminded before, on their invoices more than ten days overdue."""
    reminded = items[items["customer_id"].isin(customer_ids[rng.random(len(customer_ids)) < 0.33])]
    reminded = reminded[reminded["due_date"] < pd.Timestamp(as_of) - pd.Timedelta(days=10)]
    return pd.DataFrame(
        {
            "invoice_id": reminded["invoice_id"],
            "customer_id": reminded["customer_id"],
            "last_level": rng.integers(0, 3, len(reminded)),
            "last_reminded_on": pd.Timestamp(as_of)
            - pd.to_timedelta(rng.integers(5, 40, len(reminded)), unit="D"),
        }
    )


def _cases(items: pd.DataFrame, customers: pd.DataFrame, as_of: date, seed: int) -> pd.DataFrame:
    """Open disputes on 1 % of the invoices and open promises to pay from 2 % of the customers."""
    disputed = items.sample(frac=0.01, random_state=seed)
    promised = customers.sample(frac=0.02, random_state=seed + 1)
    disputes = pd.DataFrame(
        {
            "case_id": "D-" + disputed["invoice_id"],
            "kind": "dispute",
            "customer_id": disputed["customer_id"],
            "invoice_id": disputed["invoice_id"],
            "status": "open",
            "due_on": pd.NaT,
        }
    )
    promises = pd.DataFrame(
        {
            "case_id": "P-" + promised["customer_id"],
            "kind": "promise",
            "customer_id": promised["customer_id"],
            "invoice_id": "",
            "status": "open",
            "due_on": pd.Timestamp(as_of) + pd.Timedelta(days=10),
        }
    )
    return pd.concat([disputes, promises], ignore_index=True)


def invoicing_book(lines: int, seed: int, as_of: date) -> dict[str, Any]:
    """Customers, fulfilled orders and `lines` order lines (four per order on average) for timing the
    invoice stage; a third of the customers on `2% 10 net 30`, a third on `eom 15`, the rest net."""
    rng = np.random.default_rng(seed)
    orders = max(lines // 4, 1)
    customers = max(orders // 25, 10)
    customer_ids = np.array([f"C{c:07d}" for c in range(customers)], dtype=object)
    terms = np.array(["2% 10 net 30", "eom 15", ""], dtype=object)[np.arange(customers) % 3]
    order_ids = np.array([f"SO-{o:08d}" for o in range(orders)], dtype=object)
    owner = rng.integers(0, customers, orders)
    fulfilled = pd.Timestamp(as_of) - pd.to_timedelta(rng.integers(0, 20, orders), unit="D")
    per_order = np.bincount(rng.integers(0, orders, lines), minlength=orders)
    per_order[per_order == 0] = 1  # every order has a line
    order_of_line = np.repeat(np.arange(orders), per_order)
    line_no = np.concatenate([np.arange(1, n + 1) for n in per_order])
    count = len(order_of_line)
    return {
        "customers": pd.DataFrame(
            {
                "customer_id": customer_ids,
                "name": ["Customer " + c for c in customer_ids],
                "email": ["ap@" + c.lower() + ".example" for c in customer_ids],
                "country": "DE",
                "address": "Hauptstraße 1",
                "postcode": "10115",
                "city": "Berlin",
                "currency": "EUR",
                "payment_terms_days": 30,
                "payment_terms": terms,
            }
        ),
        "orders": pd.DataFrame(
            {
                "order_id": order_ids,
                "customer_id": customer_ids[owner],
                "order_date": (fulfilled - pd.Timedelta(days=3)).strftime("%Y-%m-%d"),
                "currency": "EUR",
                "status": "fulfilled",
                "fulfilled_date": fulfilled.strftime("%Y-%m-%d"),
            }
        ),
        "order_lines": pd.DataFrame(
            {
                "order_id": order_ids[order_of_line],
                "line_no": line_no,
                "quantity": rng.integers(1, 20, count),
                "unit_price": [f"{p // 100}.{p % 100:02d}" for p in rng.integers(50, 100_000, count)],
                "tax_rate": np.array(["0.19", "0.07", "0"], dtype=object)[rng.integers(0, 3, count)],
            }
        ),
    }

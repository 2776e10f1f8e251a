"""A synthetic but realistic order-to-cash book of business, the same for the same seed.

The book holds customers (each with one payment habit), the orders and invoices an earlier billing
system produced over the twelve months before `as_of`, orders still to be billed, the bank receipts the
customers sent with remittance text as messy as real bank data, and the true payment-to-invoice
allocations a reconciler should find. Money is integer minor units until it is written out as decimal
strings in major units; nothing reads the clock, the environment or global random state.

`generate_book` draws the customers (`customers`), then the invoices with the orders and lines behind
them (`orders`), then the payments and the truth (`payments`), over the shared pieces in `basics`;
`text` makes every name, address and remittance text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from tools.generate.basics import COLUMNS
from tools.generate.customers import customer_frame, make_customers
from tools.generate.orders import invoice_frame, orders_and_lines, plan_invoices
from tools.generate.payments import make_payments, payment_frame, truth_frame


@dataclass(frozen=True)
class Book:
    """Every dataset of one book as string columns, exactly as they are written to CSV."""

    customers: pd.DataFrame
    orders: pd.DataFrame
    order_lines: pd.DataFrame
    invoices: pd.DataFrame
    payments: pd.DataFrame
    truth_allocations: pd.DataFrame


_FILE_NAMES = {name: f"{name}.csv" for name in COLUMNS} | {"truth_allocations": "truth/allocations.csv"}


def generate_book(*, customers: int = 50, invoices: int = 500, seed: int = 42, as_of: date) -> Book:
    """A book of `customers` customers and `invoices` invoices issued in the year up to `as_of`."""
    if customers < 1 or invoices < 0:
        raise ValueError("need at least one customer and a non-negative number of invoices")
    rng = np.random.default_rng(seed)  # bulk draws for invoices, orders and lines
    py_rng = random.Random(seed)  # one-at-a-time draws for customers, payments and texts
    as_of_day = as_of.toordinal()
    cust = make_customers(customers, py_rng)
    inv = plan_invoices(cust, invoices, as_of_day, rng)
    orders, order_lines = orders_and_lines(cust, inv, as_of_day, rng)
    payments = make_payments(cust, inv, as_of_day, py_rng)
    return Book(
        customers=customer_frame(cust),
        orders=orders,
        order_lines=order_lines,
        invoices=invoice_frame(cust, inv),
        payments=payment_frame(payments),
        truth_allocations=truth_frame(payments, inv),
    )


def write_book(book: Book, out_dir: Path) -> dict[str, Path]:
    """Write out_dir/customers.csv, orders.csv, order_lines.csv, invoices.csv, payments.csv and
    out_dir/truth/allocations.csv (UTF-8, header row, no index); returns {dataset_name: path}."""
    paths: dict[str, Path] = {}
    for name, file_name in _FILE_NAMES.items():
        path = Path(out_dir) / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        getattr(book, name).to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
        paths[name] = path
    return paths

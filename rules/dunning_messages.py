"""What a customer's reminder says in money: per currency the open amount, the interest and the fee
of the currency's highest level in the message (the interest on each invoice is computed with the
levels, in `sql/remind/evaluate/items.sql`: exact, rounded half up per invoice).

Pure and exact: amounts are integers in minor units.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

MESSAGE_COLUMNS = ["customer_id", "profile", "level", "level_name", "template", "attach_statement", "totals"]


def messages(heads: pa.Table, totals: pa.Table, fees: pa.Table) -> pd.DataFrame:
    """One row per customer (`heads`: customer_id, profile, level, level_name, template,
    attach_statement, by customer) with `totals`: per currency (`totals` rows, by customer and
    currency) the open amount, interest, the fee of that currency's highest level in the message
    (`fees`: profile, level, currency, fee_minor) and their sum."""
    if not heads.num_rows:
        return pd.DataFrame(columns=MESSAGE_COLUMNS)
    fee_of = {
        (p, lv, c): f
        for p, lv, c, f in zip(
            *(fees.column(n).to_pylist() for n in ("profile", "level", "currency", "fee_minor")), strict=True
        )
    }
    by_customer: dict[str, dict[str, dict[str, int]]] = {}
    columns = ("customer_id", "currency", "profile", "level", "open_minor", "interest_minor")
    for customer_id, currency, profile, level, open_minor, interest in zip(
        *(totals.column(n).to_pylist() for n in columns), strict=True
    ):
        fee = fee_of[(profile, level, currency)]
        by_customer.setdefault(customer_id, {})[currency] = {
            "open_minor": open_minor,
            "interest_minor": interest,
            "fee_minor": fee,
            "total_minor": open_minor + interest + fee,
        }
    frame = heads.select(MESSAGE_COLUMNS[:-1]).to_pandas()
    frame["totals"] = [by_customer[c] for c in frame["customer_id"]]
    return frame[MESSAGE_COLUMNS]

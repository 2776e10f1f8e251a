"""What a customer's reminder says in money: the interest to date on each invoice at a level that
charges it, and per currency the open amount, the interest and the fee of the message's level.

Pure and exact: amounts are integers in minor units, interest rounded half up per invoice.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rules.dunning_policy import DunningPolicy, ladder_table, level_of


def interest(frame: pd.DataFrame, policy: DunningPolicy) -> np.ndarray:
    """Interest to date on each overdue invoice at a level that charges it: open amount x annual
    rate x days past due / 365, rounded half up to the minor unit."""
    if not len(frame):
        return np.zeros(0, dtype=np.int64)
    ladder = ladder_table(policy)
    rate = ladder.reindex(pd.MultiIndex.from_arrays([frame["profile"], frame["level"]]))[
        "interest_percent_per_year"
    ].to_numpy()
    # exact: the rate in millionths of a percent keeps the arithmetic in integers
    ppm = np.rint(rate * 1_000_000).astype(np.int64)
    days = np.maximum(frame["days_past_due"].to_numpy(), 0).astype(np.int64)
    interest = np.zeros(len(frame), dtype=np.int64)
    charged = np.flatnonzero((ppm > 0) & (days > 0))
    denominator = 100 * 1_000_000 * 365
    amounts = frame["open_minor"].to_numpy()
    interest[charged] = [  # Python integers: the product can exceed 64 bits
        (int(amounts[i]) * int(ppm[i]) * int(days[i]) * 2 + denominator) // (2 * denominator) for i in charged
    ]
    return interest


def messages(frame: pd.DataFrame, policy: DunningPolicy) -> pd.DataFrame:
    """One row per customer: its message's level, and per currency the open amount, interest and
    the fee of that currency's highest level in the message."""
    columns = ["customer_id", "profile", "level", "level_name", "template", "attach_statement", "totals"]
    if not len(frame):
        return pd.DataFrame(columns=columns)
    top = frame.loc[frame.groupby("customer_id")["level"].idxmax()].sort_values("customer_id")
    sums = (
        frame.groupby(["customer_id", "currency"], sort=True)
        .agg(
            profile=("profile", "first"),
            open_minor=("open_minor", "sum"),
            interest_minor=("interest_minor", "sum"),
            level=("level", "max"),
        )
        .reset_index()
    )
    fees = {
        key: level_of(policy, key[0], key[1]).fee_minor(key[2])
        for key in set(zip(sums["profile"], sums["level"], sums["currency"], strict=True))
    }
    totals: dict[str, dict[str, dict[str, int]]] = {}
    for row in sums.itertuples(index=False):
        fee = fees[(row.profile, row.level, row.currency)]
        open_minor, interest = int(row.open_minor), int(row.interest_minor)
        totals.setdefault(row.customer_id, {})[row.currency] = {
            "open_minor": open_minor,
            "interest_minor": interest,
            "fee_minor": fee,
            "total_minor": open_minor + interest + fee,
        }
    statement = {
        (name, lv.level): lv.attach_statement
        for name, profile in policy.profiles.items()
        for lv in profile.levels
    }
    return pd.DataFrame(
        {
            "customer_id": top["customer_id"].to_numpy(),
            "profile": top["profile"].to_numpy(),
            "level": top["level"].astype("int64").to_numpy(),
            "level_name": top["level_name"].to_numpy(),
            "template": top["template"].to_numpy(),
            "attach_statement": [
                statement[(p, int(lv))] for p, lv in zip(top["profile"], top["level"], strict=True)
            ],
            "totals": [totals[c] for c in top["customer_id"]],
        },
        columns=columns,
    )

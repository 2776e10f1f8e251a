"""The open receivables of every currency in one reporting currency: at the as-of date's rates, and
at the rates of the days the invoices were issued; the difference is the unrealised exchange gain
or loss, shown apart from the receivables.

Pure: the open items (an Arrow table or frame: currency, issue_date, open_minor), the rates and the
reporting currency in; the `across_currencies` section of the report's JSON out. Items are summed
per currency and issue date first, and each sum converted (at either rate) and rounded once, so a
million open items cost a few hundred conversions, and an item valued at one rate on both sides
adds exactly nothing to the difference.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from tasks.platform.fx import Rates, convert_minor
from tasks.platform.money import to_major_str


def across_currencies(items: Any, rates: Rates, currency: str, as_of: date) -> dict[str, Any]:
    """The receivables (positive open amounts, as the report's `open_amount`) in `currency`.

    - open_amount: each currency's receivables at the as-of rate, summed;
    - open_at_booking_rates: each invoice's open amount at the rate of its issue date;
    - unrealised_fx: the first less the second (positive: a gain);
    - rates: per currency, the rate used on the date and the day it was quoted;
    - without_rate: currencies left out for want of a rate on the date (their receivables are not in
      the totals), and `booking_rate_missing` those of which some invoice's issue date had none (its
      open amount is then valued at the as-of rate on both sides, so it adds no difference).
    """
    frame = items.to_pandas() if hasattr(items, "to_pandas") else pd.DataFrame(items)
    frame = frame[frame["open_minor"] > 0]
    sums = (
        frame.assign(issue_date=pd.to_datetime(frame["issue_date"]).dt.date)
        .groupby(["currency", "issue_date"], sort=True)["open_minor"]
        .sum()
    )
    at_date = at_booking = 0
    used: dict[str, dict[str, str]] = {}
    without: list[str] = []
    booking_missing: set[str] = set()
    for code in sorted(frame["currency"].unique()):
        now = rates.fraction(code, currency, as_of)
        if now is None:
            without.append(code)
            continue
        numerator, denominator, quoted = now
        rate = numerator / denominator
        used[code] = {"rate": _text(rate), "quoted_on": quoted.isoformat()}
        for day, amount in sums.loc[code].items():
            then = rates.fraction(code, currency, day)
            if then is None:
                booking_missing.add(code)
                then = now
            at_date += convert_minor(int(amount), code, currency, numerator, denominator)
            at_booking += convert_minor(int(amount), code, currency, then[0], then[1])
    return {
        "currency": currency,
        "open_amount": to_major_str(at_date, currency),
        "open_at_booking_rates": to_major_str(at_booking, currency),
        "unrealised_fx": to_major_str(at_date - at_booking, currency),
        "rates": used,
        "without_rate": without,
        "booking_rate_missing": sorted(booking_missing),
    }


def _text(rate: Any) -> str:
    """A rate for people: 10 significant digits, no exponent."""
    return format(rate.normalize() if rate == rate.to_integral_value() else round(rate, 10).normalize(), "f")

"""Collection KPIs per currency beyond open amount, ageing and DSO: ageing by invoice date, best
possible DSO, average days delinquent, countback DSO, CEI, the 13-week cash forecast from each
customer's payment habit, the at-risk rate and how customers paid (days to settle, days late).

Pure: open items as of the date and as of the period's first day, and the invoices settled by the
date, in; dictionaries of figures in minor units, days and percentages (rounded half up to two
decimals, None where a denominator is zero) out. `collection_kpis` merges them per currency.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tasks.report.ageing import BUCKETS, DEFAULT_PERIOD_DAYS, bucketed
from tasks.report.facts import Facts, engine_with, rows


def indicators(
    now: Facts, then: Facts, *, as_of: date, period_days: int = DEFAULT_PERIOD_DAYS
) -> dict[str, dict[str, Any]]:
    """The collection indicators per currency, from the open items as of `as_of` (`now`) and as of
    the period's first day, `as_of - period_days` (`then`: the opening receivables). Receivables
    are the positive open amounts; credit sales the amounts of invoices issued in the period (after
    its first day, up to `as_of`). Days and percentages are rounded half up to two decimals; None
    where a denominator is zero. Frames or Arrow tables; summed in the compute engine.

    - ageing_by_invoice_date_minor: the open amount by days since the invoice date, same buckets;
    - best_possible_dso: current (not yet due) receivables / credit sales x days in the period;
    - average_days_delinquent: DSO - best possible DSO;
    - dso_countback: the days of sales the open receivables make up, exhausting them against the
      most recent months' sales, newest first (this month up to the date, then whole months);
    - cei_period_total: (opening + sales - closing) / (opening + sales - closing current) x 100;
    - cei_monthly_average: the same with the period's average month of sales (sales x 30 / days).
    """
    start = as_of - timedelta(days=period_days)
    with engine_with(then) as engine:
        opening = {
            r["currency"]: r["open_minor"]
            for r in rows(engine, "by_currency", as_of=start, period_start=start)
        }
    with engine_with(now) as engine:
        totals = rows(engine, "by_currency", as_of=as_of, period_start=start)
        by_issue = bucketed(rows(engine, "by_days", as_of=as_of), "issue")
        months = rows(engine, "monthly_sales", as_of=as_of)
    result: dict[str, dict[str, Any]] = {}
    for row in totals:
        currency = row["currency"]
        closing, current, sales = row["open_minor"], row["current_minor"], row["sales_minor"]
        begin = int(opening.get(currency, 0))
        dso = _exact_ratio(Decimal(closing) * period_days, Decimal(sales))
        best = _exact_ratio(Decimal(current) * period_days, Decimal(sales))
        monthly = {m["month"]: m["sales_minor"] for m in months if m["currency"] == currency}
        result[str(currency)] = {
            "ageing_by_invoice_date_minor": by_issue.get(currency, {n: 0 for n, _l, _h in BUCKETS}),
            "best_possible_dso": _rounded(best),
            "average_days_delinquent": _rounded(dso - best) if dso is not None and best is not None else None,
            "dso_countback": _rounded(countback_of_months(closing, monthly, row["earliest_issue"], as_of)),
            "cei_period_total": _rounded(_cei(begin, Decimal(sales), closing, current)),
            "cei_monthly_average": _rounded(_cei(begin, Decimal(sales) * 30 / period_days, closing, current)),
            "opening_receivables_minor": begin,
            "current_receivables_minor": current,
        }
    return result


def countback(receivables: int, items: Facts, as_of: date) -> Decimal | None:
    """Days of sales in `receivables`: take away this month's sales (up to the date), then each
    earlier month's, newest first, counting each month's days while its sales are used up whole, and
    the used share of the last month's days; None without receivables or sales."""
    with engine_with(items) as engine:
        months = rows(engine, "monthly_sales", as_of=as_of)
        earliest = engine.arrow("select min(issue_date) from items").column(0)[0].as_py()
    return countback_of_months(receivables, {m["month"]: m["sales_minor"] for m in months}, earliest, as_of)


def countback_of_months(
    receivables: int, monthly: dict[date, int], earliest: date | None, as_of: date
) -> Decimal | None:
    """`countback` from the sales per month of issue (up to the date) and the earliest invoice
    date of the items."""
    if receivables <= 0:
        return Decimal(0) if receivables == 0 else None
    if earliest is None:
        return None
    left, days = Decimal(receivables), Decimal(0)
    end = as_of
    while end >= earliest:
        first = end.replace(day=1)
        sales = int(monthly.get(first, 0))
        span = (end - first).days + 1
        if sales > 0 and left <= sales:
            return days + left / sales * span
        if sales > 0:
            left -= sales
        days += span
        end = first - timedelta(days=1)
    return days  # receivables older than every sale: all the history's days, a floor


def _cei(opening: int, sales: Decimal, closing: int, current: int) -> Decimal | None:
    return _exact_ratio((opening + sales - closing) * 100, opening + sales - current)


def _exact_ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    return None if denominator == 0 else Decimal(numerator) / Decimal(denominator)


def _rounded(value: Decimal | None) -> float | None:
    return None if value is None else float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def ratio(numerator: int, denominator: int) -> float | None:
    """numerator / denominator, exact, rounded half up to two decimals."""
    if denominator <= 0:
        return None
    exact = Decimal(numerator) / Decimal(denominator)
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


FORECAST_WEEKS = 13


def forecast(now: Facts, settled: Facts, as_of: date) -> dict[str, dict[str, Any]]:
    """Cash expected in each of the next 13 weeks, per currency, from each customer's habit.

    A customer's habit is the amount-weighted average of the days late of its settled invoices
    (rounded half up to whole days; a customer with none takes its currency's). Each open item is
    expected on its due date plus that many days, and never before tomorrow (what is already late
    beyond the habit is expected in week 1). Week k holds what is expected in the k-th 7 days after
    the as-of date; what falls later is `forecast_beyond_minor`. Summed in the compute engine
    (`sql/report/figures/forecast.sql`).
    """
    with engine_with(now, settled) as engine:
        expected = rows(engine, "forecast", as_of=as_of, weeks=FORECAST_WEEKS)
    result: dict[str, dict[str, Any]] = {}
    for row in sorted(expected, key=lambda r: (r["currency"], r["week"])):
        figures = result.setdefault(
            str(row["currency"]), {"forecast_minor": [0] * FORECAST_WEEKS, "forecast_beyond_minor": 0}
        )
        if row["week"] < FORECAST_WEEKS:
            figures["forecast_minor"][row["week"]] += row["open_minor"]
        else:
            figures["forecast_beyond_minor"] += row["open_minor"]
    return result


def _days(weighted: int, amount: int) -> int:
    if amount <= 0:
        return 0
    return int((Decimal(weighted) / Decimal(amount)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def at_risk(now: Facts, settled: Facts, as_of: date) -> dict[str, dict[str, Any]]:
    """The at-risk rate per currency: of the invoices billed in the latest month that ended at least
    90 days before the as-of date, the percentage (by count) not settled within 90 days of their
    invoice date, with that month (`at_risk_month`)."""
    month_end = as_of - timedelta(days=90)
    if (month_end + timedelta(days=1)).day != 1:  # not a month's last day: the month before
        month_end = month_end.replace(day=1) - timedelta(days=1)
    month_start = month_end.replace(day=1)
    with engine_with(now, settled) as engine:
        billed = rows(engine, "at_risk", month_start=month_start, month_end=month_end)
    return {
        str(row["currency"]): {
            "at_risk_rate": ratio(100 * int(row["unpaid"]), int(row["billed"])),
            "at_risk_month": month_start.isoformat()[:7],
        }
        for row in billed
    }


def payment_behaviour(settled: Facts) -> dict[str, dict[str, Any]]:
    """How customers paid, per currency, over every invoice settled by the as-of date (issue date,
    due date, amount and the day the cash that completed it was received):

    - average_days_to_settle: the mean of (settled - issued) days, per invoice;
    - average_days_late: the mean of max(0, settled - due) days, per invoice;
    - share_paid_late: the percentage of those invoices settled after their due date;
    - average_payment_delay: sum(amount x max(0, settled - due)) / sum(amount), days.
    Each rounded half up to two decimals; None where nothing was settled. Exact sums, in the
    compute engine.
    """
    if settled is None or not len(settled):
        return {}
    with engine_with(settled=settled) as engine:
        found = rows(engine, "behaviour")
    return {
        str(row["currency"]): {
            "invoices_settled": int(row["settled"]),
            "average_days_to_settle": ratio(row["to_settle"], int(row["settled"])),
            "average_days_late": ratio(row["late"], int(row["settled"])),
            "share_paid_late": ratio(100 * int(row["paid_late"]), int(row["settled"])),
            "average_payment_delay": ratio(row["weighted"], row["amount_minor"]),
        }
        for row in found
    }


def collection_kpis(
    now: Facts, then: Facts, settled: Facts, *, as_of: date, period_days: int
) -> dict[str, dict[str, Any]]:
    """Every per-currency indicator beyond open amount, ageing and DSO: `indicators`, the 13-week
    `forecast` and the `at_risk` rate, one dictionary per currency."""
    merged: dict[str, dict[str, Any]] = {}
    for part in (
        indicators(now, then, as_of=as_of, period_days=period_days),
        forecast(now, settled, as_of),
        at_risk(now, settled, as_of),
    ):
        for currency, values in part.items():
            merged.setdefault(currency, {}).update(values)
    return merged

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

import pandas as pd

from tasks.report.ageing import BUCKETS, DEFAULT_PERIOD_DAYS, bucket_of


def indicators(
    now: pd.DataFrame, then: pd.DataFrame, *, as_of: date, period_days: int = DEFAULT_PERIOD_DAYS
) -> dict[str, dict[str, Any]]:
    """The collection indicators per currency, from the open items as of `as_of` (`now`) and as of
    the period's first day, `as_of - period_days` (`then`: the opening receivables). Receivables
    are the positive open amounts; credit sales the amounts of invoices issued in the period (after
    its first day, up to `as_of`). Days and percentages are rounded half up to two decimals; None
    where a denominator is zero.

    - ageing_by_invoice_date_minor: the open amount by days since the invoice date, same buckets;
    - best_possible_dso: current (not yet due) receivables / credit sales x days in the period;
    - average_days_delinquent: DSO - best possible DSO;
    - dso_countback: the days of sales the open receivables make up, exhausting them against the
      most recent months' sales, newest first (this month up to the date, then whole months);
    - cei_period_total: (opening + sales - closing) / (opening + sales - closing current) x 100;
    - cei_monthly_average: the same with the period's average month of sales (sales x 30 / days).
    """
    frame = now.copy()
    frame["days_since_issue"] = (pd.Timestamp(as_of) - pd.to_datetime(frame["issue_date"])).dt.days
    frame["by_issue"] = bucket_of(frame["days_since_issue"])
    frame["days_past_due"] = (pd.Timestamp(as_of) - pd.to_datetime(frame["due_date"])).dt.days
    start = pd.Timestamp(as_of - timedelta(days=period_days))
    issued = pd.to_datetime(frame["issue_date"])
    opening = (
        then[then["open_minor"] > 0].groupby("currency")["open_minor"].sum()
        if len(then)
        else pd.Series(dtype="int64")
    )
    result: dict[str, dict[str, Any]] = {}
    for currency, group in frame.groupby("currency", sort=True):
        receivable = group[group["open_minor"] > 0]
        closing = int(receivable["open_minor"].sum())
        current = int(receivable.loc[receivable["days_past_due"] <= 0, "open_minor"].sum())
        sales = int(group.loc[issued.loc[group.index] > start, "amount_minor"].sum())
        by_issue = receivable.groupby("by_issue")["open_minor"].sum()
        begin = int(opening.get(currency, 0))
        dso = _exact_ratio(Decimal(closing) * period_days, Decimal(sales))
        best = _exact_ratio(Decimal(current) * period_days, Decimal(sales))
        result[str(currency)] = {
            "ageing_by_invoice_date_minor": {name: int(by_issue.get(name, 0)) for name, _l, _h in BUCKETS},
            "best_possible_dso": _rounded(best),
            "average_days_delinquent": _rounded(dso - best) if dso is not None and best is not None else None,
            "dso_countback": _rounded(countback(closing, group, as_of)),
            "cei_period_total": _rounded(_cei(begin, Decimal(sales), closing, current)),
            "cei_monthly_average": _rounded(_cei(begin, Decimal(sales) * 30 / period_days, closing, current)),
            "opening_receivables_minor": begin,
            "current_receivables_minor": current,
        }
    return result


def countback(receivables: int, items: pd.DataFrame, as_of: date) -> Decimal | None:
    """Days of sales in `receivables`: take away this month's sales (up to the date), then each
    earlier month's, newest first, counting each month's days while its sales are used up whole, and
    the used share of the last month's days; None without receivables or sales."""
    if receivables <= 0:
        return Decimal(0) if receivables == 0 else None
    issued = pd.to_datetime(items["issue_date"]).dt.date
    if issued.empty:
        return None
    earliest = min(issued)
    left, days = Decimal(receivables), Decimal(0)
    end = as_of
    while end >= earliest:
        first = end.replace(day=1)
        in_month = (issued >= first) & (issued <= end)
        sales = int(items.loc[in_month[in_month].index, "amount_minor"].sum())
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


def forecast(now: pd.DataFrame, settled: pd.DataFrame, as_of: date) -> dict[str, dict[str, Any]]:
    """Cash expected in each of the next 13 weeks, per currency, from each customer's habit.

    A customer's habit is the amount-weighted average of the days late of its settled invoices
    (rounded half up to whole days; a customer with none takes its currency's). Each open item is
    expected on its due date plus that many days, and never before tomorrow (what is already late
    beyond the habit is expected in week 1). Week k holds what is expected in the k-th 7 days after
    the as-of date; what falls later is `forecast_beyond_minor`.
    """
    result: dict[str, dict[str, Any]] = {}
    habits: dict[tuple[str, str], int] = {}
    overall: dict[str, int] = {}
    if settled is not None and len(settled):
        frame = settled.copy()
        frame["late"] = (
            pd.to_datetime(frame["settled_on"]) - pd.to_datetime(frame["due_date"])
        ).dt.days.clip(lower=0)
        frame["weighted"] = frame["late"] * frame["amount_minor"]
        for keys, group in frame.groupby(["customer_id", "currency"]):
            habits[(str(keys[0]), str(keys[1]))] = _days(
                int(group["weighted"].sum()), int(group["amount_minor"].sum())
            )
        for currency, group in frame.groupby("currency"):
            overall[str(currency)] = _days(int(group["weighted"].sum()), int(group["amount_minor"].sum()))
    receivable = now[now["open_minor"] > 0]
    tomorrow = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    for currency, group in receivable.groupby("currency", sort=True):
        weeks = [0] * FORECAST_WEEKS
        beyond = 0
        for item in group.itertuples(index=False):
            delay = habits.get((str(item.customer_id), str(currency)), overall.get(str(currency), 0))
            expected = max(pd.Timestamp(item.due_date) + pd.Timedelta(days=delay), tomorrow)
            week = (expected - tomorrow).days // 7
            if week < FORECAST_WEEKS:
                weeks[week] += int(item.open_minor)
            else:
                beyond += int(item.open_minor)
        result[str(currency)] = {"forecast_minor": weeks, "forecast_beyond_minor": beyond}
    return result


def _days(weighted: int, amount: int) -> int:
    if amount <= 0:
        return 0
    return int((Decimal(weighted) / Decimal(amount)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def at_risk(now: pd.DataFrame, settled: pd.DataFrame, as_of: date) -> dict[str, dict[str, Any]]:
    """The at-risk rate per currency: of the invoices billed in the latest month that ended at least
    90 days before the as-of date, the percentage (by count) not settled within 90 days of their
    invoice date, with that month (`at_risk_month`)."""
    month_end = (pd.Timestamp(as_of) - pd.Timedelta(days=90)).date()
    if month_end != (pd.Timestamp(month_end) + pd.offsets.MonthEnd(0)).date():
        month_end = month_end.replace(day=1) - timedelta(days=1)
    month_start = month_end.replace(day=1)
    invoices = now[now["amount_minor"] > 0].drop_duplicates("invoice_id")
    issued = pd.to_datetime(invoices["issue_date"]).dt.date
    billed = invoices[(issued >= month_start) & (issued <= month_end)]
    settled_on = (
        settled.set_index("invoice_id")["settled_on"]
        if settled is not None and len(settled)
        else pd.Series(dtype=object)
    )
    result: dict[str, dict[str, Any]] = {}
    for currency, group in billed.groupby("currency", sort=True):
        paid = pd.to_datetime(group["invoice_id"].map(settled_on))
        limit = pd.to_datetime(group["issue_date"]) + pd.Timedelta(days=90)
        unpaid = int((paid.isna() | (paid > limit)).sum())
        result[str(currency)] = {
            "at_risk_rate": ratio(100 * unpaid, len(group)),
            "at_risk_month": month_start.isoformat()[:7],
        }
    return result


def payment_behaviour(settled: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """How customers paid, per currency, over every invoice settled by the as-of date (issue date,
    due date, amount and the day the cash that completed it was received):

    - average_days_to_settle: the mean of (settled - issued) days, per invoice;
    - average_days_late: the mean of max(0, settled - due) days, per invoice;
    - share_paid_late: the percentage of those invoices settled after their due date;
    - average_payment_delay: sum(amount x max(0, settled - due)) / sum(amount), days.
    Each rounded half up to two decimals; None where nothing was settled.
    """
    result: dict[str, dict[str, Any]] = {}
    if settled is None or settled.empty:
        return result
    frame = settled.copy()
    frame["to_settle"] = (pd.to_datetime(frame["settled_on"]) - pd.to_datetime(frame["issue_date"])).dt.days
    frame["late"] = (pd.to_datetime(frame["settled_on"]) - pd.to_datetime(frame["due_date"])).dt.days.clip(
        lower=0
    )
    for currency, group in frame.groupby("currency", sort=True):
        n = len(group)
        amount = int(group["amount_minor"].sum())
        weighted = sum(int(a) * int(d) for a, d in zip(group["amount_minor"], group["late"], strict=True))
        result[str(currency)] = {
            "invoices_settled": n,
            "average_days_to_settle": ratio(int(group["to_settle"].sum()), n),
            "average_days_late": ratio(int(group["late"].sum()), n),
            "share_paid_late": ratio(100 * int((group["late"] > 0).sum()), n),
            "average_payment_delay": ratio(weighted, amount),
        }
    return result


def collection_kpis(
    now: pd.DataFrame, then: pd.DataFrame, settled: pd.DataFrame, *, as_of: date, period_days: int
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

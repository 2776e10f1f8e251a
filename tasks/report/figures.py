"""Report: the ledger as of a date in; open amount, ageing and DSO per currency out.

Pure. "As of a date" means what the ledger said then: the caller passes every invoice issued by
that date with the cash received by that date applied, so an invoice paid later was open then.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from tasks.platform.money import to_major_str

# Buckets by days past due; "not_due" holds everything not yet due (days past due <= 0).
BUCKETS: tuple[tuple[str, int | None, int | None], ...] = (
    ("not_due", None, 0),
    ("1-30", 1, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("91-120", 91, 120),
    ("120+", 121, None),
)
DEFAULT_PERIOD_DAYS = 90


def bucket_of(days_past_due: pd.Series) -> pd.Series:
    labels = pd.Series("not_due", index=days_past_due.index, dtype="object")
    for name, low, _high in BUCKETS[1:]:
        labels = labels.mask(days_past_due >= low, name)  # type: ignore[operator]
    return labels


def figures(
    items: pd.DataFrame, *, as_of: date, period_days: int = DEFAULT_PERIOD_DAYS
) -> dict[str, dict[str, Any]]:
    """Per currency: open amount, ageing buckets (minor units) and DSO over the period.

    items: invoice_id, currency, issue_date, due_date, amount_minor, open_minor (as of `as_of`).
    DSO = open receivables / credit sales of the period x days in the period; None without sales.
    """
    frame = items.copy()
    frame["days_past_due"] = (pd.Timestamp(as_of) - pd.to_datetime(frame["due_date"])).dt.days
    frame["bucket"] = bucket_of(frame["days_past_due"])
    period_start = pd.Timestamp(as_of - timedelta(days=period_days))
    in_period = pd.to_datetime(frame["issue_date"]) > period_start
    result: dict[str, dict[str, Any]] = {}
    for currency, group in frame.groupby("currency", sort=True):
        open_items = group[group["open_minor"] > 0]
        by_bucket = open_items.groupby("bucket")["open_minor"].sum()
        ageing = {name: int(by_bucket.get(name, 0)) for name, _low, _high in BUCKETS}
        open_amount = int(open_items["open_minor"].sum())
        credit_sales = int(group.loc[in_period.loc[group.index], "amount_minor"].sum())
        dso = None
        if credit_sales > 0:
            exact = Decimal(open_amount) * period_days / Decimal(credit_sales)
            dso = float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
        result[str(currency)] = {
            "open_amount_minor": open_amount,
            "ageing_minor": ageing,
            "credit_sales_minor": credit_sales,
            "period_days": period_days,
            "open_invoices": int(open_items["invoice_id"].nunique()),
            "dso": dso,
        }
    return result


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
            "at_risk_rate": _ratio(100 * unpaid, len(group)),
            "at_risk_month": month_start.isoformat()[:7],
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


CASE_BUCKETS = (("0-30", 0, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("91+", 91, None))


def operations(
    cases: pd.DataFrame, allocations: pd.DataFrame, reminders: pd.DataFrame, *, as_of: date, period_days: int
) -> dict[str, Any]:
    """How the collection work went, as of the date (cases as they stood then) and over the period:

    - disputes_open, deductions_open: cases open on the date; disputes_ageing: open disputes by
      days since they were opened (0-30, 31-60, 61-90, 91+);
    - auto_match_rate: of the cash applied from payments received in the period, the percentage
      applied by a rule rather than by a person, by count (`..._by_count`) and, per currency, by
      amount (`auto_match_rate_by_amount`);
    - reminders_sent: reminders the mailer accepted in the period;
    - promises_kept, promises_broken: promises that ended in the period; promises_kept_rate their
      percentage kept.
    """
    start = as_of - timedelta(days=period_days)
    open_then = cases[cases["status_then"] == "open"] if len(cases) else cases
    disputes = open_then[open_then["kind"] == "dispute"] if len(open_then) else open_then
    age = (
        (pd.Timestamp(as_of) - pd.to_datetime(disputes["opened_on"])).dt.days
        if len(disputes)
        else pd.Series(dtype="int64")
    )
    ageing = {
        name: int(((age >= low) & ((age <= high) if high is not None else True)).sum())
        for name, low, high in CASE_BUCKETS
    }
    ended = cases[cases["resolved_on"].notna()] if len(cases) else cases
    if len(ended):
        when = pd.to_datetime(ended["resolved_on"]).dt.date
        ended = ended[(when > start) & (when <= as_of) & (ended["kind"] == "promise")]
    kept = int((ended["status_then"] == "kept").sum()) if len(ended) else 0
    broken = int((ended["status_then"] == "broken").sum()) if len(ended) else 0
    auto = allocations[allocations["rule"] != "manual"] if len(allocations) else allocations
    by_amount = {}
    for currency, group in allocations.groupby("currency", sort=True) if len(allocations) else []:
        mine = auto[auto["currency"] == currency]
        by_amount[str(currency)] = _ratio(
            100 * int(mine["amount_minor"].sum()), int(group["amount_minor"].sum())
        )
    return {
        "period_days": period_days,
        "disputes_open": len(disputes),
        "disputes_ageing": ageing,
        "deductions_open": int((open_then["kind"] == "deduction").sum()) if len(open_then) else 0,
        "auto_match_rate_by_count": _ratio(100 * len(auto), len(allocations)),
        "auto_match_rate_by_amount": by_amount,
        "reminders_sent": len(reminders),
        "promises_kept": kept,
        "promises_broken": broken,
        "promises_kept_rate": _ratio(100 * kept, kept + broken),
    }


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
            "average_days_to_settle": _ratio(int(group["to_settle"].sum()), n),
            "average_days_late": _ratio(int(group["late"].sum()), n),
            "share_paid_late": _ratio(100 * int((group["late"] > 0).sum()), n),
            "average_payment_delay": _ratio(weighted, amount),
        }
    return result


def _ratio(numerator: int, denominator: int) -> float | None:
    """numerator / denominator, exact, rounded half up to two decimals."""
    if denominator <= 0:
        return None
    exact = Decimal(numerator) / Decimal(denominator)
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def as_json(
    report: dict[str, dict[str, Any]],
    as_of: date,
    behaviour: dict[str, dict[str, Any]] | None = None,
    kpis: dict[str, dict[str, Any]] | None = None,
    work: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The public JSON of `o2c report --json`: amounts as decimal strings in major units."""
    currencies = {}
    behaviour = behaviour or {}
    kpis = kpis or {}
    for currency in sorted(set(report) | set(behaviour)):
        fig = report.get(currency) or _no_open_items()
        currencies[currency] = {
            "open_amount": to_major_str(fig["open_amount_minor"], currency),
            "ageing": {name: to_major_str(v, currency) for name, v in fig["ageing_minor"].items()},
            "dso": fig["dso"],
            "credit_sales": to_major_str(fig["credit_sales_minor"], currency),
            "period_days": fig["period_days"],
            "open_invoices": fig["open_invoices"],
            **(behaviour.get(currency) or {k: None for k in BEHAVIOUR_KEYS} | {"invoices_settled": 0}),
            **_public_kpis(kpis.get(currency), currency),
        }
    document: dict[str, Any] = {"as_of": as_of.isoformat(), "currencies": currencies}
    if work is not None:
        document["operations"] = work
    return document


def _public_kpis(kpi: dict[str, Any] | None, currency: str) -> dict[str, Any]:
    if not kpi:
        return {}
    out: dict[str, Any] = {}
    for key, value in kpi.items():
        if key.endswith("_minor") and isinstance(value, list):
            out[key.removesuffix("_minor")] = [to_major_str(int(v), currency) for v in value]
        elif key.endswith("_minor") and isinstance(value, dict):
            out[key.removesuffix("_minor")] = {n: to_major_str(v, currency) for n, v in value.items()}
        elif key.endswith("_minor"):
            out[key.removesuffix("_minor")] = to_major_str(int(value), currency)
        else:
            out[key] = value
    return out


BEHAVIOUR_KEYS = ("average_days_to_settle", "average_days_late", "share_paid_late", "average_payment_delay")


def _no_open_items() -> dict[str, Any]:
    return {
        "open_amount_minor": 0,
        "ageing_minor": {name: 0 for name, _low, _high in BUCKETS},
        "credit_sales_minor": 0,
        "period_days": DEFAULT_PERIOD_DAYS,
        "open_invoices": 0,
        "dso": None,
    }


def ageing_check_frame(report: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per currency with the open amount and the sum of its buckets, for the checkpoint."""
    return pd.DataFrame(
        [
            {
                "currency": c,
                "open_amount_minor": f["open_amount_minor"],
                "buckets_total_minor": sum(f["ageing_minor"].values()),
            }
            for c, f in report.items()
        ],
        columns=["currency", "open_amount_minor", "buckets_total_minor"],
    )


def as_markdown(report_json: dict[str, Any]) -> str:
    """The headline figures as a Markdown table, for the Prefect artifact and the terminal."""
    names = [name for name, _low, _high in BUCKETS]
    lines = [
        f"# Receivables as of {report_json['as_of']}",
        "",
        "| currency | open | " + " | ".join(names) + " | DSO (days) |",
        "|---|---:|" + "---:|" * len(names) + "---:|",
    ]
    for currency, fig in report_json["currencies"].items():
        buckets = " | ".join(fig["ageing"][n] for n in names)
        dso = "n/a" if fig["dso"] is None else f"{fig['dso']:.2f}"
        lines.append(f"| {currency} | {fig['open_amount']} | {buckets} | {dso} |")
    if not report_json["currencies"]:
        lines.append("| (no open items) | | " + " | " * len(names) + " |")
    return "\n".join(lines) + "\n"


def read_inputs(ledger: Any, as_of: date, period_days: int) -> dict[str, pd.DataFrame]:
    """What the report is computed from, read from the ledger as it stood on the date."""
    since = {"as_of": as_of, "period_days": period_days}
    return {
        "now": ledger.query("report/open_items_as_of", as_of=as_of),
        "then": ledger.query("report/open_items_as_of", as_of=as_of - timedelta(days=period_days)),
        "settled": ledger.query("report/settled_as_of", as_of=as_of),
        "cases": ledger.query("report/cases_as_of", as_of=as_of),
        "allocations": ledger.query("report/allocations_in_period", **since),
        "reminders": ledger.query("report/reminders_sent", **since),
        "history": ledger.query("report/dso_history", as_of=as_of),
    }


def compute_all(
    inputs: dict[str, pd.DataFrame], as_of: date, period_days: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The figures (for the ageing checkpoint) and the public document of one report."""
    figures_ = figures(inputs["now"], as_of=as_of, period_days=period_days)
    document = as_json(
        figures_,
        as_of,
        payment_behaviour(inputs["settled"]),
        collection_kpis(
            inputs["now"], inputs["then"], inputs["settled"], as_of=as_of, period_days=period_days
        ),
        operations(
            inputs["cases"], inputs["allocations"], inputs["reminders"], as_of=as_of, period_days=period_days
        ),
    )
    return figures_, document

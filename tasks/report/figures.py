"""The report's public document: the ledger as of a date in; the figures per currency (open amount,
ageing, DSO, KPIs, payment habits) and the collection work as the JSON of `o2c report --json` and as
a Markdown table out, amounts as decimal strings in major units.

"As of a date" means what the ledger said then: `read_inputs` reads every invoice issued by that date
with the cash received by that date applied, so an invoice paid later was open then. Everything but
`read_inputs` is pure; the figures themselves are computed in `ageing`, `kpis` and `operations`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
import pyarrow as pa

from tasks.platform.money import to_major_str
from tasks.report import scope
from tasks.report.ageing import BUCKETS, DEFAULT_PERIOD_DAYS, figures
from tasks.report.kpis import collection_kpis, payment_behaviour

# forecast and indicators stay importable from here for tests/unit/test_money_properties.py
from tasks.report.kpis import forecast as forecast
from tasks.report.kpis import indicators as indicators
from tasks.report.operations import operations


def as_json(
    report: dict[str, dict[str, Any]],
    as_of: date,
    behaviour: dict[str, dict[str, Any]] | None = None,
    kpis: dict[str, dict[str, Any]] | None = None,
    work: dict[str, Any] | None = None,
    cash: dict[str, dict[str, int]] | None = None,
) -> dict[str, Any]:
    """The public JSON of `o2c report --json`: amounts as decimal strings in major units. `cash`
    (per currency: on_account_minor, unidentified_minor) adds the cash received and not applied."""
    currencies = {}
    behaviour = behaviour or {}
    kpis = kpis or {}
    for currency in sorted(set(report) | set(behaviour) | set(cash or {})):
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
        if cash is not None:
            held = cash.get(currency, {})
            currencies[currency]["cash_on_account"] = to_major_str(held.get("on_account_minor", 0), currency)
            currencies[currency]["unidentified_cash"] = to_major_str(
                held.get("unidentified_minor", 0), currency
            )
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


def as_markdown(report_json: dict[str, Any]) -> str:
    """The headline figures as a Markdown table, for the Prefect artifact and the terminal."""
    names = [name for name, _low, _high in BUCKETS]
    of = f" of {report_json['entity']}" if report_json.get("entity") else ""
    lines = [
        f"# Receivables{of} as of {report_json['as_of']}",
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
    across = report_json.get("across_currencies")
    if across:
        lines += [
            "",
            f"All currencies in {across['currency']} at the rates of {report_json['as_of']}: {across['open_amount']}"
            f" (at the rates they were billed at: {across['open_at_booking_rates']}; unrealised exchange difference"
            f" {across['unrealised_fx']})"
            + (f"; without a rate: {', '.join(across['without_rate'])}" if across["without_rate"] else ""),
        ]
    return "\n".join(lines) + "\n"


def read_inputs(
    ledger: Any,
    as_of: date,
    period_days: int,
    entity: str | None = None,
    bank_accounts: dict[str, str] | None = None,
) -> dict[str, Any]:
    """What the report is computed from, read from the ledger as it stood on the date: the open
    items and settled invoices (a million rows) as Arrow tables, money as BIGINT; the rest as
    frames. With `entity`, only that legal entity's customers, invoices and payments
    (`sql/report/entity_members.sql`; `bank_accounts`: IBAN -> entity, from rules/entities.yaml);
    an entity neither the ledger nor the rules know raises `UnknownEntity`."""
    members = scope.members(ledger, entity, bank_accounts)
    scoped = {"entity_members": members}
    since = {"as_of": as_of, "period_days": period_days}
    inputs = {
        "now": ledger.arrow("report/open_items_as_of", as_of=as_of),
        "then": ledger.arrow("report/open_items_as_of", as_of=as_of - timedelta(days=period_days)),
        "settled": ledger.arrow("report/settled_as_of", as_of=as_of),
        "cases": ledger.query("report/cases_as_of", as_of=as_of),
        "allocations": ledger.query("report/allocations_in_period", **since),
        "reminders": ledger.query("report/reminders_sent", **since),
        "cash": cash_per_currency(ledger.arrow_with("report/unapplied_as_of", scoped, as_of=as_of), entity),
        "rates": ledger.query("platform/rates/all"),
        "history": ledger.query("report/dso_history", as_of=as_of, entity=entity or ""),
        "month_ends": ledger.arrow_with(
            "report/dso_month_ends",
            scoped,
            month_ends=month_ends_before(as_of),
            period_days=period_days,
            entity=entity,
        ).to_pandas(),
    }
    return inputs if entity is None else scope.of_entity(inputs, members, entity)


def cash_per_currency(held: pa.Table, entity: str | None) -> pd.DataFrame:
    """Per currency (currency, on_account_minor, unidentified_minor) the cash not applied of
    `report/unapplied_as_of`'s payments (of `entity`'s, or all): held for a customer, or traced to
    nobody yet."""
    frame = held.select(["currency", "unapplied_minor", "customer_id", "entity"]).to_pandas()
    if entity is not None:
        frame = frame[frame["entity"] == entity]
    known = frame["customer_id"].notna()
    frame = frame.assign(
        on_account_minor=frame["unapplied_minor"].where(known, 0).astype("int64"),
        unidentified_minor=frame["unapplied_minor"].where(~known, 0).astype("int64"),
    )
    return (
        frame.groupby("currency", sort=True)[["on_account_minor", "unidentified_minor"]].sum().reset_index()
    )


def _cash(frame: Any) -> dict[str, dict[str, int]] | None:
    """Per currency, the cash on account and the cash not yet traced, in minor units."""
    if frame is None:
        return None
    return {
        str(r["currency"]): {
            "on_account_minor": int(r["on_account_minor"]),
            "unidentified_minor": int(r["unidentified_minor"]),
        }
        for r in frame.to_dict("records")
    }


def month_ends_before(as_of: date, months: int = 12) -> list[date]:
    """The last `months` month ends before `as_of`, oldest first (the DSO trend's past points)."""
    ends, day = [], as_of.replace(day=1) - timedelta(days=1)
    for _ in range(months):
        ends.append(day)
        day = day.replace(day=1) - timedelta(days=1)
    return ends[::-1]


def compute_all(
    inputs: dict[str, Any], as_of: date, period_days: int, reporting_currency: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The figures (for the ageing checkpoint) and the public document of one report; with a
    reporting currency and rates known, the receivables of every currency totalled in it
    (`across_currencies`, the unrealised exchange difference apart)."""
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
        _cash(inputs.get("cash")),
    )
    rates = inputs.get("rates")
    if reporting_currency and rates is not None and len(rates):
        from tasks.platform.fx import Rates
        from tasks.report.revaluation import across_currencies

        document["across_currencies"] = across_currencies(
            inputs["now"], Rates.of(rates), reporting_currency, as_of
        )
    if inputs.get("entity"):  # a report of one legal entity says which, after its date
        document = {"as_of": document["as_of"], "entity": inputs["entity"]} | document
    return figures_, document

"""The report as one self-contained HTML page: the figures as tables and three charts (ageing,
DSO trend, 13-week forecast) drawn as inline SVG, so it opens offline with nothing to fetch.

Pure: the report's public document (`tasks/report/figures.as_json`) and the DSO history in, the page out.
Rendered with Jinja2, autoescape on (customer-facing text never reaches the page unescaped).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.platform import localized
from tasks.platform.config import SHIPPED_TEMPLATES
from tasks.platform.messages import template_environment
from tasks.platform.money import to_minor
from tasks.report.ageing import BUCKETS

WIDTH, HEIGHT, PAD = 560, 220, 36
# Figures the page shows; one a currency lacks (nothing settled, no month to judge) reads "n/a".
SHOWN = (
    "dso",
    "dso_countback",
    "best_possible_dso",
    "average_days_delinquent",
    "cei_period_total",
    "cei_monthly_average",
    "average_payment_delay",
    "share_paid_late",
    "at_risk_rate",
    "at_risk_month",
    "ageing_by_invoice_date",
    "cash_on_account",
)


def dso_trend(
    history: pd.DataFrame, document: dict[str, Any], month_ends: pd.DataFrame | None = None
) -> dict[str, list[tuple[str, float]]]:
    """(date, DSO) per currency from the stored snapshots, with this report's own figure last; the
    month ends no snapshot covers are recomputed (`month_ends`: month_end, currency, open_minor,
    sales_minor, the ledger as it stood then), so a first report already shows a trend."""
    first: dict[str, Any] = next(iter(document["currencies"].values()), {})
    period = int(first.get("period_days") or 90)
    points: dict[str, dict[str, float]] = {}
    for row in month_ends.itertuples(index=False) if month_ends is not None else []:
        if int(row.sales_minor) > 0:
            exact = Decimal(int(row.open_minor)) * period / Decimal(int(row.sales_minor))
            dso = float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
            points.setdefault(str(row.currency), {})[str(row.month_end)[:10]] = dso
    for row in history.itertuples(index=False) if history is not None else []:
        figures = json.loads(row.figures)
        if figures.get("dso") is not None and str(row.as_of)[:10] != document["as_of"]:
            points.setdefault(str(row.currency), {})[str(row.as_of)[:10]] = float(figures["dso"])
    for currency, fig in document["currencies"].items():
        if fig.get("dso") is not None:
            points.setdefault(currency, {})[document["as_of"]] = float(fig["dso"])
    return {currency: sorted(days.items()) for currency, days in points.items()}


def charts_markdown(
    document: dict[str, Any], history: pd.DataFrame | None = None, month_ends: pd.DataFrame | None = None
) -> str:
    """The figures the page's charts draw, as Markdown tables, for where no chart is drawn (the
    Prefect artifact, the report's .md file, the e-mail's text): per currency the DSO trend (each
    snapshot's date and days) and the 13-week cash forecast (each week by its first and last day,
    then what is expected later). The ageing chart's figures are the headline table's."""
    as_of = date.fromisoformat(document["as_of"])
    trend = dso_trend(history if history is not None else pd.DataFrame(), document, month_ends)
    lines: list[str] = []
    for currency, fig in document["currencies"].items():
        points = trend.get(currency, [])
        if points:
            lines += ["", f"## DSO trend ({currency})", "", "| as of | DSO (days) |", "|---|---:|"]
            lines += [f"| {when} | {days:.2f} |" for when, days in points]
        weeks = fig.get("forecast") or []
        if weeks:
            lines += ["", f"## 13-week cash forecast ({currency})", "", "| week | expected |", "|---|---:|"]
            for k, amount in enumerate(weeks):
                first, last = as_of + timedelta(days=7 * k + 1), as_of + timedelta(days=7 * k + 7)
                lines.append(f"| {first} to {last} | {amount} |")
            if fig.get("forecast_beyond") is not None:
                lines.append(f"| after {as_of + timedelta(days=7 * len(weeks))} | {fig['forecast_beyond']} |")
    return "\n".join(lines) + "\n" if lines else ""


def money_text(value: Any, currency: str) -> str:
    """A figure of the document (a decimal string in major units) with the currency's symbol and
    thousands separators (`1234.5`, EUR -> `€1,234.50`); "n/a" for none."""
    if value is None or value == "":
        return "n/a"
    return localized.money(to_minor(str(value), currency), currency, "en")


def _axis_values(low: float, high: float) -> list[float]:
    """Three to five round values spanning [low, high] for an axis's ticks."""
    span = (high - low) or abs(high) or 1.0
    raw = span / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first, last = math.floor(low / step), math.ceil(high / step)
    ticks = [round(k * step, 10) for k in range(first, last + 1)]
    return ticks if len(ticks) > 1 else [low, high or 1.0]


def _short(value: float) -> str:
    """An axis label: `1.2M`, `350k`, `75`."""
    size = abs(value)
    if size >= 1_000_000:
        return f"{value / 1_000_000:,.1f}M".replace(".0M", "M")
    if size >= 10_000:
        return f"{value / 1_000:,.0f}k"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def bar_chart(
    title: str,
    bars: list[tuple[str, Decimal]],
    shown: Callable[[Decimal], str] = str,
    y_label: str = "",
) -> str:
    """A bar chart as an SVG element (values may be negative): a value axis with round ticks and
    grid lines, each bar's value written above it (`shown` writes it), its label below."""
    values = [float(v) for _, v in bars] or [0.0]
    ticks = _axis_values(min(values + [0.0]), max(values + [0.0]))
    bottom, top = ticks[0], ticks[-1]
    span = (top - bottom) or 1.0
    inner_h = HEIGHT - 2 * PAD - 10
    left = PAD + 26
    step = (WIDTH - left - PAD / 2) / max(len(bars), 1)

    def y_of(value: float) -> float:
        return PAD + 10 + (top - value) / span * inner_h

    parts = [_svg_open(title)]
    for tick in ticks:
        y = y_of(tick)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - PAD / 2}" y2="{y:.1f}" stroke="#e2e2e2"/>'
            f'<text x="{left - 4}" y="{y + 3:.1f}" font-size="9" text-anchor="end" fill="#555">{_short(tick)}</text>'
        )
    zero_y = y_of(0.0)
    parts.append(
        f'<line x1="{left}" y1="{zero_y:.1f}" x2="{WIDTH - PAD / 2}" y2="{zero_y:.1f}" stroke="#888"/>'
    )
    if y_label:
        parts.append(
            f'<text x="{left - 4}" y="{PAD}" font-size="9" text-anchor="end" fill="#555">{_esc(y_label)}</text>'
        )
    for i, (label, value) in enumerate(bars):
        height = abs(float(value)) / span * inner_h
        y = zero_y - height if value >= 0 else zero_y
        x = left + i * step + step * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{height:.1f}" fill="#3a6ea5">'
            f"<title>{_esc(label)}: {_esc(shown(value))}</title></rect>"
        )
        if value:
            label_y = y - 3 if value >= 0 else y + height + 10
            parts.append(
                f'<text x="{x + step * 0.35:.1f}" y="{label_y:.1f}" font-size="{8 if len(bars) > 8 else 9}"'
                f' text-anchor="middle">{_esc(_short(float(value)) if len(bars) > 8 else shown(value))}</text>'
            )
        parts.append(
            f'<text x="{x + step * 0.35:.1f}" y="{HEIGHT - PAD + 14}" font-size="{8 if len(bars) > 8 else 10}"'
            f' text-anchor="middle">{_esc(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title: str, points: list[tuple[str, float]], unit: str = "") -> str:
    """A line chart of (label, value) as an SVG element: a value axis with round ticks, each point
    with its value written beside it and its label (a date) below."""
    parts = [_svg_open(title)]
    if not points:
        parts.append(f'<text x="{PAD}" y="{HEIGHT / 2}" font-size="12">no history yet</text></svg>')
        return "".join(parts)
    values = [v for _, v in points]
    ticks = _axis_values(min(values + [0.0]), max(values) or 1.0)
    low, high = ticks[0], ticks[-1]
    span = (high - low) or 1.0
    left = PAD + 26
    step = (WIDTH - left - PAD) / max(len(points) - 1, 1)
    inner_h = HEIGHT - 2 * PAD - 10

    def y_of(value: float) -> float:
        return PAD + 10 + (high - value) / span * inner_h

    for tick in ticks:
        y = y_of(tick)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - PAD / 2}" y2="{y:.1f}" stroke="#e2e2e2"/>'
            f'<text x="{left - 4}" y="{y + 3:.1f}" font-size="9" text-anchor="end" fill="#555">{_short(tick)}</text>'
        )
    if unit:
        parts.append(
            f'<text x="{left - 4}" y="{PAD}" font-size="9" text-anchor="end" fill="#555">{_esc(unit)}</text>'
        )
    coords = [(left + i * step, y_of(v)) for i, (_, v) in enumerate(points)]
    if len(points) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#b5543a" stroke-width="2"/>')
    every = max(1, math.ceil(len(points) / 8))  # at most eight dates and values written
    for n, ((label, value), (x, y)) in enumerate(zip(points, coords, strict=True)):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#b5543a"><title>{_esc(label)}: {value:.2f}</title></circle>'
        )
        if n % every == 0 or n == len(points) - 1:
            parts.append(
                f'<text x="{x:.1f}" y="{y - 6:.1f}" font-size="9" text-anchor="middle">{value:.1f}</text>'
                f'<text x="{x:.1f}" y="{HEIGHT - PAD + 14}" font-size="9" text-anchor="middle">{_esc(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _svg_open(title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{_esc(title)}"'
        f' width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}">'
        f'<text x="{PAD}" y="18" font-size="13" font-weight="bold">{_esc(title)}</text>'
    )


def _esc(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _overdue(fig: dict[str, Any]) -> Decimal:
    """What is past due: every ageing bucket but `not_due`."""
    return sum((Decimal(v) for k, v in (fig.get("ageing") or {}).items() if k != "not_due"), Decimal(0))


def render(
    document: dict[str, Any],
    history: pd.DataFrame | None = None,
    templates: Path = SHIPPED_TEMPLATES,
    month_ends: pd.DataFrame | None = None,
) -> str:
    """The whole page, from `templates`' report.html: a headline per currency and across them, the
    figures with their currency's symbol and thousands separators, and the charts with axes, values
    and dates."""
    trend = dso_trend(history if history is not None else pd.DataFrame(), document, month_ends)
    as_of = date.fromisoformat(str(document["as_of"])[:10])
    sections = []
    for currency, fig in document["currencies"].items():
        ageing = [(name, Decimal(fig["ageing"][name])) for name, _l, _h in BUCKETS]
        forecast = [
            ((as_of + timedelta(days=7 * i + 1)).strftime("%d %b"), Decimal(v))
            for i, v in enumerate(fig.get("forecast", []))
        ]
        points = [(_month(when), days) for when, days in trend.get(currency, [])]

        def shown(value: Decimal, currency: str = currency) -> str:
            return money_text(value, currency)

        sections.append(
            {
                "currency": currency,
                "figures": dict.fromkeys(SHOWN) | fig,
                "money": {
                    name: money_text(fig.get(name), currency)
                    for name in ("open_amount", "cash_on_account", "unidentified_cash")
                }
                | {"overdue": money_text(_overdue(fig), currency)}
                | {f"ageing_{b}": money_text(fig["ageing"][b], currency) for b, _l, _h in BUCKETS}
                | {
                    f"by_invoice_{b}": money_text((fig.get("ageing_by_invoice_date") or {}).get(b), currency)
                    for b, _l, _h in BUCKETS
                },
                "ageing_chart": bar_chart(f"Ageing by due date ({currency})", ageing, shown, currency),
                "trend_chart": line_chart(f"DSO at each month end ({currency})", points, "days"),
                "forecast_chart": bar_chart(
                    f"13-week cash forecast ({currency}, weeks starting)", forecast, shown, currency
                )
                if forecast
                else "",
            }
        )
    return (
        template_environment(templates)
        .get_template("report.html")
        .render(
            document=document, sections=sections, buckets=[b[0] for b in BUCKETS], across=_across(document)
        )
    )


def _across(document: dict[str, Any]) -> dict[str, Any] | None:
    """The receivables of every currency in the reporting currency, for the headline."""
    across = document.get("across_currencies")
    if not across:
        return None
    code = across["currency"]
    unrealised = Decimal(across["unrealised_fx"])
    return {
        "currency": code,
        "loss": unrealised < 0,
        "without_rate": across["without_rate"],
        "money": {
            "open_amount": money_text(across["open_amount"], code),
            "unrealised_fx": money_text(str(abs(unrealised)), code),
        },
    }


def _month(when: str) -> str:
    """A snapshot's date as an axis label (`2026-03-31` -> `31 Mar 26`)."""
    try:
        return date.fromisoformat(str(when)[:10]).strftime("%d %b %y")
    except ValueError:
        return str(when)


def report_mails(
    document: dict[str, Any],
    markdown: str,
    recipients: tuple[str, ...],
    page: str,
    seller: str,
    templates: Path = SHIPPED_TEMPLATES,
    entity: str | None = None,
) -> pd.DataFrame:
    """One message per recipient of the distribution list: the headline figures as text, the page
    and the JSON attached (`page`: the report page's path relative to the workspace). A report of
    one legal entity (`entity`) is its own message, beside the whole book's."""
    as_of = document["as_of"]
    of = f" of {entity}" if entity else ""
    subject = f"{seller}: receivables{of} as of {as_of}"
    text = f"The receivables report{of} as of {as_of} is attached (open it in a browser).\n\n{markdown}"
    html = (
        template_environment(templates)
        .get_template("plain.html")
        .render(text=text, language="en", subject=subject)
    )
    rows = [
        {
            "mail_id": f"RPT-{as_of}-{entity}-{address}" if entity else f"RPT-{as_of}-{address}",
            "as_of": as_of,
            "recipient": address,
            "subject": subject,
            "body_text": text,
            "body_html": html,
            "document": page,
            "attachment_json": json.dumps(document, indent=2),
            "status": "queued",
        }
        for address in recipients
    ]
    columns = [
        "mail_id",
        "as_of",
        "recipient",
        "subject",
        "body_text",
        "body_html",
        "document",
        "attachment_json",
        "status",
    ]
    return pd.DataFrame(rows, columns=columns)

"""The report as one self-contained HTML page: the figures as tables and three charts (ageing,
DSO trend, 13-week forecast) drawn as inline SVG, so it opens offline with nothing to fetch.

Pure: the report's public document (`tasks/report/figures.as_json`) and the DSO history in, the page out.
Rendered with Jinja2, autoescape on (customer-facing text never reaches the page unescaped).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.platform.config import SHIPPED_TEMPLATES
from tasks.platform.messages import template_environment
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
)


def dso_trend(history: pd.DataFrame, document: dict[str, Any]) -> dict[str, list[tuple[str, float]]]:
    """(date, DSO) per currency from the stored snapshots, with this report's own figure last."""
    trend: dict[str, list[tuple[str, float]]] = {}
    for row in history.itertuples(index=False) if history is not None else []:
        figures = json.loads(row.figures)
        if figures.get("dso") is not None and str(row.as_of)[:10] != document["as_of"]:
            trend.setdefault(str(row.currency), []).append((str(row.as_of)[:10], float(figures["dso"])))
    for currency, fig in document["currencies"].items():
        if fig.get("dso") is not None:
            trend.setdefault(currency, []).append((document["as_of"], float(fig["dso"])))
    return trend


def charts_markdown(document: dict[str, Any], history: pd.DataFrame | None = None) -> str:
    """The figures the page's charts draw, as Markdown tables, for where no chart is drawn (the
    Prefect artifact, the report's .md file, the e-mail's text): per currency the DSO trend (each
    snapshot's date and days) and the 13-week cash forecast (each week by its first and last day,
    then what is expected later). The ageing chart's figures are the headline table's."""
    as_of = date.fromisoformat(document["as_of"])
    trend = dso_trend(history if history is not None else pd.DataFrame(), document)
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


def bar_chart(title: str, bars: list[tuple[str, Decimal]]) -> str:
    """A bar chart as an SVG element (values may be negative)."""
    top = max([v for _, v in bars] + [Decimal(0)])
    bottom = min([v for _, v in bars] + [Decimal(0)])
    span = (top - bottom) or Decimal(1)
    inner_h = HEIGHT - 2 * PAD
    step = (WIDTH - 2 * PAD) / max(len(bars), 1)
    zero_y = PAD + float((top / span) * inner_h)
    parts = [
        _svg_open(title),
        f'<line x1="{PAD}" y1="{zero_y:.1f}" x2="{WIDTH - PAD}" y2="{zero_y:.1f}" stroke="#888"/>',
    ]
    for i, (label, value) in enumerate(bars):
        height = float(abs(value) / span) * inner_h
        y = zero_y - height if value >= 0 else zero_y
        x = PAD + i * step + step * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{height:.1f}" fill="#3a6ea5">'
            f"<title>{_esc(label)}: {value}</title></rect>"
        )
        parts.append(
            f'<text x="{x + step * 0.35:.1f}" y="{HEIGHT - PAD + 14}" font-size="10" text-anchor="middle">{_esc(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title: str, points: list[tuple[str, float]]) -> str:
    """A line chart of (label, value) as an SVG element."""
    parts = [_svg_open(title)]
    if not points:
        parts.append(f'<text x="{PAD}" y="{HEIGHT / 2}" font-size="12">no history yet</text></svg>')
        return "".join(parts)
    values = [v for _, v in points]
    low, high = min(values + [0.0]), max(values) or 1.0
    span = (high - low) or 1.0
    step = (WIDTH - 2 * PAD) / max(len(points) - 1, 1)
    coords = [
        (PAD + i * step, PAD + (high - v) / span * (HEIGHT - 2 * PAD)) for i, (_, v) in enumerate(points)
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    parts.append(f'<polyline points="{path}" fill="none" stroke="#b5543a" stroke-width="2"/>')
    for (label, value), (x, y) in zip(points, coords, strict=True):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#b5543a"><title>{_esc(label)}: {value:.2f}</title></circle>'
        )
    parts.append(
        f'<text x="{PAD}" y="{HEIGHT - 8}" font-size="10">{_esc(points[0][0])}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" font-size="10" text-anchor="end">{_esc(points[-1][0])}</text>'
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


def render(
    document: dict[str, Any], history: pd.DataFrame | None = None, templates: Path = SHIPPED_TEMPLATES
) -> str:
    """The whole page, from `templates`' report.html."""
    trend = dso_trend(history if history is not None else pd.DataFrame(), document)
    sections = []
    for currency, fig in document["currencies"].items():
        ageing = [(name, Decimal(fig["ageing"][name])) for name, _l, _h in BUCKETS]
        forecast = [(f"w{i + 1}", Decimal(v)) for i, v in enumerate(fig.get("forecast", []))]
        sections.append(
            {
                "currency": currency,
                "figures": dict.fromkeys(SHOWN) | fig,
                "ageing_chart": bar_chart(f"Ageing by due date ({currency})", ageing),
                "trend_chart": line_chart(f"DSO trend ({currency})", trend.get(currency, [])),
                "forecast_chart": bar_chart(f"13-week cash forecast ({currency})", forecast)
                if forecast
                else "",
            }
        )
    return (
        template_environment(templates)
        .get_template("report.html")
        .render(document=document, sections=sections, buckets=[b[0] for b in BUCKETS])
    )


def report_mails(
    document: dict[str, Any],
    markdown: str,
    recipients: tuple[str, ...],
    page: str,
    seller: str,
    templates: Path = SHIPPED_TEMPLATES,
) -> pd.DataFrame:
    """One message per recipient of the distribution list: the headline figures as text, the page
    and the JSON attached (`page`: the report page's path relative to the workspace)."""
    as_of = document["as_of"]
    subject = f"{seller}: receivables as of {as_of}"
    text = f"The receivables report as of {as_of} is attached (open it in a browser).\n\n{markdown}"
    html = (
        template_environment(templates)
        .get_template("plain.html")
        .render(text=text, language="en", subject=subject)
    )
    rows = [
        {
            "mail_id": f"RPT-{as_of}-{address}",
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

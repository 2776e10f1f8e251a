"""The report stage writes its page with the charts, and a real browser renders it: headless
Chromium (Debian's, installed by `.ci/run`) dumps the DOM it built and takes a screenshot, kept in
`test-artifacts/report.png`."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from flows.report import report_flow
from tests.integration.ledger_builder import load

AS_OF = date(2026, 11, 20)
CUSTOMERS = (
    "K1,Acme,ap@acme.example,DE,EUR,30,,,standard,en,\nK2,Bolt,ap@bolt.example,US,USD,30,,,standard,en,\n"
)
INVOICES = """
X-1,K1,2026-08-01,2026-08-31,EUR,700.00,
X-2,K1,2026-10-25,2026-11-24,EUR,300.00,
Y-1,K2,2026-09-15,2026-10-15,USD,120.00,
"""
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail(
            "Debian's chromium is needed for the browser test: apt-get install chromium (.ci/run does)"
        )
    return found


def test_the_report_page_renders_in_headless_chromium(home: Path, tmp_path: Path) -> None:
    load(home, tmp_path / "in", AS_OF, customers=CUSTOMERS, invoices=INVOICES)
    summary = report_flow(as_of=AS_OF, home=str(home))
    page = home / "reports" / "report-2026-11-20.html"
    assert str(page) in summary["report_files"]
    browser = chromium()
    dom = subprocess.run(
        [browser, *FLAGS, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert dom.count("<svg") == 6  # ageing, DSO trend and forecast for EUR and USD
    assert "Receivables as of 2026-11-20" in dom and 'id="currency-EUR"' in dom and 'id="currency-USD"' in dom
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    subprocess.run(
        [browser, *FLAGS, "--window-size=1280,1800", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    with Image.open(shot) as image:
        assert image.size == (1280, 1800)
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 20  # text, bars and lines were drawn, not a blank page
    _prints_well(browser, page)


def _prints_well(browser: str, page: Path) -> None:
    """Chromium prints the page to PDF with the headline, the figures and the charts' axes and
    values in it; its first pages are kept as images beside the screenshot, to look at."""
    import io

    from pypdf import PdfReader

    printed = ARTIFACTS / "report.pdf"
    printed.unlink(missing_ok=True)
    subprocess.run(
        [browser, *FLAGS, "--no-pdf-header-footer", f"--print-to-pdf={printed}", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    reader = PdfReader(io.BytesIO(printed.read_bytes()))
    text = " ".join(p.extract_text() for p in reader.pages)
    assert "Receivables as of 2026-11-20" in text and "OPEN, EUR" in text.upper()
    assert "CEI, monthly average" in text and "weeks starting" in text
    if shutil.which("pdftoppm"):
        subprocess.run(
            ["pdftoppm", "-r", "60", "-png", "-l", "3", str(printed), str(ARTIFACTS / "report-print")],
            check=True,
            timeout=120,
        )


def test_the_report_is_e_mailed_to_its_distribution_list_once(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import email
    import email.policy

    monkeypatch.setenv("O2C_REPORT_RECIPIENTS", "cfo@example.com, ar-team@example.com")
    load(home, tmp_path / "in", AS_OF, customers=CUSTOMERS, invoices=INVOICES)
    first = report_flow(as_of=AS_OF, home=str(home))
    assert first["counts"]["report_emails_queued"] == 2 and first["delivery"]["sent"] == 2
    mail = email.message_from_bytes(
        (home / "outbox" / "RPT-2026-11-20-cfo@example.com.eml").read_bytes(), policy=email.policy.default
    )
    assert mail["To"] == "cfo@example.com"
    assert mail["Subject"] == "Example Trading Ltd: receivables as of 2026-11-20"
    assert "| EUR | 1000.00 |" in mail.get_body(("plain",)).get_content()
    names = {part.get_filename(): part.get_content_type() for part in mail.iter_attachments()}
    assert names == {"report-2026-11-20.html": "text/html", "report-2026-11-20.json": "application/json"}
    again = report_flow(as_of=AS_OF, home=str(home))
    assert again["delivery"]["sent"] == 0  # one report date goes to each recipient once


def test_a_first_report_shows_dso_at_past_month_ends_as_a_report_then_would_have(
    home: Path, tmp_path: Path
) -> None:
    """No earlier report ran, yet the DSO trend has a point at each past month end with sales in
    its period, each equal to the DSO a report run on that month end computes."""
    from tasks.platform.config import load_settings
    from tasks.platform.ledger import open_ledger
    from tasks.report.figures import compute_all, read_inputs
    from tasks.report.html import dso_trend

    load(home, tmp_path / "in", AS_OF, customers=CUSTOMERS, invoices=INVOICES)
    with open_ledger(load_settings(home).ledger_path) as ledger:
        inputs = read_inputs(ledger, AS_OF, 90)
        _figures, document = compute_all(inputs, AS_OF, 90)
        trend = dso_trend(inputs["history"], document, inputs["month_ends"])
        assert [day for day, _ in trend["EUR"]] == ["2026-08-31", "2026-09-30", "2026-10-31", "2026-11-20"]
        assert [day for day, _ in trend["USD"]] == ["2026-09-30", "2026-10-31", "2026-11-20"]
        for currency, points in trend.items():
            for day, dso in points[:-1]:
                then = date.fromisoformat(day)
                _f, past = compute_all(read_inputs(ledger, then, 90), then, 90)
                assert past["currencies"][currency]["dso"] == dso, (currency, day)

"""Offline Data Docs: GX's validation page made self-contained, large results trimmed, the run's index."""

from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tasks.platform.contracts import load_contract
from tasks.platform.data_docs import LIST_LIMIT, trimmed, validation_page
from tasks.platform.data_docs_site import index_page, write_docs
from tasks.platform.expectations import compile_suite, with_reference_flags
from tasks.platform.expectations import validate as gx_validate
from tasks.platform.offline_html import make_offline

from .tables import table

CHROMIUM = Path("/usr/bin/chromium")
KNOWN = {"customers": {"C1", "C2"}}

INVOICES = """
| invoice_id | customer_id | issue_date | due_date   | currency | amount_minor | order_id | discount_date | discount_amount_minor |
| INV-1      | C1          | 2026-01-01 | 2026-01-31 | EUR      | 100_00       | SO-1     |               |                       |
| INV-2      | C2          | 2026-01-05 | 2026-02-04 | EUR      | -5_00        |          |               |                       |
| INV-3      | C1          | 2026-01-10 | 2026-01-09 | EUR      | 20_00        |          |               |                       |
| INV-4      | C2          | 2026-01-10 | 2026-02-09 | USD      | 30_00        |          | 2026-01-20    | 1_00                  |
"""


def invoice_frame(text: str = INVOICES) -> pd.DataFrame:
    frame = table(text)
    for column in ("issue_date", "due_date", "discount_date"):
        frame[column] = pd.to_datetime(frame[column])
    for column in ("amount_minor", "discount_amount_minor"):
        frame[column] = frame[column].astype("Int64")
    return frame


def validate(frame: pd.DataFrame) -> Any:
    contract = load_contract("invoices")
    return gx_validate(with_reference_flags(frame, contract, KNOWN), compile_suite(contract))


@pytest.fixture(scope="module")
def result() -> Any:
    return validate(invoice_frame())


@pytest.fixture(scope="module")
def page(result: Any) -> str:
    return validation_page(result, title="invoices from inbox/invoices.csv")


@pytest.fixture(scope="module")
def large_result() -> Any:
    """5,000 invoices, every one with a negative amount and every id twice."""
    rows = 5_000
    frame = invoice_frame().iloc[[0] * rows].reset_index(drop=True)
    frame["invoice_id"] = [f"INV-{i % (rows // 2)}" for i in range(rows)]
    frame["amount_minor"] = pd.array(range(-rows, 0), dtype="Int64")
    return validate(frame)


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of each <style> element."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self._in_style = False
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


REMOTE = re.compile(r"^\s*(?:[a-z][a-z0-9+.\-]*:|[/\\]{2})", re.IGNORECASE)


def offline_problems(page: str) -> list[str]:
    """What in `page` would reach the network or need a script."""
    parsed = Tags(page)
    problems = [
        f"<{tag}>" for tag, _ in parsed.tags if tag in {"script", "link", "iframe", "object", "embed"}
    ]
    for tag, attrs in parsed.tags:
        for name, value in attrs.items():
            if name.startswith("on"):
                problems.append(f"<{tag} {name}>")
            if (
                value
                and REMOTE.match(value)
                and name in {"href", "src", "srcset", "action", "data", "poster"}
            ):
                problems.append(f"<{tag} {name}={value}>")
            if value and name == "style" and re.search(r"url\(|@import", value, re.IGNORECASE):
                problems.append(f"<{tag} style={value}>")
    for css in parsed.styles:
        problems += re.findall(r"url\([^)]*\)|@import[^;]*", css, re.IGNORECASE)
    return problems


# ---------------------------------------------------------------------------------------------------
# The validation page


def test_the_page_shows_the_expectations_and_the_failures(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>invoices from inbox/invoices.csv</title>" in page
    assert "Expectation Validation Result" in page  # GX's own page
    assert "values must be greater than or equal to" in page  # amount_minor >= 0
    assert "must always be greater than or equal to those in" in page  # due_date >= issue_date
    assert "values must never be null." in page
    assert "amount_minor" in page and "due_date" in page
    assert "Failed" in page and "\u2717" in page  # the failure icon as text, not Font Awesome
    assert "unexpected values found" in page
    assert "Unexpected Value" in page and "-500" in page  # the observed bad amount
    assert "df.filter(items=[1], axis=0)" in page  # GX's query, no longer hidden in a collapse


def test_the_page_needs_no_network_and_no_script(page: str) -> None:
    assert offline_problems(page) == []
    assert "http://" not in page and "https://" not in page
    assert 'src="//' not in page and 'href="//' not in page
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert "url(" not in page and "@import" not in page
    assert "<style>" in page  # our own stylesheet, inline


def test_the_page_has_no_dangling_local_references(page: str) -> None:
    tags = Tags(page).tags
    assert not [attrs for tag, attrs in tags if "src" in attrs]
    hrefs = {attrs["href"] for tag, attrs in tags if tag == "a" and attrs.get("href")}
    assert "index.html" in hrefs
    assert all(href == "index.html" or href.startswith("#") for href in hrefs), hrefs
    ids = {attrs["id"] for _, attrs in tags if attrs.get("id")}
    assert {href[1:] for href in hrefs if href.startswith("#")} <= ids  # the contents links land


def test_a_json_dict_renders_the_same_expectations(result: Any, page: str) -> None:
    from_json = validation_page(result.to_json_dict(), title="invoices")
    assert "values must be greater than or equal to" in from_json
    assert offline_problems(from_json) == []


# ---------------------------------------------------------------------------------------------------
# Large results


def list_lengths(result: Any) -> list[dict[str, int]]:
    return [
        {key: len(value) for key, value in (outcome.result or {}).items() if isinstance(value, list)}
        for outcome in result.results
    ]


def test_trimming_leaves_the_callers_result_alone(large_result: Any) -> None:
    before = list_lengths(large_result)
    query = [(o.result or {}).get("unexpected_index_query") for o in large_result.results]
    copy = trimmed(large_result)
    assert list_lengths(large_result) == before
    assert [(o.result or {}).get("unexpected_index_query") for o in large_result.results] == query
    assert max(n for lengths in before for n in lengths.values()) == 5_000
    assert max(n for lengths in list_lengths(copy) for n in lengths.values()) == LIST_LIMIT
    counts = [(o.result or {}).get("unexpected_count") for o in copy.results]
    assert counts == [(o.result or {}).get("unexpected_count") for o in large_result.results]
    assert copy.results[0].expectation_config is not large_result.results[0].expectation_config


def test_a_large_failure_keeps_the_page_small(large_result: Any) -> None:
    before = list_lengths(large_result)
    page = validation_page(large_result, title="5,000 bad invoices")
    assert list_lengths(large_result) == before
    assert len(page) < 100_000
    assert "5000 unexpected values found" in page  # the count stays exact
    assert "Sampled Unexpected Values" in page  # GX says the table is a sample
    assert "more characters left out" in page  # the query naming every bad row is cut short
    assert offline_problems(page) == []


# ---------------------------------------------------------------------------------------------------
# Making any page offline


def test_make_offline_strips_remote_and_dead_references() -> None:
    hostile = """<!DOCTYPE html><html><head>
    <link rel="stylesheet" href="https://cdn.example/bootstrap.css">
    <script src="//cdn.example/jquery.js"></script><script>alert(1)</script>
    <style>@import url("https://x/y.css"); body { background: url(//x/y.png) }</style>
    </head><body onload="go()">
    <img src="https://x/logo.png" alt="Logo"><img src="../static/images/favicon.ico">
    <a href="https://greatexpectations.io">GX</a> <a href="../../static/x.html">static</a>
    <a href="javascript:alert(1)">js</a> <a href="#part">part</a> <a href="../../../index.html">home</a>
    <a data-toggle="collapse" href="#more">Show more</a>
    <div style="background-image: url('https://x/y.png'); color: red" onclick="x()">kept &amp; text</div>
    <iframe src="https://x"><p>inside</p></iframe>
    </body></html>"""
    page = make_offline(hostile)
    assert offline_problems(page) == []
    for gone in ("https:", "//cdn", "javascript:", "alert", "static/", "onload", "onclick", "inside"):
        assert gone not in page
    for kept in ('href="#part"', 'href="index.html"', "kept &amp; text", "color: red"):
        assert kept in page
    assert re.sub(r"\s+", " ", page).count("Logo GX static js ") == 1  # dead links keep their text
    assert '<span class="o2c-toggle">Show more</span>' in page


# ---------------------------------------------------------------------------------------------------
# The index and the files


def entry(**changes: Any) -> dict[str, Any]:
    base = {
        "dataset": "invoices",
        "source": "inbox/invoices.csv",
        "outcome": "quarantined",
        "rows_checked": 12_345,
        "rows_failed": 2,
        "contract_hash": "599b4390401e",
        "page": "invoices-inbox.html",
    }
    return base | changes


def test_the_index_lists_and_links_each_page() -> None:
    entries = [
        entry(),
        entry(dataset="payments", outcome="passed", rows_failed=0, page="payments.html"),
        entry(dataset="orders", outcome="halted", page="orders.html"),
    ]
    page = index_page(entries, title="Run 2026-03-31")
    hrefs = [attrs["href"] for tag, attrs in Tags(page).tags if tag == "a"]
    assert hrefs == ["invoices-inbox.html", "payments.html", "orders.html"]
    for text in ("invoices", "inbox/invoices.csv", "12,345", "599b4390401e", "Run 2026-03-31"):
        assert text in page
    assert "outcome-quarantined" in page and "outcome-passed" in page and "outcome-halted" in page
    assert offline_problems(page) == []


def test_the_index_escapes_what_it_is_given() -> None:
    page = index_page(
        [entry(source="<script>x</script>", page='evil" onclick="x().html')], title="<b>run</b>"
    )
    assert "<script" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "&lt;b&gt;run&lt;/b&gt;" in page
    assert offline_problems(page) == []
    assert [attrs["href"] for tag, attrs in Tags(page).tags if tag == "a"] == [
        "evil%22%20onclick%3D%22x%28%29.html"
    ]


def test_write_docs_writes_whole_files(tmp_path: Path) -> None:
    folder = tmp_path / "docs" / "run-1"
    paths = write_docs(folder, [("a.html", "<p>a</p>"), ("b.html", "<p>b</p>")], "<p>index</p>")
    assert paths == [folder / "a.html", folder / "b.html", folder / "index.html"]
    assert [p.read_text(encoding="utf-8") for p in paths] == ["<p>a</p>", "<p>b</p>", "<p>index</p>"]
    assert not list(folder.glob("*.part"))
    write_docs(folder, [("a.html", "<p>again</p>")], "<p>index</p>")
    assert (folder / "a.html").read_text(encoding="utf-8") == "<p>again</p>"


@pytest.mark.parametrize("name", ["../a.html", "sub/a.html", "index.html", ""])
def test_write_docs_refuses_names_outside_the_folder(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError):
        write_docs(tmp_path, [(name, "x")], "index")
    assert not (tmp_path.parent / "a.html").exists()


def test_chromium_renders_the_page_offline(page: str, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is needed to render the page: apt-get install chromium (.ci/run does)")
    paths = write_docs(
        tmp_path / "docs", [("invoices.html", page)], index_page([entry(page="invoices.html")], title="Run")
    )
    completed = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            paths[0].as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    dom = completed.stdout
    assert "values must be greater than or equal to" in dom
    assert "unexpected values found" in dom
    assert "amount_minor" in dom


def test_a_value_the_data_held_shows_as_text_never_as_markup() -> None:
    from html.parser import HTMLParser

    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    values = ['"><b>bold', "<script>alert(1)</script>", "&amp; Co", "a < b"]
    outcome = ExpectationValidationResult(
        success=False,
        expectation_config=ExpectationConfiguration(
            type="expect_column_values_to_be_in_set", kwargs={"column": "name", "value_set": ["x"]}
        ),
        result={
            "element_count": 4,
            "unexpected_count": 4,
            "unexpected_percent": 100.0,
            "partial_unexpected_list": values,
            "partial_unexpected_counts": [{"value": v, "count": 1} for v in values],
            "partial_unexpected_index_list": [0, 1, 2, 3],
        },
    )
    suite = ExpectationSuiteValidationResult(
        success=False,
        results=[outcome],
        suite_name="customers",
        statistics={"evaluated_expectations": 1, "successful_expectations": 0},
    )

    class Reader(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.text: list[str] = []
            self.tags: list[str] = []

        def handle_data(self, data: str) -> None:
            self.text.append(data)

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.tags.append(tag)

    reader = Reader()
    reader.feed(validation_page(suite, title="customers"))
    shown = "".join(reader.text)
    for value in values:
        assert value in shown, value
    assert "b" not in reader.tags and "script" not in reader.tags

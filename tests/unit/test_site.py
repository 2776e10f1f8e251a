"""The workspace's site (`o2c site`): the report pages and Data Docs over HTTP, read-only, and
nothing else of the workspace; the links the runs leave point there when O2C_PUBLIC_URL is set."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tasks.platform.artifacts import workspace_link
from tasks.platform.config import Settings, SettingsError, load_settings
from tasks.platform.site import resolve, site_running, site_url


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / "reports").mkdir(parents=True)
    (home / "reports" / "report-2026-11-20.html").write_text("<h1>Receivables as of 2026-11-20</h1>")
    (home / "reports" / "report-2026-11-20.json").write_text('{"as_of": "2026-11-20"}')
    (home / "reports" / ".hidden.html").write_text("hidden")
    docs = home / "data_docs" / "run-1" / "reconcile"
    docs.mkdir(parents=True)
    (docs / "index.html").write_text("<h1>Data Docs</h1>")
    (home / "ledger.duckdb").write_bytes(b"the ledger")
    (home / "outbox").mkdir()
    (home / "outbox" / "mail.eml").write_text("a customer's e-mail")
    (tmp_path / "outside.html").write_text("outside")
    (home / "reports" / "link-out.html").symlink_to(tmp_path / "outside.html")
    (home / "reports" / "ledger-link").symlink_to(home / "ledger.duckdb")
    return home


@pytest.mark.parametrize(
    ("path", "served"),
    [
        ("/reports/report-2026-11-20.html", "reports/report-2026-11-20.html"),
        ("/reports/report-2026-11-20.json?x=1", "reports/report-2026-11-20.json"),
        ("/data_docs/run-1/reconcile/", "data_docs/run-1/reconcile/index.html"),
        ("/data_docs/run-1/reconcile", "data_docs/run-1/reconcile/index.html"),
        ("/ledger.duckdb", None),
        ("/outbox/mail.eml", None),
        ("/reports/../ledger.duckdb", None),
        ("/reports/%2e%2e/ledger.duckdb", None),
        ("/reports/..%2fledger.duckdb", None),
        ("/reports/.hidden.html", None),
        ("/reports/link-out.html", None),
        ("/reports/ledger-link", None),
        ("/reports/missing.html", None),
        ("/reports/report-2026-11-20.html%00.txt", None),
        ("/reports", None),  # a folder without an index
    ],
)
def test_only_the_pages_are_served(workspace: Path, path: str, served: str | None) -> None:
    found = resolve(workspace, path)
    assert (found.relative_to(workspace.resolve()).as_posix() if found else None) == served


def get(url: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (a local test server)
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), refused.read()


def test_the_site_answers_read_only_over_http(workspace: Path) -> None:
    with site_running(workspace) as server:
        base = site_url(server)
        status, headers, body = get(f"{base}/reports/report-2026-11-20.html")
        assert (status, headers["Content-Type"]) == (200, "text/html; charset=utf-8")
        assert b"Receivables as of 2026-11-20" in body
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        status, headers, body = get(f"{base}/reports/report-2026-11-20.html", "HEAD")
        assert (status, body, headers["Content-Length"]) == (
            200,
            b"",
            str(len("<h1>Receivables as of 2026-11-20</h1>")),
        )
        assert get(f"{base}/ledger.duckdb")[0] == 404
        assert get(f"{base}/reports/../ledger.duckdb")[0] == 404
        for method in ("POST", "PUT", "DELETE"):
            status, headers, _ = get(f"{base}/reports/report-2026-11-20.html", method)
            assert (status, headers["Allow"]) == (405, "GET, HEAD")
        status, _, front = get(f"{base}/")
        assert status == 200
        assert b'href="/reports/report-2026-11-20.html"' in front
        assert b'href="/data_docs/run-1/reconcile/index.html"' in front
        assert b"hidden" not in front and b"report-2026-11-20.json" not in front


def settings(home: Path, public_url: str | None) -> Settings:
    return Settings(home=home, public_url=public_url)


def test_links_point_at_the_public_address_when_one_is_set(workspace: Path) -> None:
    page = workspace / "reports" / "report-2026-11-20.html"
    docs = workspace / "data_docs" / "run-1" / "reconcile" / "index.html"
    public = settings(workspace, "https://o2c.example.com/acme")
    assert workspace_link(public, page) == "https://o2c.example.com/acme/reports/report-2026-11-20.html"
    assert workspace_link(public, docs) == "https://o2c.example.com/acme/data_docs/run-1/reconcile/index.html"
    # a file the site does not serve, or no public address: the file itself
    assert (
        workspace_link(public, workspace / "ledger.duckdb")
        == (workspace / "ledger.duckdb").resolve().as_uri()
    )
    assert workspace_link(settings(workspace, None), page) == page.resolve().as_uri()


def test_a_page_name_is_quoted_in_its_link(workspace: Path) -> None:
    page = workspace / "reports" / "report 2026#1.html"
    assert (
        workspace_link(settings(workspace, "http://h:8040"), page)
        == "http://h:8040/reports/report%202026%231.html"
    )


@pytest.mark.parametrize(
    ("value", "read"),
    [
        ("https://o2c.example.com/", "https://o2c.example.com"),
        (" http://10.0.0.5:8040/acme/ ", "http://10.0.0.5:8040/acme"),
        ("", None),
    ],
)
def test_the_public_address_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str, read: str | None
) -> None:
    monkeypatch.setenv("O2C_PUBLIC_URL", value)
    assert load_settings(tmp_path).public_url == read


@pytest.mark.parametrize(
    "value", ["o2c.example.com", "ftp://o2c.example.com", "https://", "https://h/?a=1", "https://h/#x"]
)
def test_a_public_address_that_is_not_one_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str
) -> None:
    monkeypatch.setenv("O2C_PUBLIC_URL", value)
    with pytest.raises(SettingsError, match="O2C_PUBLIC_URL"):
        load_settings(tmp_path)

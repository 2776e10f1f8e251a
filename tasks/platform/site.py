"""The workspace's pages over HTTP, read-only: the report pages (`reports/`) and the Data Docs
(`data_docs/`), so that the links a run leaves in the Prefect UI (`O2C_PUBLIC_URL`) open from any
desk instead of pointing at a file on the disk of the machine that ran the flow.

What it serves: GET and HEAD of a file under one of those two folders, and a front page linking
every report and every run's Data Docs. Nothing else of the workspace (the ledger, the inbox, the
outbox and its messages) is reachable: no folder listing, no hidden file, no path that leaves its
folder (`..`, a symbolic link pointing out). Any other method is refused. The pages are
self-contained (inline styles and charts), so the site sends a strict Content-Security-Policy.

`o2c site` runs it alone; `o2c serve --site-port` beside the deployments.
"""

from __future__ import annotations

import html
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from tasks.platform.artifacts import SERVED_FOLDERS

log = logging.getLogger("o2c.site")

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".md": "text/markdown; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".css": "text/css; charset=utf-8",
}
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:;"
    " frame-ancestors 'none'",
}


def resolve(home: Path, url_path: str) -> Path | None:
    """The file of the workspace `url_path` names, if the site may show it; None otherwise."""
    text = unquote(urlsplit(url_path).path)
    parts = [p for p in text.split("/") if p]
    if not parts or parts[0] not in SERVED_FOLDERS or "\x00" in text:
        return None
    if any(p.startswith(".") for p in parts):  # `..`, `.`, and hidden files alike
        return None
    folder = (home / parts[0]).resolve()
    target = folder.joinpath(*parts[1:]).resolve()  # symbolic links followed, then checked
    if target.is_dir():
        target = target / "index.html"
    if not target.is_relative_to(folder) or not target.is_file():
        return None
    return target


def front_page(home: Path) -> str:
    """Every report page, newest first, and every run's Data Docs, newest first, each by its title
    and the time it was written."""
    reports = sorted((home / "reports").glob("report-*.html"), reverse=True)
    runs = sorted((home / "data_docs").glob("*/*/index.html"), key=lambda p: p.stat().st_mtime, reverse=True)
    items = [_item(p, f"/reports/{quote(p.name)}") for p in reports] or ["<li>No report yet.</li>"]
    docs = [
        _item(p, f"/data_docs/{quote(p.parent.parent.name)}/{quote(p.parent.name)}/index.html") for p in runs
    ] or ["<li>No Data Docs yet.</li>"]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>o2c: reports and Data Docs</title>'
        "<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}"
        "li{margin:.3rem 0}small{color:#555}</style></head><body>"
        "<h1>Reports</h1><ul>" + "".join(items) + "</ul>"
        "<h1>Data Docs of each run</h1><ul>" + "".join(docs) + "</ul></body></html>"
    )


_TITLE = re.compile(rb"<title>([^<]{1,300})</title>")


def _item(page: Path, href: str) -> str:
    """A list item linking `page` by its title (its name when it has none), with when it was written."""
    with page.open("rb") as file:
        found = _TITLE.search(file.read(4096))
    title = html.unescape(found.group(1).decode("utf-8", "replace")) if found else page.stem
    written = datetime.fromtimestamp(page.stat().st_mtime, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f'<li><a href="{href}">{html.escape(title)}</a> <small>written {written}</small></li>'


def handler_for(home: Path) -> type[BaseHTTPRequestHandler]:
    """A request handler serving `home`'s pages, read-only."""

    class Pages(BaseHTTPRequestHandler):
        server_version = "o2c-site"
        sys_version = ""

        def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
            self._answer(body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._answer(body=False)

        def _refuse(self) -> None:
            self._send(
                HTTPStatus.METHOD_NOT_ALLOWED, b"read-only\n", "text/plain", True, {"Allow": "GET, HEAD"}
            )

        do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse  # noqa: N815

        def _answer(self, body: bool) -> None:
            if urlsplit(self.path).path in ("", "/"):
                self._send(HTTPStatus.OK, front_page(home).encode(), TYPES[".html"], body)
                return
            target = resolve(home, self.path)
            if target is None:
                self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain", body)
                return
            content = target.read_bytes()
            kind = TYPES.get(target.suffix.lower(), "application/octet-stream")
            self._send(HTTPStatus.OK, content, kind, body)

        def _send(
            self,
            status: HTTPStatus,
            content: bytes,
            kind: str,
            body: bool,
            extra: dict[str, str] | None = None,
        ) -> None:
            self.send_response(status)
            for name, value in {**HEADERS, **(extra or {}), "Content-Type": kind}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            if body:
                self.wfile.write(content)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's name)
            log.debug("%s " + format, self.address_string(), *args)

    return Pages


def make_site(home: Path, host: str, port: int) -> ThreadingHTTPServer:
    """The site of workspace `home`, bound to `host`:`port` (port 0: a free one), not yet serving."""
    server = ThreadingHTTPServer((host, port), handler_for(home.resolve()))
    server.daemon_threads = True
    return server


@contextmanager
def running(server: ThreadingHTTPServer) -> Iterator[ThreadingHTTPServer]:
    """`server` serving in a thread of this process while the block runs, closed after it."""
    thread = threading.Thread(target=server.serve_forever, name="o2c-site", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def site_running(
    home: Path, host: str = "127.0.0.1", port: int = 0
) -> AbstractContextManager[ThreadingHTTPServer]:
    """The site of `home` serving in a thread while the block runs (port 0: a free one)."""
    return running(make_site(home, host, port))


def site_url(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}"

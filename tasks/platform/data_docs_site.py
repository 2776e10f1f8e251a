"""The Data Docs of one run's stage as a folder: the index of its checkpoint pages, and writing the
pages and `index.html` into the folder, each file whole.

`index_page(entries, title=...)` lists the checkpoints of one run (a checkpoint on no rows is
listed without a page), self-contained and HTML-escaped, in the stylesheet of the validation pages
(tasks/platform/data_docs.py); `write_docs(folder, pages, index_html)` writes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tasks.platform.data_docs import STYLESHEET

OUTCOMES = ("passed", "quarantined", "halted")

_INDEX_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{{ title }}</title>
<style>{{ stylesheet }}</style>
</head>
<body>
<header class="o2c-header">
<h1>{{ title }}</h1>
<p>{{ entries | length }} checkpoint(s): {% for outcome, count in counts %}{{ count }} {{ outcome }}{% if not loop.last %}, {% endif %}{% endfor %}</p>
</header>
<div class="container-fluid">
<table class="table">
<thead><tr><th>Dataset</th><th>Source</th><th>Outcome</th><th class="num">Rows checked</th>
<th class="num">Rows failed</th><th>Contract hash</th><th>Data Docs page</th></tr></thead>
<tbody>
{% for entry in entries %}
<tr>
<td>{{ entry.dataset }}</td>
<td>{{ entry.source }}</td>
<td><span class="outcome outcome-{{ entry.outcome_class }}">{{ entry.outcome }}</span></td>
<td class="num">{{ entry.rows_checked }}</td>
<td class="num">{{ entry.rows_failed }}</td>
<td><code>{{ entry.contract_hash }}</code></td>
<td>{% if entry.page %}<a href="{{ entry.href }}">{{ entry.page }}</a>{% else %}no rows to check: Great Expectations had nothing to validate{% endif %}</td>
</tr>
{% endfor %}
</tbody>
</table>
</div>
</body>
</html>
"""


def index_page(entries: Iterable[Mapping[str, Any]], *, title: str) -> str:
    """A self-contained index of one run's checkpoint pages.

    Each entry holds `dataset`, `source`, `outcome` (passed, quarantined or halted), `rows_checked`,
    `rows_failed`, `contract_hash` (as in `CheckpointResult.as_record()`) and `page`, the file name
    of its Data Docs page relative to the index (empty: a checkpoint on no rows, listed without a
    page). Everything is HTML-escaped.
    """
    rows = []
    for entry in entries:
        outcome = str(entry["outcome"])
        page = str(entry.get("page") or "")
        rows.append(
            {
                "dataset": str(entry["dataset"]),
                "source": str(entry["source"]),
                "outcome": outcome,
                "outcome_class": outcome if outcome in OUTCOMES else "unknown",
                "rows_checked": _count(entry["rows_checked"]),
                "rows_failed": _count(entry["rows_failed"]),
                "contract_hash": str(entry["contract_hash"]),
                "page": page,
                # quoted, so a name such as `javascript:x` stays a relative file name
                "href": quote(page, safe=""),
            }
        )
    counts = [(outcome, sum(r["outcome"] == outcome for r in rows)) for outcome in OUTCOMES]
    return _index_template().render(
        title=title, entries=rows, counts=[(o, n) for o, n in counts if n], stylesheet=STYLESHEET
    )


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


@cache
def _index_template() -> Any:
    from jinja2 import Environment

    environment = Environment(autoescape=True)
    return environment.from_string(_INDEX_TEMPLATE)


def write_docs(folder: Path, pages: list[tuple[str, str]], index_html: str) -> list[Path]:
    """Write each `(file name, html)` page and `index.html` into `folder`, each one whole
    (written to `<name>.part`, then renamed over the old file). Returns the paths, index last."""
    names = [name for name, _ in pages]
    for name in names:
        if not name or Path(name).name != name or name in {".", ".."} or name.endswith(".part"):
            raise ValueError(f"page file name {name!r} must be a plain file name")
        if name == "index.html":
            raise ValueError("index.html is the index's own file name")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"page file names written twice: {', '.join(duplicates)}")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in [*pages, ("index.html", index_html)]:
        path = folder / name
        part = folder / f"{name}.part"
        part.write_text(text, encoding="utf-8")
        part.replace(path)
        written.append(path)
    return written

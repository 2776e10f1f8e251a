"""Great Expectations Data Docs for each checkpoint run, readable offline.

`validation_page(result, title=...)` renders one GX validation result with GX's own Data Docs
renderers (`ValidationResultsPageRenderer` and `DefaultJinjaPageView`, as GX's site builder does)
and makes the page self-contained: GX's page frame pulls Bootstrap, Font Awesome, jQuery,
bootstrap-table and Vega from CDNs, links its logo from S3 and points at `static/...` files of a
Data Docs site. Here the frame templates are swapped for ones without any of that, every remaining
script, external or dangling reference is stripped, and a small stylesheet of our own is inlined.
Nothing on the page needs JavaScript: GX's collapsed sections ("Show more info...", the query that
retrieves all unexpected rows) are simply shown, and a chart, which only Vega can draw, is replaced
by a note.

Results come from `result_format COMPLETE`, so a large file's `unexpected_list` and
`unexpected_index_list` can hold 100,000+ entries; the page is rendered from a copy whose lists are
trimmed to `LIST_LIMIT` entries (GX then labels the table "Sampled Unexpected Values"). The
unexpected count and percentage stay exact.

`index_page(entries, title=...)` lists the checkpoint pages of one run and `write_docs(...)` writes
the pages and `index.html` into one folder, each file whole.

Great Expectations is imported inside the functions: importing it takes seconds.
"""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

LIST_LIMIT = 20
TEXT_LIMIT = 400  # e.g. GX's `unexpected_index_query`, which names every unexpected row
OUTCOMES = ("passed", "quarantined", "halted")

# A compact stand-in for the Bootstrap classes GX's templates use, plus the status colours.
STYLESHEET = """
*,*::before,*::after{box-sizing:border-box}
html{font-size:15px}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
  line-height:1.45;color:#1f2328;background:#fff}
h1{font-size:1.5rem;margin:0 0 .25rem}
h4{font-size:1.2rem;margin:0 0 .4rem}
h5{font-size:1.05rem;margin:0}
h6,.h6{font-size:.95rem;font-weight:600;margin:0}
a{color:#0b5cad}
code,pre,.badge{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
code{word-break:break-all;background:#f3f4f6;padding:.1rem .3rem;border-radius:3px}
[hidden]{display:none!important}
.o2c-header{padding:1rem 2rem;border-bottom:3px solid #d0d7de;background:#f6f8fa}
.o2c-header p{margin:0;color:#57606a;font-size:.9rem}
.o2c-footer{padding:.75rem 2rem;border-top:1px solid #d0d7de;color:#57606a;font-size:.8rem}
.o2c-note{color:#57606a;font-style:italic}
.container-fluid{width:100%;padding:1rem 2rem}
.row{display:flex;flex-wrap:wrap;margin:0 -.5rem}
.row>*{flex:1 1 100%;padding:0 .5rem;min-width:0}
.col,.col-12,.col-xs-12,.col-sm-12{flex:0 0 100%;max-width:100%}
.col-6{flex:0 0 50%;max-width:50%}
.col-4{flex:0 0 33.333%;max-width:33.333%}
.col-3{flex:0 0 25%;max-width:25%}
@media (min-width:768px){
  .col-md-2,.col-lg-2{flex:0 0 18%;max-width:18%}
  .col-md-10,.col-lg-10{flex:0 0 82%;max-width:82%}
  .col-md-6{flex:0 0 50%;max-width:50%}
}
@media (max-width:767px){.col-6,.col-4,.col-3{flex:0 0 100%;max-width:100%}}
.sticky{position:sticky;top:1rem}
.mb-3,.mb-4{margin-bottom:1rem}
.ge-section{margin-bottom:1.5rem}
.lead{font-size:1rem;color:#57606a;margin:0 0 .5rem}
.card{border:1px solid #d0d7de;border-radius:6px;background:#fff;margin-bottom:1rem}
.card-header{padding:.4rem .75rem;background:#f6f8fa;border-bottom:1px solid #d0d7de}
.card-body{padding:.5rem .75rem}
.nav{list-style:none;margin:0;padding:0}
.nav-item{padding:.1rem 0}
.nav-link{display:block;padding:.15rem .4rem;text-decoration:none;font-size:.9rem;border-radius:4px}
.nav-link:hover{background:#eaeef2}
.alert{padding:.6rem .9rem;border-radius:6px;margin:.5rem 0}
.alert-secondary{background:#eaeef2;border:1px solid #d0d7de}
.table-responsive{overflow-x:auto}
.ml-2{margin-left:.5rem}.mr-2{margin-right:.5rem}.mt-3{margin-top:.75rem}.m-2{margin:.5rem}
table{border-collapse:collapse;margin:.5rem 0}
.table{width:100%}
th,td{border:1px solid #d0d7de;padding:.35rem .55rem;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}
.table-sm th,.table-sm td{padding:.2rem .45rem;font-size:.9rem}
.table-bordered{width:auto}
.show-scrollbars{overflow:auto}
.badge{display:inline-block;padding:.05rem .35rem;border-radius:4px;background:#eaeef2;
  border:1px solid #d0d7de;color:#1f2328}
.text-danger{color:#b42318}
.text-success{color:#1a7f37}
.text-warning{color:#9a6700}
.ge-icon{font-style:normal;font-weight:700}
tr:has(>td .fa-times){background:#fff5f5}
.collapse{display:block}
.o2c-toggle{font-weight:600;color:#57606a}
.outcome{display:inline-block;padding:.05rem .5rem;border-radius:10px;font-weight:600;font-size:.85rem}
.outcome-passed{background:#dafbe1;color:#1a7f37}
.outcome-quarantined{background:#fff8c5;color:#7d4e00}
.outcome-halted{background:#ffebe9;color:#b42318}
.num{text-align:right;font-variant-numeric:tabular-nums}
@media print{.sticky{position:static}.o2c-header{background:none}}
"""

# GX's page frame, swapped for one without CDN links, scripts, logo, favicon or newsletter footer.
# GX's own section, content-block and table templates render everything inside it.
_PAGE_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{{ o2c_title | e }}</title>
<style>{{ o2c_stylesheet }}</style>
</head>
<body>
<header class="o2c-header">
<h1>{{ o2c_title | e }}</h1>
<p><a href="index.html">All checkpoints of this run</a> &middot; {{ page_title | replace(" / __none__", "") | e }}</p>
</header>
<div class="container-fluid">
<div class="row">
{% include 'sidebar.j2' %}
<div class="col-md-10 col-lg-10 col-xs-12">
{% for section in sections %}
{% set section_loop = loop -%}
{% include 'section.j2' %}
{% endfor %}
</div>
</div>
</div>
<footer class="o2c-footer">Rendered by the Great Expectations {{ ge_version | e }} Data Docs renderers;
offline copy: no scripts, no external files; unexpected value lists trimmed to {{ o2c_list_limit }} entries.</footer>
</body>
</html>
"""

_GRAPH_TEMPLATE = """{% include 'content_block_header.j2' %}
<p class="o2c-note">A chart is not shown in this offline copy (GX draws it with JavaScript).</p>
"""

# bootstrap-table fills its table from JavaScript; this draws the same data as a plain table.
_BOOTSTRAP_TABLE_TEMPLATE = """{% include 'content_block_header.j2' %}
{% set table_columns = content_block["table_columns"] %}
<table class="table table-sm">
<thead><tr>{% for column in table_columns %}<th>{{ column.get("title", column.get("field", "")) }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in content_block["table_data"] | render_bootstrap_table_data %}
<tr>{% for column in table_columns %}<td>{{ row.get(column.get("field"), "") }}</td>{% endfor %}</tr>
{% endfor %}
</tbody>
</table>
"""

_TEMPLATE_OVERRIDES = {
    "page.j2": _PAGE_TEMPLATE,
    "page_minimal.j2": _PAGE_TEMPLATE,
    "graph.j2": _GRAPH_TEMPLATE,
    "bootstrap_table.j2": _BOOTSTRAP_TABLE_TEMPLATE,
    # The "Show all / Failed only" filter is jQuery; without scripts it would be dead buttons.
    "page_action_card.j2": "",
    "js_script_imports.j2": "",
    "favicon.j2": "",
    "top_navbar.j2": "",
    "cloud-footer.j2": "",
    "cta_footer.j2": "",
    "bootstrap_table_js_functions.j2": "",
}

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


# ---------------------------------------------------------------------------------------------------
# The validation page


def validation_page(result: Any, *, title: str) -> str:
    """The offline Data Docs page of one GX `ExpectationSuiteValidationResult` (or its JSON dict).

    The caller's result is not changed: the page is rendered from a trimmed copy.
    """
    from great_expectations.render.renderer import ValidationResultsPageRenderer

    document = ValidationResultsPageRenderer().render(trimmed(result))
    page = _page_view().render(
        document, o2c_title=title, o2c_stylesheet=STYLESHEET, o2c_list_limit=LIST_LIMIT
    )
    return make_offline(page)


def trimmed(result: Any, limit: int = LIST_LIMIT) -> Any:
    """A copy of a validation result whose per-expectation lists hold at most `limit` entries.

    Each expectation's `result` dict is copied with every list (at any depth) cut to `limit`
    entries and very long strings cut short; everything else is deep-copied, so nothing the copy
    shares with `result` can be changed through it. A JSON dict (`result.to_json_dict()`) is
    accepted too and read back into GX objects.
    """
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )

    if isinstance(result, Mapping):
        return _from_json_dict(result, limit)
    return ExpectationSuiteValidationResult(
        success=bool(result.success),
        results=[
            ExpectationValidationResult(
                success=outcome.success,
                expectation_config=copy.deepcopy(outcome.expectation_config),
                result=_trim(outcome.result or {}, limit),
                meta=copy.deepcopy(outcome.meta),
                exception_info=copy.deepcopy(outcome.exception_info),
            )
            for outcome in result.results
        ],
        suite_name=result.suite_name,
        suite_parameters=copy.deepcopy(result.suite_parameters),
        statistics=copy.deepcopy(result.statistics),
        meta=copy.deepcopy(result.meta),
        batch_id=result.batch_id,
        result_url=result.result_url,
        id=result.id,
    )


def _from_json_dict(data: Mapping[str, Any], limit: int) -> Any:
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    results = []
    for outcome in data.get("results") or []:
        config = copy.deepcopy(outcome.get("expectation_config"))
        results.append(
            ExpectationValidationResult(
                success=outcome.get("success"),
                expectation_config=ExpectationConfiguration(**config) if config else None,
                result=_trim(outcome.get("result") or {}, limit),
                meta=copy.deepcopy(outcome.get("meta") or {}),
                exception_info=copy.deepcopy(outcome.get("exception_info") or {}),
            )
        )
    return ExpectationSuiteValidationResult(
        success=bool(data.get("success")),
        results=results,
        suite_name=str(data.get("suite_name") or ""),
        suite_parameters=copy.deepcopy(data.get("suite_parameters") or {}),
        statistics=copy.deepcopy(data.get("statistics") or {}),
        meta=copy.deepcopy(data.get("meta") or {}),
        batch_id=data.get("batch_id"),
        result_url=data.get("result_url"),
        id=data.get("id"),
    )


def _trim(value: Any, limit: int) -> Any:
    """A copy of `value` with lists cut to `limit` entries and long strings shortened.

    Strings are HTML-escaped as well: GX's renderer puts the values a check found (what the data
    held) into the page as markup, so a name such as `"><b>x` would become bold text and a
    `<script>` would vanish with the sanitiser; escaped, the page shows what the file held.
    """
    if isinstance(value, Mapping):
        return {key: _trim(item, limit) for key, item in value.items()}
    if isinstance(value, list):
        return [_trim(item, limit) for item in value[:limit]]
    if isinstance(value, str):
        if len(value) > TEXT_LIMIT:
            value = f"{value[:TEXT_LIMIT]} … ({len(value) - TEXT_LIMIT:,} more characters left out)"
        return html.escape(value, quote=False)
    if hasattr(value, "head") and hasattr(value, "iloc"):  # a frame of unexpected rows
        head = value.head(limit).copy()
        for column in head.columns:
            if head[column].dtype == object:
                head[column] = head[column].map(
                    lambda v: html.escape(v, quote=False) if isinstance(v, str) else v
                )
        return head
    return copy.deepcopy(value)


@cache
def _page_view() -> Any:
    """GX's `DefaultJinjaPageView` with our frame templates in front of GX's own.

    GX puts `custom_views_directory` *after* its package templates in the loader chain, so a
    custom template can add but never replace one; the loader is therefore rebuilt here.
    """
    from great_expectations.render.view import DefaultJinjaPageView
    from jinja2 import ChoiceLoader, DictLoader

    view = DefaultJinjaPageView()
    assert view.env.loader is not None
    view.env.loader = ChoiceLoader([DictLoader(_TEMPLATE_OVERRIDES), view.env.loader])
    return view


# ---------------------------------------------------------------------------------------------------
# Making an HTML page self-contained

_DROP_WITH_CONTENT = {"script", "iframe", "object", "embed", "applet", "frame", "frameset", "template"}
_DROP_TAG = {"link", "base", "source", "track", "param", "portal"}
_URL_ATTRIBUTES = {
    "href",
    "src",
    "srcset",
    "imagesrcset",
    "action",
    "formaction",
    "poster",
    "background",
    "data",
    "cite",
    "longdesc",
    "manifest",
    "ping",
    "lowsrc",
    "dynsrc",
    "codebase",
    "archive",
    "xlink:href",
}
_DROPPED_ATTRIBUTES = {"integrity", "crossorigin", "nonce"}
_SCHEME = re.compile(r"^\s*(?:[a-z][a-z0-9+.\-]*:|[/\\]{2})", re.IGNORECASE)
_HOME_LINK = re.compile(r"^(?:\.\./)*index\.html$")
_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "param",
    "source",
    "track",
    "wbr",
}
# Font Awesome icons GX's renderers use, as text (the icon font is not there offline).
_ICONS = {
    "fa-times": ("\u2717", "failed", "text-danger"),
    "fa-check-circle": ("\u2713", "passed", "text-success"),
    "fa-check": ("\u2713", "passed", "text-success"),
    "fa-exclamation-triangle": ("\u26a0", "warning", "text-warning"),
    "fa-question-circle": ("?", "unknown", ""),
    "fa-comment": ("\u2709", "note", ""),
}
_CSS_URL = re.compile(r"url\(\s*(?:\"[^\"]*\"|'[^']*'|[^)]*)\s*\)", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"@import\b[^;]*;?", re.IGNORECASE)
_CSS_ACTIVE = re.compile(r"\b(?:expression|image-set|-webkit-image-set)\s*\(", re.IGNORECASE)


def offline_css(css: str) -> str:
    """`css` without `@import` rules and `url(...)` references (local or remote)."""
    css = _CSS_IMPORT.sub("", css)
    css = _CSS_URL.sub("none", css)
    return _CSS_ACTIVE.sub("none(", css)


def _is_external(url: str) -> bool:
    """Any scheme (`https:`, `javascript:`, `data:`...) or a protocol-relative `//host` URL."""
    return bool(_SCHEME.match(url))


class _Offline(HTMLParser):
    """Re-emits a page without scripts, external references, dead local links or event handlers."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.out: list[str] = []
        self._skip = 0  # depth inside an element dropped with its content
        self._anchors: list[str | None] = []  # the end tag each open <a> gets, None: unwrapped
        self._in_style = False

    # -- tags

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=True)

    def _start(self, tag: str, attrs: list[tuple[str, str | None]], *, closed: bool) -> None:
        if self._skip:
            if tag in _DROP_WITH_CONTENT and not closed:
                self._skip += 1
            return
        if tag in _DROP_WITH_CONTENT:
            if not closed:
                self._skip = 1
            return
        if tag in _DROP_TAG:
            return
        values = dict(attrs)
        if tag == "meta" and (values.get("http-equiv") or "").lower() == "refresh":
            return
        kept: list[tuple[str, str | None]] = []
        dead_reference = False
        for name, value in attrs:
            if name.startswith("on") or name in _DROPPED_ATTRIBUTES:
                continue
            if name == "style" and value:
                value = offline_css(value)
            if name in _URL_ATTRIBUTES:
                target = (value or "").strip()
                if tag == "a" and name == "href" and values.get("data-toggle"):
                    continue  # a Bootstrap collapse toggle: its section is shown anyway
                if tag == "a" and name == "href" and target.startswith("#"):
                    kept.append((name, target))
                elif tag == "a" and name == "href" and _HOME_LINK.match(target):
                    kept.append((name, "index.html"))  # the run's index, written beside the page
                elif target:
                    dead_reference = True  # remote, or a Data Docs site file that is not here
                continue
            kept.append((name, value))
        if tag == "a":
            if dead_reference or "href" not in dict(kept):
                toggle = bool(values.get("data-toggle"))
                self._anchors.append("</span>" if toggle and not closed else None)
                if toggle:
                    self.out.append('<span class="o2c-toggle">')
                return
            self._anchors.append("</a>")
        elif dead_reference and tag in {"img", "video", "audio", "input", "image", "picture"}:
            alt = values.get("alt")
            if alt:
                self.out.append(html.escape(alt))
            return
        icon = _icon(values.get("class") or "") if tag in {"i", "span"} else None
        if icon:
            kept = [(n, v) for n, v in kept if n not in {"title", "aria-hidden"}]
            kept.append(("title", icon[1]))
        self.out.append(_render_tag(tag, kept, closed=closed and tag not in _VOID))
        if icon:
            self.out.append(f'<span class="ge-icon" aria-label="{icon[1]}">{icon[0]}</span>')
        if tag == "style" and not closed:
            self._in_style = True

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            if tag in _DROP_WITH_CONTENT:
                self._skip -= 1
            return
        if tag in _DROP_WITH_CONTENT or tag in _DROP_TAG or tag in _VOID:
            return
        if tag == "a":
            end = self._anchors.pop() if self._anchors else None
            if end:
                self.out.append(end)
            return
        if tag == "style":
            self._in_style = False
        self.out.append(f"</{tag}>")

    # -- everything else

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.out.append(offline_css(data) if self._in_style else data)

    def handle_entityref(self, name: str) -> None:
        if not self._skip:
            self.out.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        if not self._skip:
            self.out.append(f"&#{name};")

    def handle_decl(self, decl: str) -> None:
        self.out.append(f"<!{decl}>")

    def handle_comment(self, data: str) -> None:
        pass  # comments can hide conditional includes; the page needs none

    def handle_pi(self, data: str) -> None:
        pass

    def unknown_decl(self, data: str) -> None:
        pass


def _icon(classes: str) -> tuple[str, str, str] | None:
    names = classes.split()
    if not any(name in {"fa", "fas", "far", "fab"} for name in names):
        return None
    return next((_ICONS[name] for name in names if name in _ICONS), None)


def _render_tag(tag: str, attrs: Sequence[tuple[str, str | None]], *, closed: bool) -> str:
    parts = [tag]
    for name, value in attrs:
        parts.append(name if value is None else f'{name}="{html.escape(value, quote=True)}"')
    return f"<{' '.join(parts)}{' /' if closed else ''}>"


def make_offline(page: str) -> str:
    """`page` without `<script>`s, `<link>`s, external or dangling references, CSS `url()`/`@import`
    or event handlers; links to the Data Docs home become `index.html`, in-page anchors stay."""
    parser = _Offline()
    parser.feed(page)
    parser.close()
    return re.sub(r"\n\s*\n+", "\n", "".join(parser.out))


# ---------------------------------------------------------------------------------------------------
# The index of a run and writing the files


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

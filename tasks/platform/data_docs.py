"""Great Expectations Data Docs for each checkpoint run, readable offline: the validation page.

`validation_page(result, title=...)` renders one GX validation result with GX's own Data Docs
renderers (`ValidationResultsPageRenderer` and `DefaultJinjaPageView`, as GX's site builder does)
and makes the page self-contained: GX's page frame pulls Bootstrap, Font Awesome, jQuery,
bootstrap-table and Vega from CDNs, links its logo from S3 and points at `static/...` files of a
Data Docs site. Here the frame templates are swapped for ones without any of that, every remaining
script, external or dangling reference is stripped (tasks/platform/offline_html.py), and a small
stylesheet of our own is inlined. Nothing on the page needs JavaScript: GX's collapsed sections
("Show more info...", the query that retrieves all unexpected rows) are simply shown, and a chart,
which only Vega can draw, is replaced by a note.

Results come from `result_format COMPLETE`, so a large file's `unexpected_list` and
`unexpected_index_list` can hold 100,000+ entries; the page is rendered from a copy whose lists are
trimmed to `LIST_LIMIT` entries (GX then labels the table "Sampled Unexpected Values"). The
unexpected count and percentage stay exact.

The run's index of its pages and writing them into one folder are in
tasks/platform/data_docs_site.py. Great Expectations is imported inside the functions: importing
it takes seconds.
"""

from __future__ import annotations

import copy
import html
from collections.abc import Mapping
from functools import cache
from typing import Any

from tasks.platform.offline_html import make_offline

SAMPLE_KEY = "o2c_sample"  # a checkpoint's GX result's meta: what it was run on (checkpoint_gx.py)

LIST_LIMIT = 20
TEXT_LIMIT = 400  # e.g. GX's `unexpected_index_query`, which names every unexpected row

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
.o2c-sample{margin-bottom:1.5rem}
.o2c-sample p{margin:.25rem 0 .5rem;max-width:60rem}
.o2c-agree{color:#1a7f37;font-weight:600}
.o2c-disagree{color:#b42318;font-weight:700;border:2px solid #b42318;padding:.4rem .6rem;border-radius:6px}
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
{% if o2c_sample %}{{ o2c_sample }}{% endif %}
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

# What a checkpoint's GX result was run on; see tasks/platform/checkpoint_gx.py.
_SAMPLE_TEMPLATE = """<section class="o2c-sample" id="o2c-sample">
<h4>What Great Expectations validated</h4>
<p>Great Expectations validated {{ n(sample.rows_sampled) }} of the batch's {{ n(sample.rows_checked) }} rows:
{{ n(sample.failing_rows_sampled) }} row(s) failing a check (up to the first {{ n(sample.failing_per_check) }}
of each check) and {{ n(sample.passing_rows_sampled) }} row(s) failing none, spread evenly over the batch
(at most {{ n(sample.passing_rows) }}). The checkpoint's outcome, its rows failed and the counts of the whole
batch below come from the SQL checks run over every row; the counts in Great Expectations' own results
further down are those of the sample, and the row numbers (index) it lists are positions in the whole batch.</p>
{% if sample.agrees %}<p class="o2c-agree">On the sampled rows, Great Expectations and the SQL checks found
the same unexpected rows for every expectation.</p>
{% else %}<p class="o2c-disagree">Great Expectations and the SQL checks disagree on the sampled rows (see the
last column): the checkpoint halted, as a check that cannot be trusted is no pass.</p>
{% endif %}<table class="table table-sm">
<thead><tr><th>Expectation</th><th>Column</th><th class="num">Unexpected in the whole batch (SQL)</th>
<th class="num">Unexpected in the sample (GX)</th><th class="num">Unexpected in the sample (SQL)</th>
<th>GX and SQL agree</th></tr></thead>
<tbody>
{% for check in checks %}<tr><td>{{ check.expectation }}</td><td>{{ check.column }}</td>
<td class="num">{{ n(check.batch_unexpected) }}</td><td class="num">{{ n(check.sample_unexpected) }}</td>
<td class="num">{{ n(check.sample_unexpected_sql) }}</td>
<td>{% if check.agrees %}yes{% else %}<strong class="text-danger">NO</strong>{% endif %}</td></tr>
{% endfor %}</tbody>
</table>
</section>
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


# ---------------------------------------------------------------------------------------------------
# The validation page


def validation_page(result: Any, *, title: str) -> str:
    """The offline Data Docs page of one GX `ExpectationSuiteValidationResult` (or its JSON dict).

    The caller's result is not changed: the page is rendered from a trimmed copy.
    """
    from great_expectations.render.renderer import ValidationResultsPageRenderer

    document = ValidationResultsPageRenderer().render(trimmed(result))
    page = _page_view().render(
        document,
        o2c_title=title,
        o2c_stylesheet=STYLESHEET,
        o2c_list_limit=LIST_LIMIT,
        o2c_sample=sample_section(_meta(result).get(SAMPLE_KEY)),
    )
    return make_offline(page)


def _meta(result: Any) -> Mapping[str, Any]:
    meta = result.get("meta") if isinstance(result, Mapping) else getattr(result, "meta", None)
    return meta if isinstance(meta, Mapping) else {}


def sample_section(sample: Mapping[str, Any] | None) -> str:
    """The page's first section for a checkpoint's GX result: what GX was run on (the sample's
    size and how it was drawn), the whole batch's counts from the SQL checks over every row, the
    sample's counts as GX and the SQL found them, and whether the two agree (in red where not).
    Empty for a result that is not a checkpoint's sample (GX run on a whole frame)."""
    if not sample:
        return ""
    return _sample_template().render(sample=sample, checks=list(sample.get("checks") or []), n=_number)


def _number(value: Any) -> str:
    return "could not run" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


@cache
def _sample_template() -> Any:
    from jinja2 import Environment

    return Environment(autoescape=True).from_string(_SAMPLE_TEMPLATE)


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

"""Making an HTML page self-contained: readable offline, with nothing in it that runs or fetches.

`make_offline(page)` re-emits a page without `<script>`s, `<link>`s, frames and embedded objects,
external or dangling references (any URL scheme, `//host`, a Data Docs site file that is not
there), CSS `url()`/`@import`, event handlers and comments; links to the Data Docs home become
`index.html`, in-page anchors stay, and the Font Awesome icons GX's renderers use become text.
`offline_css(css)` does the same for a stylesheet. tasks/platform/data_docs.py uses it for GX's
validation pages.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from html.parser import HTMLParser

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

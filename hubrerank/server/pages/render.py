"""Markdown a stranger wrote, as HTML a browser may show: markdown-it-py, then nh3 (Ammonia).

markdown-it-py renders CommonMark with tables and strikethrough, raw HTML passed through; nh3 then
keeps only a safe list of tags and attributes (no script, style, iframe, form or SVG element, no event
handler, no ``style`` attribute) and URLs of the http, https and mailto schemes or relative ones: a
``javascript:`` or ``data:`` URL is dropped with its attribute. Relative links and images are pointed
at the repo's files (``blob/`` for links, ``resolve/`` for images), as huggingface.co does, so a card's
``![plot](plot.png)`` shows the repo's image. Rendering stops at ``MAX_MARKDOWN_CHARS``: a 5 MB README
shows its first part and says so.
"""

from __future__ import annotations

import functools
import posixpath
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

import nh3
from markdown_it import MarkdownIt

MAX_MARKDOWN_CHARS = 256 * 1024  # beyond this a card is cut: its HTML (up to ~4x) stays a page
ALLOWED_TAGS = {
    *("a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em"),
    *("h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre"),
    *("s", "samp", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th"),
    *("thead", "tr", "tt", "u", "ul", "var", "figure", "figcaption", "caption", "small", "mark"),
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
    "ol": {"start"},
    "details": {"open"},
    "*": {"id"},
}
URL_SCHEMES = {"http", "https", "mailto"}
_MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


@dataclass(frozen=True)
class Where:
    """Where a Markdown file lives: relative URLs in it resolve against this repo, revision and folder."""

    url_path: str  # ``ns/name`` or ``datasets/ns/name``
    revision: str
    folder: str = ""  # the file's folder in the repo, "" at the root


@dataclass(frozen=True)
class Rendered:
    """Sanitised HTML, and whether the source was cut before rendering."""

    html: str
    cut: bool


def repo_url(where: Where, kind: str, path: str) -> str:
    """``/{url_path}/{kind}/{revision}/{path}`` with the revision and path percent-encoded."""
    return f"/{where.url_path}/{kind}/{quote(where.revision, safe='')}/{quote(path)}"


def _rewrite(where: Where, tag: str, attribute: str, value: str) -> str | None:
    """A relative ``href``/``src`` pointed at the repo's file; None (dropped) if it leaves the repo."""
    if (tag, attribute) not in (("a", "href"), ("img", "src")):
        return value
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or value.startswith(("/", "#")) or not parts.path:
        return value  # absolute, or an anchor: nh3 has already dropped schemes outside URL_SCHEMES
    path = posixpath.normpath(posixpath.join(where.folder, unquote(parts.path)))
    if path.startswith("../") or path in ("..", "."):
        return None
    url = repo_url(where, "resolve" if tag == "img" else "blob", path)
    return url + (f"#{quote(parts.fragment)}" if parts.fragment else "")


def sanitize(html: str, where: Where | None = None) -> str:
    """``html`` cut down to the safe list; relative links and images point into ``where``'s files."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        attribute_filter=None if where is None else functools.partial(_rewrite, where),
    )


def render_markdown(text: str, where: Where | None = None) -> Rendered:
    """Markdown ``text`` (its first ``MAX_MARKDOWN_CHARS``) as sanitised HTML."""
    cut = len(text) > MAX_MARKDOWN_CHARS
    return Rendered(sanitize(_MARKDOWN.render(text[:MAX_MARKDOWN_CHARS]), where), cut)

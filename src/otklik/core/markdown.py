"""Render Markdown (CommonMark plus tables and strikethrough) to HTML that is safe to show: nh3 cleans it.

Raw HTML in the source is not rendered (it shows as text); links get rel="noopener noreferrer nofollow".
"""

from __future__ import annotations

import functools
import html as _html

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_TAGS = {
    "a", "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "s", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "img",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"style"},
    "td": {"style"},
}


@functools.cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
        ["table", "strikethrough"]
    )


def render_markdown(text: str) -> SafeString:
    """Return `text` (Markdown) as sanitised HTML."""
    html = _parser().render((text or "").replace("\x00", ""))
    clean = nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        filter_style_properties={"text-align"},
    )
    return mark_safe(clean)  # noqa: S308 - cleaned by nh3 just above


def markdown_plain(text: str, limit: int = 200) -> str:
    """Return a one-line plain-text excerpt of Markdown `text`, at most `limit` characters."""
    cleaned = nh3.clean(_parser().render((text or "")[: limit * 4].replace("\x00", "")), tags=set())
    line = " ".join(_html.unescape(cleaned).split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"

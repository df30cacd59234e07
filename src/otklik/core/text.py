"""Render message text: plain text with a safe subset of markup, always escaped."""

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_CODE_BLOCK = re.compile(r"\[code\](.*?)\[/code\]", re.S | re.I)
_QUOTE = re.compile(r"\[quote\](.*?)\[/quote\]", re.S | re.I)
_BOLD = re.compile(r"\[b\](.*?)\[/b\]", re.S | re.I)
_ITALIC = re.compile(r"\[i\](.*?)\[/i\]", re.S | re.I)
# On escaped text: stop before an escaped < > " ' so they never become part of a link.
_URL = re.compile(r"(?<![\"'=])\bhttps?://(?:(?!&lt;|&gt;|&quot;|&#x27;)[^\s<>\"'])+(?<![.,;:!?)\]])", re.I)
_URL_TAG = re.compile(r"\[url=(https?://[^\]\s\"'<>]+)\](.*?)\[/url\]", re.S | re.I)


def render_markup(text: str) -> SafeString:
    """Escape `text`, then turn [b] [i] [code] [quote] [url] and bare links into HTML.

    Escaping comes first so that user input can never inject markup; the tags are
    matched on the escaped text and only produce a fixed set of elements.
    """
    # The NUL and SOH characters are our placeholders below; they have no place in a message anyway.
    html: str = escape((text or "").replace("\x00", "").replace("\x01", ""))
    codes: list[str] = []

    def _stash_code(m: re.Match[str]) -> str:
        codes.append(m.group(1))
        return f"\x00{len(codes) - 1}\x00"

    html = _CODE_BLOCK.sub(_stash_code, html)
    for _ in range(5):  # nested quotes, bounded
        new = _QUOTE.sub(r"<blockquote>\1</blockquote>", html)
        if new == html:
            break
        html = new
    html = _BOLD.sub(r"<strong>\1</strong>", html)
    html = _ITALIC.sub(r"<em>\1</em>", html)
    links: list[str] = []

    def _stash_link(href: str, label: str) -> str:
        links.append(f'<a href="{href}" rel="nofollow noopener noreferrer" target="_blank">{label}</a>')
        return f"\x01{len(links) - 1}\x01"

    html = _URL_TAG.sub(lambda m: _stash_link(m.group(1), m.group(2)), html)
    html = _URL.sub(lambda m: _stash_link(m.group(0), m.group(0)), html)
    html = html.replace("\n", "<br>\n")
    html = re.sub("\x01(\\d+)\x01", lambda m: links[int(m.group(1))], html)
    html = re.sub("\x00(\\d+)\x00", lambda m: f"<pre><code>{codes[int(m.group(1))]}</code></pre>", html)
    return mark_safe(html)  # noqa: S308 - built from escaped text and fixed tags only

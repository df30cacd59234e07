"""Render message text: Markdown (CommonMark) sanitised with nh3; legacy [b] [i] [code] [quote] [url] still show.

Decisions, each because message text comes from two kinds of writers, people typing Markdown in the
answer box and mail clients sending plain text:

* CommonMark with tables and strikethrough. Raw HTML in the source is shown as text, never rendered.
* A single newline is a line break (`breaks`), as mail text and the old markup meant it.
* Headings are off: `# ` and setext underlines (`===`, `---` under a line) stay as typed. In mail
  text `# ` is a shell prompt or a numbered item far more often than a title, and a ticket thread
  has no use for page-sized titles. A `---` line on its own is still a thematic break.
* Entity references stay as typed: a customer writing `&oslash;` means those eight characters.
* Images are off: `![alt](url)` shows as "!" and a link. A remote image would load from a third
  party whenever anyone opens the ticket (a tracking pixel); pictures belong in attachments.
* Links: only http, https and mailto; bare http(s) links and e-mail addresses become links (not
  bare domains: `readme.md` or `settings.py` are file names, not sites). Every link opens in a new
  tab with rel="nofollow noopener noreferrer".
* nh3 cleans the result against an explicit allow-list, so nothing outside it survives whatever the
  parser does.
* Legacy tags of stored messages keep rendering: `[quote]` and `[code]` become a Markdown quote and
  fence before parsing (see `legacy_blocks`); `[b]`, `[i]` and `[url=...]` are inline rules of the
  parser, so inside code they stay literal.
* Cost is bounded: at most `RENDER_MAX` characters are rendered (the parser is linear, about 10 µs a
  character at worst), legacy quotes nest at most `QUOTE_DEPTH_MAX` deep and the parser's own
  nesting is capped by markdown-it's `maxNesting`.
"""

from __future__ import annotations

import bisect
import functools
import re

import nh3
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline

# The tickets' longest message body (tickets.fields.BODY_MAX); core may not import it.
RENDER_MAX = 100_000
QUOTE_DEPTH_MAX = 10

_TAGS = {
    "p", "br", "strong", "em", "s", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
# "*" given empty: nh3 would otherwise allow its default generic attributes (lang, title) on every tag.
_ATTRIBUTES: dict[str, set[str]] = {
    "*": set(), "a": {"href"}, "ol": {"start"}, "li": {"value"}, "th": {"style"}, "td": {"style"},
}  # fmt: skip
_SCHEMES = ("http://", "https://", "mailto:")
_REL = "nofollow noopener noreferrer"

_LEGACY_BLOCK = re.compile(r"\[(/?)(quote|code)\]", re.I)
# A Markdown quote marker at the start of a line: up to three spaces, ">" and an optional space.
_QUOTE_MARKER = re.compile(r" {0,3}> ?")
_BACKTICKS = re.compile(r"`+")
# The characters that can start inline markup or end a link's text (headings, lists and the like
# need the start of a line, which a link label never is).
_INLINE_SPECIAL = re.compile(r"[\\`*_\[\]<>~|]")
# The old markup's [url=...]: an http(s) address without spaces, quotes, angle brackets or "]".
_URL_TAG = re.compile(r"\[url=(https?://[^\]\s\"'<>]+)\]", re.I)


# An <a> without href after cleaning: nh3 drops a refused address and leaves the element.
_HREFLESS_LINK = re.compile(r"<a (?![^>]*\bhref=)[^>]*>(.*?)</a>", re.S)


def render_markup(text: str | None) -> SafeString:
    """Return message `text` (Markdown, possibly with legacy tags) as sanitised HTML."""
    text = (text or "").replace("\x00", "")
    if not text.strip():
        return mark_safe("")
    cut = len(text) > RENDER_MAX
    html = _parser().render(legacy_blocks(text[:RENDER_MAX]))
    clean = nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        attribute_filter=_only_safe_links,
        url_schemes={"http", "https", "mailto"},
        link_rel=_REL,
        set_tag_attribute_values={"a": {"target": "_blank"}},
        filter_style_properties={"text-align"},
        strip_comments=True,
    ).strip()
    # A link whose address was refused (or empty, as in "![]()") keeps its text but is no link.
    clean = _HREFLESS_LINK.sub(r"\1", clean)
    if cut:
        clean += format_html(
            '\n<p class="muted">{}</p>', gettext("The rest of the text is too long to show.")
        )
    return mark_safe(clean)  # noqa: S308 - cleaned by nh3 just above


def markdown_escape(text: str) -> str:
    """Backslash-escape what could style `text` or end a link's text, so it reads literally inline."""
    return _INLINE_SPECIAL.sub(r"\\\g<0>", text)


def markdown_link(label: str, url: str) -> str:
    """Return a Markdown link showing `label` literally ("]" or "*" in a title cannot end or style it)."""
    destination = url.replace("\\", "%5C").replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"[{markdown_escape(' '.join(label.split()))}]({destination})"


def legacy_blocks(text: str) -> str:
    """Turn the old markup's matched [quote]...[/quote] and [code]...[/code] into Markdown.

    A quote becomes "> " lines and a code block a backtick fence. Unmatched tags stay as text, and so
    does anything between [code] and [/code]. Quoting a message in the answer box prefixes its lines
    with "> ", so a tag may sit in such a quote: the "> " markers its lines already carry are kept in
    front of the new ones. Deeper than QUOTE_DEPTH_MAX, quotes show at that depth.
    """
    if "[" not in text:
        return text
    tokens = list(_LEGACY_BLOCK.finditer(text))
    if not tokens:
        return text
    pairs = _legacy_pairs(tokens)
    if not pairs:
        return text
    return _LegacyWriter(text).write(tokens, pairs)


def _legacy_pairs(tokens: list[re.Match[str]]) -> dict[int, int]:
    """Map the index of each opening tag that has its closing tag to the closing tag's index."""
    pairs: dict[int, int] = {}
    quotes: list[int] = []
    code_closes = [i for i, m in enumerate(tokens) if m.group(1) and m.group(2).lower() == "code"]
    i = 0
    while i < len(tokens):
        closing, name = bool(tokens[i].group(1)), tokens[i].group(2).lower()
        if name == "code":
            if not closing:
                after = bisect.bisect_right(code_closes, i)
                if after < len(code_closes):
                    # Everything up to the next [/code] is the code's text, quote tags included.
                    pairs[i] = code_closes[after]
                    i = code_closes[after]
        elif not closing:
            quotes.append(i)
        elif quotes:
            pairs[quotes.pop()] = i
        i += 1
    return pairs


class _LegacyWriter:
    """Write text with its legacy block tags replaced, line prefixes and all (see `legacy_blocks`)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.out: list[str] = []
        self.depth = 0  # legacy quotes open here
        self.base = 0  # "> " markers of the line where the outermost legacy block opened

    def write(self, tokens: list[re.Match[str]], pairs: dict[int, int]) -> str:
        closes = set(pairs.values())
        position = 0
        i = 0
        while i < len(tokens):
            m = tokens[i]
            if i not in pairs and i not in closes:
                i += 1
                continue
            self._text(self.text[position : m.start()])
            if m.group(2).lower() == "code":
                end = tokens[pairs[i]]
                self._code(m.start(), self.text[m.end() : end.start()])
                position, i = end.end(), pairs[i] + 1
                continue
            if m.group(1):
                self._close_quote()
            else:
                self._open_quote(m.start())
            position, i = m.end(), i + 1
        self._text(self.text[position:])
        return "".join(self.out)

    def _prefix(self, depth: int) -> str:
        markers = self.base + min(depth, QUOTE_DEPTH_MAX)
        return ">" * markers + " " if markers else ""

    def _strip_base(self, line: str) -> str:
        """Take off the "> " markers a continuation line carries from an outer Markdown quote."""
        for _ in range(self.base):
            m = _QUOTE_MARKER.match(line)
            if m is None:
                break
            line = line[m.end() :]
        return line

    def _text(self, segment: str) -> None:
        if not self.depth:
            self.out.append(segment)
            return
        first, *rest = segment.split("\n")
        self.out.append(first)
        for line in rest:
            self.out.append("\n" + self._prefix(self.depth) + self._strip_base(line))

    def _enter(self, at: int) -> None:
        """Note the quote markers of the line a legacy block opens on, when no legacy quote is open."""
        if self.depth:
            return
        line = self.text[self.text.rfind("\n", 0, at) + 1 : at]
        markers = 0
        while markers < QUOTE_DEPTH_MAX and (m := _QUOTE_MARKER.match(line)):
            line, markers = line[m.end() :], markers + 1
        self.base = markers

    def _break(self, depth: int) -> None:
        """End the current line and leave an empty one at `depth`, so no paragraph runs on."""
        self.out.append("\n" + self._prefix(depth).rstrip() + "\n")

    def _open_quote(self, at: int) -> None:
        self._enter(at)
        self._break(self.depth)
        self.depth += 1
        self.out.append(self._prefix(self.depth))

    def _close_quote(self) -> None:
        self.depth -= 1
        self._break(self.depth)
        self.out.append(self._prefix(self.depth))
        if not self.depth:
            self.base = 0

    def _code(self, at: int, content: str) -> None:
        self._enter(at)
        lines = content.split("\n")
        lines = [lines[0]] + [self._strip_base(line) for line in lines[1:]]
        if lines and not lines[0].strip():
            lines = lines[1:]
        if lines and not lines[-1].strip():
            lines = lines[:-1]
        fence = "`" * max(3, 1 + max((len(run) for run in _BACKTICKS.findall(content)), default=0))
        prefix = self._prefix(self.depth)
        self._break(self.depth)
        self.out.append(prefix + fence + "\n")
        self.out.extend(prefix + line + "\n" for line in lines)
        self.out.append(prefix + fence)
        self._break(self.depth)
        self.out.append(prefix)
        if not self.depth:
            self.base = 0


def _only_safe_links(tag: str, attribute: str, value: str) -> str | None:
    """Keep an href only when it is http(s) or mailto (nh3 itself lets relative links through)."""
    if tag == "a" and attribute == "href" and not value.strip().lower().startswith(_SCHEMES):
        return None
    return value


def _validate_link(url: str) -> bool:
    return url.strip().lower().startswith(_SCHEMES)


def _closing_positions(state: StateInline, closing: str) -> list[int]:
    """Return where `closing` occurs in the inline source, found once per source (a sorted list)."""
    found: dict[tuple[str, str], list[int]] = state.env.setdefault("legacy_closings", {})
    key = (state.src, closing)
    if key not in found:
        lower = state.src.lower()
        found[key] = [m.start() for m in re.finditer(re.escape(closing), lower)]
    return found[key]


def _next_closing(state: StateInline, closing: str, start: int) -> int:
    """Return the first `closing` at or after `start` and before the end of the range, or -1."""
    positions = _closing_positions(state, closing)
    i = bisect.bisect_left(positions, start)
    if i < len(positions) and positions[i] + len(closing) <= state.posMax:
        return positions[i]
    return -1


def _inline_range(
    state: StateInline, kind: str, tag: str, span: tuple[int, int, int], href: str = ""
) -> None:
    """Push `kind`_open, the tokens of src[start:end] and `kind`_close; go on at `after` (span)."""
    start, end, after = span
    maximum = state.posMax
    state.pos, state.posMax = start, end
    token = state.push(f"{kind}_open", tag, 1)
    token.markup = "legacy"
    if href:
        token.attrs = {"href": href}
    # Inside a link, markdown-it's linkify (and our [url]) must not make another link.
    state.linkLevel += 1 if href else 0
    state.md.inline.tokenize(state)
    state.linkLevel -= 1 if href else 0
    state.push(f"{kind}_close", tag, -1).markup = "legacy"
    state.pos, state.posMax = after, maximum


def _legacy_inline(state: StateInline, silent: bool) -> bool:
    """Parse the old markup's [b]...[/b], [i]...[/i] and [url=...]...[/url] (matched pairs only)."""
    src, pos = state.src, state.pos
    if src[pos] != "[":
        return False
    head = src[pos : pos + 5].lower()
    if head.startswith(("[b]", "[i]")):
        letter = head[1]
        start = pos + 3
        end = _next_closing(state, f"[/{letter}]", start)
        if end < 0:
            return False
        if not silent:
            kind = "strong" if letter == "b" else "em"
            _inline_range(state, kind, kind, (start, end, end + 4))
        else:
            state.pos = end + 4
        return True
    if head == "[url=":
        m = _URL_TAG.match(src, pos, state.posMax)
        if m is None:
            return False
        href = state.md.normalizeLink(m.group(1))
        end = _next_closing(state, "[/url]", m.end())
        if end < 0 or not state.md.validateLink(href) or state.linkLevel > 0:
            return False
        if not silent:
            _inline_range(state, "link", "a", (m.end(), end, end + 6), href)
        else:
            state.pos = end + 6
        return True
    return False


def _keep_item_numbers(state: StateCore) -> None:
    """Give an ordered list item its typed number when it breaks the count ("5." after "2." stays 5).

    CommonMark numbers items from the list's start, so "see step 5" in mail text could point at an
    item shown as 3. Repeating one number ("1." on every item) is a Markdown habit: that still counts.
    """
    lists: list[list[int]] = []  # per open ordered list: [the next number, the last typed number]
    for token in state.tokens:
        if token.type == "ordered_list_open":
            start = int(str(token.attrGet("start") or 1))
            lists.append([start, start])
        elif token.type == "ordered_list_close":
            lists.pop()
        elif token.type == "list_item_open" and lists and token.info.isdigit():
            number = int(token.info)
            expected, last = lists[-1]
            if number not in (expected, last):
                token.attrSet("value", str(number))
                expected = number
            lists[-1] = [expected + 1, number]


@functools.cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": True, "breaks": True, "typographer": False})
    md.enable(["table", "strikethrough", "linkify"])
    md.disable(["heading", "lheading", "image", "entity"])
    md.linkify.set({"fuzzy_link": False})  # type: ignore[union-attr]
    md.validateLink = _validate_link  # type: ignore[method-assign]
    md.inline.ruler.before("link", "legacy_inline", _legacy_inline)
    md.core.ruler.after("block", "keep_item_numbers", _keep_item_numbers)
    return md

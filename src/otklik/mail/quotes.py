"""Split a mail's new text from the quoted history it carries, in plain text and in text made from HTML.

The split is a heuristic over lines: the first line that starts the quote block ("On ... wrote:",
"... пишет:", "-----Original Message-----", an Outlook "From:/Sent:/To:/Subject:" or "От:/Отправлено:/
Кому:/Тема:" block, an Outlook "____" separator, a trailing run of ">" lines, or an HTML quote container)
begins the history. Text is never dropped: what is not in the body is in the quote, and a split that would
leave an empty body is not made. HTML is first turned into text by `html_to_text`, which marks the start
of quote containers (gmail_quote, blockquote type=cite, divRplyFwdMsg, moz-cite-prefix...) on a line of
their own, so the same line-based splitter serves both kinds of mail.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html import unescape
from html.parser import HTMLParser
from itertools import accumulate
from operator import sub

import nh3

QUOTE_MARK = "\ue000"  # private use: the start of an HTML quote container
WEAK_MARK = "\ue001"  # a plain <blockquote>: history only when an attribution line precedes it
_MARKS = (QUOTE_MARK, WEAK_MARK)

_STRONG_CLASSES = {
    "gmail_quote",
    "gmail_quote_container",
    "moz-cite-prefix",
    "yahoo_quoted",
    "protonmail_quote",
}
_STRONG_IDS = {"divrplyfwdmsg", "x_divrplyfwdmsg", "olk_src_body_section", "stopspelling", "appendonsend"}
_SKIP = {"script", "style", "head", "title", "template", "noscript", "xml"}
_PARAGRAPH = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "table", "pre", "dl"}
_BLOCK = _PARAGRAPH | {
    "address", "article", "aside", "center", "dd", "div", "dt", "figcaption", "figure", "footer",
    "header", "hr", "li", "main", "nav", "section", "tbody", "thead", "tfoot", "tr", "caption",
}  # fmt: skip
_BLOCK_TAG = re.compile(
    r"<(/?)(?:div|blockquote|ul|ol|dl|li|table|section|article|aside|center|form|fieldset|nav|header|footer|"
    r"main|figure|details|address|menu|dir)\b",
    re.IGNORECASE,
)
_MAX_HTML_DEPTH = 200  # long Gmail threads nest about three levels per reply
_SPACE = re.compile(r"[ \t\r\n\f\u00a0]+")

_ATTRIBUTION = re.compile(
    r"(wrote|writes|schrieb|a écrit|escribió|scrisse|пишет|писал|писала|написал|написала|"
    r"писал\(а\)|написал\(а\))\s*:\s*$",
    re.IGNORECASE,
)
_ATTRIBUTION_HEAD = re.compile(r"^\s*((on|le|am|el|il|op|em)\s|\d{1,4}[./-]\d|\w{2,9},? \d)", re.IGNORECASE)
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(original message|исходное сообщение|ursprüngliche nachricht|message d'origine|"
    r"mensaje original|messaggio originale)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_FORWARD = re.compile(r"(forwarded message|пересылаемое сообщение|переслано|begin forwarded message)", re.I)
_LABEL = re.compile(
    r"^\s*\*?(from|sent|date|to|cc|bcc|subject|reply-to|от|отправлено|дата|кому|копия|тема|de|envoyé|"
    r"à|objet|von|gesendet|an|betreff)\s*\*?\s*:",
    re.IGNORECASE,
)
_FROM_LABELS = {"from", "от", "de", "von"}
_SEPARATOR = re.compile(r"^\s*_{30,}\s*$")
_QUOTED_LINE = re.compile(r"^ {0,3}>")
_MAX_ATTRIBUTION = 300
_MAX_SCAN = 20000  # lines searched for the start of the history; real replies start far earlier
_STRUCTURED_HTML = 128 * 1024  # HTML beyond this is turned into text by stripping tags (html.parser is slow)


class _TextBuilder(HTMLParser):
    """Collect readable text from (sanitised) HTML, marking where quote containers start."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.pre = 0
        self.links: list[tuple[str, int]] = []
        self.lists: list[int | None] = []  # None for <ul>, the next number for <ol>

    def tail(self) -> str:
        """Return the last character written, "\\n" at the very start."""
        for piece in reversed(self.out):
            if piece:
                return piece[-1]
        return "\n"

    def trim_line(self) -> None:
        """Drop the spaces that end the current line."""
        while self.out and self.out[-1].endswith(" "):
            self.out[-1] = self.out[-1].rstrip(" ")

    def newline(self, blank: bool = False) -> None:
        """End the current line (and leave an empty one when `blank`), without piling up empty lines."""
        self.trim_line()
        if self.tail() != "\n":
            self.out.append("\n")
        if blank and not "".join(self.out[-2:]).endswith("\n\n"):
            self.out.append("\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
            return
        values = {name: value or "" for name, value in attrs}
        mark = _quote_mark(tag, values)
        if mark:
            self.newline()
            self.out.append(mark + "\n")
        if tag == "br":
            self.trim_line()
            self.out.append("\n")
        elif tag in _BLOCK:
            self.newline(blank=tag in _PARAGRAPH)
        if tag in ("ul", "ol"):
            self.lists.append(1 if tag == "ol" else None)
        elif tag == "li":
            number = self.lists[-1] if self.lists else None
            self.out.append("- " if number is None else f"{number}. ")
            if number is not None:
                self.lists[-1] = number + 1
        elif tag == "pre":
            self.pre += 1
        elif tag == "a":
            self.links.append((values.get("href", ""), len(self.out)))
        elif tag == "img" and values.get("alt", "").strip():
            self.out.append(f"[{values['alt'].strip()}]")
        elif tag in ("td", "th") and self.tail() not in "\n ":
            self.out.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if tag == "a" and self.links:
            self.close_link(*self.links.pop())
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in _BLOCK:
            self.newline(blank=tag in _PARAGRAPH)

    def close_link(self, href: str, start: int) -> None:
        """Write the target after the link text, as "text (url)", unless the text already shows it."""
        shown = href[7:] if href.lower().startswith("mailto:") else href
        if not shown or not re.match(r"(?i)(https?|ftp|mailto):", href):
            return
        text = "".join(self.out[start:])
        if shown.lower().rstrip("/") not in text.lower():
            self.out.append(f" ({shown})" if text.strip() else shown)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre:
            self.out.append(data.replace("\u00a0", " "))
            return
        data = _SPACE.sub(" ", data)
        if self.tail() in "\n ":
            data = data.lstrip(" ")
        if data:
            self.out.append(data)


def _quote_mark(tag: str, attrs: dict[str, str]) -> str:
    """Return the mark an element starts (strong, weak or none), from the markers mail clients leave."""
    classes = set(attrs.get("class", "").lower().split())
    if classes & _STRONG_CLASSES or attrs.get("id", "").lower() in _STRONG_IDS:
        return QUOTE_MARK
    if tag == "blockquote":
        return QUOTE_MARK if attrs.get("type", "").lower() == "cite" else WEAK_MARK
    return ""


def html_to_text(html: str) -> str:
    """Turn HTML into readable text: paragraphs, line breaks, lists, links as "text (url)", quote marks."""
    builder = _TextBuilder()
    builder.feed(html)
    builder.close()
    return tidy("".join(builder.out))


def html_body_text(html: str) -> str:
    """Sanitise an HTML body, keeping the attributes quotes are told by, and turn it into marked text."""
    if not re.search(r"<[A-Za-z!/]", html):
        return tidy(unescape(html))  # plain text sent as text/html: its line breaks are meant
    if html_too_deep(html):
        return tidy(_strip_tags(html))
    cut = html.find("<", _STRUCTURED_HTML) if len(html) > _STRUCTURED_HTML else -1
    head, tail = (html[:cut], html[cut:]) if cut >= 0 else (html, "")
    clean = nh3.clean(
        head,
        attributes={"*": {"class", "id", "type"}, "a": {"href"}, "img": {"alt"}},
        clean_content_tags={"script", "style", "head", "title"},
    )
    try:
        text = html_to_text(clean)
    except Exception:  # html.parser has raised on odd markup before; stripped tags still read
        text = _strip_tags(clean)
    return tidy(text + "\n" + _strip_tags(tail)) if tail else text


def _strip_tags(html: str) -> str:
    """Turn HTML into text fast and crudely: block ends become line breaks, other tags vanish."""
    html = re.sub(r"(?is)<(script|style|title)\b.*?</\1\s*>|<!--.*?-->", "", html)
    html = re.sub(r"(?i)<(br|/p|/div|/tr|/li|/h\d|/blockquote|/table)\b[^>]*>", "\n", html)
    return unescape(re.sub(r"<[^>]*>", "", html))


@lru_cache(maxsize=4)
def html_too_deep(html: str) -> bool:
    """Say whether block elements nest too deep for the sanitiser (its time grows as depth squared)."""
    slashes = _BLOCK_TAG.findall(html)  # "" for an opening tag, "/" for a closing one
    if len(slashes) <= _MAX_HTML_DEPTH:
        return False
    levels = list(accumulate(-1 if slash else 1 for slash in slashes))
    # Depth is measured from the lowest level seen so far, so that stray closing tags cannot hide nesting.
    return max(map(sub, levels, accumulate(levels, min, initial=0))) > _MAX_HTML_DEPTH


def sanitise_html(html: str) -> str:
    """Sanitise HTML for display: no scripts, styles or handlers; remote images become links."""
    if html_too_deep(html):
        return ""
    schemes = set(nh3.ALLOWED_URL_SCHEMES) | {"cid"}
    clean = nh3.clean(html, clean_content_tags={"script", "style", "head", "title"}, url_schemes=schemes)
    return re.sub(r"<img\b[^>]*>", _image_to_link, clean)


def _image_to_link(match: re.Match[str]) -> str:
    """Keep cid: images; turn remote ones into links, so that opening a mail never calls its sender."""
    tag = match.group(0)
    source = re.search(r'\ssrc="([^"]*)"', tag)
    if not source or not source.group(1):
        return ""
    if source.group(1).lower().startswith("cid:"):
        return tag
    alt = re.search(r'\salt="([^"]*)"', tag)
    label = alt.group(1) if alt and alt.group(1).strip() else "image"
    return f'<a href="{source.group(1)}" rel="noopener noreferrer">[{label}]</a>'


def strip_marks(text: str) -> str:
    """Remove the quote marks `html_to_text` left in the text."""
    if not any(mark in text for mark in _MARKS):
        return text
    return tidy("\n".join(line for line in text.split("\n") if line.strip() not in _MARKS))


def tidy(text: str) -> str:
    """Normalise line ends, drop trailing blanks on lines, squeeze empty lines, trim the ends."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return text.strip("\n")


def split_quote(text: str) -> tuple[str, str]:
    """Split text (maybe with quote marks) into (new text, quoted history); the two together keep it all."""
    lines = tidy(text).split("\n")
    index = _quote_start(lines)
    if index is not None:
        body, quoted = lines[:index], lines[index:]
    else:
        index = _leading_quote_end(lines)
        if index is None:
            return strip_marks("\n".join(lines)), ""
        quoted, body = lines[:index], lines[index:]  # a bottom-posted reply: the history comes first
    body_text, quoted_text = strip_marks("\n".join(body)).strip(), strip_marks("\n".join(quoted)).strip()
    if not body_text or not quoted_text:
        return strip_marks("\n".join(lines)), ""
    return body_text, quoted_text


def _quote_start(lines: list[str]) -> int | None:
    """Return the index of the first line of the quoted history, or None."""
    for index, line in enumerate(lines[:_MAX_SCAN]):
        stripped = line.strip()
        if not stripped:
            continue
        start = _starts_quote(lines, index, stripped)
        if start is not None:
            return start if _has_text(lines[:start]) else None
    return _trailing_quote_start(lines)


def _starts_quote(lines: list[str], index: int, stripped: str) -> int | None:
    """Return where the quote begins if line `index` starts (or ends the attribution of) a quote block."""
    if stripped == QUOTE_MARK or _ORIGINAL.match(stripped):
        return index
    if stripped == WEAK_MARK:
        attribution = _text_line(lines, index, -1)
        if attribution is not None and _looks_like_attribution(lines[attribution]):
            return _attribution_start(lines, attribution)
        return None
    if len(stripped) <= _MAX_ATTRIBUTION:
        if _ATTRIBUTION.search(stripped):
            return _attribution_start(lines, index)
        following = lines[index + 1].strip() if index + 1 < len(lines) else ""
        if _ATTRIBUTION_HEAD.match(stripped) and _ATTRIBUTION.search(following):
            if len(stripped) + len(following) <= _MAX_ATTRIBUTION:
                return index
    if _SEPARATOR.match(stripped):
        following_index = _text_line(lines, index, 1)
        if following_index is not None and _LABEL.match(lines[following_index]):
            return index
    if _LABEL.match(stripped) and _is_header_block(lines, index):
        return index
    return None


def _is_header_block(lines: list[str], index: int) -> bool:
    """Say whether an Outlook-style block of "From:/Sent:/To:/Subject:" lines starts at `index`."""
    if index > 0 and _LABEL.match(lines[index - 1]):
        return False
    previous = _text_line(lines, index, -1)
    if previous is not None and _FORWARD.search(lines[previous]):
        return False  # a forwarded mail is the content, not history
    labels: set[str] = set()
    loose = 0
    for line in lines[index : index + 12]:
        match = _LABEL.match(line)
        if match:
            labels.add(match.group(1).lower())
            loose = 0
        elif not line.strip() or loose:
            break
        else:
            loose += 1  # a wrapped "To:" line
    return bool(labels & _FROM_LABELS) and len(labels) >= 3


def _attribution_start(lines: list[str], index: int) -> int:
    """Return where an attribution that ends on line `index` starts (it may be wrapped over two lines)."""
    if index == 0 or not lines[index - 1].strip():
        return index
    head = lines[index - 1].strip()
    if head.endswith((".", "!", "?")) or len(head) + len(lines[index]) > _MAX_ATTRIBUTION:
        return index
    if _ATTRIBUTION_HEAD.match(head) or head.endswith(("<", ",")):
        return index - 1
    return index


def _trailing_quote_start(lines: list[str]) -> int | None:
    """Return where a run of ">" lines that ends the text starts (with its attribution line), or None."""
    start = None
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index]
        if _QUOTED_LINE.match(line):
            start = index
        elif line.strip():
            break
    if start is None:
        return None
    attribution = _text_line(lines, start, -1)
    if attribution is not None and _looks_like_attribution(lines[attribution]):
        start = _attribution_start(lines, attribution)
    return start if _has_text(lines[:start]) else None


def _leading_quote_end(lines: list[str]) -> int | None:
    """Return where the reply starts after a leading attribution and ">" block (bottom posting), or None."""
    index = _text_line(lines, -1, 1)
    if index is None:
        return None
    if not _QUOTED_LINE.match(lines[index]):
        if not _looks_like_attribution(lines[index]) and not (
            _ATTRIBUTION_HEAD.match(lines[index])
            and _ATTRIBUTION.search("".join(lines[index + 1 : index + 2]))
        ):
            return None
        index = _text_line(lines, index + (0 if _ATTRIBUTION.search(lines[index]) else 1), 1)
        if index is None or not _QUOTED_LINE.match(lines[index]):
            return None
    while index < len(lines) and (_QUOTED_LINE.match(lines[index]) or not lines[index].strip()):
        index += 1
    rest = lines[index:]
    if not _has_text(rest) or any(_QUOTED_LINE.match(line) for line in rest):
        return None  # nothing after the quote, or answers interleaved with it: keep it whole
    return index


def _looks_like_attribution(line: str) -> bool:
    """Say whether a line reads like "On <date>, <name> wrote:" or "<date>, <name> <addr>:"."""
    stripped = line.strip()
    if not stripped.endswith(":") or len(stripped) > _MAX_ATTRIBUTION:
        return False
    return bool(_ATTRIBUTION.search(stripped) or "@" in stripped or re.search(r"\d", stripped))


def _text_line(lines: list[str], index: int, step: int) -> int | None:
    """Return the index of the nearest line with text before (step -1) or after (step 1) line `index`."""
    for other in range(index + step, -1 if step < 0 else len(lines), step):
        if lines[other].strip() and lines[other].strip() not in _MARKS:
            return other
    return None


def _has_text(lines: list[str]) -> bool:
    """Say whether any line holds something other than blanks and marks."""
    return any(line.strip() and line.strip() not in _MARKS for line in lines)

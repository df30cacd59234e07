"""Message markup (F-03): plain text with [b] [i] [code] [quote] [url] and bare links, always escaped.

Besides examples, a property test feeds random mixes of markup, HTML and links and parses the output
with the standard HTML parser: only the fixed set of elements may appear, no event handlers, and
every link is http(s) with rel=nofollow.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otklik.core.text import render_markup

ALLOWED_TAGS = {"strong", "em", "pre", "code", "blockquote", "a", "br"}


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> _Collect:
    parser = _Collect()
    parser.feed(html)
    parser.close()
    return parser


def links(html: str) -> list[dict[str, str | None]]:
    return [attrs for tag, attrs in parse(html).tags if tag == "a"]


def assert_safe(html: str) -> None:
    for tag, attrs in parse(html).tags:
        assert tag in ALLOWED_TAGS, f"unexpected <{tag}> in {html!r}"
        if tag == "a":
            assert set(attrs) == {"href", "rel", "target"}, attrs
            assert attrs["href"].lower().startswith(("http://", "https://")), attrs
            assert "nofollow" in attrs["rel"].split()
        else:
            assert attrs == {}, f"<{tag}> has attributes {attrs}"


# -- escaping ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">click</a>',
        "[b]<script>alert(1)</script>[/b]",
        "[code]<script>alert(1)</script>[/code]",
        "[quote]<iframe src=//evil.example>[/quote]",
        '"><svg/onload=alert(1)>',
    ],
)
def test_render_markup_html_escaped_script_never_survives(text):
    html = str(render_markup(text))
    assert (
        "<script" not in html.lower() and "<img" not in html and "<iframe" not in html and "<svg" not in html
    )
    assert_safe(html)


def test_render_markup_escaped_text_reads_back_as_typed():
    text = "if a < b && c > d then say \"hi\" & 'bye'"
    parsed = parse(str(render_markup(text)))
    assert "".join(parsed.text) == text and parsed.tags == []


def test_render_markup_none_and_empty_give_empty():
    assert str(render_markup("")) == "" and str(render_markup(None)) == ""


# -- the tags --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[b]bold[/b]", "<strong>bold</strong>"),
        ("[B]bold[/B]", "<strong>bold</strong>"),
        ("[i]italic[/i]", "<em>italic</em>"),
        ("[quote]said[/quote]", "<blockquote>said</blockquote>"),
        (
            "[quote][quote]inner[/quote] outer[/quote]",
            "<blockquote><blockquote>inner</blockquote> outer</blockquote>",
        ),
        ("[code]x = 1[/code]", "<pre><code>x = 1</code></pre>"),
    ],
)
def test_render_markup_tags_become_fixed_elements(text, expected):
    assert str(render_markup(text)) == expected


def test_render_markup_code_keeps_content_literal_and_newlines():
    html = str(render_markup("[code]a [b]not bold[/b]\nhttps://example.com\n<tag>[/code]"))
    assert html == "<pre><code>a [b]not bold[/b]\nhttps://example.com\n&lt;tag&gt;</code></pre>"


def test_render_markup_newlines_become_line_breaks_outside_code():
    assert str(render_markup("line 1\nline 2")) == "line 1<br>\nline 2"


def test_render_markup_unclosed_tag_left_as_text():
    html = str(render_markup("[b]never closed"))
    assert html == "[b]never closed"


# -- links -------------------------------------------------------------------------------------------------------
def test_render_markup_url_tag_becomes_nofollow_link():
    html = str(render_markup("[url=https://example.com/docs?a=1&b=2]the docs[/url]"))
    (attrs,) = links(html)
    assert attrs["href"] == "https://example.com/docs?a=1&b=2"
    assert set(attrs["rel"].split()) >= {"nofollow", "noopener", "noreferrer"}
    assert "the docs" in "".join(parse(html).text)


def test_render_markup_bare_link_trailing_punctuation_excluded():
    html = str(render_markup("See https://example.com/path. Or (http://example.org/x), ok?"))
    assert [a["href"] for a in links(html)] == ["https://example.com/path", "http://example.org/x"]
    assert_safe(html)


def test_render_markup_bare_link_inside_url_tag_label_not_doubled():
    html = str(render_markup("[url=https://a.example]https://b.example[/url]"))
    assert [a["href"] for a in links(html)] == ["https://a.example"]


@pytest.mark.parametrize(
    "text",
    [
        "[url=javascript:alert(1)]click[/url]",
        "[url=JavaScript:alert(1)]click[/url]",
        "[url= javascript:alert(1)]click[/url]",
        "[url=data:text/html;base64,PHNjcmlwdD4=]click[/url]",
        "[url=vbscript:msgbox(1)]click[/url]",
        "javascript:alert(1)",
        "[url=//evil.example]click[/url]",
    ],
)
def test_render_markup_non_http_urls_never_become_links(text):
    html = str(render_markup(text))
    assert links(html) == []
    assert_safe(html)


@pytest.mark.parametrize(
    "text",
    [
        '[url=https://a.example/" onmouseover="alert(1)]x[/url]',
        'https://a.example/"onmouseover="alert(1)',
        "https://a.example/'onmouseover='alert(1)",
        '[url=https://a.example]x[/url][url=https://b.example/"><script>]y[/url]',
    ],
)
def test_render_markup_quotes_in_urls_cannot_break_out_of_href(text):
    html = str(render_markup(text))
    assert_safe(html)
    for attrs in links(html):
        assert "onmouseover" not in attrs or attrs.get("onmouseover") is None


# -- property: whatever the input, the output is a fixed safe subset ------------------------------------------------
TOKENS = st.sampled_from(
    [
        "[b]",
        "[/b]",
        "[i]",
        "[/i]",
        "[code]",
        "[/code]",
        "[quote]",
        "[/quote]",
        "[url=",
        "[/url]",
        "]",
        "https://example.com/",
        "http://x.example/a?b=1&c=2",
        "javascript:alert(1)",
        "<script>",
        "</script>",
        "<a href=",
        '"',
        "'",
        "=",
        " ",
        "\n",
        "&amp;",
        "&lt;",
        "onerror=",
        "<img src=x ",
        ">",
        "(",
        ")",
        ".",
        "ошибка",
        "text",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(TOKENS, max_size=30).map("".join))
def test_render_markup_random_mixtures_stay_safe(text):
    assert_safe(str(render_markup(text)))


# -- input containing our placeholder characters ----------------------------------------------------------------
@pytest.mark.parametrize("text", ["a\x017\x01b", "a\x003\x00b"])
def test_render_markup_control_character_placeholders_in_input_do_not_crash(text):
    html = str(render_markup(text))
    assert "a" in html and "b" in html


def test_render_markup_bare_link_stops_before_escaped_angle_bracket():
    html = str(render_markup("see https://example.com/x<script>"))
    assert 'href="https://example.com/x"' in html
    assert "&lt;script&gt;" in html

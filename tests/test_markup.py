"""Message markup (issue 17): Markdown (CommonMark) sanitised with nh3; the old [b] [i] [code] [quote] [url].

Besides examples, a property test feeds random mixes of Markdown, old tags, HTML and links and parses the
output with the standard HTML parser: only the allowed elements may appear, no event handlers, and every
link is http(s) or mailto, opens in a new tab with rel=nofollow.
"""

from __future__ import annotations

import time
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otklik.core.text import RENDER_MAX, legacy_blocks, markdown_link, render_markup

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "s", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"ol": {"start"}, "li": {"value"}, "th": {"style"}, "td": {"style"}}


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


def tags(html: str) -> list[str]:
    return [tag for tag, _attrs in parse(html).tags]


def text_of(html: str) -> str:
    return "".join(parse(html).text)


def render(text: str) -> str:
    return str(render_markup(text))


def assert_safe(html: str) -> None:
    for tag, attrs in parse(html).tags:
        assert tag in ALLOWED_TAGS, f"unexpected <{tag}> in {html!r}"
        if tag == "a":
            assert set(attrs) == {"href", "rel", "target"}, attrs
            assert attrs["href"].lower().startswith(("http://", "https://", "mailto:")), attrs
            assert set(attrs["rel"].split()) == {"nofollow", "noopener", "noreferrer"}
            assert attrs["target"] == "_blank"
        else:
            assert set(attrs) <= ALLOWED_ATTRIBUTES.get(tag, set()), f"<{tag}> has attributes {attrs}"
            if "style" in attrs:
                assert attrs["style"].startswith("text-align:"), attrs


# -- escaping and XSS ----------------------------------------------------------------------------------------
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
        "**<script>alert(1)</script>**",
        "> <style>body{display:none}</style>",
        "```\n</code></pre><script>alert(1)</script>\n```",
        "`<img src=x onerror=alert(1)>`",
        "[<img src=x onerror=alert(1)>](https://example.com)",
        '[x](https://example.com "<script>alert(1)</script>")',
        '[x](https://example.com "a\\" onmouseover=\\"alert(1)")',
        "<!-- <script>alert(1)</script> -->",
    ],
)
def test_render_markup_html_escaped_script_never_survives(text):
    html = render(text)
    assert not {"script", "img", "iframe", "svg", "style"} & set(tags(html))
    assert "<script" not in html.lower()
    assert_safe(html)


def test_render_markup_raw_html_shows_as_typed_text():
    html = render("<img src=x onerror=alert(1)> and <b>bold?</b>")
    assert text_of(html) == "<img src=x onerror=alert(1)> and <b>bold?</b>"
    assert tags(html) == ["p"]


def test_render_markup_escaped_text_reads_back_as_typed():
    text = "if a < b && c > d then say \"hi\" & 'bye'"
    html = render(text)
    assert text_of(html) == text and tags(html) == ["p"]


def test_render_markup_entity_references_stay_as_typed():
    # A customer explaining HTML means the eight characters, not the letter they stand for.
    html = render("in HTML it is &oslash; or &#248;")
    assert text_of(html) == "in HTML it is &oslash; or &#248;"


def test_render_markup_none_and_empty_give_empty():
    assert render("") == "" and render(None) == "" and render("  \n ") == ""


@pytest.mark.parametrize(
    "text",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](  javascript:alert(1)  )",
        "[x](<javascript:alert(1)>)",
        "[x](java\tscript:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](vbscript:msgbox(1))",
        "[x](file:///etc/passwd)",
        "[x](//evil.example/)",
        "[x](/admin/)",
        "<javascript:alert(1)>",
        "<data:text/html,<script>alert(1)</script>>",
        "[x]\n\n[x]: javascript:alert(1)",
        "![x](javascript:alert(1))",
        "ftp://files.example/x and //evil.example/y",
        "[url=javascript:alert(1)]click[/url]",
        "[url=JavaScript:alert(1)]click[/url]",
        "[url= javascript:alert(1)]click[/url]",
        "[url=data:text/html;base64,PHNjcmlwdD4=]click[/url]",
        "[url=vbscript:msgbox(1)]click[/url]",
        "javascript:alert(1)",
        "[url=//evil.example]click[/url]",
    ],
)
def test_render_markup_non_web_urls_never_become_links(text):
    html = render(text)
    assert links(html) == []
    assert_safe(html)


@pytest.mark.parametrize(
    "text",
    [
        '[url=https://a.example/" onmouseover="alert(1)]x[/url]',
        'https://a.example/"onmouseover="alert(1)',
        "https://a.example/'onmouseover='alert(1)",
        '[url=https://a.example]x[/url][url=https://b.example/"><script>]y[/url]',
        '[x](https://a.example/"onmouseover="alert(1))',
        '<https://a.example/"onmouseover="alert(1)>',
    ],
)
def test_render_markup_quotes_in_urls_cannot_break_out_of_href(text):
    html = render(text)
    assert_safe(html)
    assert "onmouseover" not in {key for _tag, attrs in parse(html).tags for key in attrs}


def test_render_markup_images_become_links_not_images():
    # A remote picture would load from a third party whenever the ticket is opened.
    html = render("![screenshot](https://tracker.example/pixel.png)")
    assert "img" not in tags(html)
    assert [a["href"] for a in links(html)] == ["https://tracker.example/pixel.png"]
    assert text_of(html) == "!screenshot"


# -- Markdown ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("**bold** and *italic*", "<p><strong>bold</strong> and <em>italic</em></p>"),
        ("__bold__ and _italic_", "<p><strong>bold</strong> and <em>italic</em></p>"),
        ("~~gone~~", "<p><s>gone</s></p>"),
        ("run `ls -la <dir>`", "<p>run <code>ls -la &lt;dir&gt;</code></p>"),
        ("```\nx = 1\n```", "<pre><code>x = 1\n</code></pre>"),
        ("```python\nx = 1\n```", "<pre><code>x = 1\n</code></pre>"),
        ("> said", "<blockquote>\n<p>said</p>\n</blockquote>"),
        ("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),
        ("1. one\n2. two", "<ol>\n<li>one</li>\n<li>two</li>\n</ol>"),
        ("3. three\n4. four", '<ol start="3">\n<li>three</li>\n<li>four</li>\n</ol>'),
        ("a\n\n---\n\nb", "<p>a</p>\n<hr>\n<p>b</p>"),
        ("snake_case_name", "<p>snake_case_name</p>"),
    ],
)
def test_render_markup_markdown_features(text, expected):
    assert render(text) == expected


def test_render_markup_markdown_link_opens_in_new_tab_nofollow():
    html = render("see [the docs](https://example.com/docs?a=1&b=2)")
    (attrs,) = links(html)
    assert attrs["href"] == "https://example.com/docs?a=1&b=2" and attrs["target"] == "_blank"
    assert set(attrs["rel"].split()) == {"nofollow", "noopener", "noreferrer"}
    assert_safe(html)


def test_render_markup_table_keeps_alignment_only():
    html = render("| name | sum |\n|:--|--:|\n| a | 1 |")
    assert tags(html) == ["table", "thead", "tr", "th", "th", "tbody", "tr", "td", "td"]
    assert 'style="text-align:right"' in html
    assert_safe(html)


def test_render_markup_hash_lines_and_underlines_stay_text():
    # Headings are off: "# " in mail text is a root prompt or a note, not a page title.
    html = render("# systemctl restart nginx\nTitle\n=====")
    assert not {"h1", "h2"} & set(tags(html))
    assert text_of(html) == "# systemctl restart nginx\nTitle\n====="


def test_render_markup_item_number_that_breaks_the_count_is_kept():
    html = render("1. Open the settings\n2. Save\n\n5. Restart")
    assert '<li value="5">' in html and text_of(html).count("Restart") == 1


def test_render_markup_repeated_item_number_still_counts():
    html = render("1. a\n1. b\n1. c")
    assert "value=" not in html and tags(html) == ["ol", "li", "li", "li"]


# -- line breaks ------------------------------------------------------------------------------------------------
def test_render_markup_newlines_become_line_breaks():
    assert render("line 1\nline 2") == "<p>line 1<br>\nline 2</p>"


def test_render_markup_blank_line_starts_a_paragraph():
    assert render("one\n\ntwo") == "<p>one</p>\n<p>two</p>"


# -- plain mail text -------------------------------------------------------------------------------------------
MAIL_REPLY = """\
At 14:56 02.06.2003 -0400, you wrote:
>> This patch didn't help us out.
>> All Norwegian letters are converted to strange letters
>
>I'd love it too. I just can't find it.

Hello again,

Thanks for your fast reply!
If you want it in HTML it will be &oslash; &aring; and &aelig;

--\u0020
Håvard
"""


def test_render_markup_mail_reply_quotes_nest_and_text_stays():
    html = render(MAIL_REPLY)
    assert tags(html)[:3] == ["p", "blockquote", "blockquote"]
    text = text_of(html)
    assert "This patch didn't help us out." in text and "I'd love it too." in text
    assert "&oslash; &aring; and &aelig;" in text
    assert "--\nHåvard" in text
    assert_safe(html)


MAIL_PLAIN = """\
Добрый день!

После обновления не открывается сайт. Делали так:
1. Зашли на сервер
2. Выполнили команды:

# apt-get update
# systemctl restart nginx

Ошибка в логе:
    2024/03/01 10:00:01 [error] 1234#0: *1 connect() failed (111: Connection refused)
    upstream: "http://127.0.0.1:8080/"

-----Original Message-----
From: Поддержка <support@example.com>
Sent: Monday, March 1, 2024
----
С уважением,
Иван Петров
+7 (495) 123-45-67
"""


def test_render_markup_plain_mail_text_is_not_mangled():
    html = render(MAIL_PLAIN)
    text = text_of(html)
    for line in (
        "# apt-get update",
        "# systemctl restart nginx",
        "-----Original Message-----",
        "+7 (495) 123-45-67",
        "[error] 1234#0: *1 connect() failed (111: Connection refused)",
        'upstream: "http://127.0.0.1:8080/"',
    ):
        assert line in text, line
    assert not {"h1", "h2", "h3"} & set(tags(html))
    assert "<ol>\n<li>Зашли на сервер</li>" in html
    # The log right under its line joins that paragraph, a line each; "----" is a rule.
    assert "Ошибка в логе:<br>\n2024/03/01" in html and "<hr>" in html
    assert [a["href"] for a in links(html)] == ["http://127.0.0.1:8080/", "mailto:support@example.com"]
    assert_safe(html)


def test_render_markup_indented_block_after_empty_line_is_code():
    html = render("The log:\n\n    line *one*\n      line [two]\n\nThanks")
    assert html == "<p>The log:</p>\n<pre><code>line *one*\n  line [two]\n</code></pre>\n<p>Thanks</p>"


# -- links -------------------------------------------------------------------------------------------------------
def test_render_markup_bare_link_trailing_punctuation_excluded():
    html = render("See https://example.com/path. Or (http://example.org/x), ok?")
    assert [a["href"] for a in links(html)] == ["https://example.com/path", "http://example.org/x"]
    assert_safe(html)


def test_render_markup_bare_email_address_becomes_mail_link():
    assert [a["href"] for a in links(render("write to help@example.com"))] == ["mailto:help@example.com"]


def test_render_markup_bare_domain_and_file_names_are_not_links():
    assert links(render("open readme.md or settings.py on www.example.com")) == []


def test_render_markup_bare_link_stops_before_angle_bracket():
    html = render("see https://example.com/x<script>")
    assert [a["href"] for a in links(html)] == ["https://example.com/x"]
    assert "&lt;script&gt;" in html


def test_markdown_link_title_with_brackets_and_stars_reads_literally():
    link = markdown_link("Оплата [картой] *быстро* (1) \\ `x`", "https://help.example/kb/articles/a(b)/")
    html = render(link)
    (attrs,) = links(html)
    assert attrs["href"] == "https://help.example/kb/articles/a%28b%29/"
    assert text_of(html) == "Оплата [картой] *быстро* (1) \\ `x`"
    assert tags(html) == ["p", "a"]


# -- legacy tags ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[b]bold[/b]", "<p><strong>bold</strong></p>"),
        ("[B]bold[/B]", "<p><strong>bold</strong></p>"),
        ("[i]italic[/i]", "<p><em>italic</em></p>"),
        ("[b]a [i]b[/i][/b]", "<p><strong>a <em>b</em></strong></p>"),
        ("[quote]said[/quote]", "<blockquote>\n<p>said</p>\n</blockquote>"),
        (
            "[quote][quote]inner[/quote] outer[/quote]",
            "<blockquote>\n<blockquote>\n<p>inner</p>\n</blockquote>\n<p>outer</p>\n</blockquote>",
        ),
        ("[code]x = 1[/code]", "<pre><code>x = 1\n</code></pre>"),
        ("[b]never closed", "<p>[b]never closed</p>"),
        ("[quote]never closed", "<p>[quote]never closed</p>"),
        ("closed [/quote] only", "<p>closed [/quote] only</p>"),
    ],
)
def test_render_markup_legacy_tags_render_as_before(text, expected):
    assert render(text) == expected


def test_render_markup_legacy_code_keeps_content_literal_and_newlines():
    html = render("[code]a [b]not bold[/b] **nor this**\nhttps://example.com\n<tag>\n```[/code]")
    assert html == (
        "<pre><code>a [b]not bold[/b] **nor this**\nhttps://example.com\n&lt;tag&gt;\n```\n</code></pre>"
    )


def test_render_markup_legacy_quote_inside_a_line_of_text():
    html = render("He wrote:[quote]it fails[/quote]and then left.")
    assert tags(html) == ["p", "blockquote", "p", "p"]
    assert text_of(html).split() == ["He", "wrote:", "it", "fails", "and", "then", "left."]


def test_render_markup_legacy_quote_keeps_line_breaks_inside():
    html = render("[quote]line 1\nline 2[/quote]\nmy answer")
    assert html == "<blockquote>\n<p>line 1<br>\nline 2</p>\n</blockquote>\n<p>my answer</p>"


def test_render_markup_legacy_tags_inside_code_span_stay_literal():
    assert render("type `[b]x[/b]` for bold") == "<p>type <code>[b]x[/b]</code> for bold</p>"


def test_render_markup_legacy_url_tag_becomes_nofollow_link():
    html = render("[url=https://example.com/docs?a=1&b=2]the docs[/url]")
    (attrs,) = links(html)
    assert attrs["href"] == "https://example.com/docs?a=1&b=2"
    assert set(attrs["rel"].split()) >= {"nofollow", "noopener", "noreferrer"}
    assert text_of(html) == "the docs"


def test_render_markup_bare_link_inside_url_tag_label_not_doubled():
    html = render("[url=https://a.example]https://b.example[/url]")
    assert [a["href"] for a in links(html)] == ["https://a.example"]


def test_render_markup_quoted_old_message_nests_its_legacy_quote():
    # The answer box quotes a message by putting "> " before each of its lines, [quote] tags and all.
    html = render("> [quote]the first question\n> more of it[/quote]\n> the old answer\n\nmy answer")
    assert tags(html) == ["blockquote", "blockquote", "p", "br", "p", "p"]
    assert "the first question\nmore of it" in text_of(html)
    assert html.endswith("<p>my answer</p>")


def test_render_markup_quoted_old_message_keeps_its_legacy_code():
    html = render("> [code]line 1\n> line 2[/code]\n> after")
    assert html == "<blockquote>\n<pre><code>line 1\nline 2\n</code></pre>\n<p>after</p>\n</blockquote>"


def test_legacy_blocks_nesting_is_bounded():
    deep = "[quote]" * 50 + "x" + "[/quote]" * 50
    converted = legacy_blocks(deep)
    assert max(len(line) - len(line.lstrip(">")) for line in converted.splitlines()) == 10
    assert "[quote]" not in converted and "x" in converted


def test_legacy_blocks_text_without_tags_unchanged():
    text = "no tags [here] or [b]there[/b]"
    assert legacy_blocks(text) is text


# -- cost ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        ">" * 10_000,
        "> " * 5_000 + "x",
        "*" * 10_000,
        "a*" * 5_000,
        "_" * 10_000,
        "[" * 10_000,
        "[a](" * 2_500,
        "`" * 10_000,
        "- " * 5_000,
        "|" * 10_000,
        "<" * 10_000,
        "[quote]" * 700 + "x" + "[/quote]" * 700,
        "[b]" * 3_000 + "[/b]",
        "[b][i]" * 800 + "x" + "[/i][/b]" * 800,
        "[code]`[/code]" * 700,
        "[url=https://a.example/]" * 500 + "[/url]",
        ("> " * 30 + "[quote]\n") * 200 + "[/quote]" * 200,
    ],
    ids=lambda text: repr(text[:16]),
)
def test_render_markup_pathological_input_renders_quickly(text):
    started = time.perf_counter()
    html = render(text)
    assert time.perf_counter() - started < 1.0
    assert_safe(html)


def test_render_markup_text_past_the_limit_is_cut_with_a_note():
    html = render("word " * (RENDER_MAX // 5) + "TAIL")
    assert "TAIL" not in html and 'class="muted"' in html


# -- property: whatever the input, the output is a fixed safe subset ------------------------------------------------
TOKENS = st.sampled_from(
    [
        "[b]", "[/b]", "[i]", "[/i]", "[code]", "[/code]", "[quote]", "[/quote]", "[url=", "[/url]",
        "[", "]", "(", ")", "![", "](", "<", ">", "> ", "`", "```", "*", "**", "_", "~~", "|", "---",
        "- ", "1. ", "# ", "    ", "\n", "\n\n", "https://example.com/", "http://x.example/a?b=1&c=2",
        "mailto:a@b.example", "a@b.example", "javascript:alert(1)", "data:text/html,x", "//evil.example",
        "<script>", "</script>", "<a href=", "<img src=x ", "onerror=", '"', "'", "=", " ", "&amp;",
        "&lt;", "&#x3C;", "\\", ".", "ошибка", "text",
    ]
)  # fmt: skip


@pytest.mark.parametrize("text", ["![]()", "[x]()", "[x](javascript:alert(1))", "![a](//evil.example/p.png)"])
def test_render_markup_link_without_an_allowed_address_is_plain_text(text):
    html = render(text)
    assert "<a " not in html or "href=" in html
    assert_safe(html)


@settings(max_examples=400, deadline=None)
@given(st.lists(TOKENS, max_size=30).map("".join))
def test_render_markup_random_mixtures_stay_safe(text):
    assert_safe(render(text))


@pytest.mark.parametrize("text", ["a\x017\x01b", "a\x003\x00b", "a\x02b\x03c"])
def test_render_markup_control_characters_in_input_do_not_crash(text):
    html = render(text)
    assert "a" in html and "b" in html

"""Tests of the pure inbound-mail parser (F-15): synthetic cases, corpus pins, the whole corpus, fuzzing.

The corpus (/work/shared/corpus/mail, see its README) holds 421 real messages from other projects' test
suites. Decision on files that are not mails: bytes without a header block (the tnefparse/*.tnef blobs,
the talon HTML fragments, and two header-less bodies: cpython/msg_19.txt, rt/emails/lorem-ipsum) raise
MailParseError, so the ingest quarantines them with the reason; every other file parses.
"""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otklik.mail.charsets import guess_single_byte
from otklik.mail.parsing import MailParseError, ParsedMail, mail_parse, message_ids_in, normalise_message_id
from otklik.mail.quotes import html_body_text, split_quote

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "mail"
NOT_MAILS = {"cpython/msg_19.txt", "rt/emails/lorem-ipsum"}  # plus every tnef-blob and fragment:html file
FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def require_corpus() -> None:
    """Skip loudly without the corpus, but fail in CI, where it must be present."""
    if (CORPUS / "INDEX.tsv").is_file():
        return
    message = f"MAIL CORPUS MISSING at {CORPUS}: corpus tests of the mail parser did NOT run"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def corpus_bytes(path: str) -> bytes:
    """Return a corpus file's bytes."""
    require_corpus()
    return (CORPUS / path).read_bytes()


def corpus_index() -> list[tuple[str, str, str]]:
    """Return (path, source, category) for every corpus file listed in INDEX.tsv."""
    require_corpus()
    lines = (CORPUS / "INDEX.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return [tuple(line.split("\t")[:3]) for line in lines if line.strip()]


def mail(*headers: str, body: str | bytes = "Hello\r\n") -> bytes:
    """Build raw mail bytes with CRLF line ends: header lines, a blank line, the body."""
    head = "\r\n".join(headers).encode("utf-8") + b"\r\n\r\n"
    return head + (
        body.replace("\r\n", "\n").replace("\n", "\r\n").encode() if isinstance(body, str) else body
    )


def b64word(text: str, charset: str) -> str:
    """Return an RFC 2047 "B" encoded word."""
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


def qword(text: str, charset: str) -> str:
    """Return an RFC 2047 "Q" encoded word."""
    encoded = "".join(chr(b) if b < 128 and chr(b).isalnum() else f"={b:02X}" for b in text.encode(charset))
    return f"=?{charset}?Q?{encoded}?="


# --- addresses, ids, dates -------------------------------------------------------------------------------

SENDERS = [
    (["From: Anna <Anna@Example.COM>"], "anna@example.com", "Anna"),
    (
        ["From: Anna <anna@example.com>", "Reply-To: Help Desk <help@example.com>"],
        "help@example.com",
        "Help Desk",
    ),
    (["From: Anna <anna@example.com>", 'Reply-To: "Nobody" <>'], "anna@example.com", "Anna"),
    (["From: Anna <anna@example.com>", "Reply-To: not an address"], "anna@example.com", "Anna"),
    (["From: foo"], "", ""),
    (["Subject: no sender at all"], "", ""),
    (['From: "Doe, John" <john@example.com>'], "john@example.com", "Doe, John"),
    ([f"From: {b64word('Иван Петров', 'utf-8')} <ivan@example.ru>"], "ivan@example.ru", "Иван Петров"),
    (["From: ivan@example.ru (Ivan, the admin)"], "ivan@example.ru", "Ivan, the admin"),
    (["From: Big Bug bb@bug.com"], "bb@bug.com", ""),
    (["From: a@example.com, b@example.com"], "a@example.com", ""),
]


@pytest.mark.parametrize(("headers", "address", "name"), SENDERS)
def test_sender_is_reply_to_when_usable_else_from(headers, address, name):
    parsed = mail_parse(mail(*headers))
    assert (parsed.sender_address, parsed.sender_name) == (address, name)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("Return-Path: <>", ""),
        ("Return-Path: < >", ""),
        ("Return-Path: <Bounce@X.org>", "bounce@x.org"),
    ],
)
def test_return_path(header, expected):
    parsed = mail_parse(mail("From: a@example.com", *([header] if header else [])))
    assert parsed.return_path == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<abc@example.com>", "abc@example.com"),
        ("  <abc@example.com>  ", "abc@example.com"),
        ("abc@example.com", "abc@example.com"),
        ("<abc\r\n @example.com>", "abc@example.com"),
        ("<cut.off@exam", "cut.off@exam"),
        ("<>", ""),
        ("", ""),
    ],
)
def test_normalise_message_id(value, expected):
    assert normalise_message_id(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<a@x> <b@x>\r\n\t<c@x>", ("a@x", "b@x", "c@x")),
        ("<a@x><b@x>", ("a@x", "b@x")),
        ("a@x b@x", ("a@x", "b@x")),
        ("<a@x> <a@x>", ("a@x",)),
        ("<a@x> (a comment) <b @x>", ("a@x", "b@x")),
        ("garbage", ()),
        ("", ()),
    ],
)
def test_message_ids_in(value, expected):
    assert message_ids_in(value) == expected


def test_ids_from_folded_headers():
    parsed = mail_parse(
        mail(
            "From: a@example.com",
            "Message-ID:\r\n <folded.id@example.com>",
            "In-Reply-To: parent@example.com",
            "References: <root@example.com>\r\n <parent@example.com>",
        )
    )
    assert parsed.message_id == "folded.id@example.com"
    assert parsed.in_reply_to == ("parent@example.com",)
    assert parsed.references == ("root@example.com", "parent@example.com")


@pytest.mark.parametrize(
    ("header", "iso"),
    [
        ("Date: Tue, 12 Mar 2024 10:15:00 +0300", "2024-03-12T10:15:00+03:00"),
        ("Date: Tue, 12 Mar 2024 10:15:00 -0000", "2024-03-12T10:15:00+00:00"),
        ("Date: yesterday-ish", None),
        ("Date: Pn, 32 paX 2004 99:99:99 +9999", None),
    ],
)
def test_date_is_aware_or_none(header, iso):
    parsed = mail_parse(mail("From: a@example.com", header))
    assert (parsed.date.isoformat() if parsed.date else None) == iso


# --- subjects and charsets -------------------------------------------------------------------------------

SUBJECTS = [
    (b64word("Не работает почта", "utf-8"), "Не работает почта"),
    (qword("Не работает почта", "koi8-r"), "Не работает почта"),
    (b64word("Счёт на оплату", "windows-1251"), "Счёт на оплату"),
    # A character split over two words, with the folding between them removed.
    ("Re: =?utf-8?q?=D0=9F=D1=80=D0?=\r\n =?utf-8?q?=B8=D0=B2=D0=B5=D1=82?= all", "Re: Привет all"),
    (f"{b64word('Заявка', 'koi8-r')} {qword('№15', 'windows-1251')} (urgent)", "Заявка№15 (urgent)"),
    ("=?x-foo?q?abc?=", "abc"),
    (b64word("한국어 제목", "cp949").replace("cp949", "ks_c_5601-1987"), "한국어 제목"),
    ("A\r\n   folded\t  subject ", "A folded subject"),
]


@pytest.mark.parametrize(("header", "expected"), SUBJECTS)
def test_subject_encoded_words(header, expected):
    assert mail_parse(mail("From: a@example.com", f"Subject: {header}")).subject == expected


def test_unknown_charset_is_a_defect():
    parsed = mail_parse(mail("From: a@example.com", "Subject: =?x-foo?q?abc?="))
    assert "unknown charset x-foo (subject)" in parsed.defects


@pytest.mark.parametrize(("codec", "text"), [("koi8-r", "Сломался принтер"), ("cp1251", "Сломался принтер")])
def test_raw_8bit_subject_and_body_are_guessed(codec, text):
    raw = (
        b"From: a@example.com\r\nSubject: "
        + text.encode(codec)
        + b"\r\n\r\n"
        + f"{text}, помогите.".encode(codec)
    )
    parsed = mail_parse(raw)
    assert parsed.subject == text
    assert parsed.text == f"{text}, помогите."
    assert f"charset guessed: {codec} (subject)" in parsed.defects


GUESSES = [
    "Привет, как дела? Это проверка связи.",
    "Не работает принтер в бухгалтерии",
    "ВНИМАНИЕ",
    "СРОЧНО: ПРОВЕРИТЬ СЕРВЕР",
    "ДОБРЫЙ ДЕНЬ",
    "Счёт",
    "Ключ",
    "Re: Ошибка при входе в систему",
]


@pytest.mark.parametrize("codec", ["cp1251", "koi8-r"])
@pytest.mark.parametrize("text", GUESSES)
def test_cyrillic_guess(text, codec):
    assert guess_single_byte(text.encode(codec)) == codec


@pytest.mark.parametrize("text", ["café", "Grüße aus München", "naïve résumé", "São Paulo"])
def test_western_text_is_not_taken_for_cyrillic(text):
    assert guess_single_byte(text.encode("latin-1")) == "cp1252"


def test_declared_utf8_that_is_cp1251_is_guessed():
    raw = mail(
        "From: a@example.com", "Content-Type: text/plain; charset=utf-8", body="Добрый день".encode("cp1251")
    )
    assert mail_parse(raw).text == "Добрый день"


# --- loop protection ---------------------------------------------------------------------------------------

AUTOMATIC = [
    ([], "", ""),
    (["Auto-Submitted: auto-replied"], "", "auto-submitted"),
    (["Auto-Submitted: no"], "", ""),
    (["Auto-Submitted: auto-generated (monitor)"], "", "auto-submitted"),
    (["Subject: Automatic reply: Out of office"], "", "auto-submitted"),
    (["Subject: Автоответ: в отпуске до 20 мая"], "", "auto-submitted"),
    (["Precedence: bulk"], "", "precedence"),
    (["Precedence: junk"], "", "precedence"),
    (["X-Auto-Response-Suppress: All"], "", "auto-response-suppress"),
    (["X-Auto-Response-Suppress: OOF, AutoReply"], "", "auto-response-suppress"),
    (["X-Auto-Response-Suppress: DR, RN, NRN"], "", ""),
    (["Return-Path: <>"], "", "null-sender"),
    (["Return-Path: <>", "Auto-Submitted: auto-replied", "Subject: Out of office"], "", "auto-submitted"),
    (["Return-Path: <>"], "Remote server said: 550 5.1.1 mailbox unavailable", "bounce"),
    (["List-Id: <support.lists.example.com>"], "", "list"),
    (["List-Unsubscribe: <mailto:leave@example.com>"], "", "list"),
    (["Subject: My parcel was not delivered"], "Where is it?", ""),
    (["Subject: Undeliverable: hello", "Return-Path: <>"], "", "bounce"),
    (["Subject: Delivery failure"], "550 5.1.1 <x@example.com>: user unknown", "bounce"),
]


@pytest.mark.parametrize(("headers", "body", "expected"), AUTOMATIC)
def test_automatic(headers, body, expected):
    sender = [] if any(h.startswith("From:") for h in headers) else ["From: Anna <anna@example.com>"]
    assert mail_parse(mail(*sender, *headers, body=body or "Hello")).automatic == expected


def test_mailer_daemon_and_dsn_are_bounces():
    assert mail_parse(mail("From: MAILER-DAEMON@mx.example.com", "Subject: hi")).automatic == "bounce"
    report = mail(
        "From: Mail System <system@mx.example.com>",
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
        body="--b\nContent-Type: text/plain\n\nSorry.\n--b\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.example.com\n\nFinal-Recipient: rfc822; x@example.com\nAction: failed\n--b--\n",
    )
    parsed = mail_parse(report)
    assert parsed.automatic == "bounce" and parsed.text == "Sorry."
    assert parsed.attachments[0].content_type == "message/delivery-status"


# --- bodies, HTML, attachments -----------------------------------------------------------------------------


def test_html_only_mail_is_sanitised_and_turned_into_text():
    html = (
        "<html><head><title>T</title><style>p{color:red}</style><script>alert('x')</script></head>"
        '<body><p onclick="steal()">Hello <b>world</b></p><p>See <a href="https://example.com/kb">the article</a>'
        '<br>or <a href="javascript:steal()">this</a></p><ul><li>one</li><li>two</li></ul>'
        '<img src="https://tracker.example.com/p.gif" alt="logo" onerror="steal()"></body></html>'
    )
    parsed = mail_parse(mail("From: a@example.com", "Content-Type: text/html; charset=utf-8", body=html))
    for forbidden in ("<script", "alert", "onclick", "onerror", "javascript:", "<style", "steal"):
        assert forbidden not in parsed.html
    assert "<img" not in parsed.html and 'href="https://tracker.example.com/p.gif"' in parsed.html
    assert parsed.text == (
        "Hello world\n\nSee the article (https://example.com/kb)\nor this\n\n- one\n- two\n\n[logo]"
    )
    assert "alert" not in parsed.text and "color" not in parsed.text


def test_plain_text_labelled_html_keeps_its_lines():
    raw = mail("From: a@example.com", "Content-Type: text/html", body="Line one\nLine two &amp; more\n")
    assert mail_parse(raw).text == "Line one\nLine two & more"


def test_deeply_nested_html_is_bounded():
    html = "<div><ul><li>" * 20000 + "deep" + "</li></ul></div>" * 20000
    started = time.perf_counter()
    parsed = mail_parse(mail("From: a@example.com", "Content-Type: text/html", body=html))
    assert time.perf_counter() - started < 2.0
    assert parsed.text == "deep" and parsed.html == ""
    assert "HTML nested too deep to sanitise: shown as plain text only" in parsed.defects


def test_text_alternative_is_preferred_over_html():
    raw = mail(
        "From: a@example.com",
        'Content-Type: multipart/alternative; boundary="b"',
        body="--b\nContent-Type: text/plain\n\nPlain words\n--b\nContent-Type: text/html\n\n<p>Rich words</p>\n--b--\n",
    )
    parsed = mail_parse(raw)
    assert parsed.text == "Plain words" and "Rich words" in parsed.html


def test_inline_image_by_content_id():
    png = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
    raw = mail(
        "From: a@example.com",
        'Content-Type: multipart/related; boundary="r"',
        body=f'--r\nContent-Type: text/html\n\n<p>Logo: <img src="cid:logo.png@01D"></p>\n'
        f"--r\nContent-Type: image/png\nContent-Transfer-Encoding: base64\nContent-ID: <logo.png@01D>\n\n{png}\n--r--\n",
    )
    parsed = mail_parse(raw)
    (image,) = parsed.attachments
    assert (image.name, image.content_type, image.content_id, image.inline) == (
        "image-1.png",
        "image/png",
        "logo.png@01D",
        True,
    )
    assert image.data == b"\x89PNG\r\n\x1a\nfake"
    assert 'src="cid:logo.png@01D"' in parsed.html


@pytest.mark.parametrize("name_param", ['; name="winmail.dat"', ""])
def test_winmail_dat_is_kept_as_a_file(name_param):
    blob = corpus_bytes("tnefparse/one-file.tnef")
    encoded = base64.encodebytes(blob).decode()
    raw = mail(
        "From: Outlook User <user@example.com>",
        'Content-Type: multipart/mixed; boundary="m"',
        body=f"--m\nContent-Type: text/plain\n\nSee attached.\n--m\nContent-Type: application/ms-tnef{name_param}\n"
        f"Content-Transfer-Encoding: base64\n\n{encoded}--m--\n",
    )
    parsed = mail_parse(raw)
    (winmail,) = parsed.attachments
    assert (winmail.name, winmail.content_type, winmail.data) == ("winmail.dat", "application/ms-tnef", blob)
    assert parsed.text == "See attached."


INNER = b"From: Boss <boss@example.com>\r\nSubject: Quarterly numbers\r\nMessage-ID: <inner@example.com>\r\n\r\nNumbers inside.\r\n"


def test_message_rfc822_is_kept_as_eml_bytes():
    raw = mail(
        "From: a@example.com",
        'Content-Type: multipart/mixed; boundary="m"',
        body=b"--m\r\nContent-Type: text/plain\r\n\r\nFYI\r\n--m\r\nContent-Type: message/rfc822\r\n\r\n"
        + INNER
        + b"--m--\r\n",
    )
    parsed = mail_parse(raw)
    (attached,) = parsed.attachments
    assert (attached.name, attached.content_type) == ("message-1.eml", "message/rfc822")
    assert attached.data.rstrip(b"\r\n") == INNER.rstrip(b"\r\n")
    assert mail_parse(attached.data).subject == "Quarterly numbers"
    assert parsed.text == "FYI"


def test_forward_as_attachment_only_shows_the_attached_text():
    raw = mail("From: a@example.com", "Content-Type: message/rfc822", body=INNER)
    parsed = mail_parse(raw)
    assert parsed.attachments[0].name == "message-1.eml"
    assert parsed.text == "From: boss@example.com\nSubject: Quarterly numbers\n\nNumbers inside."


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        ("attachment; filename*0*=utf-8''%D0%9E%D1%82; filename*1*=%D1%87%D1%91%D1%82.pdf", "Отчёт.pdf"),
        ('attachment; filename="=?utf-8?B?0J7RgtGH0ZHRgi5wZGY=?="', "Отчёт.pdf"),
        ('attachment; filename="../../etc/passwd"', "_.._etc_passwd"),
        ('attachment; filename="a\\\\b\x01c.txt"', "a_bc.txt"),
        ('attachment; filename="' + "x" * 300 + '.pdf"', "x" * 251 + ".pdf"),
        ("attachment", "attachment-1.pdf"),
    ],
)
def test_attachment_names(disposition, expected):
    raw = mail(
        "From: a@example.com",
        'Content-Type: multipart/mixed; boundary="m"',
        body=f"--m\nContent-Type: text/plain\n\nhi\n--m\nContent-Type: application/pdf\nContent-Disposition: {disposition}\n\n%PDF\n--m--\n",
    )
    (attachment,) = mail_parse(raw).attachments
    assert attachment.name == expected


# --- quoted history ----------------------------------------------------------------------------------------

RUSSIAN_OUTLOOK_REPLY = """Добрый день!
Проблема решена, спасибо.

С уважением,
Иван

От: Служба поддержки [mailto:support@example.com]
Отправлено: 12 марта 2024 г. 10:15
Кому: Иванов Иван
Тема: RE: [TID#123] Не работает почта

Здравствуйте, Иван! Попробуйте перезапустить Outlook.
"""


def test_russian_outlook_reply_synthetic():
    """Synthetic (the corpus has no Russian Outlook reply): cp1251 text with an От:/Отправлено:/Кому:/Тема: block."""
    raw = mail(
        f"From: {b64word('Иванов Иван', 'windows-1251')} <ivanov@example.ru>",
        f"Subject: RE: [TID#123] {b64word('Не работает почта', 'windows-1251')}",
        "Content-Type: text/plain; charset=windows-1251",
        "Content-Transfer-Encoding: 8bit",
        body=RUSSIAN_OUTLOOK_REPLY.replace("\n", "\r\n").encode("cp1251"),
    )
    parsed = mail_parse(raw)
    assert parsed.from_name == "Иванов Иван" and parsed.subject == "RE: [TID#123] Не работает почта"
    assert parsed.body == "Добрый день!\nПроблема решена, спасибо.\n\nС уважением,\nИван"
    assert parsed.quoted.startswith("От: Служба поддержки") and parsed.quoted.endswith(
        "перезапустить Outlook."
    )


def test_russian_outlook_web_reply_synthetic_html():
    """Synthetic: Outlook on the web puts the history in div#divRplyFwdMsg after an <hr>."""
    html = (
        "<div>Спасибо, всё работает.</div><div id='appendonsend'></div><hr>"
        "<div id='divRplyFwdMsg'><b>От:</b> Поддержка &lt;support@example.com&gt;<br><b>Отправлено:</b> 12 марта"
        "<br><b>Кому:</b> Иван<br><b>Тема:</b> Заявка</div><div>Перезагрузите компьютер.</div>"
    )
    parsed = mail_parse(mail("From: ivan@example.ru", "Content-Type: text/html; charset=utf-8", body=html))
    assert parsed.body == "Спасибо, всё работает."
    assert parsed.quoted.startswith("От: Поддержка <support@example.com>")
    assert parsed.quoted.endswith("Перезагрузите компьютер.")


SPLITS = [
    ("Thanks!\n\nOn Mon, 1 Apr 2024 at 10:00, Bob <bob@example.com> wrote:\n> Hi", "Thanks!"),
    ("Thanks!\n\nOn Mon, 1 Apr 2024 at 10:00, Bob Smith <bob@example.com>\nwrote:\n\n> Hi", "Thanks!"),
    ('Спасибо!\n\n12.03.2024, 10:15, "Иван" <ivan@example.ru>:\n> Привет', "Спасибо!"),
    ("Спасибо!\n\nПонедельник, 1 апреля 2024, 10:00 +03:00 от Иван <i@example.ru>:\n> Привет", "Спасибо!"),
    ("Спасибо!\n\nИван Петров пишет:\n> Привет", "Спасибо!"),
    ("Спасибо!\n\n01.04.2024 10:00, Иван Петров писал(а):\n> Привет", "Спасибо!"),
    ("OK\n\n-----Original Message-----\nFrom: Bob\nSent: today\nTo: me\nSubject: x\n\nold", "OK"),
    ("OK\n\n-----Исходное сообщение-----\nОт: Боб\n\nстарое", "OK"),
    ("OK\n\n________________________________\nFrom: Bob <bob@example.com>\nSent: today\n\nold", "OK"),
    ("OK\n\nFrom: Bob <bob@example.com>\nSent: Monday\nTo: Me\nSubject: Hi\n\nold", "OK"),
    ("OK\n> quoted\n>\n> more quoted\n", "OK"),
]


@pytest.mark.parametrize(("text", "body"), SPLITS)
def test_split_quote(text, body):
    new, quoted = split_quote(text)
    assert new == body and quoted
    assert "".join((new + quoted).split()) == "".join(text.split())


def test_sender_cannot_forge_quote_marks():
    parsed = mail_parse(mail("From: a@example.com", body="Answer\n\ue000\nmore answer\n"))
    assert (parsed.body, parsed.quoted) == ("Answer\n\nmore answer", "")


NO_SPLITS = [
    "> only a quote\n> nothing new",
    "On Mon, Bob wrote:\n> question 1\nanswer 1\n> question 2\nanswer 2",  # answers interleaved
    "Hi\n\n---------- Forwarded message ---------\nFrom: Bob <bob@example.com>\nDate: today\nSubject: x\nTo: me\n\nfwd",
    "Just text.\nNothing quoted here.",
    "From: the beginning\nSent: by me\nTo: you\nSubject: everything is body",
]


@pytest.mark.parametrize("text", NO_SPLITS)
def test_no_split(text):
    assert split_quote(text) == (text, "")


def test_bottom_posted_reply():
    assert split_quote("On 04/02/2012 06:26 PM, Megan wrote:\n> Hi\nHello") == (
        "Hello",
        "On 04/02/2012 06:26 PM, Megan wrote:\n> Hi",
    )


STANDARD_REPLIES = {
    "android.eml": "Hello",
    "aol.eml": "Hello",
    "apple_mail.eml": "Hello",
    "apple_mail_2.eml": "Hello",
    "comcast.eml": "Hello",
    "gmail.eml": "Hello",
    "hotmail.eml": "Hello",
    "iphone.eml": "Hello\n\nSent from my iPhone",
    "outlook.eml": "Hello",
    "sparrow.eml": "Hello\n\n--\nxxx\nSent with Sparrow (http://www.sparrowmailapp.com/?sig)",
    "thunderbird.eml": "Hello",
    "yahoo.eml": "Hello",
}


@pytest.mark.parametrize(("name", "body"), sorted(STANDARD_REPLIES.items()))
def test_talon_standard_replies(name, body):
    parsed = mail_parse(corpus_bytes(f"talon/standard_replies/{name}"))
    assert parsed.body == body
    assert "Hi" in parsed.quoted and parsed.quoted not in parsed.body


HTML_REPLIES = [
    "gmail.html", "hotmail.html", "mail_ru.html", "ms_outlook_2003.html", "ms_outlook_2007.html",
    "ms_outlook_2010.html", "thunderbird.html", "windows_mail.html", "yandex_ru.html",
]  # fmt: skip


@pytest.mark.parametrize("name", HTML_REPLIES)
def test_talon_html_replies(name):
    html = corpus_bytes(f"talon/html_replies/{name}").decode("utf-8", "replace")
    body, quoted = split_quote(html_body_text(html))
    assert body.startswith("Hi. I am fine.") and "Hello! How are you?" not in body
    assert "Hello! How are you?" in quoted
    wrapped = mail_parse(mail("From: a@example.com", "Content-Type: text/html; charset=utf-8", body=html))
    assert (wrapped.body, wrapped.quoted) == (body, quoted)


@pytest.mark.parametrize(
    ("name", "body"),
    [("OLK_SRC_BODY_SECTION.html", "Reply"), ("reply-separated-by-hr.html", "Hi\nthere\nBob")],
)
def test_talon_other_html_replies(name, body):
    new, quoted = split_quote(html_body_text(corpus_bytes(f"talon/{name}").decode()))
    assert new == body and quoted.startswith("From: ")


# --- corpus pins -------------------------------------------------------------------------------------------


def test_pin_raw_koi8r_subject_without_mime_headers():
    parsed = mail_parse(corpus_bytes("rt/emails/russian-subject-no-content-type"))
    assert parsed.subject == "тест тест" and parsed.text == "ТЕСТ"
    assert "charset guessed: koi8-r (subject)" in parsed.defects


def test_pin_html_only_cp1251_with_raw_from_and_subject():
    parsed = mail_parse(corpus_bytes("rt/emails/text-html-in-russian"))
    assert (parsed.from_name, parsed.from_address) == ("Учебный Центр", "rickt@other-example.com")
    assert parsed.subject.startswith("Приглашаем руководителя, начальников подразделений на тренинг ")
    assert "МОТИВАЦИЯ КАК ИНСТРУМЕНТ УПРАВЛЕНИЯ ПЕРСОНАЛОМ" in parsed.text
    assert "charset guessed: cp1251 (subject)" in parsed.defects and parsed.html.startswith("<center>")
    assert parsed.in_reply_to == ("0ID97EGL951H1907@example.com",) and parsed.automatic == ""


@pytest.mark.parametrize("name", ["msg_08.txt", "msg_09.txt", "msg_12.txt", "msg_12a.txt"])
def test_pin_declared_koi8r_parts(name):
    parsed = mail_parse(corpus_bytes(f"cpython/{name}"))
    assert parsed.subject == "Lyrics" and parsed.from_address == "barry@python.org"
    assert not [d for d in parsed.defects if "charset" in d]


def test_pin_declared_koi8r_bounce_from_mail_ru():
    parsed = mail_parse(corpus_bytes("flufl-bounce/newmailru_01.txt"))
    assert "К сожалению, невозможно доставить сообщение по следующему адресу:" in parsed.text
    assert parsed.automatic == "bounce" and not [d for d in parsed.defects if "charset" in d]


def test_pin_russian_utf8_bounce():
    parsed = mail_parse(corpus_bytes("flufl-bounce/simple_39.txt"))
    assert parsed.subject == "Ваше сообщение не доставлено. Mail failure."
    assert parsed.text.startswith("Это письмо создано автоматически сервером Mail.Ru")
    assert parsed.automatic == "bounce"


def test_pin_windows_1251_sender_name():
    parsed = mail_parse(corpus_bytes("mikel-mail/plain_emails/raw_email_bad_time.eml"))
    assert parsed.from_name == "Атиков" + "a"  # the sender's name ends in a Latin "a"
    assert parsed.text.startswith("Filter2: This message has been scanned for viruses")


def test_pin_utf8_filename_cut_mid_character():
    parsed = mail_parse(corpus_bytes("flanker/russian-attachment-yahoo.eml"))
    (image,) = parsed.attachments
    assert image.name == "Картинка с очень, очень длинным предлинным именем преименем таким чт\ufffd"
    assert image.content_type == "image/png" and image.data.startswith(b"\x89PNG")


def test_pin_raw_chinese_subject_decoded_with_the_body_charset():
    parsed = mail_parse(corpus_bytes("flufl-bounce/sina_01.txt"))  # raw 8-bit subject, body declares gb2312
    assert parsed.subject == "邮件传输失败！" and parsed.automatic == "bounce"
    assert "charset guessed: gb18030 (subject)" in parsed.defects


def test_pin_rfc2231_continuations():
    parsed = mail_parse(corpus_bytes("rt/emails/rfc2231-attachment-filename-continuations"))
    assert [a.name for a in parsed.attachments] == ["新しいテキスト ドキュメント.txt"]


def test_pin_unknown_charset_auto_reply():
    parsed = mail_parse(corpus_bytes("flufl-bounce/qmail_08.txt"))
    assert parsed.automatic == "auto-submitted"
    assert "unknown charset ansi_x3.110-1983 (body)" in parsed.defects


# --- not mails, the whole corpus, fuzzing ------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", [b"", b"  \r\n\t", b"Hello world, no headers\n", b"\x00\x01\x02", b"<html><p>hi</p>"]
)
def test_not_mails(raw):
    with pytest.raises(MailParseError):
        mail_parse(raw)


def test_not_bytes():
    with pytest.raises(MailParseError):
        mail_parse("From: a@example.com\n\nhi")  # type: ignore[arg-type]


def test_whole_corpus():
    """Every corpus file parses (or is refused as not a mail) within 2 s, and bounces are recognised."""
    parsed: dict[str, ParsedMail] = {}
    refused, slow, timings = set(), [], []
    for path, _source, _category in corpus_index():
        started = time.perf_counter()
        try:
            parsed[path] = mail_parse((CORPUS / path).read_bytes())
        except MailParseError as exc:
            assert str(exc) == "no header block: not a mail", path
            refused.add(path)
        elapsed = time.perf_counter() - started
        timings.append((elapsed, path))
        if elapsed > 2.0:
            slow.append((path, elapsed))
    index = corpus_index()
    expected_refused = {p for p, _, c in index if c in ("tnef-blob", "fragment:html")} | NOT_MAILS
    assert refused == expected_refused
    assert not slow, slow
    for path, result in parsed.items():
        check_invariants(path, result)
    bounces = [path for path, _, category in index if category == "bounce"]
    missed = [path for path in bounces if parsed[path].automatic == ""]
    share = 1 - len(missed) / len(bounces)
    print(f"bounce share {share:.3f}; missed {missed}; slowest {max(timings)}")
    assert share >= 0.9, missed
    people = [
        p for p, source, c in index if p in parsed and source != "flufl-bounce" and c in ("reply", "plain")
    ]
    assert not [p for p in people if parsed[p].automatic == "bounce"]


def check_invariants(path: str, parsed: ParsedMail) -> None:
    """Assert what must hold for any parsed mail."""
    for name in ("message_id", "subject", "from_name", "from_address", "text", "html", "body", "quoted"):
        value = getattr(parsed, name)
        value.encode("utf-8")  # no lone surrogates
        assert "\x00" not in value, (path, name)
    assert "\n" not in parsed.subject and parsed.subject == parsed.subject.strip(), path
    # Nothing lost: the words of body and quoted are those of text (a bottom-posted reply swaps the order).
    assert sorted(f"{parsed.body} {parsed.quoted}".split()) == sorted(parsed.text.split()), path
    assert not set("<> \t\r\n") & set(parsed.message_id), path
    assert parsed.date is None or parsed.date.tzinfo is not None, path
    assert parsed.sender_address in (parsed.reply_to_address, parsed.from_address), path
    for attachment in parsed.attachments:
        assert attachment.name and len(attachment.name) <= 255, path
        assert not set("/\\\x00") & set(attachment.name), path
        assert attachment.content_type == attachment.content_type.lower(), path
        assert isinstance(attachment.data, bytes)


MIME_HEAD = b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n"


@FUZZ
@given(st.binary(max_size=2000) | st.binary(max_size=2000).map(MIME_HEAD.__add__))
def test_fuzz_arbitrary_bytes(raw):
    try:
        check_invariants("fuzz", mail_parse(raw))
    except MailParseError as exc:
        assert "unexpected" not in str(exc)


FUZZ_FILES = [
    "cpython/msg_16.txt", "flanker/iphone.eml", "flanker/russian-attachment-yahoo.eml",
    "mikel-mail/attachment_emails/attachment_message_rfc822_inline_image.eml",
    "rt/emails/text-html-in-russian", "talon/standard_replies/android.eml", "rt/emails/outlook-rfc822",
    "mikel-mail/error_emails/encoding_madness.eml", "flufl-bounce/newmailru_01.txt",
]  # fmt: skip


@FUZZ
@given(
    st.sampled_from(FUZZ_FILES),
    st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=20),
    st.floats(0.05, 1),
)
def test_fuzz_mutated_corpus_mails(path, flips, keep):
    raw = bytearray(corpus_bytes(path))
    for where, byte in flips:
        raw[int(where * len(raw))] = byte
    raw = bytes(raw[: max(1, int(len(raw) * keep))])
    try:
        check_invariants(path, mail_parse(raw))
    except MailParseError as exc:
        assert "unexpected" not in str(exc)

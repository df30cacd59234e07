"""Parse one inbound mail (F-15) into plain data: ids, addresses, decoded text, sanitised HTML, attachments.

Pure functions over bytes: no ORM, no network. The stdlib parser runs with a compat32-based policy that
returns raw header strings (charsets.py decodes them, guessing undeclared 8-bit text), and every message/*
part is kept opaque, so that an attached mail is stored with its own bytes and a mail nested 3,000 levels
deep costs a single pass. (policy.default took 2.7 s on flanker/enclosed-endless.eml and raises from
lazily parsed headers.) Only bytes without a header block raise MailParseError; anything else that goes
wrong is caught per header or part and noted in `defects`.
"""

from __future__ import annotations

import mimetypes
import re
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime
from email import utils as email_utils
from email.message import Message
from email.parser import BytesParser
from email.policy import Compat32
from typing import cast

from otklik.mail import charsets
from otklik.mail.charsets import message_ids_in, normalise_message_id  # part of this module's API
from otklik.mail.quotes import html_body_text, html_too_deep, sanitise_html, split_quote, strip_marks, tidy

MAX_PARTS = 500  # MIME parts looked at; the raw mail is stored anyway, so the rest is only noted
MAX_DEPTH = 10  # nesting of multiparts, and of attached mails opened to show a forwarded mail's text
MAX_DEFECTS = 50
_MAX_BOUNDARY_LINES = 10 * MAX_PARTS


@dataclass(frozen=True)
class MailAttachment:
    """A file that came with a mail."""

    name: str  # decoded file name; a made-up one ("attachment-1.bin", "message-1.eml", "image-1.png")
    content_type: str  # lower-case type/subtype
    data: bytes  # decoded payload (message/rfc822 parts: the attached message's bytes)
    inline: bool  # Content-Disposition inline, or referenced by Content-ID from the HTML
    content_id: str  # without angle brackets, "" if none


@dataclass(frozen=True)
class ParsedMail:
    """What the ingest needs from one mail, decoded."""

    message_id: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_address: str
    from_name: str
    reply_to_address: str
    reply_to_name: str
    sender_address: str  # Reply-To if usable, else From; "" when neither has a usable address
    sender_name: str
    return_path: str | None  # None: no Return-Path header; "": the null path "<>"
    subject: str
    date: datetime | None
    text: str  # the whole body as text: text/plain preferred, else the HTML turned into text
    html: str  # the HTML sanitised, "" if none
    body: str  # `text` without the quoted history
    quoted: str  # the folded-away history; body and quoted together hold all of `text`
    attachments: tuple[MailAttachment, ...]
    automatic: str  # "" or why never to auto-answer: bounce, auto-submitted, auto-response-suppress, ...
    defects: tuple[str, ...]
    cc_addresses: tuple[str, ...] = ()  # the usable addresses of the Cc header(s), lower case, each once


class MailParseError(Exception):
    """Raised only when the bytes are not a mail at all (e.g. empty, or no header block)."""


class _RawPolicy(Compat32):
    """Hand out header values exactly as read (8-bit bytes as surrogate escapes), never as Header objects."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


class _Part(Message):
    """A MIME part that reports message/* types as opaque, so that the parser keeps their bytes."""

    def get_content_type(self) -> str:
        real = super().get_content_type()
        return "application/octet-stream" if real.startswith("message/") else real

    def ctype(self) -> str:
        """Return the declared lower-case type/subtype, message/* included."""
        try:
            return super().get_content_type()
        except Exception:
            return "application/octet-stream"

    def param(self, name: str, header: str = "content-type") -> str | None:
        """Return a header parameter (RFC 2231 collapsed), None when missing or unreadable."""
        try:
            value = self.get_param(name, header=header)
            return email_utils.collapse_rfc2231_value(value) if value is not None else None
        except Exception:
            return None

    def disposition(self) -> str:
        """Return the lower-case Content-Disposition type, "" when none."""
        return str(self.get("content-disposition") or "").split(";", 1)[0].strip().lower()

    def raw_filename(self) -> str:
        """Return the undecoded file name from Content-Disposition or Content-Type, "" when none."""
        try:
            name = self.get_filename()
        except Exception:
            name = None
        return str(name or self.param("name") or "").strip()

    def data(self, defects: list[str]) -> bytes:
        """Return the payload bytes with the transfer encoding undone."""
        # The stored payload itself: get_payload() re-decodes 8-bit text with the declared charset, lossily.
        payload = getattr(self, "_payload", None)
        if isinstance(payload, list) or payload is None:
            return b""
        data = charsets.to_bytes(payload) if isinstance(payload, str) else bytes(payload)
        return charsets.decode_transfer(data, str(self.get("content-transfer-encoding") or ""), defects)


_POLICY = _RawPolicy()
_OBSOLETE_HEADER = re.compile(rb"^([\x21-\x39\x3b-\x7e]+)[ \t]+:", re.MULTILINE)
_DAEMON_LOCALS = {"mailer-daemon", "mailer_daemon", "mailerdaemon", "mdaemon", "mail.delivery.system"}
_DAEMON_NAME = re.compile(r"mail(er)?[ _-]?daemon|mail delivery (sub)?system|delivery subsystem", re.I)
_DSN_TYPES = {"message/delivery-status", "message/global-delivery-status"}
_OTHER_REPORTS = {"message/disposition-notification", "message/feedback-report"}
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|returned mail|delivery (status )?notification|delivery (has )?fail|failure notice|"
    r"failure delivery|delivery failure|delivery report|non-delivery|not delivered|could not be delivered|"
    r"mail system error|delayed mail|message delayed|could not send message|delivery problem|failed mail|"
    r"не доставлен|недоставленное|не может быть доставлено|ошибка доставки",
    re.IGNORECASE,
)
# What only delivery software writes: enhanced status codes, DSN fields, stock phrases.
_BOUNCE_EVIDENCE = re.compile(
    r"\b[245]\.\d{1,3}\.\d{1,3}\b|user unknown|unknown user|no such user|mailbox (is )?(unavailable|full)|"
    r"recipient address rejected|host or domain name not found|final-recipient:|diagnostic-code:|"
    r"message (was )?(not accepted|rejected)|not (a )?valid (user|recipient|mailbox)|"
    r"following (recipient|address)|"
    r"delivery attempts|non-delivery report|(e-?mail|message|mail) (could not|cannot|was not) be delivered|"
    r"over quota|quota exceeded|не удалось доставить|невозможно доставить|не может быть доставлено",
    re.IGNORECASE,
)
_AUTOREPLY_SUBJECT = re.compile(
    r"^(auto(matic)?[ -]?(reply|response|answer)|out of (the )?office|автоответ|автоматический ответ)", re.I
)
_EXTENSIONS = {"image/jpeg": ".jpg", "text/plain": ".txt", "application/octet-stream": ".bin"}
_EXTENSIONS |= {"message/rfc822": ".eml", "message/global": ".eml", "message/news": ".eml"}


def mail_parse(raw: bytes) -> ParsedMail:
    """Parse the bytes of one mail; raise MailParseError only when they are not a mail at all."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise MailParseError(f"not bytes: {type(raw).__name__}")
    data = bytes(raw)
    if not data.strip():
        raise MailParseError("empty input")
    defects: list[str] = []
    data = _bound_parts(data, defects)
    message = _parse_structure(data, defects)
    if not message.keys() and _OBSOLETE_HEADER.match(data):
        # RFC 822 allowed blanks before the colon ("Subject : x"); the stdlib reads such headers as body.
        end = re.search(rb"\r?\n\r?\n", data)
        head, rest = (data[: end.start()], data[end.start() :]) if end else (data, b"")
        message = _parse_structure(_OBSOLETE_HEADER.sub(rb"\1:", head) + rest, defects)
        defects.append("obsolete header syntax (blank before a colon) repaired")
    if not message.keys():
        raise MailParseError("no header block: not a mail")
    try:
        return _build(message, defects, depth=0)
    except Exception as exc:  # a bug must not lose the mail: the caller quarantines it with this reason
        raise MailParseError(f"unexpected parser failure: {exc!r}"[:500]) from exc


def _bound_parts(data: bytes, defects: list[str]) -> bytes:
    """Cut a mail with absurdly many boundary lines, which the stdlib would turn into as many objects."""
    position = -1
    for _ in range(_MAX_BOUNDARY_LINES):
        position = data.find(b"\n--", position + 1)
        if position < 0:
            return data
    defects.append(f"more than {_MAX_BOUNDARY_LINES} boundary lines: the rest is only in the raw mail")
    return data[:position]


def _parse_structure(data: bytes, defects: list[str]) -> _Part:
    """Run the stdlib parser; fall back to the headers and one opaque body when the MIME tree defeats it."""
    parser = BytesParser(_Part, policy=_POLICY)
    try:
        return cast(_Part, parser.parsebytes(data))
    except Exception as exc:  # RecursionError on absurd nesting, AssertionError on odd preambles...
        defects.append(f"MIME structure not parsed ({type(exc).__name__}); body kept as one part")
    try:
        return cast(_Part, parser.parsebytes(data, headersonly=True))
    except Exception as exc:
        raise MailParseError(f"header block not parsed: {exc!r}"[:500]) from exc


@dataclass
class _Walk:
    """What a walk over the MIME tree collects besides the body."""

    defects: list[str]
    hint: str | None  # the first charset a text part declares: raw 8-bit elsewhere is likely in it too
    attachments: list[tuple[_Part, str]] = field(default_factory=list)
    types: set[str] = field(default_factory=set)
    parts: int = 0


@dataclass
class _Body:
    """The text of a MIME subtree: text (maybe made from HTML), HTML, and whether plain text exists."""

    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    has_plain: bool = False


def _build(message: _Part, defects: list[str], depth: int) -> ParsedMail:
    """Turn the parsed tree into a ParsedMail."""
    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        headers.setdefault(str(name).strip().lower(), []).append(str(value))
    first = {name: values[0] for name, values in headers.items()}
    walk = _Walk(defects, hint=_charset_hint(message))
    from_name, from_address = charsets.decode_address(first.get("from"), "from", defects, walk.hint)
    reply_name, reply_address = charsets.decode_address(first.get("reply-to"), "reply-to", defects, walk.hint)
    sender_name, sender_address = (reply_name, reply_address) if reply_address else (from_name, from_address)
    return_path = charsets.decode_return_path(first.get("return-path"), defects)
    subject = " ".join(charsets.header_text(first.get("subject"), "subject", defects, walk.hint).split())
    body = _visit(message, walk, 0)
    html = "\n".join(body.htmls)
    if html_too_deep(html):
        defects.append("HTML nested too deep to sanitise: shown as plain text only")
    text = "\n\n".join(piece for piece in body.texts if piece.strip())
    if not text.strip() and depth < MAX_DEPTH:
        text = _attached_mail_text(walk, depth)
    new_text, quoted = split_quote(text)
    sender = {"from_name": from_name, "from_address": from_address, "return_path": return_path}
    return ParsedMail(
        message_id=normalise_message_id(first.get("message-id", "")),
        in_reply_to=message_ids_in(" ".join(headers.get("in-reply-to", []))),
        references=message_ids_in(" ".join(headers.get("references", []))),
        from_address=from_address,
        from_name=from_name,
        reply_to_address=reply_address,
        reply_to_name=reply_name,
        sender_address=sender_address,
        sender_name=sender_name,
        return_path=return_path,
        subject=subject,
        date=charsets.decode_date(first.get("date"), defects),
        text=tidy(strip_marks(text)),
        html=sanitise_html(html).strip() if html.strip() else "",
        body=new_text,
        quoted=quoted,
        attachments=_attachments(walk, html),
        automatic=_automatic(first, message, walk, sender, subject, text),
        defects=tuple(dict.fromkeys(defects))[:MAX_DEFECTS],
        cc_addresses=charsets.decode_addresses(", ".join(headers.get("cc", [])), "cc", defects),
    )


def _visit(part: _Part, walk: _Walk, depth: int) -> _Body:
    """Collect the body text and HTML of a subtree; other leaves become attachments."""
    walk.parts += 1
    if walk.parts > MAX_PARTS:
        if walk.parts == MAX_PARTS + 1:
            walk.defects.append(f"more than {MAX_PARTS} MIME parts: the rest is only in the raw mail")
        return _Body()
    ctype = part.ctype()
    walk.types.add(ctype)
    for defect in part.defects:
        words = re.sub(r"(?<!^)(?=[A-Z])", " ", type(defect).__name__.removesuffix("Defect")).lower()
        walk.defects.append(f"MIME defect: {words}")  # "start boundary not found"
    if part.is_multipart():
        if depth >= MAX_DEPTH:
            walk.defects.append(f"MIME nested deeper than {MAX_DEPTH}: the rest is only in the raw mail")
            return _Body()
        results = [_visit(child, walk, depth + 1) for child in part.get_payload() if isinstance(child, _Part)]
        return _alternative(results) if ctype == "multipart/alternative" else _concat(results)
    # A multipart the parser could not split (no boundary) is shown as the text it is.
    if ctype in ("text/plain", "text/html") or ctype.startswith("multipart/"):
        if part.disposition() != "attachment" and not part.raw_filename():
            try:
                data, charset = part.data(walk.defects), part.param("charset")
                text = charsets.decode_bytes(data, charset, "body", walk.defects, walk.hint)
                text = charsets.clean_text(text.replace("\r\n", "\n"))
                if ctype == "text/html":
                    return _Body([html_body_text(text)], [text], False)
                return _Body([text], [], True)
            except Exception as exc:  # keep the bytes as an attachment rather than lose the part
                walk.defects.append(f"{ctype} part not decoded ({type(exc).__name__}); kept as an attachment")
    walk.attachments.append((part, ctype))
    return _Body()


def _charset_hint(message: _Part) -> str | None:
    """Return the first charset a text part declares (other than ASCII), None when there is none."""
    queue = [message]
    for part in queue:  # breadth first and bounded: Message.walk() recurses, and trees can be deep
        if part.is_multipart() and len(queue) < MAX_PARTS:
            queue.extend(child for child in part.get_payload() if isinstance(child, _Part))
        charset = part.param("charset") if part.ctype().startswith("text/") else None
        if charset and charsets.resolve_charset(charset) not in (None, "ascii"):
            return charset
    return None


def _alternative(results: list[_Body]) -> _Body:
    """Take text from the first alternative with plain text (else the last with any) and the last HTML."""
    texts = next((r for r in results if r.has_plain and r.texts), None)
    texts = texts or next((r for r in reversed(results) if r.texts), _Body())
    htmls = next((r for r in reversed(results) if r.htmls), _Body())
    return _Body(texts.texts, htmls.htmls, texts.has_plain)


def _concat(results: list[_Body]) -> _Body:
    """Join the bodies of parts shown one after another."""
    joined = _Body()
    for result in results:
        joined.texts.extend(result.texts)
        joined.htmls.extend(result.htmls)
        joined.has_plain = joined.has_plain or result.has_plain
    return joined


def _attached_mail_text(walk: _Walk, depth: int) -> str:
    """Show the text of the first attached mail when the mail itself has none (a forward as attachment)."""
    part = next((part for part, ctype in walk.attachments if ctype == "message/rfc822"), None)
    if part is None:
        return ""
    try:
        nested = _parse_structure(part.data([]), [])
        inner = _build(nested, [], depth + 1) if nested.keys() else None
    except Exception:  # the attachment is kept anyway; showing its text is a courtesy
        inner = None
    if inner is None:
        return ""
    heading = [f"From: {inner.from_address}", f"Subject: {inner.subject}", ""] if inner.from_address else []
    return "\n".join([*heading, inner.text]).strip()


def _attachments(walk: _Walk, html: str) -> tuple[MailAttachment, ...]:
    """Build the attachments, marking as inline those the HTML shows by Content-ID."""
    cids = re.findall(r"(?i)cid:([^\"'\s>)]+)", html)
    referenced = {normalise_message_id(urllib.parse.unquote(cid)) for cid in cids}
    result = []
    for number, (part, ctype) in enumerate(walk.attachments, start=1):
        try:
            content_id = normalise_message_id(str(part.get("content-id") or ""))
            name = charsets.decode_filename(part.raw_filename(), walk.defects, walk.hint)
            name = name or _made_up_name(ctype, number)
            inline = part.disposition() == "inline" or bool(content_id and content_id in referenced)
            data = part.data(walk.defects)
        except Exception as exc:  # the raw mail keeps the bytes; note the loss instead of failing the mail
            walk.defects.append(f"attachment {number} not decoded ({type(exc).__name__})")
            content_id, name, inline, data = "", f"attachment-{number}.bin", False, b""
        result.append(MailAttachment(name, ctype, data, inline, content_id))
    return tuple(result)


def _made_up_name(ctype: str, number: int) -> str:
    """Name a nameless attachment after its type: "image-2.png", "message-1.eml", "winmail.dat"."""
    if ctype in ("application/ms-tnef", "application/vnd.ms-tnef"):
        return "winmail.dat"
    major = ctype.split("/", 1)[0]
    base = major if major in ("image", "message") else "attachment"
    extension = _EXTENSIONS.get(ctype) or (".txt" if major == "message" else None)  # DSN blocks read as text
    extension = extension or mimetypes.guess_extension(ctype, strict=False)
    return f"{base}-{number}{extension or ('.txt' if major == 'text' else '.bin')}"


def _automatic(
    first: dict[str, str], message: _Part, walk: _Walk, sender: dict[str, str | None], subject: str, text: str
) -> str:
    """Say why this mail must never be answered automatically ("" for a person's mail)."""
    auto_submitted = _token(first.get("auto-submitted")) not in ("", "no")
    if _is_bounce(message, walk, sender, subject, text, auto_submitted):
        return "bounce"
    # Read receipts and abuse reports are machine mail too, though not bounces.
    report = walk.types & _OTHER_REPORTS or _report_type(message) not in ("", "delivery-status")
    if auto_submitted or _AUTOREPLY_SUBJECT.match(subject) or report:
        return "auto-submitted"
    if any(_token(first.get(name)) not in ("", "no") for name in ("x-autoreply", "x-autorespond")):
        return "auto-submitted"
    suppress = {word.strip().lower() for word in first.get("x-auto-response-suppress", "").split(",")}
    if suppress & {"all", "oof", "autoreply"}:
        return "auto-response-suppress"
    if sender["return_path"] == "":
        return "null-sender"
    if _token(first.get("precedence")) in ("bulk", "junk", "list", "auto_reply"):
        return "precedence"
    return "list" if "list-id" in first or "list-unsubscribe" in first else ""


def _is_bounce(
    message: _Part, walk: _Walk, sender: dict[str, str | None], subject: str, text: str, auto_submitted: bool
) -> bool:
    """Recognise delivery reports, but not a person's "my parcel was not delivered" (bounces are quarantined).

    A DSN part or a mailer-daemon sender is enough. Otherwise it takes two signs, one of them a postmaster
    sender, a bounce-like subject or SMTP-ish evidence in the text; a null return path with Auto-Submitted
    alone is an out-of-office reply, not a bounce.
    """
    if walk.types & _DSN_TYPES or _report_type(message) == "delivery-status":
        return True
    from_local = (sender["from_address"] or "").split("@", 1)[0]
    path_local = (sender["return_path"] or "").split("@", 1)[0]
    from_name = sender["from_name"] or ""
    if from_local in _DAEMON_LOCALS or path_local in _DAEMON_LOCALS or _DAEMON_NAME.search(from_name):
        return True
    postmaster = from_local == "postmaster" or "postmaster" in from_name.lower()
    evidence = bool(_BOUNCE_EVIDENCE.search(text[:20000]))
    telling = [postmaster, bool(_BOUNCE_SUBJECT.search(subject)), evidence]
    return any(telling) and sum(telling) + (sender["return_path"] == "") + auto_submitted >= 2


def _token(raw: str | None) -> str:
    """Return the first word of a header value, lower-case, without comments or parameters."""
    value = charsets.unfold(raw or "").strip().lower()
    return re.split(r"[\s;(]", value + " ", maxsplit=1)[0]


def _report_type(message: _Part) -> str:
    """Return the report-type of a multipart/report top part, "" otherwise."""
    return (message.param("report-type") or "").lower() if message.ctype() == "multipart/report" else ""

"""Render a notification: placeholders from the ticket, the admins' template, subject, text and HTML."""

from __future__ import annotations

import functools
import html
import re
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.urls import get_script_prefix, reverse
from django.utils import dateformat, formats, timezone, translation
from django.utils.translation import gettext

from otklik.accounts.selectors import display_name
from otklik.notifications import catalog
from otklik.tickets.activity import AUTHOR_VISIBLE_FIELDS, Change
from otklik.tickets.loglines import change_line
from otklik.tickets.models import Message, Ticket

# A template engine of our own: no loaders, no request processors, no app template tags needed.
_ENGINE = Engine(debug=False, libraries={}, builtins=["django.template.defaultfilters"])
_URL = re.compile(r"(https?://[^\s<>\"']+)")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@functools.lru_cache(maxsize=256)
def compile_template(source: str, *, autoescape: bool) -> Template:
    """Compile a template's source once per process (templates change rarely, mail is frequent)."""
    prefix = "" if autoescape else "{% autoescape off %}"
    suffix = "" if autoescape else "{% endautoescape %}"
    return _ENGINE.from_string(prefix + source + suffix)


def subject_with_marker(subject: str, ticket_id: int | None) -> str:
    """Make the subject start with "[TID#<id>]" (replies thread by it), on one line."""
    subject = " ".join(subject.split())
    if ticket_id is None:
        return subject
    marker = f"[TID#{ticket_id}]"
    if subject.startswith(marker):
        return subject
    return f"{marker} {subject}".strip()


def render(subject_source: str, body_source: str, context: dict[str, str], ticket_id: int | None) -> Rendered:
    """Render subject, text and an HTML alternative made from the text (escaped, links made clickable)."""
    ctx = Context(context, autoescape=False)
    subject = subject_with_marker(compile_template(subject_source, autoescape=False).render(ctx), ticket_id)
    text = _tidy(compile_template(body_source, autoescape=False).render(ctx))
    # The body is plain text: everything in it is escaped, the admin's words as well as the placeholders'.
    return Rendered(subject=subject, text=text, html=_html_page(subject, html.escape(text)))


def _tidy(text: str) -> str:
    """Drop the blank lines that template tags leave behind (at most one empty line in a row)."""
    return re.sub(r"\n{3,}", "\n\n", text.replace("\r\n", "\n")).strip() + "\n"


def _html_page(subject: str, escaped_text: str) -> str:
    paragraphs = "".join(
        "<p>" + _URL.sub(r'<a href="\1">\1</a>', block).replace("\n", "<br>\n") + "</p>\n"
        for block in escaped_text.strip().split("\n\n")
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head>\n"
        '<body style="font-family: sans-serif; font-size: 14px; line-height: 1.4">\n'
        f"{paragraphs}</body></html>\n"
    )


def ticket_url(ticket_id: int, *, for_author: bool) -> str:
    name = "tickets:client_detail" if for_author else "tickets:staff_detail"
    return settings.OTKLIK_SITE_URL.rstrip("/") + _path_of(name, get_script_prefix()).replace(
        _ID_SENTINEL, str(ticket_id)
    )


_ID_SENTINEL = "987654321"


@functools.lru_cache(maxsize=16)
def _path_of(name: str, _script_prefix: str) -> str:
    """Resolve a ticket page's path once (for a sentinel id); each mail only puts its own id in."""
    return reverse(name, kwargs={"ticket_id": int(_ID_SENTINEL)})


def _local(value) -> str:
    """Format an instant in the active time zone and language, as the pages do (DATETIME_FORMAT)."""
    if value is None:
        return ""
    return dateformat.format(timezone.localtime(value), _datetime_format(translation.get_language()))


@functools.lru_cache(maxsize=8)
def _datetime_format(language: str) -> str:
    # get_format looks the format up through the locale's modules on every call; it is fixed per language.
    with translation.override(language):
        return formats.get_format("DATETIME_FORMAT")


def ticket_context(
    ticket: Ticket,
    *,
    event: str,
    actor=None,
    message: Message | None = None,
    changes: tuple[Change, ...] = (),
    coupon: str = "",
    memo: dict | None = None,
    actor_email: str = "",
) -> dict[str, str]:
    """Return the placeholders' values for one ticket mail, in the active language and time zone.

    Author mail never carries a hidden message or a staff-only change (F-11). `memo`, a dict the caller
    keeps for one change, holds the values every mail about it shares per language and time zone.
    `actor_email` names an actor known only by address (a sender through the mail channel).
    """
    for_author = event in catalog.AUTHOR_EVENTS
    shown_message = message
    if message is not None and for_author and message.kind not in ("public", "nostatus"):
        shown_message = None
    shown_changes = [ch for ch in changes if not (for_author and ch.staff_only)]
    if for_author:
        shown_changes = [ch for ch in shown_changes if ch.field in AUTHOR_VISIBLE_FIELDS]
    key = (translation.get_language(), timezone.get_current_timezone_name())
    facts = memo.get(key) if memo is not None else None
    if facts is None:
        facts = _ticket_facts(ticket, actor, actor_email)
        if memo is not None:
            memo[key] = facts
    return {
        **facts,
        "ticket_url": ticket_url(ticket.pk, for_author=for_author),
        "message": shown_message.shown_text if shown_message is not None else "",
        "message_author": (
            (display_name(shown_message.author) if shown_message.author_id else shown_message.author_email)
            if shown_message is not None
            else ""
        ),
        # The values are log data: rendered now, in the recipient's language.
        "changes": "\n".join(change_line(ch.field, ch.old, ch.new) for ch in shown_changes),
        "coupon": coupon,
        "rate_url": _rate_url(ticket) if for_author else "",
    }


def _rate_url(ticket: Ticket) -> str:
    """Return the link asking the author to rate the answers (F-22), or "" when there is nothing to ask.

    Asked when the ticket is closed or its status is "solved" and no mark is given yet.
    """
    if ticket.mark_id:
        return ""
    solved = ticket.status_id is not None and getattr(ticket.status, "code", "") == "solved"
    if ticket.closed_at is None and not solved:
        return ""
    return ticket_url(ticket.pk, for_author=True) + "#rate"


def _ticket_facts(ticket: Ticket, actor, actor_email: str = "") -> dict[str, str]:
    """The placeholders that depend on the ticket and the reader's language and time zone only."""

    def name(entry) -> str:
        return str(entry) if entry is not None else ""

    return {
        "ticket_id": str(ticket.pk),
        "title": ticket.title,
        "status": name(ticket.status) if ticket.status_id else "",
        "category": name(ticket.category) if ticket.category_id else "",
        "criticality": name(ticket.criticality) if ticket.criticality_id else "",
        "responsible": display_name(ticket.responsible) if ticket.responsible_id else "",
        "sla": ticket.sla.name if ticket.sla_id else "",
        "deadline": _local(ticket.deadline_at),
        "author": display_name(ticket.author) if ticket.author_id else ticket.author_email,
        "actor": display_name(actor) if actor is not None else (actor_email or settings.OTKLIK_SITE_NAME),
        "created_at": _local(ticket.created_at),
        "site_name": settings.OTKLIK_SITE_NAME,
    }


def sample_context(language: str) -> dict[str, str]:
    """Return made-up placeholder values for the template preview."""
    with translation.override(language):
        ru = language == "ru"
        return {
            "ticket_id": "1234",
            "title": "Не приходит письмо с паролем" if ru else "The password e-mail does not arrive",
            "ticket_url": ticket_url(1234, for_author=True),
            "status": "В работе" if ru else "In progress",
            "category": "Доступ" if ru else "Access",
            "criticality": "Высокая" if ru else "High",
            "responsible": "Анна Смирнова" if ru else "Anna Smirnova",
            "sla": "VIP",
            "deadline": _local(timezone.now()),
            "author": "Иван Петров" if ru else "Ivan Petrov",
            "actor": "Анна Смирнова" if ru else "Anna Smirnova",
            "message": "Проверьте, пожалуйста, папку «Спам»." if ru else "Please check the spam folder.",
            "message_author": "Анна Смирнова" if ru else "Anna Smirnova",
            "changes": ("Статус: Новое → В работе" if ru else "Status: New → In progress"),
            "created_at": _local(timezone.now()),
            "site_name": settings.OTKLIK_SITE_NAME,
            "coupon": "VIP-2026-0001",
            "rate_url": ticket_url(1234, for_author=True) + "#rate",
            "process_move": "Авария" if ru else "Accident",
            "process_state": "Авария" if ru else "Accident",
            "process_role": "Менеджер инцидентов" if ru else "Incident manager",
            "process_comment": "Сайт не открывается" if ru else "The site is down",
        }


# The number the preview's made-up ticket has (sample_context speaks of ticket 1234).
PREVIEW_TICKET_ID = 1234


def template_problem(source: str, language: str) -> str | None:
    """Return why a template source cannot be used for mail, or None when it compiles and renders.

    Compiling catches syntax errors; rendering with the preview's values catches what only fails at
    render time (an `{% include %}` or `{% url %}` has nothing to find in the mail template engine).
    """
    try:
        for autoescape in (False, True):
            compile_template(source, autoescape=autoescape)
        render(source, source, sample_context(language), PREVIEW_TICKET_ID)
    except TemplateSyntaxError as exc:
        return gettext("The template has a syntax error: %(error)s") % {"error": exc}
    except Exception as exc:  # anything the template engine raises while rendering
        return gettext("The template fails when it is filled in: %(error)s") % {"error": exc}
    return None


def new_message_id(ticket_id: int | None) -> str:
    """Return a fresh, globally unique Message-ID naming the ticket (the mail channel reads it back)."""
    ticket = f".t{ticket_id}" if ticket_id is not None else ""
    return f"<otklik.{uuid.uuid4().hex}{ticket}@{mail_domain()}>"


def thread_root_id(ticket_id: int) -> str:
    """Return the ticket's thread id: every mail about the ticket refers to it, so clients thread them."""
    return f"<otklik.ticket.{ticket_id}@{mail_domain()}>"


def mail_domain() -> str:
    return settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(">").strip() or "otklik.localhost"

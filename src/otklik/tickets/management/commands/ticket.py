"""`otklik ticket show ID [--json] [--as USERNAME]`: print a ticket with all its messages."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from otklik.accounts.selectors import display_name
from otklik.core.errors import NotFound
from otklik.dictionaries.models import DictionaryEntry
from otklik.tickets.models import Message, Ticket
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.selectors import message_list, ticket_get

TICKET_RELATIONS = (
    "author",
    "created_by",
    "source",
    "category",
    "criticality",
    "status",
    "difficulty",
    "mark",
    "sla",
    "responsible",
    "last_message_by",
    "modified_by",
    "split_from",
)


class Command(BaseCommand):
    help = "Show a ticket and its messages (by default as a support administrator sees them)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        show = actions.add_parser("show", help="Print the ticket's fields and every message.")
        show.add_argument("ticket_id", type=int, metavar="ID")
        show.add_argument("--json", action="store_true", help="Print JSON instead of text.")
        show.add_argument(
            "--as",
            dest="as_user",
            metavar="USERNAME",
            help="Show only what this user may see (default: everything, as an administrator).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "show":
            self.show(options["ticket_id"], as_json=options["json"], as_user=options.get("as_user"))

    def show(self, ticket_id: int, *, as_json: bool, as_user: str | None) -> None:
        ticket, messages = _load(ticket_id, as_user)
        data = ticket_as_dict(ticket, messages)
        if as_json:
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        self.stdout.write(f"#{data['id']} {data['title']}")
        for key, value in data.items():
            if key in ("id", "title", "messages") or value in (None, "", False, 0, {}):
                continue
            self.stdout.write(f"  {key}: {_text(value)}")
        for message in data["messages"]:
            author = message["author"] or message["author_email"] or "—"
            files = f"  [files: {', '.join(message['attachments'])}]" if message["attachments"] else ""
            self.stdout.write(
                f"\n--- {message['number']}. {message['kind']} · {author} · {message['created_at']}{files}"
            )
            self.stdout.write(message["body"])


def _load(ticket_id: int, as_user: str | None) -> tuple[Ticket, list[Message]]:
    if as_user:
        user = User.objects.filter(username=as_user).first()
        if user is None:
            raise CommandError(f"User {as_user!r} does not exist.")
        policy = TicketPolicy(user)
        try:
            ticket = ticket_get(policy, ticket_id)
        except NotFound:
            raise CommandError(f"Ticket {ticket_id} does not exist or {as_user} may not see it.") from None
        return ticket, message_list(policy, ticket)
    # The operator at the console sees what a support administrator sees: every message kind.
    ticket = Ticket.objects.select_related(*TICKET_RELATIONS).filter(pk=ticket_id).first()
    if ticket is None:
        raise CommandError(f"Ticket {ticket_id} does not exist.")
    messages = list(
        ticket.messages.select_related("author", "posted_by", "edited_by", "source")
        .prefetch_related("attachments")
        .order_by("number")
    )
    return ticket, messages


def _user(user: User | None) -> str | None:
    return user.username if user is not None else None


def _entry(entry: DictionaryEntry | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {
        "id": entry.pk,
        "code": entry.code,
        "name": entry.name,
        "name_ru": entry.name_ru,
        "name_en": entry.name_en,
    }


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def ticket_as_dict(ticket: Ticket, messages: list[Message]) -> dict[str, Any]:
    """Return the ticket and its messages as plain JSON-ready data."""
    return {
        "id": ticket.pk,
        "title": ticket.title,
        "author": _user(ticket.author),
        "author_name": display_name(ticket.author) if ticket.author else "",
        "author_email": ticket.author_email,
        "created_by": _user(ticket.created_by),
        "created_via": ticket.created_via,
        "source": _entry(ticket.source),
        "category": _entry(ticket.category),
        "criticality": _entry(ticket.criticality),
        "status": _entry(ticket.status),
        "difficulty": _entry(ticket.difficulty),
        "mark": _entry(ticket.mark),
        "sla": {
            "id": ticket.sla.pk,
            "name": ticket.sla.name,
            "name_ru": ticket.sla.name_ru,
            "name_en": ticket.sla.name_en,
        }
        if ticket.sla
        else None,
        "responsible": _user(ticket.responsible),
        "is_special": ticket.is_special,
        "coupon_code": ticket.coupon_code,
        "spam": ticket.spam,
        "is_postponed": ticket.is_postponed,
        "admin_comment": ticket.admin_comment,
        "message_count": ticket.message_count,
        "overdue_count": ticket.overdue_count,
        "is_overdue": ticket.is_overdue,
        "reminder_sent": ticket.reminder_sent,
        "deadline_source_reason": ticket.deadline_source_reason,
        "overdue_at": _time(ticket.overdue_at),
        "sla_paused_at": _time(ticket.sla_paused_at),
        "awaits_support": ticket.awaits_support,
        "deadline_at": _time(ticket.deadline_at),
        "reminder_at": _time(ticket.reminder_at),
        "deadline_source_at": _time(ticket.deadline_source_at),
        "last_message_at": _time(ticket.last_message_at),
        "last_message_by": _user(ticket.last_message_by),
        "last_message_by_support": ticket.last_message_by_support,
        "first_client_message_after_support_at": _time(ticket.first_client_message_after_support_at),
        "time_spent_minutes": ticket.time_spent_minutes,
        "auto_close_days": ticket.auto_close_days,
        "closed_at": _time(ticket.closed_at),
        "reopened_at": _time(ticket.reopened_at),
        "auto_closed": ticket.auto_closed,
        "created_at": _time(ticket.created_at),
        "modified_at": _time(ticket.modified_at),
        "modified_by": _user(ticket.modified_by),
        "modified_via": ticket.modified_via,
        "ticket_type": ticket.ticket_type,
        "tier": ticket.tier,
        "planned_effort_minutes": ticket.planned_effort_minutes,
        "expected_date": ticket.expected_date.isoformat() if ticket.expected_date else None,
        "split_from": ticket.split_from_id,
        "custom": ticket.custom,
        "messages": [
            {
                "number": m.number,
                "kind": m.kind,
                "author": _user(m.author),
                "author_email": m.author_email,
                "posted_by": _user(m.posted_by),
                "by_support": m.by_support,
                "via": m.via,
                "minutes": m.minutes,
                "body": m.shown_text,  # log lines in the command's language
                "data": m.data,
                "attachments": [a.name for a in m.attachments.all()],
                "created_at": _time(m.created_at),
                "edited_at": _time(m.edited_at),
                "edited_by": _user(m.edited_by),
            }
            for m in messages
        ],
    }


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("name") or value.get("code") or value)
    return str(value)

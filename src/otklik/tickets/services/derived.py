"""Recompute a ticket's derived state and search text from its messages (F-03, F-08 first paragraph)."""

from __future__ import annotations

from typing import Any

from django.db.models import F, Value
from django.db.models.functions import Concat

from otklik.core import clock
from otklik.core.bulk import insert_rows, update_row
from otklik.sla.models import SlaEvent, SlaEventKind, SlaLevel, SourceReason
from otklik.sla.selectors import deadline_for, working_calendar
from otklik.tickets.models import (
    CLIENT_VISIBLE_KINDS,
    Message,
    MessageKind,
    Ticket,
    TicketSearchDocument,
    TicketTag,
)
from otklik.tickets.selectors import options_cached

# The columns ticket_recompute sets: a caller that changed only these (and its own) saves no more.
DERIVED_FIELDS = (
    "time_spent_minutes",
    "message_count",
    "last_message_at",
    "last_message_by",
    "last_message_by_support",
    "first_client_message_after_support_at",
    "awaits_support",
    "is_overdue",
    "reminder_sent",
    "deadline_source_at",
    "deadline_source_reason",
    "deadline_at",
    "reminder_at",
    "sla_paused_at",
    "sla_paused_seconds",
)


def ticket_recompute(ticket: Ticket, *, changed: tuple[str, ...] | None = None) -> Ticket:
    """Recompute the ticket's derived state and SLA deadline from its messages and save it.

    Last message: the last public message (hidden and "do not change status" messages are not
    answers). Awaits support: open, and no support answer yet or a client message after it.
    Deadline (F-08): the source instant plus the SLA's response time in working time of its timetable.
    `changed` names the columns the caller itself changed: only those and the derived ones are written
    (None writes every column, for callers that changed more than they can tell).
    """
    # In time order: a merged ticket's moved messages are numbered after the target's own (issue 18)
    # but keep their times; everywhere else the two orders are one.
    rows = list(
        Message.objects.filter(ticket=ticket)
        .order_by("created_at", "number")
        .values_list("kind", "author_id", "by_support", "created_at", "minutes")
    )
    conversation = [
        {"kind": kind, "author_id": author_id, "by_support": by_support, "created_at": at}
        for kind, author_id, by_support, at, _minutes in rows
        if kind in CLIENT_VISIBLE_KINDS
    ]
    steps = _derive(ticket, conversation, sum(row[4] for row in rows))
    if changed is None:
        ticket.save()
    else:
        update_row(ticket, (*DERIVED_FIELDS, *changed))
    timeline_write(ticket, steps)
    return ticket


def new_ticket_derive(ticket: Ticket, *, kind: str, author: Any, at, minutes: int) -> list[tuple[str, str]]:
    """Fill a ticket not yet saved with the state its first message gives it; return its timeline steps.

    The caller saves the ticket once (one INSERT instead of an INSERT and an UPDATE of every column) and
    then writes the steps with `timeline_write`.
    """
    author_id = getattr(author, "pk", None)
    steps = _derive(ticket, _conversation_of(kind, author_id, at, False), minutes)
    if ticket.last_message_by_id is not None:
        ticket.last_message_by = author
    return steps


def _conversation_of(kind: str, author_id: int | None, at, by_support: bool) -> list[dict[str, Any]]:
    """The conversation of a ticket whose only message is this one."""
    if kind not in CLIENT_VISIBLE_KINDS:
        return []
    return [{"kind": kind, "author_id": author_id, "by_support": by_support, "created_at": at}]


def _derive(ticket: Ticket, conversation: list[dict[str, Any]], minutes: int) -> list[tuple[str, str]]:
    """Set the derived fields from the conversation (public and no-status messages, in order).

    Return the SLA timeline steps to write once the ticket is saved, as (kind, reason) pairs.
    """
    ticket.time_spent_minutes = minutes
    ticket.message_count = len(conversation)
    public = [m for m in conversation if m["kind"] == MessageKind.PUBLIC]
    last = public[-1] if public else None
    ticket.last_message_at = last["created_at"] if last else ticket.created_at
    ticket.last_message_by_id = last["author_id"] if last else None
    ticket.last_message_by_support = bool(last and last["by_support"])
    last_support_index = max((i for i, m in enumerate(public) if m["by_support"]), default=None)
    from_creation = bool(ticket.sla_id and ticket.sla and ticket.sla.deadline_from_creation)
    # The clock (re)starts at creation, at a reopen, at the first client reply after support's answer,
    # and when staff moved the ticket to an SLA with a shorter response time.
    restarts = [(ticket.created_at, SourceReason.CREATED)]
    if last_support_index is None:
        ticket.first_client_message_after_support_at = None
        waiting = True
    else:
        last_support_at = public[last_support_index]["created_at"]
        after = public[last_support_index + 1 :]
        ticket.first_client_message_after_support_at = after[0]["created_at"] if after else None
        reopened_since = ticket.reopened_at is not None and ticket.reopened_at > last_support_at
        waiting = bool(after) or reopened_since
        if after and not from_creation:
            restarts.append((after[0]["created_at"], SourceReason.CLIENT_REPLY))
    if ticket.reopened_at is not None:
        restarts.append((ticket.reopened_at, SourceReason.REOPENED))
    if ticket.deadline_source_reason == SourceReason.SLA_CHANGED and ticket.deadline_source_at:
        restarts.append((ticket.deadline_source_at, SourceReason.SLA_CHANGED))
    ticket.awaits_support = ticket.closed_at is None and waiting
    return _deadline_update(ticket, *max(restarts, key=lambda r: r[0]))


def _deadline_update(ticket: Ticket, source, reason: str) -> list[tuple[str, str]]:
    """Set the deadline fields from the source instant; return the SLA timeline's steps to write."""
    was_running = ticket.deadline_source_at is not None
    if not ticket.awaits_support:
        ticket.is_overdue = False
        ticket.reminder_sent = False
        ticket.deadline_source_at = None
        ticket.deadline_source_reason = ""
        ticket.deadline_at = None
        ticket.reminder_at = None
        ticket.sla_paused_at = None
        ticket.sla_paused_seconds = 0
        if was_running:
            kind = SlaEventKind.ANSWERED if ticket.closed_at is None else SlaEventKind.STOPPED
            return [(kind, "")]
        return []
    if ticket.is_overdue:
        return []  # While overdue the deadline does not move until support answers (F-08).
    # No reason yet: the clock was never started (a new ticket, or one stored before the SLA engine).
    first_start = not ticket.deadline_source_reason
    moved = source != ticket.deadline_source_at or first_start
    if moved:
        ticket.sla_paused_seconds = 0
        ticket.reminder_sent = False
        if ticket.is_postponed and ticket.sla_paused_at is None and options_cached().postponed_pauses_sla:
            ticket.sla_paused_at = source  # a postponed ticket's clock starts paused
    ticket.deadline_source_at = source
    ticket.deadline_source_reason = reason
    if ticket.sla_paused_at is not None:
        ticket.deadline_at = ticket.reminder_at = None
    else:
        ticket.deadline_at, ticket.reminder_at = deadline_for(
            ticket.sla if ticket.sla_id else None, source, extra_seconds=ticket.sla_paused_seconds
        )
    if moved:
        started = first_start and reason == SourceReason.CREATED
        return [(SlaEventKind.STARTED if started else SlaEventKind.RESTARTED, reason)]
    return []


def timeline_write(ticket: Ticket, steps: list[tuple[str, str]]) -> None:
    """Write the SLA timeline steps `_derive` returned, in order."""
    for kind, reason in steps:
        timeline_add(ticket, kind, reason)


def timeline_add(ticket: Ticket, kind: str, reason: str = "") -> SlaEvent:
    """Write one step of the ticket's SLA timeline with the deadline it leaves."""
    step = SlaEvent(
        ticket=ticket,
        at=clock.now(),
        kind=kind,
        reason=reason,
        source_at=ticket.deadline_source_at,
        deadline_at=ticket.deadline_at,
        reminder_at=ticket.reminder_at,
        sla_name=ticket.sla.name_ru if ticket.sla is not None else "",
        sla_name_en=ticket.sla.name_en if ticket.sla is not None else "",
    )
    insert_rows([step], returning=False)  # nobody reads its id back; in a pipeline that saves a wait
    return step


def sla_changed(ticket: Ticket, old: SlaLevel | None) -> None:
    """Restart the clock from now when the new SLA answers faster (F-06), recompute, and log the step."""
    new = ticket.sla if ticket.sla_id else None
    shorter = (
        old is not None
        and old.response_seconds > 0
        and new is not None
        and 0 < new.response_seconds < old.response_seconds
    )
    if shorter and ticket.awaits_support and not ticket.is_overdue:
        ticket.deadline_source_at = clock.now()
        ticket.deadline_source_reason = SourceReason.SLA_CHANGED
        ticket.sla_paused_seconds = 0
    ticket_recompute(ticket)
    if ticket.awaits_support:
        timeline_add(ticket, SlaEventKind.SLA_CHANGED)


def sla_pause(ticket: Ticket) -> None:
    """Stop the clock of a postponed ticket (option "postponed pauses SLA"); the deadline is put aside."""
    if not ticket.awaits_support or ticket.is_overdue or ticket.sla_paused_at is not None:
        return
    ticket.sla_paused_at = clock.now()
    ticket.deadline_at = ticket.reminder_at = None
    ticket.save(update_fields=["sla_paused_at", "deadline_at", "reminder_at"])
    timeline_add(ticket, SlaEventKind.PAUSED)


def sla_resume(ticket: Ticket) -> None:
    """Start the clock again: the deadline moves later by the working time the pause covered."""
    if ticket.sla_paused_at is None:
        return
    now = clock.now()
    if ticket.awaits_support and ticket.deadline_source_at is not None:
        began = max(ticket.sla_paused_at, ticket.deadline_source_at)
        calendar = working_calendar(ticket.sla if ticket.sla_id else None)
        ticket.sla_paused_seconds += max(0, calendar.between(began, now))
    ticket.sla_paused_at = None
    ticket_recompute(ticket)
    if ticket.awaits_support:
        timeline_add(ticket, SlaEventKind.RESUMED)


def search_document_create(ticket: Ticket, message: Message) -> None:
    """Write a new ticket's search text from its title and only message (one INSERT)."""
    public = ticket.title + ("\n" + message.body if message.kind in CLIENT_VISIBLE_KINDS else "")
    document = TicketSearchDocument(
        ticket=ticket, public_text=public, staff_text=f"{ticket.title}\n{message.body}"
    )
    insert_rows([document], returning=False)


def search_document_append(ticket: Ticket, message: Message) -> None:
    """Add a new message's text to the ticket's search text; equal to a rebuild, as it is the last message."""
    if message.kind == MessageKind.LOG:
        return
    tail = Value("\n" + message.body)
    changes = {"staff_text": Concat(F("staff_text"), tail)}
    if message.kind in CLIENT_VISIBLE_KINDS:
        changes["public_text"] = Concat(F("public_text"), tail)
    if not TicketSearchDocument.objects.filter(ticket=ticket).update(**changes):
        search_document_refresh(ticket)  # a ticket stored before search documents existed


def search_document_refresh(ticket: Ticket) -> None:
    """Rebuild the ticket's search text: clients' view (public) and staff's view (adds hidden messages and
    the tags, which only staff see; never log)."""
    rows = Message.objects.filter(ticket=ticket).exclude(kind=MessageKind.LOG).values_list("kind", "body")
    tags = " ".join(TicketTag.objects.filter(ticket=ticket).values_list("tag__name", flat=True))
    public = [ticket.title] + [b for k, b in rows if k in CLIENT_VISIBLE_KINDS]
    staff = [ticket.title] + ([tags] if tags else []) + [b for _k, b in rows]
    TicketSearchDocument.objects.update_or_create(
        ticket=ticket, defaults={"public_text": "\n".join(public), "staff_text": "\n".join(staff)}
    )

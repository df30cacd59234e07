"""The SLA tick's ticket-side work (F-08, F-02): mark reminders due and overdue tickets, close silent tickets.

The SLA app owns the configuration and the clock (deadlines, calendars, the timeline model); the ticket
rows, their log lines and history are the tickets app's, so the tick that writes them lives here and
otklik.schedule runs it every minute.

Every step is a handful of set-based statements whatever the number of tickets: one UPDATE marks the
rows with the tick's instant, and INSERT ... SELECT statements pick exactly those rows out again (by that
instant) to write log lines, history, timeline steps and domain events. Running two ticks at once is
safe: a row is marked by one of them only, because the UPDATE re-checks its condition under the lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import (
    BooleanField,
    CharField,
    DateTimeField,
    F,
    IntegerField,
    JSONField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import translation
from django.utils.translation import gettext as _

from otklik.core import clock, events
from otklik.core.bulk import insert_from_select
from otklik.core.models import DomainEvent
from otklik.sla.models import SlaEventKind
from otklik.tickets.history import history_seal
from otklik.tickets.loglines import NO, YES, change_item, in_both_languages, log_text_default
from otklik.tickets.models import Channel, Message, MessageKind, Ticket, TicketEvent
from otklik.tickets.selectors import options_get
from otklik.tickets.services.timeline import timeline_steps_insert

# The log lines the jobs write, as data rendered in each reader's language (tickets.loglines).
OVERDUE_LOG = [{"code": "overdue"}]


def _auto_closed_log() -> list:
    return [{"code": "auto_closed"}, change_item("closed", in_both_languages(NO), in_both_languages(YES))]


@dataclass(frozen=True)
class TickReport:
    reminders: int = 0
    overdue: int = 0
    auto_closed: int = 0


def _const(value, field):
    return Value(value, output_field=field)


def _text(value: str):
    return _const(value, CharField())


def _batch_event(name: str, now: datetime, count: int, **payload) -> None:
    """Record one domain event for all the tickets a tick marked; `selectors.marked_ticket_ids` lists them.

    One row per tick, not per ticket: after an outage a tick marks 100,000 tickets, and their timeline
    steps already say which ones.
    """
    DomainEvent.objects.create(
        name=name, occurred_at=now, payload={"count": count, "at": now.isoformat(), **payload}
    )


def _log_insert(
    marked: QuerySet, data: list, now: datetime, change: tuple[str, str, str] | None = None
) -> None:
    """Write a log message with the log `data` into each marked ticket, and the history event of a field
    `change` (field, old, new) when there is one (ARCHITECTURE rule 5).

    The data is one constant for every row, so the INSERT ... SELECT stays one statement; `body` keeps
    its text in the site's language for search and older readers.
    """
    next_number = Coalesce(
        Subquery(
            Message.objects.filter(ticket=OuterRef("pk"))
            .values("ticket")
            .annotate(n=Max("number"))
            .values("n")[:1]
        ),
        _const(0, IntegerField()),
    ) + _const(1, IntegerField())
    rows = marked.values_list(
        "pk", next_number, _text(MessageKind.LOG), _text(log_text_default(data)), _const(data, JSONField()),
        _const(True, BooleanField()), _text(Channel.SYSTEM), _const(0, IntegerField()),
        _const(now, DateTimeField()), _text(""),
    )  # fmt: skip
    insert_from_select(
        Message,
        [
            "ticket", "number", "kind", "body", "data", "by_support", "via", "minutes", "created_at",
            "author_email",
        ],
        rows,
    )  # fmt: skip
    if change is None:
        return
    field, old, new = change
    log_id = Subquery(
        Message.objects.filter(ticket=OuterRef("pk"), kind=MessageKind.LOG, created_at=now)
        .order_by("-number")
        .values("pk")[:1]
    )
    # The event's values as data too, from the log item of the same field (both languages).
    values = next((item for item in data if item.get("field") == field), None)
    event_data = {"old": values["old"], "new": values["new"]} if values else None
    rows = marked.values_list(
        "pk", _const(now, DateTimeField()), _text(Channel.SYSTEM), log_id, _text(field), _text(old),
        _text(new), _const(False, BooleanField()), _const(event_data, JSONField()),
    )  # fmt: skip
    insert_from_select(
        TicketEvent, ["ticket", "at", "via", "message", "field", "old", "new", "staff_only", "data"], rows
    )
    # The INSERT stays set-based; chaining needs each ticket's previous hash, so the new events are
    # sealed right after, under the rows' locks this job's UPDATE holds (otklik.tickets.history).
    history_seal(ticket_ids=marked.values_list("pk", flat=True))


def _system_text(message: str) -> str:
    """Log lines written by jobs are in the site's language (no request says otherwise)."""
    with translation.override(settings.LANGUAGE_CODE):
        return _(message)


def reminders_mark(now: datetime) -> int:
    """Mark tickets whose reminder time came (and whose deadline has not also passed)."""
    count = Ticket.objects.filter(
        reminder_sent=False,
        is_overdue=False,
        reminder_at__isnull=False,
        reminder_at__lte=now,
        deadline_at__gt=now,
    ).update(reminder_sent=True, reminder_sent_at=now)
    if count:
        marked = Ticket.objects.filter(reminder_sent=True, reminder_sent_at=now)
        timeline_steps_insert(marked, kind=SlaEventKind.REMINDER, now=now)
        _batch_event(events.TICKET_REMINDER, now, count)
    return count


def overdue_mark(now: datetime) -> int:
    """Mark tickets whose deadline passed: flag, counter, log line, history, timeline, domain event."""
    count = Ticket.objects.filter(is_overdue=False, deadline_at__isnull=False, deadline_at__lte=now).update(
        is_overdue=True, overdue_at=now, overdue_count=F("overdue_count") + 1
    )
    if count:
        marked = Ticket.objects.filter(is_overdue=True, overdue_at=now)
        # The log line and the timeline step are the record; "overdue" is not a field anyone changed.
        _log_insert(marked, OVERDUE_LOG, now)
        timeline_steps_insert(marked, kind=SlaEventKind.OVERDUE, now=now)
        _batch_event(events.TICKET_OVERDUE, now, count, notify=options_get().notify_overdue)
    return count


def auto_close(now: datetime) -> int:
    """Close open tickets support answered last when the client stayed silent for their auto-close days.

    A ticket's own days override the module default; 0 means never. One statement per distinct number
    of days in use, so the cost does not grow with the number of tickets.
    """
    default_days = options_get().auto_close_days
    candidates = Ticket.objects.filter(
        closed_at__isnull=True, last_message_by_support=True, awaits_support=False
    )
    overrides = set(
        candidates.filter(auto_close_days__isnull=False).values_list("auto_close_days", flat=True)
    )
    groups = [(Q(auto_close_days__isnull=True), default_days)] + [
        (Q(auto_close_days=d), d) for d in overrides
    ]
    total = 0
    for condition, days in groups:
        if not days:
            continue
        total += candidates.filter(condition, last_message_at__lt=now - timedelta(days=days)).update(
            closed_at=now, auto_closed=True, modified_at=now, modified_via=Channel.SYSTEM, modified_by=None
        )
    if total:
        marked = Ticket.objects.filter(closed_at=now, auto_closed=True)
        _log_insert(marked, _auto_closed_log(), now, ("closed", _system_text(NO), _system_text(YES)))
        _batch_event(events.TICKET_AUTO_CLOSED, now, total)
    return total


def sla_tick(now: datetime | None = None) -> TickReport:
    """Run one tick of the SLA job in one transaction; dispatch the events it recorded after commit."""
    now = now or clock.now()
    with transaction.atomic():
        report = TickReport(
            reminders=reminders_mark(now), overdue=overdue_mark(now), auto_closed=auto_close(now)
        )
    if report.reminders or report.overdue or report.auto_closed:
        events.dispatch_after_commit()
    return report

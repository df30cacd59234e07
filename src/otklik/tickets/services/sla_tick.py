"""The SLA tick's ticket-side work (F-08, F-02): mark reminders due and overdue tickets, close silent tickets.

The SLA app owns the configuration and the clock (deadlines, calendars, the timeline model); the ticket
rows, their log lines and history are the tickets app's, so the tick that writes them lives here and
otklik.schedule runs it every minute.

Every step is a handful of set-based statements whatever the number of tickets. A step with work records
its domain event first; the event's id is the batch id. One UPDATE marks the rows and stamps them with
that id (`Ticket.sla_batch`), and INSERT ... SELECT statements pick exactly those rows out again to write
log lines and history (through `services.history`, which numbers messages like every other write),
timeline steps and the batch (`core.events.batch_record`) that notification handlers read later. Running
two ticks at once is safe: a row is marked by one of them only, because the UPDATE re-checks its
condition under the lock, and a step whose UPDATE found nothing left drops its event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import translation
from django.utils.translation import gettext as _

from otklik.core import clock, events
from otklik.core.models import DomainEvent
from otklik.sla.models import SlaEventKind
from otklik.tickets.loglines import NO, YES, change_item, in_both_languages
from otklik.tickets.models import Channel, Ticket
from otklik.tickets.selectors import options_get
from otklik.tickets.services.history import history_record_each
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


def _batch_open(name: str, now: datetime, **payload) -> DomainEvent:
    """Record the step's one domain event (its id is the batch id); `_batch_close` completes it.

    One event per step, not per ticket: after an outage a tick marks 100,000 tickets, and the batch rows
    say which ones.
    """
    return events.publish(name, occurred_at=now, payload={"at": now.isoformat(), **payload})


def _batch_close(event: DomainEvent, count: int) -> QuerySet | None:
    """Return the tickets the step stamped with the batch and record them, or drop an empty batch."""
    if not count:  # a concurrent tick took the rows first
        event.delete()
        return None
    event.payload["count"] = count
    event.save(update_fields=["payload"])
    marked = Ticket.objects.filter(sla_batch=event.pk)
    events.batch_record(event, marked)
    return marked


def _system_text(message: str) -> str:
    """Log lines written by jobs are in the site's language (no request says otherwise)."""
    with translation.override(settings.LANGUAGE_CODE):
        return _(message)


def reminders_mark(now: datetime) -> int:
    """Mark tickets whose reminder time came (and whose deadline has not also passed)."""
    waiting = Ticket.objects.filter(reminder_sent=False, is_overdue=False, reminder_at__isnull=False)
    # "Is any reminder due?" without the deadline's condition: exactly the partial index ticket_reminder_due
    # up to now, which on a quiet minute holds no entry. With it PostgreSQL read every open ticket with a
    # deadline ahead (10,500 rows, 15 ms at 10⁶ tickets, every minute). A ticket whose deadline passed
    # as well is left to the UPDATE's full condition (and then to overdue_mark), as before.
    if not waiting.filter(reminder_at__lte=now).exists():
        return 0
    due = waiting.filter(reminder_at__lte=now, deadline_at__gt=now)
    batch = _batch_open(events.TICKET_REMINDER, now)
    count = due.update(reminder_sent=True, reminder_sent_at=now, sla_batch=batch.pk)
    marked = _batch_close(batch, count)
    if marked is not None:
        timeline_steps_insert(marked, kind=SlaEventKind.REMINDER, now=now)
    return count


def overdue_mark(now: datetime) -> int:
    """Mark tickets whose deadline passed: flag, counter, log line, history, timeline, domain event."""
    due = Ticket.objects.filter(is_overdue=False, deadline_at__isnull=False, deadline_at__lte=now)
    if not due.exists():
        return 0
    batch = _batch_open(events.TICKET_OVERDUE, now, notify=options_get().notify_overdue)
    count = due.update(
        is_overdue=True, overdue_at=now, overdue_count=F("overdue_count") + 1, sla_batch=batch.pk
    )
    marked = _batch_close(batch, count)
    if marked is not None:
        # The log line and the timeline step are the record; "overdue" is not a field anyone changed.
        history_record_each(marked, OVERDUE_LOG, at=now, via=Channel.SYSTEM)
        timeline_steps_insert(marked, kind=SlaEventKind.OVERDUE, now=now)
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
    due_by_days = [
        candidates.filter(condition, last_message_at__lt=now - timedelta(days=days))
        for condition, days in groups
        if days
    ]
    if not any(_has_row_oldest_answer_first(due) for due in due_by_days):
        return 0
    batch = _batch_open(events.TICKET_AUTO_CLOSED, now)
    total = sum(
        due.update(
            closed_at=now,
            auto_closed=True,
            modified_at=now,
            modified_via=Channel.SYSTEM,
            modified_by=None,
            sla_batch=batch.pk,
        )
        for due in due_by_days
    )
    marked = _batch_close(batch, total)
    if marked is not None:
        history_record_each(
            marked,
            _auto_closed_log(),
            at=now,
            via=Channel.SYSTEM,
            change=("closed", _system_text(NO), _system_text(YES)),
        )
    return total


def _has_row_oldest_answer_first(due: QuerySet[Ticket]) -> bool:
    """Tell whether `due` (open tickets support answered last, silent since a bound) has a row.

    Asked oldest answer first, so that PostgreSQL reads the partial index `ticket_auto_close` from its
    oldest entry up to the bound: on a minute with nothing due (nearly every minute), no entry at all.
    A bare EXISTS (LIMIT 1) let it expect a due ticket early in a sequential scan, and it read the whole
    table: 50 ms at 100,000 tickets, half a second at 10⁶, every minute.
    """
    return due.order_by("last_message_at").values_list("pk", flat=True).first() is not None


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

"""Gauges and counters read at scrape time from the database and the job queue (cheap queries only).

Every figure here is the same whichever web process is scraped, and survives restarts, because it is
read from the shared stores, not kept in a process:

- the outbox: COUNT and MIN(created_at) over the rows in the partial index `outbox_waiting`;
- inbound mail: per outcome over the `outcome` index (quarantined, not processed yet); per mailbox the
  time since its last poll (the mailbox table is a handful of rows);
- tickets awaiting support: COUNT over the partial index `ticket_awaiting_support` alone;
- SLA reminders and overdue marks as counters: the SLA tick records one domain event per step that marked
  tickets, with the number marked (`payload.count`); the sum of those is a counter that is right across
  processes, machines and restarts. Each process adds up the settled past once and then only what is new;
- the job queue: Huey's pending and scheduled sizes, and the age of the job at the head of the queue from
  its time-stamped id (otklik.web.job_ids).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import BigIntegerField, Count, Max, Min, Subquery, Sum, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from otklik.core import clock, events
from otklik.core.models import DomainEvent
from otklik.mail.models import InboundMail, Mailbox, Outcome
from otklik.notifications.models import OutboxMessage, OutboxState
from otklik.tickets.models import Ticket
from otklik.web.job_ids import job_waiting_since

log = logging.getLogger(__name__)

# SLA events older than this are summed once per process and not read again: by then the tick that wrote
# them has committed (a tick lasts seconds), so no event with a lower id can still appear.
SETTLE = timedelta(minutes=10)
SLA_COUNTERS = {
    events.TICKET_OVERDUE: ("otklik_sla_overdue", "Tickets the SLA job marked overdue."),
    events.TICKET_REMINDER: ("otklik_sla_reminders", "Tickets the SLA job marked for a reminder."),
}


@dataclass
class _SettledSums:
    """The SLA events already summed by this process: up to which id, and their totals by name."""

    last_id: int = 0
    totals: dict[str, int] = field(default_factory=dict)


_settled = _SettledSums()


def metrics_forget() -> None:
    """Forget this process's settled SLA sums (tests roll the database back under them)."""
    global _settled
    _settled = _SettledSums()


def _count_sum():
    return Sum(Cast(KT("payload__count"), BigIntegerField()))


def sla_totals(now) -> dict[str, int]:
    """Return the number of tickets marked by each SLA step so far (two queries, the newest events only).

    Events are settled (summed once, then skipped by id) when older than SETTLE and below the lowest id of
    any newer one: a tick run for a past instant (a test, a catch-up) may write an old event after a
    recent one, and the recent one must still be read at every scrape.
    """
    batches = DomainEvent.objects.filter(
        ticket_id__isnull=True, name__in=list(SLA_COUNTERS), id__gt=_settled.last_id
    )
    first_recent = batches.filter(occurred_at__gte=now - SETTLE).order_by("id").values("id")[:1]
    settled = (
        batches.filter(occurred_at__lt=now - SETTLE, id__lt=Coalesce(Subquery(first_recent), Value(2**62)))
        .values("name")
        .annotate(total=_count_sum(), last=Max("id"))
    )
    for row in settled:
        _settled.totals[row["name"]] = _settled.totals.get(row["name"], 0) + (row["total"] or 0)
        _settled.last_id = max(_settled.last_id, row["last"])
    totals = dict(_settled.totals)
    recent = batches.filter(id__gt=_settled.last_id).values("name").annotate(total=_count_sum())
    for row in recent:
        totals[row["name"]] = totals.get(row["name"], 0) + (row["total"] or 0)
    return totals


def awaiting_support_tickets():
    """Return the open tickets waiting for support, as the partial index `ticket_awaiting_support` says."""
    return Ticket.objects.filter(closed_at__isnull=True, awaits_support=True)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _age(now, instant) -> float:
    return max((now - instant).total_seconds(), 0.0) if instant else 0.0


class DatabaseCollector(Collector):
    """Yield the stores' figures at each scrape; a store that fails reports itself down, the rest still show."""

    def collect(self):
        up = GaugeMetricFamily(
            "otklik_metrics_source_up", "1 when the figures of the source could be read.", labels=["source"]
        )
        for source, read in (("database", self._database), ("queue", self._queue)):
            try:
                yield from read()
                up.add_metric([source], 1)
            except (
                Exception
            ) as exc:  # the source is down: say so, keep the scrape (no message: may hold secrets)
                log.warning("metrics: %s figures unavailable (%s)", source, type(exc).__name__)
                up.add_metric([source], 0)
        yield up

    def _database(self):
        now = clock.now()
        waiting = OutboxMessage.objects.filter(
            state__in=[OutboxState.PENDING, OutboxState.SENDING]
        ).aggregate(count=Count("id"), oldest=Min("created_at"))
        outbox = [
            _gauge(
                "otklik_outbox_pending",
                "Outgoing messages not sent yet (pending or being sent).",
                waiting["count"],
            ),
            _gauge(
                "otklik_outbox_oldest_seconds",
                "Age of the oldest outgoing message not sent yet; 0 when none waits.",
                _age(now, waiting["oldest"]),
            ),
        ]

        by_outcome = {
            row["outcome"]: row
            for row in InboundMail.objects.filter(outcome__in=[Outcome.QUARANTINED, Outcome.RECEIVED])
            .values("outcome")
            .annotate(count=Count("id"), oldest=Min("received_at"))
        }
        unprocessed = by_outcome.get(Outcome.RECEIVED, {})
        mail = [
            _gauge(
                "otklik_mail_quarantined",
                "Incoming messages kept in quarantine (an admin may process them again).",
                by_outcome.get(Outcome.QUARANTINED, {}).get("count", 0),
            ),
            _gauge(
                "otklik_mail_unprocessed",
                "Incoming messages stored but not processed yet.",
                unprocessed.get("count", 0),
            ),
            _gauge(
                "otklik_mail_unprocessed_oldest_seconds",
                "Age of the oldest stored incoming message not processed yet; 0 when none.",
                _age(now, unprocessed.get("oldest")),
            ),
        ]
        poll_age = GaugeMetricFamily(
            "otklik_mail_poll_age_seconds",
            "Time since an active IMAP or POP3 mailbox was last polled (-1: never).",
            labels=["mailbox"],
        )
        poll_failing = GaugeMetricFamily(
            "otklik_mail_poll_failing",
            "1 when the mailbox's last poll ended with an error.",
            labels=["mailbox"],
        )
        for code, polled_at, error in Mailbox.objects.filter(
            active=True, protocol__in=[Mailbox.Protocol.IMAP, Mailbox.Protocol.POP3]
        ).values_list("code", "last_polled_at", "last_error"):
            poll_age.add_metric([code], _age(now, polled_at) if polled_at else -1)
            poll_failing.add_metric([code], 1 if error else 0)

        awaiting = awaiting_support_tickets().count()
        totals = sla_totals(now)

        yield from outbox
        yield from mail
        yield poll_age
        yield poll_failing
        yield _gauge(
            "otklik_tickets_awaiting_support", "Open tickets waiting for support's answer.", awaiting
        )
        for name, (metric, documentation) in SLA_COUNTERS.items():
            yield CounterMetricFamily(metric, documentation, value=totals.get(name, 0))

    def _queue(self):
        from huey.contrib.djhuey import HUEY

        pending = HUEY.pending_count()
        scheduled = HUEY.scheduled_count()
        oldest = 0.0
        if pending:
            head = HUEY.storage.enqueued_items(1)
            since = job_waiting_since(HUEY.serializer.deserialize(head[0])) if head else None
            oldest = max(time.time() - since, 0.0) if since is not None else 0.0
        yield _gauge("otklik_queue_pending", "Jobs waiting in the queue for a worker.", pending)
        yield _gauge(
            "otklik_queue_scheduled",
            "Jobs scheduled for later (delayed, or retried after a delay).",
            scheduled,
        )
        yield _gauge(
            "otklik_queue_oldest_seconds",
            "How long the job at the head of the queue has been runnable; 0 when the queue is empty.",
            oldest,
        )
